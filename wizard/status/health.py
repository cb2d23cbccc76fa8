"""Judge a Status: every problem as data (code, severity, node, message, fix), and the failover gate.

Pure functions over wizard.status.model.Status; nothing runs a command.
Like a preflight Finding, a Problem carries a code and a payload the tests
assert on, and the fix as the command an administrator types (Pacemaker's
own tools: crm_resource, crm_attribute, crm_standby; drbdadm). Severity:
"error" — the cluster cannot fail over now (`blocks_failover`); "warning" —
degraded, it still can (one interconnect link down, package versions
drifted); "info" — worth knowing (running without fencing, acknowledged).
`failover_ready` is the gate every failover scenario passes first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from wizard.status.model import CFGTOOL, CONSTRAINTS, CRM_MON, FENCE_HISTORY, PACKAGES, Status
from wizard.status.parse import FenceEvent

Severity = Literal["error", "warning", "info"]

# Stack packages whose versions must match on both nodes; a drift elsewhere
# (php, curl) is reported too, but these are the ones that break a failover.
STRICT_PACKAGES = ("drbd-utils", "corosync", "pacemaker", "pacemaker-cli-utils", "resource-agents", "fence-agents",
                   "fence-agents-ipmilan", "fence-agents-sbd", "sbd", "mariadb-server", "zabbix-server-mysql", "zabbix-frontend-php")
# Roles in which a resource instance is running.
RUNNING_ROLES = ("Started", "Promoted", "Unpromoted", "Master", "Slave")


@dataclass(frozen=True)
class Problem:
    code: str
    severity: Severity
    node: str | None
    message: str
    fix: str
    payload: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def blocks_failover(self) -> bool:
        return self.severity == "error"

    def as_dict(self) -> dict:
        return {"code": self.code, "severity": self.severity, "node": self.node, "message": self.message,
                "fix": self.fix, "payload": self.payload, "blocks_failover": self.blocks_failover}


def problems(status: Status) -> list[Problem]:
    """Everything wrong with the cluster, errors first, each with its fix."""
    out: list[Problem] = []
    for check in (_reach, _membership, _links, _drbd, _resources, _failures, _constraints, _fencing, _packages):
        out += check(status)
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(out, key=lambda p: order[p.severity])


def failover_ready(status: Status) -> list[Problem]:
    """Why the cluster could NOT fail over now; empty when it can.

    Both nodes online (not standby, not in maintenance), quorum, DRBD
    Connected UpToDate/UpToDate, every resource running and managed, no
    failed actions, no leftover move/ban constraints, fencing working (or
    "none" with its typed acknowledgement).
    """
    return [p for p in problems(status) if p.blocks_failover]


def healthy(status: Status) -> bool:
    """No error and no warning (info does not count)."""
    return not any(p.severity in ("error", "warning") for p in problems(status))


def _p(code, severity, node, message, fix, **payload) -> Problem:
    return Problem(code, severity, node, message, fix, payload)


START_STACK = "systemctl start corosync pacemaker"


# -- reachability and membership -------------------------------------------------

def _reach(st: Status) -> list[Problem]:
    out = []
    for n in st.nodes:
        if not n.reached:
            out.append(_p("node-unreachable", "error", n.name, f"{n.name} could not be reached: {n.error}",
                          f"check that {n.name} is up and reachable over SSH", reason=n.error))
            continue
        if CRM_MON in n.tool_errors:
            both = CFGTOOL in n.tool_errors
            out.append(_p("pacemaker-not-running", "error", n.name,
                          f"{'neither corosync nor Pacemaker answers' if both else 'Pacemaker does not answer'} "
                          f"on {n.name} (crm_mon: {n.tool_errors[CRM_MON]})",
                          f"on {n.name}: {START_STACK}; journalctl -u corosync -u pacemaker shows why it stopped",
                          reason=n.tool_errors[CRM_MON], corosync=not both))
    return out


def _membership(st: Status) -> list[Problem]:
    c = st.cluster
    if c is None:
        if all(n.reached for n in st.nodes):
            return []          # each node's pacemaker-not-running says it already
        return [_p("no-cluster-view", "error", None, "no node could report the cluster's state",
                   "bring at least one node up with corosync and pacemaker running")]
    out = []
    if c.quorum is not True:
        out.append(_p("no-quorum", "error", st.view_from,
                      f"the cluster has no quorum (as {st.view_from} sees it)" if c.quorum is False else
                      f"the cluster has no DC yet, so no quorum (as {st.view_from} sees it)",
                      "check the interconnect links (corosync-cfgtool -s on both nodes) and that corosync runs "
                      "on both nodes", seen_from=st.view_from))
    if c.maintenance_mode:
        out.append(_p("cluster-maintenance", "error", None,
                      "the cluster is in maintenance mode: Pacemaker neither monitors nor moves anything",
                      "crm_attribute --type crm_config --name maintenance-mode --update false"))
    for name in st.expect.nodes:
        node = c.node(name)
        if node is None:
            out.append(_p("node-unknown", "error", name, f"{name} is not a node of the running cluster",
                          f"check that /etc/corosync/corosync.conf on both nodes names {name}"))
        elif node.unclean:
            out.append(_p("node-unclean", "error", name,
                          f"{name} is UNCLEAN: the cluster waits for it to be fenced",
                          "check the fence device of this node "
                          "(stonith_admin --history '*' --verbose shows the attempts)"))
        elif not node.online:
            out.append(_p("node-offline", "error", name, f"{name} is offline in the cluster",
                          f"on {name}: {START_STACK}"))
        else:
            if node.standby:
                why = " (it failed a resource: standby on fail)" if node.standby_onfail else ""
                out.append(_p("node-standby", "error", name, f"{name} is in standby{why}: nothing can run on it",
                              f"crm_standby --node {name} --update off"))
            if node.maintenance:
                out.append(_p("node-maintenance", "error", name,
                              f"{name} is in maintenance: Pacemaker does not manage its resources",
                              f"crm_attribute --node {name} --name maintenance --delete"))
    return out


# -- corosync links ----------------------------------------------------------------

def _links(st: Status) -> list[Problem]:
    out = []
    for n in st.nodes:
        if not n.reached:
            continue
        if n.corosync is None:
            if CFGTOOL in n.tool_errors and CRM_MON not in n.tool_errors:   # else said with Pacemaker
                out.append(_p("corosync-not-running", "error", n.name,
                              f"corosync does not answer on {n.name} ({n.tool_errors[CFGTOOL]})",
                              f"on {n.name}: {START_STACK}"))
            continue
        for link in n.corosync.links:
            if not link.connected:
                down = [p.nodeid for p in link.peers if not p.is_local and not p.connected]
                out.append(_p("link-down", "warning", n.name,
                              f"corosync link {link.id} ({link.address or '?'}) on {n.name} is down"
                              + (f" to node id {', '.join(map(str, down))}" if down else ""),
                              f"check the cable, switch and interface of link {link.id} on both nodes "
                              "(ip -br addr); corosync reconnects by itself",
                              link=link.id, address=link.address))
        if len(n.corosync.links) < st.expect.links:
            out.append(_p("link-missing", "warning", n.name,
                          f"{n.name} runs {len(n.corosync.links)} corosync link(s), the answers have {st.expect.links}",
                          "check /etc/corosync/corosync.conf on the node and each link's interface, then "
                          "systemctl restart corosync on that node at a quiet time",
                          running=len(n.corosync.links), expected=st.expect.links))
    return out


# -- DRBD ---------------------------------------------------------------------------

def _drbd(st: Status) -> list[Problem]:
    res, e = st.expect.drbd_resource, st.expect
    out = []
    for n in st.nodes:
        if not n.reached:
            continue
        d = n.drbd
        if n.drbd_loaded is None:
            out.append(_p("drbd-not-loaded", "error", n.name, f"the DRBD module is not loaded on {n.name}",
                          f"on {n.name}: modprobe drbd, then crm_resource --cleanup --resource {e.drbd_primitive}"))
            continue
        if d is None:
            out.append(_p("drbd-down", "error", n.name, f"DRBD {res} (minor {e.drbd_minor}) is not up on {n.name}",
                          f"crm_resource --cleanup --resource {e.drbd_primitive} (the cluster brings it up), "
                          f"or on {n.name}: drbdadm up {res}"))
            continue
        payload = dict(cs=d.connection, ro=f"{d.role}/{d.peer_role}", ds=f"{d.disk}/{d.peer_disk}")
        if d.connection in ("SyncSource", "SyncTarget", "PausedSyncS", "PausedSyncT"):
            progress = f" {d.sync_percent:g} % done" if d.sync_percent is not None else ""
            eta = f", about {d.sync_eta} left" if d.sync_eta else ""
            out.append(_p("drbd-syncing", "error", n.name,
                          f"DRBD {res} on {n.name} is resynchronising ({d.connection}){progress}{eta}",
                          "wait for the sync to finish (cat /proc/drbd shows it)",
                          percent=d.sync_percent, eta=d.sync_eta, **payload))
        elif not d.connected:
            if d.connection == "StandAlone":
                fix = (f"on {n.name}: drbdadm connect {res} (if the kernel log shows Split-Brain, first decide "
                       f"whose data to drop: on that node drbdadm connect --discard-my-data {res})")
            else:
                fix = (f"check the replication link between the nodes; if the peer is StandAlone, on the "
                       f"peer: drbdadm connect {res}")
            out.append(_p("drbd-disconnected", "error", n.name,
                          f"DRBD {res} on {n.name} is not connected to its peer ({d.connection})", fix, **payload))
        elif not (d.disk == "UpToDate" and d.peer_disk == "UpToDate"):
            out.append(_p("drbd-not-uptodate", "error", n.name,
                          f"DRBD {res} on {n.name}: disks {d.disk}/{d.peer_disk}, not UpToDate/UpToDate",
                          f"on the node whose disk is not UpToDate: drbdadm adjust {res}; cat /proc/drbd "
                          "shows a resync starting", **payload))
    return out


# -- resources ------------------------------------------------------------------------

def _resources(st: Status) -> list[Problem]:
    c = st.cluster
    if c is None:
        return []
    out = []
    if not [r for r in c.resources if not r.is_fence_device]:
        return [_p("no-resources", "error", None, "the cluster runs no resources: its configuration is not loaded",
                   "run zabbix-ha install again with the same answers")]
    seen: set[str] = set()
    by_id: dict[str, list] = {}
    for r in c.resources:
        by_id.setdefault(r.id, []).append(r)
    for rid, instances in by_id.items():
        if rid in seen or instances[0].is_fence_device:     # fence devices: _fencing judges them
            continue
        seen.add(rid)
        if any(r.failed for r in instances):
            where = sorted({n for r in instances if r.failed for n in r.nodes})
            out.append(_p("resource-failed", "error", where[0] if len(where) == 1 else None,
                          f"{rid} is FAILED" + (f" on {', '.join(where)}" if where else ""),
                          f"find the cause (journalctl; the agent's log), then crm_resource --cleanup --resource {rid}",
                          resource=rid))
        if any(not r.managed for r in instances) and not c.maintenance_mode and not any(
                c.node(n) and c.node(n).maintenance for r in instances for n in r.nodes):
            out.append(_p("resource-unmanaged", "error", None,
                          f"{rid} is unmanaged: Pacemaker will not move it",
                          f"crm_resource --resource {rid} --meta --delete-parameter is-managed", resource=rid))
        if any(r.target_role == "Stopped" for r in instances):
            out.append(_p("resource-disabled", "error", None, f"{rid} is disabled (target-role Stopped)",
                          f"crm_resource --resource {rid} --meta --delete-parameter target-role", resource=rid))
            continue
        stopped = [r for r in instances if r.role not in RUNNING_ROLES]
        if stopped and not any(r.failed for r in instances):
            running = [n for r in instances if r.role in RUNNING_ROLES for n in r.nodes]
            out.append(_p("resource-stopped", "error", None,
                          f"{rid} is stopped" + (f" on one node (running on {', '.join(running)})"
                                                 if running else ""),
                          f"crm_mon -1rf shows why; after fixing the cause: crm_resource --cleanup --resource {rid}",
                          resource=rid, stopped=len(stopped), running=running))
    return out


def _failures(st: Status) -> list[Problem]:
    c = st.cluster
    if c is None:
        return []
    out = []
    counts = {(f.node, f.resource): f.count for f in c.fail_counts}
    for f in c.failures:
        count = counts.get((f.node, f.resource))
        reason = f.exitreason or f.exitstatus
        out.append(_p("failed-action", "error", f.node,
                      f"{f.task} of {f.resource} failed on {f.node}: {reason}"
                      + (f" (fail count {count})" if count else ""),
                      f"fix the cause, then crm_resource --cleanup --resource {f.resource} --node {f.node}",
                      resource=f.resource, op=f.op_key, exitstatus=f.exitstatus, exitreason=f.exitreason,
                      fail_count=count, last=f.last_rc_change))
    reported = {(f.node, f.resource) for f in c.failures}
    for fc in c.fail_counts:
        if (fc.node, fc.resource) not in reported:
            out.append(_p("fail-count", "error", fc.node,
                          f"{fc.resource} has failed {fc.count} time(s) on {fc.node}",
                          f"crm_resource --cleanup --resource {fc.resource} --node {fc.node}",
                          resource=fc.resource, fail_count=fc.count))
    return out


def _constraints(st: Status) -> list[Problem]:
    out = []
    if CONSTRAINTS in st.errors and st.cluster is not None:
        out.append(_p("constraints-unknown", "error", None,
                      f"the cluster's constraints could not be read ({st.errors[CONSTRAINTS]})",
                      "cibadmin --query --scope constraints on a node shows them; look for ids cli-prefer-/cli-ban-"))
    for con in st.constraints:
        if con.kind == "drbd-fence":
            out.append(_p("drbd-fence-constraint", "error", None,
                          f"DRBD's fence-peer handler lets only {con.node} promote {con.resource} ({con.id}): "
                          "the peer's data was not UpToDate when the connection was lost",
                          f"it goes by itself when the resync ends (crm-unfence-peer.sh); if DRBD is "
                          f"UpToDate/UpToDate on both nodes and it stays: cibadmin --delete --scope constraints "
                          f"--xml-text '<rsc_location id=\"{con.id}\"/>'",
                          id=con.id, resource=con.resource, target=con.node, kind=con.kind))
            continue
        what = (f"pins {con.resource} to {con.node}" if con.kind == "prefer"
                else f"keeps {con.resource} off {con.node}")
        until = f" until {con.expires}" if con.expires else ""
        out.append(_p("leftover-constraint", "error", None,
                      f"a leftover {'move' if con.kind == 'prefer' else 'ban'} constraint {con.id} {what}{until}",
                      f"crm_resource --clear --resource {con.resource}", id=con.id, resource=con.resource,
                      target=con.node, kind=con.kind))
    return out


# -- fencing ---------------------------------------------------------------------------

def _fencing(st: Status) -> list[Problem]:
    c, e = st.cluster, st.expect
    if c is None:
        return []
    out = []
    if not c.stonith_enabled:
        if e.fencing == "none" and e.fencing_acknowledged:
            out.append(_p("fencing-none-acknowledged", "info", None,
                          "no fencing: running without it was acknowledged (DRBD resource-level fencing only)",
                          "add a fence device (IPMI or SBD) in the answers and run zabbix-ha install again"))
        else:
            out.append(_p("fencing-disabled", "error", None, "fencing is disabled (stonith-enabled=false)",
                          "crm_attribute --type crm_config --name stonith-enabled --update true "
                          "(with a working fence device), or acknowledge running without fencing in the answers"))
    else:
        devices = c.fence_devices()
        if not devices and e.fencing != "sbd":
            out.append(_p("fencing-no-device", "error", None, "fencing is enabled but no fence device is configured",
                          "run zabbix-ha install again with the fence devices in the answers"))
        for rid in dict.fromkeys(d.id for d in devices):
            inst = [d for d in devices if d.id == rid]
            if any(d.failed for d in inst):
                out.append(_p("fence-device-failed", "error", None, f"fence device {rid} is FAILED",
                              f"check its BMC address and credentials, then crm_resource --cleanup --resource {rid}",
                              resource=rid))
            elif not any(d.role == "Started" for d in inst):
                out.append(_p("fence-device-stopped", "error", None, f"fence device {rid} is not running",
                              f"check its BMC address and credentials, then crm_resource --cleanup --resource {rid}",
                              resource=rid))
    latest: dict[str, FenceEvent] = {}
    for ev in st.fence_history:               # pending first, then the newest completed
        seen = latest.get(ev.target)
        if seen is None or (ev.status == "pending") > (seen.status == "pending") or \
                (seen.status != "pending" and ev.completed > seen.completed):
            latest[ev.target] = ev
    for target, ev in latest.items():
        if ev.status == "failed":
            out.append(_p("fence-failed", "error" if c.stonith_enabled else "warning", target,
                          f"the last attempt to fence {target} ({ev.action}) failed"
                          + (f": {ev.exit_reason}" if ev.exit_reason else ""),
                          f"test the fence device of {target} (its BMC/SBD), then stonith_admin --cleanup "
                          f"--history {target}", action=ev.action, completed=ev.completed))
        elif ev.status == "pending":
            out.append(_p("fence-pending", "error", target, f"fencing {target} ({ev.action}) is in progress",
                          "wait for it to finish; stonith_admin --history '*' --verbose shows it"))
    if FENCE_HISTORY in st.errors and c.stonith_enabled:
        out.append(_p("fence-history-unknown", "warning", None,
                      f"the fence history could not be read ({st.errors[FENCE_HISTORY]})",
                      "stonith_admin --history '*' --verbose on a node shows it"))
    return out


# -- packages --------------------------------------------------------------------------

def _packages(st: Status) -> list[Problem]:
    reached = [n for n in st.nodes if n.reached and PACKAGES not in n.tool_errors]
    if len(reached) < 2 or not st.expect.packages:
        return []
    out = []
    for pkg in st.expect.packages:
        versions = {n.name: n.packages.get(pkg, "") for n in reached}
        missing = [name for name, v in versions.items() if not v]
        if len(missing) == len(versions):
            out.append(_p("package-missing", "warning", None, f"{pkg} is not installed on either node",
                          f"on both nodes: apt-get install {pkg}", package=pkg))
        else:
            for name in missing:
                out.append(_p("package-missing", "warning", name, f"{pkg} is not installed on {name}",
                              f"on {name}: apt-get install {pkg}", package=pkg))
        present = {v for v in versions.values() if v}
        if not missing and len(present) > 1:
            strict = pkg in STRICT_PACKAGES
            newest = max(present, key=_version_key)
            out.append(_p("package-version-differs", "warning", None,
                          f"{pkg} differs between the nodes: "
                          + ", ".join(f"{name} {v}" for name, v in versions.items()),
                          f"install the same version on both, e.g. apt-get install {pkg}={newest} on the other node"
                          + (" (one node at a time, standby first)" if strict else ""),
                          package=pkg, versions=versions, strict=strict))
    return out


def _version_key(v: str) -> list[tuple[int, int | str]]:
    """Roughly Debian's order: digit runs compare as numbers (only to name the newer version in a fix)."""
    import re
    return [(0, int(x)) if x.isdigit() else (1, x) for x in re.split(r"(\d+)", v) if x]
