"""zabbix_agentd.conf and the MariaDB monitor's client wrapper.

Agent: `zabbix_agentd -c F -t agent.ping` parses the whole file strictly
(unknown parameter, bad value, missing Include directory: rc 1 with the
message) and then runs one item, without a server. It lets a bad address in
Server= through (measured with 6.0.14: `192.168.10.300` passes), so Python
checks every Server/ServerActive entry, and that Hostname is the node's name.
The test copy has PidFile/LogFile/Include in a temp directory, so it neither
needs nor touches the node's real ones.

Monitor client: `sh -n` plus the programs it execs must exist.
"""

from __future__ import annotations

import ipaddress
import os
import tempfile

from .core import (Target, ValidationContext, Verdict, bad_ipv4_literals,
                   single_exec, valid_hostname, valid_ip, write)
from .tree import tools_for

PACKAGE = "zabbix-agent"
_LISTS = ("Server", "ServerActive")


def _entries(text: str) -> list[tuple[int, str, str]]:
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out.append((number, key.strip(), value.strip()))
    return out


def _address_ok(entry: str, allow_port: bool) -> bool:
    if allow_port and entry.startswith("[") and "]" in entry:
        entry = entry[1:entry.index("]")]
    elif allow_port and entry.count(":") == 1:
        entry, _, port = entry.partition(":")
        if not (port.isdigit() and 1 <= int(port) <= 65535):
            return False
    if "/" in entry:
        try:
            ipaddress.ip_network(entry, strict=False)
            return True
        except ValueError:
            return False
    return valid_ip(entry) or (valid_hostname(entry) and not entry.replace(".", "").isdigit())


def python_checks(text: str, node: str, filename: str) -> list[str]:
    problems = bad_ipv4_literals(text, filename)
    seen: dict[str, int] = {}
    for number, key, value in _entries(text):
        if key in seen and key != "Include":
            problems.append(f"{filename}:{number}: {key} is set twice (first on line {seen[key]})")
        seen.setdefault(key, number)
        if key in _LISTS:
            for entry in (e.strip() for e in value.split(",")):
                if not entry or not _address_ok(entry, allow_port=key == "ServerActive"):
                    problems.append(f"{filename}:{number}: {key} entry '{entry}' is not an address")
        if key == "Hostname" and value != node:
            problems.append(f"{filename}:{number}: Hostname '{value}' is not this node's name ({node})")
    if "Server" not in seen:
        problems.append(f"{filename}: Server is not set: the agent would refuse every passive check")
    return problems


def _test_copy(text: str, tmp: str) -> str:
    """Same line numbers; PidFile/LogFile/Include pointed into tmp."""
    include_dir = os.path.join(tmp, "conf.d")
    os.makedirs(include_dir, exist_ok=True)
    out = []
    for line in text.splitlines():
        key = line.strip().partition("=")[0].strip()
        if key == "PidFile":
            line = f"PidFile={tmp}/zabbix_agentd.pid"
        elif key == "LogFile":
            line = f"LogFile={tmp}/zabbix_agentd.log"
        elif key == "Include":
            line = f"Include={include_dir}/*.conf"
        out.append(line)
    return "\n".join(out) + "\n"


def check_zabbix_agent(text: str, ctx: ValidationContext, node: str,
                       path: str = "/etc/zabbix/zabbix_agentd.conf") -> list[Verdict]:
    target = Target(node, path, "zabbix-agent")
    problems = python_checks(text, node, path)
    verdicts = [target.verdict("python", not problems, problems)]
    tools = tools_for(ctx.platform)
    tool = tools.find("zabbix_agentd")
    if tool is None:
        return [target.missing("zabbix_agentd -t", PACKAGE)] + verdicts
    with tempfile.TemporaryDirectory(prefix="zbxha-agent-") as tmp:
        conf = write(tmp, "zabbix_agentd.conf", _test_copy(text, tmp))
        res = tools.run([tool, "-c", conf, "-t", "agent.ping"])
        ok = res.rc == 0 and "[u|1]" in res.stdout
        messages = [line.split(": ", 1)[-1].replace(conf, path)
                    for line in (res.stderr + res.stdout).splitlines()
                    if line.strip() and "agent.ping" not in line] if not ok else []
        if not ok and not messages:
            messages = [f"zabbix_agentd -t agent.ping exited with {res.rc}"]
    return [target.verdict("zabbix_agentd -t", ok, messages, seconds=res.seconds)] + verdicts


def check_monitor_client(text: str, ctx: ValidationContext, node: str,
                         path: str = "/usr/local/lib/zabbix-ha/mysql-monitor-client") -> list[Verdict]:
    """The wrapper Pacemaker's mysql agent runs as its client: a valid shell
    script that execs setpriv and the MariaDB client as a non-root user."""
    target = Target(node, path, "mysql-monitor-client")
    problems = []
    if not text.startswith("#!/bin/sh\n"):
        problems.append(f"{path}:1: must start with #!/bin/sh")
    argv, missing = single_exec(text, path)
    problems += missing
    if argv is not None:
        for program in (argv[0], argv[argv.index("--") + 1] if "--" in argv else ""):
            if not program.startswith("/"):
                problems.append(f"{path}: '{program}' is not an absolute path")
        if not any(a.startswith("--reuid=") and a != "--reuid=root" and a != "--reuid=0" for a in argv):
            problems.append(f"{path}: the client must not run as root (setpriv --reuid=<monitor user>)")
        if argv[-1] != '"$@"' and argv[-1] != "$@":
            problems.append(f"{path}: the agent's arguments must be passed on (\"$@\")")
    tools = tools_for(ctx.platform)
    sh = tools.find("sh")
    verdicts = []
    with tempfile.TemporaryDirectory(prefix="zbxha-sh-") as tmp:
        f = write(tmp, "client", text, 0o755)
        res = tools.run([sh or "/bin/sh", "-n", f])
        verdicts.append(target.verdict("sh -n", res.rc == 0,
                                       [m.replace(f, path) for m in res.stderr.splitlines()],
                                       seconds=res.seconds))
    return verdicts + [target.verdict("python", not problems, problems)]
