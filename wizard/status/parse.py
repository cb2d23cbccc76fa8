"""Pure parsers for what the status command reads on a node; no command runs here.

Each function takes one tool's output and returns frozen dataclasses:
`crm_mon -1 --output-as=xml` (nodes, quorum, resources, failures, fail counts,
fencing options), `cibadmin --query --scope constraints` (the `cli-prefer-*` /
`cli-ban-*` location constraints `crm_resource --move/--ban` leave behind),
`stonith_admin --history '*' --output-as=xml` (fence events),
`corosync-cfgtool -s` (each link's state per peer) and /proc/drbd (DRBD 8.4:
connection, roles, disks, sync progress). Judging what they mean is
wizard.status.health's job. The fixtures in tests/data/status are real
outputs of these tools.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from wizard.preflight.parse import parse_proc_drbd


class ParseError(ValueError):
    """The output is not what the tool prints (truncated, an error text instead of XML)."""


def _xml(text: str, what: str) -> ET.Element:
    if not text.strip():
        raise ParseError(f"{what}: no output")
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise ParseError(f"{what}: not XML ({exc})") from None


def _bool(value: str | None) -> bool:
    return value == "true"


# -- crm_mon ----------------------------------------------------------------------

@dataclass(frozen=True)
class ClusterNode:
    name: str
    online: bool
    standby: bool
    maintenance: bool
    unclean: bool
    pending: bool
    shutdown: bool
    is_dc: bool
    standby_onfail: bool = False


@dataclass(frozen=True)
class Resource:
    """One resource instance as crm_mon shows it (a promotable clone has one per node)."""
    id: str                 # the primitive's id (drbd-r0), not the instance (drbd-r0:0)
    agent: str              # ocf:linbit:drbd, stonith:fence_ipmilan, ...
    role: str               # Started, Stopped, Promoted, Unpromoted, ...
    nodes: tuple[str, ...]  # where this instance is active
    parent: str = ""        # the clone or group it is in
    managed: bool = True
    failed: bool = False
    blocked: bool = False
    target_role: str = ""   # "Stopped" when the resource was disabled
    orphaned: bool = False  # still in the status, no longer in the configuration (stopping, or stopped)

    @property
    def is_fence_device(self) -> bool:
        return self.agent.startswith("stonith:")


@dataclass(frozen=True)
class FailedAction:
    op_key: str             # zabbix-db_monitor_20000
    node: str
    resource: str           # zabbix-db
    task: str               # monitor, start, stop, ...
    exitstatus: str         # "not running", "error", ...
    exitreason: str
    exitcode: str
    status: str             # complete, Timed Out, ...
    last_rc_change: str


@dataclass(frozen=True)
class FailCount:
    node: str
    resource: str
    count: int


@dataclass(frozen=True)
class FenceEvent:
    target: str
    action: str             # reboot, off, on
    status: str             # success, failed, pending
    completed: str = ""
    delegate: str = ""      # the node that fenced
    origin: str = ""        # the node that asked
    client: str = ""
    exit_reason: str = ""


@dataclass(frozen=True)
class ClusterView:
    """The cluster as one node's Pacemaker sees it."""
    dc: str                      # "" when there is no DC
    quorum: bool | None          # None: crm_mon did not say (no DC)
    stonith_enabled: bool
    maintenance_mode: bool
    nodes: tuple[ClusterNode, ...]
    resources: tuple[Resource, ...]
    failures: tuple[FailedAction, ...]
    fail_counts: tuple[FailCount, ...]
    fence_events: tuple[FenceEvent, ...] = ()

    def node(self, name: str) -> ClusterNode | None:
        return next((n for n in self.nodes if n.name == name), None)

    def fence_devices(self) -> tuple[Resource, ...]:
        return tuple(r for r in self.resources if r.is_fence_device)


def _resource(el: ET.Element, parent: str) -> Resource:
    return Resource(
        id=el.get("id", "").split(":")[0], agent=el.get("resource_agent", ""), role=el.get("role", ""),
        nodes=tuple(n.get("name", "") for n in el.findall("node")), parent=parent,
        managed=el.get("managed", "true") == "true", failed=_bool(el.get("failed")), blocked=_bool(el.get("blocked")),
        target_role=el.get("target_role", ""), orphaned=_bool(el.get("orphaned")))


def _walk(el: ET.Element, parent: str, out: list[Resource]) -> None:
    for child in el:
        if child.tag == "resource":
            out.append(_resource(child, parent))
        elif child.tag in ("clone", "group", "bundle"):
            _walk(child, child.get("id", ""), out)


def _op_resource(op_key: str, task: str) -> str:
    """zabbix-db_monitor_20000 -> zabbix-db (ids may contain '_')."""
    m = re.fullmatch(rf"(.*)_{re.escape(task)}_\d+", op_key) if task else None
    return m.group(1) if m else op_key.rsplit("_", 2)[0]


def parse_fence_events(root: ET.Element) -> tuple[FenceEvent, ...]:
    return tuple(FenceEvent(target=e.get("target", ""), action=e.get("action", ""), status=e.get("status", ""),
                            completed=e.get("completed", ""), delegate=e.get("delegate", ""),
                            origin=e.get("origin", ""), client=e.get("client", ""),
                            exit_reason=e.get("exit-reason", ""))
                 for e in root.iter("fence_event"))


def parse_crm_mon(text: str) -> ClusterView:
    """`crm_mon -1 --output-as=xml` (Pacemaker 2.1 API, crm_mon-2.x.rng)."""
    root = _xml(text, "crm_mon")
    summary = root.find("summary")
    if summary is None:
        status = root.find("status")
        detail = status.get("message", "") if status is not None else ""
        raise ParseError(f"crm_mon: no cluster summary{': ' + detail if detail else ''}")
    dc_el = summary.find("current_dc")
    present = dc_el is not None and dc_el.get("present") == "true"
    options = summary.find("cluster_options")
    opts = options.attrib if options is not None else {}
    nodes = tuple(ClusterNode(
        name=n.get("name", ""), online=_bool(n.get("online")), standby=_bool(n.get("standby")),
        maintenance=_bool(n.get("maintenance")), unclean=_bool(n.get("unclean")), pending=_bool(n.get("pending")),
        shutdown=_bool(n.get("shutdown")), is_dc=_bool(n.get("is_dc")), standby_onfail=_bool(n.get("standby_onfail")))
        for n in root.findall("./nodes/node"))
    resources: list[Resource] = []
    section = root.find("resources")
    if section is not None:
        _walk(section, "", resources)
    failures = tuple(FailedAction(
        op_key=f.get("op_key", ""), node=f.get("node", ""),
        resource=_op_resource(f.get("op_key", ""), f.get("task", "")),
        task=f.get("task", ""), exitstatus=f.get("exitstatus", ""), exitreason=f.get("exitreason", ""),
        exitcode=f.get("exitcode", ""), status=f.get("status", ""), last_rc_change=f.get("last-rc-change", ""))
        for f in root.findall("./failures/failure"))
    counts = []
    for node in root.findall("./node_history/node"):
        for rh in node.findall("resource_history"):
            n = rh.get("fail-count")
            if n and n != "0":
                counts.append(FailCount(node.get("name", ""), rh.get("id", "").split(":")[0],
                                        1_000_000 if n == "INFINITY" else int(n)))
    return ClusterView(
        dc=dc_el.get("name", "") if present else "",
        quorum=(dc_el.get("with_quorum") == "true") if present else None,
        stonith_enabled=opts.get("stonith-enabled") == "true", maintenance_mode=opts.get("maintenance-mode") == "true",
        nodes=nodes, resources=tuple(resources), failures=failures, fail_counts=tuple(counts),
        fence_events=parse_fence_events(root))


# -- constraints -------------------------------------------------------------------

# What `crm_resource --move` / `--ban` (and crmsh's/pcs's move/ban) name their constraints, and
# what DRBD's crm-fence-peer.sh names the one it places while the peer's data is not UpToDate
# (drbd-utils: id_prefix "drbd-fence-by-handler" + "-RESOURCE-" + the promotable clone's id; a
# -INFINITY rule for the Promoted role on every node but the one with good data). crm-unfence-peer.sh
# removes it after the resync; one that stays forbids a failover.
LEFTOVER_PREFIXES = {"cli-prefer-": "prefer", "cli-ban-": "ban", "drbd-fence-by-handler-": "drbd-fence"}


@dataclass(frozen=True)
class LeftoverConstraint:
    id: str
    resource: str
    node: str
    kind: str               # prefer (--move), ban (--ban), drbd-fence (only `node` may be promoted)
    score: str
    role: str = ""
    expires: str = ""       # the end of its lifetime (--lifetime), "" = forever


def parse_constraints(text: str) -> tuple[LeftoverConstraint, ...]:
    """The leftover move/ban constraints in `cibadmin --query --scope constraints`."""
    root = _xml(text, "cibadmin constraints")
    out = []
    for loc in root.iter("rsc_location"):
        cid = loc.get("id", "")
        kind = next((k for p, k in LEFTOVER_PREFIXES.items() if cid.startswith(p)), None)
        if kind is None:
            continue
        node, score = loc.get("node", ""), loc.get("score", "")
        expires = ""
        rule = loc.find("rule")
        if rule is not None:
            score = rule.get("score", score)
            for expr in rule.iter("expression"):
                if expr.get("attribute") == "#uname":
                    node = expr.get("value", node)
            for date in rule.iter("date_expression"):
                expires = date.get("end", "") or expires
        out.append(LeftoverConstraint(cid, loc.get("rsc", ""), node, kind, score, loc.get("role", ""), expires))
    return tuple(out)


def parse_fence_history(text: str) -> tuple[FenceEvent, ...]:
    """`stonith_admin --history '*' --output-as=xml`: every fence event, newest first as the tool lists them."""
    return parse_fence_events(_xml(text, "stonith_admin --history"))


# -- corosync ------------------------------------------------------------------------

@dataclass(frozen=True)
class LinkPeer:
    nodeid: int
    state: str              # localhost, connected, disconnected, ...

    @property
    def is_local(self) -> bool:
        return self.state.startswith("localhost")

    @property
    def connected(self) -> bool:
        words = self.state.replace(",", " ").split()
        return "connected" in words and "disconnected" not in words


@dataclass(frozen=True)
class CorosyncLink:
    id: int
    transport: str
    address: str
    peers: tuple[LinkPeer, ...]

    @property
    def connected(self) -> bool:
        """Every other node is reachable on this link."""
        others = [p for p in self.peers if not p.is_local]
        return bool(others) and all(p.connected for p in others)


@dataclass(frozen=True)
class CorosyncLinks:
    local_nodeid: int | None
    transport: str
    links: tuple[CorosyncLink, ...]


_LOCAL = re.compile(r"^Local node ID (\d+), transport (\S+)")
_LINK = re.compile(r"^LINK ID (\d+)\s*(\S*)")
_ADDR = re.compile(r"^addr\s*=\s*(\S+)")
_PEER = re.compile(r"nodeid:?\s*(\d+):?\s*(.*)")


def parse_cfgtool(text: str) -> CorosyncLinks:
    """`corosync-cfgtool -s` (corosync 3, knet): each link and each node's state on it."""
    local, transport = None, ""
    links: list[CorosyncLink] = []
    cur: dict | None = None

    def close():
        if cur is not None:
            links.append(CorosyncLink(cur["id"], cur["transport"], cur["addr"], tuple(cur["peers"])))

    for raw in text.splitlines():
        line = raw.strip()
        if m := _LOCAL.match(line):
            local, transport = int(m.group(1)), m.group(2)
        elif m := _LINK.match(line):
            close()
            cur = {"id": int(m.group(1)), "transport": m.group(2), "addr": "", "peers": []}
        elif cur is not None and (m := _ADDR.match(line)):
            cur["addr"] = m.group(1)
        elif cur is not None and (m := _PEER.fullmatch(line)):
            cur["peers"].append(LinkPeer(int(m.group(1)), m.group(2).strip()))
    close()
    if local is None and not links:
        raise ParseError("corosync-cfgtool -s: no local node and no link in the output")
    return CorosyncLinks(local, transport, tuple(links))


# -- DRBD 8.4 ------------------------------------------------------------------------

@dataclass(frozen=True)
class DrbdState:
    """One DRBD minor from /proc/drbd, seen from one node."""
    minor: int
    connection: str          # cs: Connected, WFConnection, StandAlone, SyncSource, SyncTarget, ...
    role: str                # this node's: Primary, Secondary
    peer_role: str           # Unknown when not connected
    disk: str                # this node's: UpToDate, Inconsistent, Outdated, Diskless, ...
    peer_disk: str           # DUnknown when not connected
    sync_percent: float | None = None
    sync_eta: str = ""       # finish: h:mm:ss
    out_of_sync_kib: int = 0

    @property
    def connected(self) -> bool:
        return self.connection in ("Connected", "SyncSource", "SyncTarget", "VerifyS", "VerifyT")

    @property
    def in_sync(self) -> bool:
        return self.connection == "Connected" and self.disk == "UpToDate" and self.peer_disk == "UpToDate"


_MINOR_LINE = re.compile(r"^\s*(\d+):\s+cs:")
_SYNCED = re.compile(r"sync'ed:\s*([\d.]+)%")
_FINISH = re.compile(r"finish:\s*([\d:]+)")
_OOS = re.compile(r"\boos:(\d+)")


def parse_drbd(text: str, rc: int = 0) -> tuple[str | None, tuple[DrbdState, ...]]:
    """(loaded module version, every configured minor) from /proc/drbd; (None, ()) when the module is not loaded."""
    version, minors = parse_proc_drbd(text, rc)
    if rc != 0:
        return None, ()
    blocks: dict[int, str] = {}
    current = None
    for line in text.splitlines():
        if m := _MINOR_LINE.match(line):
            current = int(m.group(1))
            blocks[current] = ""
        elif current is not None:
            blocks[current] += line + "\n"
    out = []
    for mi in minors:
        if mi.cs == "Unconfigured":
            continue
        role, _, peer_role = mi.ro.partition("/")
        disk, _, peer_disk = mi.ds.partition("/")
        body = blocks.get(mi.minor, "")
        synced, finish, oos = _SYNCED.search(body), _FINISH.search(body), _OOS.search(body)
        out.append(DrbdState(mi.minor, mi.cs, role, peer_role, disk, peer_disk,
                             float(synced.group(1)) if synced else None, finish.group(1) if finish else "",
                             int(oos.group(1)) if oos else 0))
    return version, tuple(out)


# -- packages ------------------------------------------------------------------------

def parse_packages(text: str, os_family: str = "debian") -> dict[str, str]:
    """Installed package -> version (dpkg-query or rpm -q, as wizard.preflight.facts runs them)."""
    from wizard.preflight.parse import parse_dpkg_query, parse_rpm_query

    return parse_rpm_query(text) if os_family == "rhel" else parse_dpkg_query(text)
