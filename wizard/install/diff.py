"""What an install would change on a node, as unified diffs: the files, and the cluster configuration.

`zabbix-ha plan` shows these before anything runs on a cluster that exists
(a rerun). Read-only. A file holding a secret is never shown, only said to
differ; the CIB holds none (the IPMI password is read from a 0600 file by a
password_script), so its diff is shown whole: the live configuration against
the one the install would load (ours merged into the live one, as the CIB
step does), both pretty-printed.
"""

from __future__ import annotations

import difflib
import xml.etree.ElementTree as ET

from wizard.install.files import differing
from wizard.install.step import Context

_STAT = 'for f; do if [ -f "$f" ]; then stat -c "%a %U %G" -- "$f"; else echo missing; fi; done'


def _pretty(el: ET.Element) -> list[str]:
    copy = ET.fromstring(ET.tostring(el))
    ET.indent(copy)
    return ET.tostring(copy, encoding="unicode").splitlines(keepends=True)


def file_diffs(ctx: Context, changed: list | None = None) -> list[str]:
    """Diff lines for every rendered file of this node that differs (content, mode or owner)."""
    changed = differing(ctx) if changed is None else changed
    if not changed:
        return []
    states = ctx.sh(_STAT, *[f.path for f in changed], timeout=60).stdout.splitlines()
    out: list[str] = []
    for rendered, state in zip(changed, states):
        want = f"{rendered.mode:o} {rendered.owner} {rendered.group}"
        if state == "missing":
            out.append(f"+++ {rendered.path}: new file ({want})\n")
            if not rendered.secret:
                out += [f"+{line}" for line in rendered.text.splitlines(keepends=True)]
            continue
        if state != want:
            out.append(f"~~~ {rendered.path}: mode/owner {state} -> {want}\n")
        if rendered.secret:
            out.append(f"~~~ {rendered.path}: holds secrets; whether its content changes is not shown\n")
            continue
        current = ctx.ex.get(rendered.path, timeout=60)
        out += difflib.unified_diff(current.splitlines(keepends=True), rendered.text.splitlines(keepends=True),
                                    f"{ctx.node}:{rendered.path} (now)", f"{ctx.node}:{rendered.path} (install)")
    return [line if line.endswith("\n") else line + "\n" for line in out]


def cib_diff(ctx: Context) -> list[str]:
    """The cluster configuration now against what the CIB step would load; [] when nothing differs
    or there is no cluster yet (then the install loads it whole)."""
    from wizard.install.cib import differences, merged, rendered_configuration

    res = ctx.run(["cibadmin", "--query", "--scope", "configuration"], check=False, timeout=60)
    if not res.ok:
        return []
    live = ET.fromstring(res.stdout)
    new = rendered_configuration(ctx)
    if not differences(live, new):
        return []
    return list(difflib.unified_diff(_pretty(live), _pretty(merged(live, new)), "CIB configuration (now)",
                                     "CIB configuration (install)"))


# What a changed file of each kind does to the running services (see services, corosync_live).
_FILE_EFFECTS = {
    "mariadb": "MariaDB restarts in place, and with it what starts after it in group zabbix (the addresses, "
               "Apache, the Zabbix server): Zabbix is down until they are back",
    "zabbix-server": "the Zabbix server restarts in place (collection pauses; the frontend stays up)",
    "zabbix-server-secrets": "the Zabbix server restarts in place (collection pauses; the frontend stays up)",
    "apache": "Apache reloads gracefully: no request is lost",
    "zabbix-frontend": "read by the frontend on its next request: nothing restarts",
    "zabbix-agent": "zabbix-agent restarts on that node (it is not a cluster service)",
    "zabbix-server-agent": "Pacemaker runs the new agent from the Zabbix server's next action: nothing restarts",
    "corosync": "corosync re-reads it live (corosync-cfgtool -R): nothing restarts",
    "sbd": "read when sbd starts (with corosync): the install does not restart a running sbd for it",
    "drbd-fence-peer": "DRBD runs it the next time it must fence its peer: nothing restarts",
    "drbd-global": "DRBD takes it live (drbdadm adjust); a changed connection reconnects, the data stays",
    "drbd-resource": "DRBD takes it live (drbdadm adjust); a changed connection reconnects, the data stays",
}

SBD_STARTS = ("sbd is not running yet and starts only with corosync: the cluster stack restarts on both nodes in "
              "maintenance mode (the resources keep running, unmanaged; nothing stops or moves)")


def transition(ctx: Context) -> list[str] | None:
    """What Pacemaker would do with the new configuration (crm_simulate on the live status): its
    Transition Summary lines; None when there is no cluster to ask."""
    from wizard.install.cib import proposed, rendered_configuration

    res = ctx.run(["cibadmin", "--query"], check=False, timeout=60)
    if not res.ok:
        return None
    whole = proposed(ET.fromstring(res.stdout), rendered_configuration(ctx))
    sim = ctx.run(["crm_simulate", "--xml-pipe", "--simulate"], input=ET.tostring(whole, encoding="unicode"),
                  check=False, timeout=120)
    if not sim.ok or "Transition Summary:" not in sim.stdout:
        return None
    summary = sim.stdout.split("Transition Summary:", 1)[1].split("Executing Cluster Transition:", 1)[0]
    return [line.strip() for line in summary.splitlines() if line.strip().startswith("*")]


def effects(contexts: dict[str, Context], nodes: list[str], changed: dict[str, list] | None = None) -> list[str]:
    """Per changed file (CHANGED: per node, as files.differing found them), what happens to the running
    services; then what Pacemaker would do."""
    from wizard.install.corosync_live import fixed, stale

    lines: list[str] = []
    blocked: list[str] | None = None
    for node in nodes:
        ctx = contexts[node]
        for rendered in (changed[node] if changed is not None else differing(ctx)):
            effect = _FILE_EFFECTS.get(rendered.kind, "nothing restarts")
            if rendered.kind == "sbd" and not ctx.ok(["systemctl", "is-active", "--quiet",
                                                      ctx.profile.services.sbd]):
                effect = SBD_STARTS
            if rendered.kind == "corosync":
                if blocked is None:               # stale() reads both nodes' cmap: asked once
                    try:
                        blocked = fixed(sorted({k for keys in stale(ctx).values() for k in keys}))
                    except Exception:             # no corosync running: the install starts it
                        blocked = []
                if blocked:
                    effect = f"REFUSED: corosync cannot take {', '.join(blocked)} while it runs"
            lines.append(f"  {node}:{rendered.path}: {effect}\n")
    first = contexts[nodes[0]]
    plan = transition(first)
    if plan is not None:
        if plan:
            lines.append("  Pacemaker, with the new cluster configuration (crm_simulate):\n")
            lines += [f"    {line}\n" for line in plan]
        else:
            lines.append("  Pacemaker, with the new cluster configuration (crm_simulate): "
                         "nothing starts, stops, moves or restarts\n")
    if not lines:
        return []
    return ["\nWhat happens to the running services:\n", *lines, "  Everything else keeps running.\n"]
