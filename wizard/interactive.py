"""`zabbix-ha` with no subcommand: the wizard in one of three modes.

- TUI (default): the Textual screens in screens/.
- `--plain`: the same questions as line prompts (questionary), for serial
  consoles and dumb terminals.
- `--answers FILE --yes`: unattended; load, validate, save, print where.

All three build the same ClusterSpec and save it with the same function, so
the same choices give the same answers file. Textual and questionary are
imported inside the functions that need them: `--yes` never loads either,
and the core (wizard/) stays free of UI imports.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import sys
from pathlib import Path

from wizard.errors import UserError
from wizard.i18n import _

DEFAULT_ANSWERS_NAME = "zabbix-ha.yaml"
EXAMPLE_ANSWERS = Path(__file__).resolve().parent.parent / "examples" / "two-node.yaml"


def default_answers_out() -> Path:
    """Where answers are saved unless the person says otherwise: the current
    directory, never over the file they were loaded from (it may hold comments)."""
    return Path.cwd() / DEFAULT_ANSWERS_NAME


def secrets_path_for(answers: Path) -> Path:
    """The secrets file that goes with an answers file: `x.yaml` -> `x.secrets.yaml`."""
    answers = Path(answers)
    return answers.with_name(f"{answers.stem}.secrets.yaml")


def default_spec():
    """The documented example's answers: the starting point of a new cluster."""
    from wizard.answers import load_answers

    return load_answers(EXAMPLE_ANSWERS)


def lab_answers() -> Path | None:
    """The local two-node lab's answers file, when a lab is up and has written one.

    `zabbix-ha lab up` writes it (wizard/lab/answers.py) at the path
    `zabbix-ha lab answers` prints; with no lab up the wizard does not offer it.
    """
    paths = _lab_paths()
    answers = getattr(paths, "ANSWERS_FILE", None)
    return Path(answers) if answers and Path(answers).is_file() else None


def lab_secrets() -> Path | None:
    paths = _lab_paths()
    secrets = getattr(paths, "SECRETS_FILE", None)
    return Path(secrets) if secrets and Path(secrets).is_file() else None


def lab_installed() -> bool:
    """Whether this zabbix-ha has the lab subsystem (a lab may still not be up)."""
    return _lab_paths() is not None


def _lab_paths():
    try:
        return importlib.import_module("wizard.lab.paths")
    except ImportError:     # the lab is optional (and built by its own issue)
        return None


def save_all(spec, secrets, answers_out: Path) -> list[Path]:
    """Save the answers, and the secrets (0600) when any is set. Returns the paths written."""
    from wizard.answers import save_answers, save_secrets

    answers_out = Path(answers_out)
    save_answers(spec, answers_out)
    written = [answers_out]
    if secrets is not None and secrets.typed_values():
        path = secrets_path_for(answers_out)
        save_secrets(secrets, path)
        written.append(path)
    return written


def load_start(args: argparse.Namespace):
    """(spec, secrets, source) from --answers/--secrets, else the example defaults."""
    from wizard.answers import load_answers, load_secrets
    from wizard.spec import Secrets

    if args.answers:
        spec = load_answers(args.answers)
        source = str(args.answers)
    else:
        spec = default_spec()
        source = ""
    secrets = load_secrets(args.secrets) if getattr(args, "secrets", None) else Secrets()
    return spec, secrets, source


def run(args: argparse.Namespace) -> int:
    if getattr(args, "yes", False):
        return run_unattended(args)
    if getattr(args, "plain", False):
        if not sys.stdin.isatty():
            raise UserError(_("--plain asks questions and needs a terminal"),
                            _("run it at a terminal, or use --answers FILE --yes for scripts"))
        try:
            from wizard.plain import run_plain

            return run_plain(args)
        except EOFError:
            raise UserError(_("the input ended before every question was answered; nothing was saved"),
                            _("answer at a terminal, or use --answers FILE --yes for scripts")) from None
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UserError(_("the wizard needs a terminal"),
                        _("use --plain on a serial console, or --answers FILE --yes for scripts"))
    return run_tui(args)


# ---------------------------------------------------------------------------
# what the TUI and plain mode share: which fields a step owns, and what is
# saved of fields that only matter for one choice

# Field paths (as wizard.spec.validate names them) each step asks for.
STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "nodes": ("name", "platform", "nodes", "secrets.hacluster_password"),
    "disks": ("storage.nodes", "storage.meta_disk_mode", "storage.filesystem", "storage.mount_point",
              "storage.resource", "storage.minor", "storage.port", "storage.protocol"),
    "interconnect": ("links", "storage.replication_link"),
    "services": ("services",),
    "zabbix": ("zabbix", "secrets.db_password", "secrets.zabbix_admin_password"),
    "fencing": ("fencing", "secrets.ipmi"),
}


def step_titles() -> dict[str, str]:
    """The steps' names as people read them (TUI title bar, plain mode headings)."""
    return {
        "welcome": _("Welcome"), "nodes": _("Nodes"), "disks": _("Disks"),
        "interconnect": _("Interconnect"), "services": _("Service addresses"),
        "zabbix": _("Zabbix"), "fencing": _("Fencing"), "review": _("Review"),
        "preflight": _("Preflight"), "install": _("Install"),
        "failover": _("Failover test"), "done": _("Done"),
    }


def under(path: str, prefix: str) -> bool:
    """Whether field `path` is `prefix` or inside it (`links` covers `links[1].prefix`)."""
    return path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "[")


def step_problems(spec, secrets, prefixes: tuple[str, ...]):
    """The core's problems with the fields one step owns (no rules of our own)."""
    from wizard.spec import validate, validate_secrets

    found = validate(spec) + validate_secrets(spec, secrets)
    return [p for p in found if any(under(p.field, pre) for pre in prefixes)]


def int_or_text(value: str) -> int | str:
    """An integer field's value; what was typed when it is not a number, so
    the validator names the field instead of the wizard guessing a value."""
    try:
        return int(value.strip())
    except ValueError:
        return value.strip()


def keep_used_storage(storage) -> None:
    """Internal meta-data has no meta-disk; only the indexed mode has a slot."""
    for disks in storage.nodes:
        if storage.meta_disk_mode == "internal":
            disks.meta_disk = None
        if storage.meta_disk_mode != "indexed":
            disks.meta_index = 0


def keep_used_zabbix(zabbix) -> None:
    """The mirror URL is saved only with the mirror source (the validator
    rejects a URL that would not be used)."""
    if zabbix.package_source != "mirror":
        zabbix.mirror_url = ""


def keep_used_fencing(spec, secrets) -> None:
    """Only the chosen method's settings (and BMC passwords) are saved."""
    f = spec.fencing
    if f.method != "ipmi":
        f.ipmi = []
        secrets.ipmi = {}
    if f.method != "sbd":
        f.sbd_device = ""
    if f.method != "none":
        f.acknowledgement = ""


def summary(spec) -> str:
    """The answers in a few lines a person can check at a glance."""
    from wizard.platforms import PLATFORMS

    platform = PLATFORMS[spec.platform].name if spec.platform in PLATFORMS else spec.platform
    z = spec.zabbix
    source = {"os": _("from the OS"), "official": _("from repo.zabbix.com"),
              "mirror": _("from {url}").format(url=z.mirror_url)}.get(z.package_source, z.package_source)
    s = spec.storage
    lines = [
        _("Cluster     {name} on {platform}").format(name=spec.name, platform=platform),
        _("Nodes       {nodes}").format(nodes=", ".join(
            f"{n.hostname} {n.address}" + (_(" (preferred)") if i == 0 else "") for i, n in enumerate(spec.nodes))),
    ]
    for i, link in enumerate(spec.links):
        drbd = _(" ← DRBD") if i == s.replication_link else ""
        a, b = (list(link.addresses) + ["?", "?"])[:2]
        lines.append(_("Link {n}      {a} ↔ {b} /{prefix}{drbd}").format(n=i, a=a, b=b, prefix=link.prefix, drbd=drbd))
    for i, d in enumerate(s.nodes):
        meta = {"internal": _("internal meta-data"), "flexible": _("meta-data on {m}").format(m=d.meta_disk),
                "indexed": _("meta-data on {m}[{i}]").format(m=d.meta_disk, i=d.meta_index)}.get(s.meta_disk_mode, "")
        name = spec.nodes[i].hostname if i < len(spec.nodes) else "?"
        lines.append(_("DRBD        {node}: {disk}, {meta}").format(node=name, disk=d.disk, meta=meta))
    lines.append(_("Filesystem  {fs} on /dev/drbd{minor}, mounted at {mp}").format(
        fs=s.filesystem, minor=s.minor, mp=s.mount_point))
    sv = spec.services
    lines.append(_("VIP         {vip}/{prefix} on {nics}; source address {src}").format(
        vip=sv.vip, prefix=sv.vip_prefix, nics="/".join(sv.vip_nics), src=sv.effective_source))
    lines.append(_("Zabbix      {v} LTS {source}, {tier}, {engine} database {db}").format(
        v=z.version, source=source, tier=z.sizing, engine=z.db_engine, db=z.db_name))
    f = spec.fencing
    fencing = {"ipmi": _("IPMI: {bmcs}").format(bmcs=", ".join(d.address for d in f.ipmi)),
               "sbd": _("SBD on {dev}").format(dev=f.sbd_device),
               "none": _("none (acknowledged)")}.get(f.method, f.method)
    lines.append(_("Fencing     {fencing}").format(fencing=fencing))
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# unattended

def run_unattended(args: argparse.Namespace, answers_out: Path | None = None, out=None) -> int:
    """Load, validate, save, print where. Exit 2 with field + fix on bad answers."""
    from wizard.answers import load_answers, load_secrets
    from wizard.spec import errors, validate, validate_secrets

    out = out or sys.stdout
    if not args.answers:
        raise UserError(_("--yes needs an answers file: nothing to take unattended"),
                        _("run: zabbix-ha --answers FILE --yes (or leave out --yes to be asked)"))
    spec = load_answers(args.answers)
    secrets = load_secrets(args.secrets) if args.secrets else None
    problems = validate(spec) + (validate_secrets(spec, secrets) if secrets is not None else [])
    bad = errors(problems)
    if bad:
        print(_("zabbix-ha: the answers in {path} have {n} problem(s):").format(path=args.answers, n=len(bad)),
              file=sys.stderr)
        for p in bad:
            print(f"  {p.field}: {p.message}\n    fix: {p.fix}", file=sys.stderr)
        return 2
    for p in problems:
        if p.severity == "warning":
            print(_("warning: {field}: {message} (fix: {fix})").format(field=p.field, message=p.message, fix=p.fix),
                  file=sys.stderr)
    target = Path(answers_out) if answers_out else default_answers_out()
    try:
        written = save_all(spec, secrets, target)
    except OSError as exc:
        raise UserError(_("cannot save the answers to {path}: {error}").format(path=target, error=exc.strerror),
                        _("run it in a directory you can write to")) from None
    print(_("answers saved to {path}").format(path=written[0]), file=out)
    if len(written) > 1:
        print(_("secrets saved to {path} (mode 0600)").format(path=written[1]), file=out)
    elif secrets is None:
        print(_("no --secrets given: no secrets file written"), file=out)
    return 0


# ---------------------------------------------------------------------------
# TUI

_FIND = object()


def build_app(args: argparse.Namespace | None = None, *, answers_out: Path | None = None,
              start_at: str = "welcome", spec=None, secrets=None, lab=_FIND):
    """The Textual app for these arguments (tests and the benchmark build it here)."""
    from screens.app import WizardApp

    source = ""
    if spec is None:
        args = args or argparse.Namespace(answers=None, secrets=None)
        spec, loaded_secrets, source = load_start(args)
        secrets = secrets if secrets is not None else loaded_secrets
    return WizardApp(copy.deepcopy(spec), secrets, answers_out=answers_out or default_answers_out(),
                     source=source, lab_answers=lab_answers() if lab is _FIND else lab, start_at=start_at)


def run_tui(args: argparse.Namespace) -> int:
    app = build_app(args)
    result = app.run()
    return result if isinstance(result, int) else 0
