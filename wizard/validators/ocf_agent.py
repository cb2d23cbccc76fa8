"""zabbix-ha's OCF agent for the Zabbix server (a wrapper of heartbeat:zabbixserver).

`sh -n`, then the agent itself answers `meta-data` with the platform's
resource-agents installed (the stock agent it wraps, ocf-shellfuncs): the
XML must parse, name the agent and declare every parameter the CIB sets.
"""

from __future__ import annotations

import tempfile
import xml.etree.ElementTree as ET

from .core import Target, ValidationContext, Verdict, write
from .tree import tools_for

PACKAGE = "resource-agents"
OCF_ROOT = "/usr/lib/ocf"
STOCK = f"{OCF_ROOT}/resource.d/heartbeat/zabbixserver"
PARAMETERS = ("binary", "pid", "config", "db_pid", "db_gone_grace")


def check_ocf_agent(text: str, ctx: ValidationContext, node: str,
                    path: str = "/usr/lib/ocf/resource.d/zabbix-ha/zabbix-server") -> list[Verdict]:
    target = Target(node, path, "zabbix-server-agent")
    tools = tools_for(ctx.platform)
    if not tools.file(STOCK).exists():
        return [target.missing("meta-data", PACKAGE)]
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="zbxha-ocf-") as tmp:
        agent = write(tmp, "zabbix-server", text, 0o755)
        sh = tools.find("sh") or "/bin/sh"
        res = tools.run([sh, "-n", agent])
        verdicts.append(target.verdict("sh -n", res.rc == 0, [m.replace(agent, path) for m in res.stderr.splitlines()],
                                       seconds=res.seconds))
        # Through sh (its #!/bin/sh), not exec'd: a validator thread forking at the same time may still hold
        # the new file open for writing, and exec then fails with ETXTBSY (seen once in the binary test).
        res = tools.run([sh, agent, "meta-data"], env={"OCF_ROOT": OCF_ROOT})
    problems = [] if res.rc == 0 else [f"{path} meta-data exited with {res.rc}: {res.stderr.strip()[:300]}"]
    if not problems:
        try:
            root = ET.fromstring(res.stdout)
        except ET.ParseError as exc:
            problems.append(f"{path} meta-data is not XML: {exc}")
        else:
            if root.get("name") != "zabbix-server":
                problems.append(f"{path} meta-data names the agent {root.get('name')!r}, not 'zabbix-server'")
            declared = {p.get("name") for p in root.iter("parameter")}
            problems += [f"{path} meta-data does not declare the parameter {name!r}"
                         for name in PARAMETERS if name not in declared]
            if "stop" not in {a.get("name") for a in root.iter("action")}:
                problems.append(f"{path} meta-data has no stop action")
    return verdicts + [target.verdict("meta-data", not problems, problems, seconds=res.seconds)]
