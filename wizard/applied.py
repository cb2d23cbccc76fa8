"""The cluster applied on this machine: what an install kept in /etc/zabbix-ha/, read back.

The install's first step keeps, on both nodes, the answers (cluster.yaml),
apart the secrets (secrets.yaml, 0600) and the checksums of the node's
rendered files (files.sha256, `sha256sum -c` format); see
wizard.install.final.state_steps. This module only reads them: so the wizard
started on a node can offer "change this cluster", and the commands that
change a cluster refuse another cluster's answers on it. It is not the live
cluster (corosync, the CIB): status and the install read those.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wizard.errors import UserError
from wizard.platforms import Paths
from wizard.spec import ClusterSpec, Secrets

ANSWERS = "cluster.yaml"
SECRETS = "secrets.yaml"
CHECKSUMS = "files.sha256"
# The machine's root; tests point it at a temporary directory.
ROOT = Path("/")


@dataclass(frozen=True)
class Applied:
    spec: ClusterSpec
    secrets: Secrets | None          # None: no secrets file, or this user may not read it (not root)
    path: Path                       # the applied answers
    secrets_path: Path | None        # the secrets file that was read

    @property
    def name(self) -> str:
        return self.spec.name


class OtherCluster(UserError):
    """Answers of one cluster, given on a node of another: exit 2, nothing changed."""

    def __init__(self, name: str, source: str, applied: Applied, command: str) -> None:
        secrets = f" --secrets {applied.secrets_path}" if applied.secrets_path else ""
        super().__init__(
            f"{source} holds the answers of cluster {name!r}, but this machine belongs to cluster "
            f"{applied.name!r} (its applied answers: {applied.path}); zabbix-ha does not change a cluster "
            "with another cluster's answers",
            f"to change {applied.name!r}, use its applied answers: zabbix-ha {command}--answers {applied.path}"
            f"{secrets} (or the wizard's \"Change this cluster\"); for {name!r}, pass the right answers file "
            "on that cluster's first node")
        self.name, self.applied = name, applied


def state_dir(root: Path | None = None) -> Path:
    return Path(root or ROOT) / Paths().state_dir.lstrip("/")


def applied_cluster(root: Path | None = None) -> Applied | None:
    """The cluster whose answers this machine keeps, or None when it keeps none.

    Raises UserError (naming the file and the fix) when they are there but
    cannot be read or are not a valid answers file: a node of a cluster must
    not pass for a free machine because its state file is broken."""
    from wizard.answers import AnswersError, load_answers, load_secrets

    d = state_dir(root)
    path = d / ANSWERS
    try:
        path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except PermissionError:
        raise UserError(f"{path} (the answers of the cluster this machine belongs to) cannot be read: "
                        "permission denied", "run zabbix-ha as root (sudo zabbix-ha ...)") from None
    def fix(exc: AnswersError) -> str:
        # Another copy is on the other node: the install keeps the same files on both.
        return (f"{exc.fix}; or copy the file from the other node of the cluster (it holds the same), "
                "or move it away if this machine no longer belongs to a cluster")

    try:
        spec = load_answers(path)
    except AnswersError as exc:
        raise UserError(f"this machine's applied answers cannot be used: {exc.message}", fix(exc)) from None
    secrets_path: Path | None = d / SECRETS
    try:
        with open(secrets_path, "rb"):
            pass
    except OSError:     # missing, or root's alone: the answers still tell which cluster this is
        secrets_path = None
    secrets = None
    if secrets_path is not None:
        try:
            # Read only: a secret an older zabbix-ha did not generate is not saved back here.
            secrets = load_secrets(secrets_path, save_generated=False)
        except AnswersError as exc:
            raise UserError(f"this machine's applied secrets cannot be used: {exc.message}", fix(exc)) from None
    return Applied(spec, secrets, path, secrets_path)


def refuse_other_cluster(spec: ClusterSpec, source: str, command: str = "", root: Path | None = None) -> None:
    """Stop (OtherCluster, exit 2) when this machine keeps the answers of a
    cluster with another name than `spec`'s. `command` is the subcommand
    the fix names ("install "), empty for the wizard."""
    applied = applied_cluster(root)
    if applied is not None and applied.name != spec.name:
        raise OtherCluster(spec.name, str(source), applied, command)


class FixedAnswerChanged(UserError):
    """Answers that would change what a running cluster cannot change in place: exit 2, nothing changed."""

    def __init__(self, changes: list, applied: Applied) -> None:
        super().__init__(
            "these answers change what the running cluster cannot change in place:\n  "
            + "\n  ".join(c.message for c in changes),
            f"put these fields back to the values the cluster was built with (its applied answers: {applied.path}); "
            "to move the data to other disks or rename a node, build a new cluster and migrate Zabbix's database")
        self.changes = changes


def refuse_fixed_changes(spec: ClusterSpec, root: Path | None = None) -> None:
    """Stop (exit 2) when `spec` is this machine's cluster but changes an answer it cannot change live
    (wizard.rerun.fixed_changes): node names, DRBD devices, filesystem, database, Zabbix version ..."""
    from wizard.rerun import fixed_changes

    applied = applied_cluster(root)
    if applied is None or applied.name != spec.name:
        return
    changes = fixed_changes(applied.spec, spec)
    if changes:
        raise FixedAnswerChanged(changes, applied)
