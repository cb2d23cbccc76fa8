"""The status as one plain-text screen (80 columns) and as JSON; the TUI draws its own panel from the same data."""

from __future__ import annotations

import textwrap

from wizard.status.health import Problem
from wizard.status.model import Status

WIDTH = 80
LABEL = 11          # the left column ("Nodes", "DRBD r0", ...)
# Host names and options (zbx-node1, -br) stay whole; a word longer than a line still breaks.
_WRAP = {"break_on_hyphens": False}


def _rows(label: str, lines: list[str], width: int = WIDTH) -> list[str]:
    out = []
    for i, line in enumerate(lines or ["-"]):
        head = (label if i == 0 else "").ljust(LABEL)
        wrapped = textwrap.wrap(line, width - LABEL, subsequent_indent="  ", **_WRAP) or [""]
        out.append(head + wrapped[0])
        out += [" " * LABEL + w for w in wrapped[1:]]
    return out


def _nodes(st: Status) -> list[str]:
    out = []
    for n in st.nodes:
        if not n.reached:
            out.append(f"{n.name}: NOT REACHED")
            continue
        c = st.cluster
        node = c.node(n.name) if c else None
        if node is None:
            out.append(f"{n.name}: unknown to the cluster" if c else f"{n.name}: reached, no cluster view")
            continue
        flags = ["online" if node.online else "OFFLINE"]
        flags += [f for f, on in (("standby", node.standby), ("maintenance", node.maintenance),
                                  ("UNCLEAN", node.unclean), ("DC", node.is_dc)) if on]
        out.append(f"{n.name}: {', '.join(flags)}")
    return ["   ".join(out)]


def _quorum(st: Status) -> list[str]:
    c = st.cluster
    if c is None:
        return ["unknown (no node reported the cluster)"]
    q = {True: "yes", False: "NO", None: "unknown (no DC)"}[c.quorum]
    mm = "; cluster in MAINTENANCE mode" if c.maintenance_mode else ""
    return [f"{q} (seen from {st.view_from}){mm}"]


def _links(st: Status) -> list[str]:
    out = []
    for n in st.nodes:
        if not n.reached:
            continue
        if n.corosync is None:
            out.append(f"{n.name}: corosync not answering")
            continue
        parts = [f"link {ln.id} {'up' if ln.connected else 'DOWN'}" for ln in n.corosync.links]
        out.append(f"{n.name}: {', '.join(parts) or 'no links'}")
    return out


def _drbd(st: Status) -> list[str]:
    out = []
    for n in st.nodes:
        if not n.reached:
            continue
        d = n.drbd
        if d is None:
            out.append(f"{n.name}: {'module not loaded' if n.drbd_loaded is None else 'not up'}")
            continue
        line = f"{n.name}: {d.connection} {d.role}/{d.peer_role} {d.disk}/{d.peer_disk}"
        if d.sync_percent is not None:
            line += f", synced {d.sync_percent:g} %" + (f", {d.sync_eta} left" if d.sync_eta else "")
        out.append(line)
    return out


def _placement(nodes: tuple[str, ...], role: str) -> str:
    return f"{role} on {', '.join(nodes)}" if nodes else role


def _resources(st: Status) -> list[str]:
    c = st.cluster
    if c is None:
        return ["unknown"]
    out: list[str] = []
    groups: dict[str, list] = {}
    clones: dict[str, list] = {}
    for r in c.resources:
        if r.is_fence_device:
            continue
        if r.parent and r.parent.endswith("-clone") or sum(1 for x in c.resources if x.id == r.id) > 1:
            clones.setdefault(r.id, []).append(r)
        elif r.parent:
            groups.setdefault(r.parent, []).append(r)
        else:
            groups.setdefault(r.id, []).append(r)
    for rid, inst in clones.items():
        out.append(f"{rid}: " + ", ".join(_placement(r.nodes, r.role) for r in inst))
    for gid, members in groups.items():
        states = {(r.role, r.nodes) for r in members}
        if len(states) == 1 and len(members) > 1:
            role, nodes = states.pop()
            out.append(f"{gid}: all {len(members)} {_placement(nodes, role)}")
        elif len(members) == 1 and members[0].id == gid:          # a primitive of its own (an extra VIP)
            out.append(f"{gid}: {_placement(members[0].nodes, members[0].role)}")
        else:
            out.append(f"{gid}: " + ", ".join(f"{r.id} {_placement(r.nodes, r.role)}" for r in members))
    return out


def _fencing(st: Status) -> list[str]:
    c = st.cluster
    if c is None:
        return ["unknown"]
    out = []
    if not c.stonith_enabled:
        out.append("disabled" + (" (acknowledged: no fence device)" if st.expect.fencing == "none"
                                 and st.expect.fencing_acknowledged else ""))
    else:
        devices = c.fence_devices()
        out.append("enabled: " + (", ".join(f"{d.id} {_placement(d.nodes, d.role)}" for d in devices)
                                  or "no device"))
    if st.fence_history:
        ev = st.fence_history[0]
        out.append(f"last event: {ev.action} of {ev.target} {ev.status}"
                   + (f" by {ev.delegate}" if ev.delegate else "") + (f" at {ev.completed}" if ev.completed else ""))
    else:
        out.append("last event: none")
    return out


def _failures(st: Status) -> list[str]:
    c = st.cluster
    if c is None or not (c.failures or c.fail_counts):
        return ["none"]
    counts = {(f.node, f.resource): f.count for f in c.fail_counts}
    out = [f"{f.op_key} on {f.node}: {f.exitreason or f.exitstatus}"
           + (f" (fail count {counts[(f.node, f.resource)]})" if (f.node, f.resource) in counts else "")
           for f in c.failures]
    return out or [f"{fc.resource} on {fc.node}: fail count {fc.count}" for fc in c.fail_counts]


def _packages(st: Status, problems: list[Problem]) -> list[str]:
    reached = [n for n in st.nodes if n.reached and n.packages]
    if len(reached) < 2:
        return ["not compared (a node did not answer)"]
    drift = [p for p in problems if p.code in ("package-version-differs", "package-missing")]
    if drift:
        return [f"{len(drift)} difference(s), see below"]
    return [f"same versions on both nodes ({len(st.expect.packages)} packages)"]


def _constraint(c) -> str:
    what = {"prefer": f"{c.resource} -> {c.node}", "ban": f"{c.resource} not on {c.node}",
            "drbd-fence": f"{c.resource} promoted only on {c.node}"}.get(c.kind, c.resource)
    return f"{c.id} ({what})"


def format_screen(st: Status, problems: list[Problem], width: int = WIDTH) -> str:
    """`width`: the columns to fill (the wizard's panel is narrower than a terminal)."""
    bad = [p for p in problems if p.severity in ("error", "warning")]
    blocking = [p for p in problems if p.blocks_failover]
    verdict = ("HEALTHY" if not bad else "DEGRADED") + (", can fail over" if not blocking else ", CANNOT fail over")
    title = "zabbix-ha status"
    lines = [title + verdict.rjust(width - len(title)), ""]
    lines += _rows("Nodes", _nodes(st), width)
    lines += _rows("Quorum", _quorum(st), width)
    lines += _rows("Links", _links(st), width)
    lines += _rows(f"DRBD {st.expect.drbd_resource}", _drbd(st), width)
    lines += _rows("Resources", _resources(st), width)
    lines += _rows("Failed", _failures(st), width)
    lines += _rows("Moves/bans", [_constraint(c) for c in st.constraints] or ["none"], width)
    lines += _rows("Fencing", _fencing(st), width)
    lines += _rows("Packages", _packages(st, problems), width)
    if problems:
        lines += ["", f"{len(bad)} problem(s)" + (f", {len(blocking)} blocking a failover" if blocking else "") + ":"]
        for p in problems:
            mark = {"error": "ERROR", "warning": "WARN", "info": "info"}[p.severity]
            lines += textwrap.wrap(p.message, width, initial_indent=f"{mark:<6} ", subsequent_indent=" " * 7, **_WRAP)
            lines += textwrap.wrap(p.fix, width, initial_indent="       fix: ", subsequent_indent=" " * 12, **_WRAP)
    return "\n".join(lines) + "\n"


def as_json(st: Status, problems: list[Problem]) -> dict:
    return {
        "healthy": not any(p.severity in ("error", "warning") for p in problems),
        "failover_ready": not any(p.blocks_failover for p in problems),
        "problems": [p.as_dict() for p in problems],
        "status": st.as_dict(),
    }
