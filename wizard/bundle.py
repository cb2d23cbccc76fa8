"""The review bundle: what an install would put on the nodes, as one archive to read and pass on.

`build_bundle(spec)` returns the bytes of a .tar.gz with the files rendered
per node, the install steps per node, the answers, a README and a MANIFEST
of SHA-256 sums. It never sees the secrets: files that hold one on the nodes
are rendered with placeholders (REDACTED-<field>), so the bundle can go to a
change ticket or a reviewer by mail. The same spec gives the same bytes
(fixed mtimes, owners and order; gzip without name or time): two bundles
compare with `cmp`, and a hash quoted in a ticket stays true.

Offline by default. `export --nodes` adds a live/ part that needs them: the
preflight findings, the plan with its file and CIB diffs (a rerun), and the
newest failover reports, gathered by wizard/bundle_live.py into a `Live`.
A bundle with live/ carries the time it was taken and is no longer
byte-identical to another; the offline part stays as it was. No UI here,
so the CLI and a wizard screen call the same two functions.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import tarfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import yaml

from wizard import __version__
from wizard.spec import ClusterSpec, Secret, Secrets

MANIFEST = "MANIFEST"
PLACEHOLDER = "REDACTED-{}"
# One fixed time for every member: the archive must not depend on when it
# was made. 2000-01-01 rather than 0, which GNU tar reports as implausible.
MTIME = 946684800
GZIP_LEVEL = 9


@dataclass(frozen=True)
class Live:
    """What the nodes said when the bundle was made (`export --nodes`): wizard.bundle_live takes it, masked."""
    taken: str                          # UTC, e.g. 2026-11-28T14:03:11Z
    preflight: str                      # as `zabbix-ha preflight` prints it
    plan_diff: str                      # as `zabbix-ha plan --diff` prints it
    failover_from: str                  # node:directory the reports were read from
    failover: dict[str, str] = field(default_factory=dict)     # report file name -> text

    def members(self) -> dict[str, str]:
        header = f"# zabbix-ha {__version__}, taken from the nodes at {self.taken}: "
        out = {
            "live/TAKEN": self.taken + "\n",
            "live/preflight.txt": header + "zabbix-ha preflight\n" + self.preflight,
            "live/plan-diff.txt": header + "zabbix-ha plan --diff\n" + self.plan_diff,
        }
        out.update({f"live/failover/{name}": text for name, text in self.failover.items()})
        return out


def placeholder_secrets(spec: ClusterSpec) -> Secrets:
    """A Secrets of placeholders, one for every field (and every BMC), so every file is rendered."""
    values: dict = {}
    for f in dataclasses.fields(Secrets):
        if f.name == "ipmi":
            ipmi = spec.fencing.method == "ipmi"
            values[f.name] = {n: Secret(PLACEHOLDER.format(f"ipmi-{n}")) for n in spec.hostnames} if ipmi else {}
        else:
            values[f.name] = Secret(PLACEHOLDER.format(f.name))
    return Secrets(**values)


def plan_lines(spec: ClusterSpec) -> list[str]:
    """The install steps per node, as `zabbix-ha plan --offline` lists them."""
    from wizard.install.plan import build_plan, plan_lines as lines_of

    return lines_of(build_plan(spec), spec.hostnames)


def _files_listing(tree) -> str:
    lines = ["# Where each file goes on its node, with the mode and owner the install gives it.",
             "# secret: holds a password on the node; this bundle has a REDACTED-... placeholder instead.",
             "# node\tmode\towner:group\tpath"]
    for node, files in tree.items():
        for path in sorted(files):
            f = files[path]
            lines.append(f"{node}\t{f.mode:04o}\t{f.owner}:{f.group}\t{path}" + ("\tsecret" if f.secret else ""))
    return "\n".join(lines) + "\n"


def _live_readme(live: Live | None) -> str:
    from wizard.failover.command import REPORT_DIR

    if live is None:
        return f"""\
Not in this bundle (they need the nodes; `export --nodes` adds them as live/)
  zabbix-ha export --answers answers.yaml --secrets FILE --out FILE --nodes
  or one by one:
  preflight findings:  zabbix-ha preflight --answers answers.yaml --secrets FILE
  steps done, diffs:   zabbix-ha plan --answers answers.yaml --diff
  failover reports:    {REPORT_DIR}/ on the first node
"""
    reports = (f"the newest failover test reports ({len(live.failover)} files) in"
               if live.failover else "empty: no failover test report was found in")
    return f"""\
Taken from the nodes at {live.taken} UTC (`zabbix-ha export --nodes`)
  live/TAKEN          that time. With live/ this bundle is not byte-identical
                      to another of the same answers: the nodes change, and
                      so does the time. The rest of it still is.
  live/preflight.txt  `zabbix-ha preflight`: every finding on both nodes
                      and the network between them, with its fix
  live/plan-diff.txt  `zabbix-ha plan --diff`: each step marked done or to
                      do, and the diff of every file and of the cluster
                      configuration (CIB) the install would change; a file
                      holding a password is only said to differ
  live/failover/      {reports}
                      {live.failover_from}
"""


def _readme(spec: ClusterSpec, top: str, live: Live | None = None) -> str:
    return f"""\
Review bundle of the zabbix-ha cluster {spec.name!r} (zabbix-ha {__version__})
{"=" * 72}

What `zabbix-ha install` would put on the two nodes, for review before it
runs. Made {"from the answers file, live/ from the nodes" if live else "offline from the answers file alone"}; it holds no password.

  MANIFEST            SHA-256 of every other file, and the zabbix-ha version
  answers.yaml        the answers the files were rendered from (no secrets
                      live in an answers file)
  secrets.redacted.yaml
                      the fields the secrets file must hold, values replaced
  plan.txt            every install step per node, in order; DESTRUCTIVE
                      marks a step that writes a device
  files.txt           where each file goes on its node, mode and owner
  nodes/<node>/...    each file as it will be written, at its path on the node

How to review
  1. tar xzf <bundle>.tar.gz && cd {top}
  2. sha256sum -c MANIFEST          every line must say OK
  3. Read plan.txt: which disks are written (DESTRUCTIVE), in what order.
  4. Read the files under nodes/; `diff -r nodes/{spec.hostnames[0]} nodes/{spec.hostnames[1]}`
     shows what differs between the nodes.
  5. Compare with an earlier bundle: `diff -r old/ new/`. The same answers
     always give a byte-identical bundle (without live/), so `cmp` on two
     archives or their sha256 tells at once whether anything changed.

Placeholders
  Files marked `secret` in files.txt hold a password on the node. Here each
  password is REDACTED-<field> (REDACTED-db_password, REDACTED-ipmi-<node>,
  ...): the files show where a secret goes, never what it is. Do not copy
  them onto a node; the install renders them again with the secrets file.

{_live_readme(live)}"""


def bundle_members(spec: ClusterSpec, live: Live | None = None) -> dict[str, bytes]:
    """Every file of the bundle except the MANIFEST: relative path -> content."""
    from wizard.answers import dump_answers, to_data
    from wizard.render import render

    redacted = placeholder_secrets(spec)
    tree = render(spec, redacted)
    top = f"{spec.name}-zabbix-ha-review"
    members = {
        "README.txt": _readme(spec, top, live),
        "answers.yaml": dump_answers(spec),
        "secrets.redacted.yaml": "# The fields of the secrets file; every value is a placeholder.\n"
                                 + yaml.safe_dump(to_data(redacted), sort_keys=False, default_flow_style=False),
        "plan.txt": f"# zabbix-ha {__version__}: the install steps per node, in order.\n"
                    + "\n".join(plan_lines(spec)) + "\n",
        "files.txt": _files_listing(tree),
    }
    for node, files in tree.items():
        for path, rendered in files.items():
            members[f"nodes/{node}/{path.lstrip('/')}"] = rendered.text
    if live is not None:
        members.update(live.members())
    return {name: text.encode("utf-8") for name, text in members.items()}


def manifest(members: dict[str, bytes]) -> bytes:
    """`sha256sum -c` reads it as it is (it skips the # lines)."""
    lines = [f"# zabbix-ha {__version__} review bundle", "# check: sha256sum -c MANIFEST"]
    lines += [f"{hashlib.sha256(data).hexdigest()}  {name}" for name, data in sorted(members.items())]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _tar_info(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime = kind, mode, size, MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def build_bundle(spec: ClusterSpec, live: Live | None = None) -> bytes:
    """The .tar.gz bytes: one top directory, entries sorted, every header fixed (live/ ones too)."""
    members = bundle_members(spec, live)
    members[MANIFEST] = manifest(members)
    top = f"{spec.name}-zabbix-ha-review"
    directories = {str(p) for name in members for p in PurePosixPath(name).parents if str(p) != "."}
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(_tar_info(top, tarfile.DIRTYPE, 0o755))
        for name in sorted(directories | set(members), key=lambda n: PurePosixPath(n).parts):
            if name in members:
                data = members[name]
                tar.addfile(_tar_info(f"{top}/{name}", tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
            else:
                tar.addfile(_tar_info(f"{top}/{name}", tarfile.DIRTYPE, 0o755))
    packed = io.BytesIO()
    # filename="" and mtime=0: the gzip header carries neither a name nor a time.
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0, compresslevel=GZIP_LEVEL) as gz:
        gz.write(raw.getvalue())
    return packed.getvalue()


def check_bundle_out(out: Path, option: str = "--out") -> None:
    """Refuse an --out that cannot become the archive, before anything is rendered."""
    from wizard.errors import UserError
    from wizard.outdir import refuse_file_on_the_way

    if out.is_dir():
        raise UserError(f"{option} {out} is a directory; the bundle is one file",
                        f"give {option} a file name, e.g. {out / 'bundle.tar.gz'}")
    refuse_file_on_the_way(out, out.parents, option, "a path in an existing or new directory")


def write_bundle(data: bytes, out: Path, option: str = "--out") -> None:
    """Write the archive atomically. 0644: it holds no secret (build_bundle never sees one)."""
    from wizard.answers import write_atomic
    from wizard.errors import UserError

    check_bundle_out(out, option)
    try:
        write_atomic(out, data, 0o644)
    except OSError as exc:
        raise UserError(f"{option} {out}: cannot write it: {exc.strerror}",
                        f"give {option} a path you can write to") from None
