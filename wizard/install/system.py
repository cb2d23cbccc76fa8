"""The node around the cluster: /etc/hosts, clocks, the route IPsrcaddr rewrites, the Zabbix agent.

/etc/hosts gets one block between markers, replaced whole; the rest of
the file is the administrator's and stays as it is.
"""

from __future__ import annotations

import time

from wizard.install.files import changed_kinds
from wizard.install.step import SYSTEMCTL_TIMEOUT, Context, Step, StepFailed

HOSTS = "/etc/hosts"
BEGIN = "# BEGIN zabbix-ha (managed: edit the answers file instead)"
END = "# END zabbix-ha"
# Corosync and Zabbix tolerate little clock difference between the nodes.
MAX_CLOCK_SKEW_S = 2.0


def _hosts_block(ctx: Context) -> str:
    fragment = ctx.file("hosts")
    body = "\n".join(line for line in fragment.text.splitlines() if line and not line.startswith("#"))
    return f"{BEGIN}\n{body}\n{END}\n"


def merged_hosts(current: str, block: str) -> str:
    """`current` with our block replaced (or appended)."""
    lines = current.splitlines(keepends=True)
    out, inside, placed = [], False, False
    for line in lines:
        if line.rstrip("\n") == BEGIN:
            inside = True
            if not placed:
                out.append(block)
                placed = True
            continue
        if inside:
            if line.rstrip("\n") == END:
                inside = False
            continue
        out.append(line)
    if not placed:
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n"
        out.append(block)
    return "".join(out)


def _hosts_in_place(ctx: Context) -> bool:
    current = ctx.ex.get(HOSTS)
    return merged_hosts(current, _hosts_block(ctx)) == current


def _write_hosts(ctx: Context) -> str:
    current = ctx.ex.get(HOSTS)
    ctx.ex.put(HOSTS, merged_hosts(current, _hosts_block(ctx)), 0o644)
    return f"{HOSTS}: the nodes' names in the zabbix-ha block"


def _verify_clocks(ctx: Context) -> None:
    before = time.time()
    mine = float(ctx.run(["date", "+%s.%N"]).stdout)
    theirs = float(ctx.on(ctx.peer).run(["date", "+%s.%N"]).stdout)
    elapsed = time.time() - before
    skew = abs(theirs - mine) - elapsed
    if skew > MAX_CLOCK_SKEW_S:
        raise StepFailed(f"the clocks of {ctx.node} and {ctx.peer} differ by {skew:.1f} s",
                         "run NTP (chrony or systemd-timesyncd) on both nodes against the same servers")
    synced = ctx.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"], check=False).stdout.strip()
    if synced != "yes":
        ctx.say(f"clocks agree within {MAX_CLOCK_SKEW_S:g} s, but {ctx.node} is not NTP-synchronised: "
                "enable chrony or systemd-timesyncd so they stay that way")


def _verify_default_route(ctx: Context) -> None:
    res = ctx.run(["ip", "-j", "route", "show", "default"], check=False)
    if not res.ok or res.stdout.strip() in ("", "[]"):
        raise StepFailed(f"{ctx.node} has no default route; the source address resource (IPsrcaddr) "
                         "sets the source of the default route and fails without one",
                         f"add a default route on {ctx.node} (the gateway of the management network)")


def _agent_running(ctx: Context) -> bool:
    unit = ctx.profile.services.zabbix_agent
    enabled = ctx.run(["systemctl", "is-enabled", unit], check=False).stdout.strip()
    active = ctx.run(["systemctl", "is-active", unit], check=False).stdout.strip()
    return enabled == "enabled" and active == "active" and "zabbix-agent" not in changed_kinds(ctx)


def _start_agent(ctx: Context) -> str:
    unit = ctx.profile.services.zabbix_agent
    if ctx.run(["systemctl", "is-enabled", unit], check=False).stdout.strip() != "enabled":
        ctx.run(["systemctl", "unmask", unit], timeout=SYSTEMCTL_TIMEOUT)
        ctx.run(["systemctl", "enable", unit], timeout=SYSTEMCTL_TIMEOUT)
    ctx.run(["systemctl", "restart", unit], timeout=SYSTEMCTL_TIMEOUT)
    return f"{unit} enabled and (re)started"


def _verify_agent(ctx: Context) -> None:
    unit = ctx.profile.services.zabbix_agent
    active = ctx.run(["systemctl", "is-active", unit], check=False).stdout.strip()
    if active != "active":
        log = ctx.run(["journalctl", "-u", unit, "-n", "20", "--no-pager"], check=False).stdout
        raise StepFailed(f"on {ctx.node}: the Zabbix agent is {active}", "read its log below", log)


def steps(nodes: list[str]) -> list[Step]:
    out = []
    for node in nodes:
        out += [
            Step(node, "system.hosts", "Node names in /etc/hosts", check=_hosts_in_place, apply=_write_hosts,
                 after=("files.write",)),
            Step(node, "system.route", "A default route for the source address", verify=_verify_default_route),
            Step(node, "system.agent", "Zabbix agent running", check=_agent_running, apply=_start_agent,
                 verify=_verify_agent, after=("files.write",), restarts=("zabbix-agent",)),
        ]
    out.insert(0, Step(nodes[0], "system.clocks", "Clocks of both nodes agree", verify=_verify_clocks))
    return out
