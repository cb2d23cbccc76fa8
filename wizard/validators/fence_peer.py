"""zabbix-ha's wrapper around DRBD's crm-fence-peer.sh (templates/drbd/crm-fence-peer.j2).

Checked the way DRBD will use it: `bash -n`, then run by the platform's own
bash, drbd-utils and cibadmin against the rendered CIB with a status section
as Pacemaker >= 2.1.7 writes it, where the peer is cleanly down
(in_ccm="0" crmd="0" expected="down"). The handler must conclude "fenced" at
once; the stock handler, reading the same CIB, polls until its --timeout and
says "unknown" (the failure of lab run 11). CIB_file makes cibadmin read the
file instead of a cluster; bash's xtrace (SHELLOPTS) both keeps the handler
from logging to syslog and shows its verdict (": == DEBUG == <peer_state>/...").
"""

from __future__ import annotations

import re
import tempfile
import xml.etree.ElementTree as ET

from .core import Target, ValidationContext, Verdict, single_exec, write
from .tree import tools_for

PACKAGE = "drbd-utils"
POLL_TIMEOUT_S = 6          # the handler's --timeout here: a wrong verdict costs this long
# Pacemaker 3's node_state of a member (timestamps) and of a node cleanly down ("0").
_SINCE = "1764410000"
_VERDICT = re.compile(r"^\+ : == DEBUG == (\w[\w-]*)/", re.M)


def status_cib(cib: str, up: str, down: str) -> str:
    """The rendered CIB with a status section: `up` a member, `down` cleanly down."""
    root = ET.fromstring(cib)
    status = root.find("status")
    if status is None:
        status = ET.SubElement(root, "status")
    status.clear()
    for i, (name, since, state) in enumerate(((up, _SINCE, "member"), (down, "0", "down")), start=1):
        ET.SubElement(status, "node_state", {"id": str(i), "uname": name, "in_ccm": since, "crmd": since,
                                             "join": state, "expected": state})
    return ET.tostring(root, encoding="unicode")


def python_checks(text: str, path: str) -> list[str]:
    problems = []
    if not text.startswith("#!/bin/bash\n"):
        problems.append(f"{path}:1: must start with #!/bin/bash (the handler it runs is bash; "
                        "`export -f` reaches only bash)")
    if "export -f cibadmin" not in text:
        problems.append(f"{path}: the cibadmin function must be exported (export -f cibadmin)")
    argv, missing = single_exec(text, path)
    problems += missing
    if argv is not None:
        if not argv or not argv[0].startswith("/"):
            problems.append(f"{path}: the handler it runs must be an absolute path")
        if argv[-1:] != ["$@"]:
            problems.append(f"{path}: DRBD's arguments must be passed on (\"$@\")")
    return problems


def check_fence_peer_handler(text: str, ctx: ValidationContext, node: str,
                             path: str = "/usr/local/lib/zabbix-ha/crm-fence-peer.sh",
                             cib: str | None = None) -> list[Verdict]:
    target = Target(node, path, "drbd-fence-peer")
    verdicts = [target.verdict("python", not (p := python_checks(text, path)), p)]
    tools = tools_for(ctx.platform)
    bash = tools.find("bash")
    if bash is None:
        return [target.missing("bash -n", "bash")] + verdicts
    with tempfile.TemporaryDirectory(prefix="zbxha-fencepeer-") as tmp:
        handler = write(tmp, "handler", text, 0o755)
        res = tools.run([bash, "-n", handler])
        verdicts.insert(0, target.verdict("bash -n", res.rc == 0,
                                          [m.replace(handler, path) for m in res.stderr.splitlines()],
                                          seconds=res.seconds))
        if cib is None:
            return verdicts
        for needed, package in (("cibadmin", "pacemaker-cli-utils"), ("crm-fence-peer.sh", PACKAGE)):
            if tools.find(needed) is None:
                return [*verdicts, target.verdict("crm-fence-peer.sh", False, [],
                                                  f"{needed} is not installed (Debian package {package})")]
        peer = next(n for n in ctx.nodes if n != node)
        cib_file = write(tmp, "cib.xml", status_cib(cib, node, peer))
        env = {"CIB_file": cib_file, "DRBD_RESOURCE": ctx.drbd_resource, "DRBD_PEER": peer,
               "DRBD_MINOR": "0", "SHELLOPTS": "xtrace"}
        # Through bash, not exec'd: another validator thread's fork may still hold the new file open for
        # writing (ETXTBSY), as check_ocf_agent found.
        run = tools.run([bash, handler, f"--timeout={POLL_TIMEOUT_S}", f"--dc-timeout={2 * POLL_TIMEOUT_S}",
                         "--lock-file=NONE"], env=env, timeout=60)
        found = _VERDICT.findall(run.stderr)
        ok = found[-1:] == ["fenced"]
        messages = [] if ok else [
            f"with Pacemaker >= 2.1.7's node_state (in_ccm=\"0\" crmd=\"0\" expected=\"down\") the handler took "
            f"{peer} for {found[-1] if found else 'nothing (no verdict; exit ' + str(run.rc) + ')'}, not fenced: "
            "it would poll until its --timeout while a promotion waits"]
        verdicts.append(target.verdict("crm-fence-peer.sh", ok, messages, seconds=run.seconds))
    return verdicts
