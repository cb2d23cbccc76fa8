"""/etc/default/sbd: an environment file that sbd.service reads.

No tool checks it offline (sbd reads it only when it starts the watcher), so:
`sh -n` for the syntax, and Python against the keys the installed sbd package
documents in its own /etc/default/sbd (a misspelt key would silently be
ignored by sbd), plus the values the cluster depends on.
"""

from __future__ import annotations

import re
import tempfile

from .core import Target, ValidationContext, Verdict, write
from .tree import tools_for

PACKAGE = "sbd"
SHIPPED = "/etc/default/sbd"     # as the platform's sbd package ships it (read from its tools' tree)
_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=")


def known_keys(shipped: str) -> set[str]:
    """Keys the package's file sets or documents (commented examples count)."""
    return {m.group(1) for line in shipped.splitlines() if (m := _LINE.match(line.strip()))}


def _values(text: str) -> list[tuple[int, str, str]]:
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            out.append((number, key if sep else line, value.strip().strip('"') if sep else ""))
    return out


def python_checks(text: str, keys: set[str], filename: str) -> list[str]:
    problems = []
    seen: dict[str, str] = {}
    for number, key, value in _values(text):
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", key):
            problems.append(f"{filename}:{number}: not a KEY=value line")
            continue
        if key not in keys:
            problems.append(f"{filename}:{number}: {key} is not an sbd setting (sbd would ignore it)")
        if key in seen:
            problems.append(f"{filename}:{number}: {key} is set twice")
        seen[key] = value
    device = seen.get("SBD_DEVICE", "")
    if not device:
        problems.append(f"{filename}: SBD_DEVICE is not set: sbd would run without the shared disk")
    elif not all(d.startswith("/dev/") for d in device.split(";")):
        problems.append(f"{filename}: SBD_DEVICE '{device}' must be /dev paths")
    if seen.get("SBD_PACEMAKER") != "yes":
        problems.append(f"{filename}: SBD_PACEMAKER must be yes (the node must reset itself without quorum)")
    if not seen.get("SBD_WATCHDOG_DEV", "/dev/watchdog").startswith("/dev/watchdog"):
        problems.append(f"{filename}: SBD_WATCHDOG_DEV must be a watchdog device (not /dev/null)")
    timeout = seen.get("SBD_WATCHDOG_TIMEOUT", "5")
    if not timeout.isdigit() or int(timeout) < 1:
        problems.append(f"{filename}: SBD_WATCHDOG_TIMEOUT '{timeout}' must be whole seconds")
    if seen.get("SBD_STARTMODE", "always") not in ("always", "clean"):
        problems.append(f"{filename}: SBD_STARTMODE must be always or clean")
    return problems


def check_sbd_defaults(text: str, ctx: ValidationContext, node: str,
                       path: str = "/etc/default/sbd") -> list[Verdict]:
    target = Target(node, path, "sbd")
    tools = tools_for(ctx.platform)
    shipped = tools.file(SHIPPED)
    if not shipped.is_file() or tools.find("sbd") is None:
        return [target.missing("sbd defaults keys", PACKAGE)]
    problems = python_checks(text, known_keys(shipped.read_text()), path)
    with tempfile.TemporaryDirectory(prefix="zbxha-sbd-") as tmp:
        f = write(tmp, "sbd", text)
        res = tools.run([tools.find("sh") or "/bin/sh", "-n", f])
    verdicts = [target.verdict("sh -n", res.rc == 0, [m.replace(f, path) for m in res.stderr.splitlines()],
                               seconds=res.seconds)]
    return verdicts + [target.verdict("python", not problems, problems)]
