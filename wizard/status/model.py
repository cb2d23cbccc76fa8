"""The cluster's state as data: what each node reported, assembled from raw command results.

`status_from_raw` is pure: it takes what the commands printed on each node
(wizard.preflight.facts.Raw, as wizard.status.gather collects it, or as the fixtures
in tests/data/status hold it) and what this cluster should look like
(`Expect`, from the answers), and builds one `Status`. A node that could
not be reached, or a tool that failed, is recorded as such, never guessed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from wizard.status.parse import (ClusterView, CorosyncLinks, DrbdState, FenceEvent, LeftoverConstraint, ParseError,
                                 parse_cfgtool, parse_constraints, parse_crm_mon, parse_drbd, parse_fence_history,
                                 parse_packages)


@dataclass(frozen=True)
class Expect:
    """What this cluster should look like, from its answers file."""
    nodes: tuple[str, ...]
    links: int
    drbd_resource: str = "r0"
    drbd_minor: int = 0
    fencing: str = "ipmi"                 # ipmi | sbd | none
    fencing_acknowledged: bool = False     # "none" with the typed acknowledgement
    packages: tuple[str, ...] = ()
    os_family: str = "debian"

    @classmethod
    def from_spec(cls, spec) -> "Expect":
        from wizard.platforms import platform
        from wizard.spec import NO_FENCING_ACKNOWLEDGEMENT

        profile = platform(spec.platform)
        return cls(nodes=tuple(spec.hostnames), links=len(spec.links), drbd_resource=spec.storage.resource,
                   drbd_minor=spec.storage.minor, fencing=spec.fencing.method,
                   fencing_acknowledged=spec.fencing.acknowledgement == NO_FENCING_ACKNOWLEDGEMENT,
                   packages=profile.packages(spec.fencing.method, spec.storage.filesystem),
                   os_family="rhel" if spec.platform.startswith(("rhel", "alma", "rocky")) else "debian")

    @property
    def drbd_primitive(self) -> str:
        """The Pacemaker resource of the DRBD mirror (templates/pacemaker/cib.xml.j2)."""
        return f"drbd-{self.drbd_resource}"


@dataclass(frozen=True)
class NodeStatus:
    name: str
    reached: bool
    error: str = ""                            # why the node was not reached
    cluster: ClusterView | None = None         # the cluster as this node's Pacemaker sees it
    corosync: CorosyncLinks | None = None
    drbd_loaded: str | None = None             # the module version when loaded
    drbd: DrbdState | None = None              # our minor; None when not configured (or not loaded)
    packages: dict[str, str] = field(default_factory=dict)
    tool_errors: dict[str, str] = field(default_factory=dict)   # key -> what went wrong


@dataclass(frozen=True)
class Status:
    expect: Expect
    nodes: tuple[NodeStatus, ...]
    cluster: ClusterView | None               # the view judged (see `view_from`)
    view_from: str                             # the node whose view it is, "" when none
    constraints: tuple[LeftoverConstraint, ...] = ()
    fence_history: tuple[FenceEvent, ...] = ()
    errors: dict[str, str] = field(default_factory=dict)   # cluster-wide reads that failed: key -> why

    def node(self, name: str) -> NodeStatus | None:
        return next((n for n in self.nodes if n.name == name), None)

    def as_dict(self) -> dict:
        return asdict(self)


# The keys of the commands wizard.status.gather runs on each node.
CRM_MON, CFGTOOL, PROC_DRBD, CONSTRAINTS, FENCE_HISTORY, PACKAGES = (
    "crm_mon", "corosync-cfgtool", "proc-drbd", "constraints", "fence-history", "packages")


def _failure(raw) -> str:
    """Why a command failed, in one line: Pacemaker's XML error text when it printed XML."""
    detail = (raw.stderr or raw.stdout).strip()
    if detail.startswith("<"):
        import xml.etree.ElementTree as ET
        try:
            root = ET.fromstring(detail)
        except ET.ParseError:
            pass
        else:
            errors = [e.text for e in root.iter("error") if e.text]
            status = root.find("status")
            detail = errors[-1] if errors else status.get("message", "") if status is not None else ""
    lines = detail.strip().splitlines()
    return f"exit {raw.rc}" + (f": {lines[-1][:200]}" if lines else "")


def node_from_raw(name: str, expect: Expect, raw: dict) -> NodeStatus:
    """One node's results (key -> Raw) -> NodeStatus. Pure."""
    errors: dict[str, str] = {}
    cluster = corosync = drbd = None
    loaded = None
    packages: dict[str, str] = {}
    r = raw.get(CRM_MON)
    if r is not None:
        try:
            cluster = parse_crm_mon(r.stdout)
        except ParseError as exc:
            errors[CRM_MON] = _failure(r) if r.rc else str(exc)
    r = raw.get(CFGTOOL)
    if r is not None:
        if r.rc:
            errors[CFGTOOL] = _failure(r)
        else:
            try:
                corosync = parse_cfgtool(r.stdout)
            except ParseError as exc:
                errors[CFGTOOL] = str(exc)
    r = raw.get(PROC_DRBD)
    if r is not None:
        loaded, minors = parse_drbd(r.stdout, r.rc)
        drbd = next((m for m in minors if m.minor == expect.drbd_minor), None)
        if r.rc:
            errors[PROC_DRBD] = _failure(r)
    r = raw.get(PACKAGES)
    if r is not None:
        packages = parse_packages(r.stdout, expect.os_family)
        if r.rc and not packages:
            errors[PACKAGES] = _failure(r)
    return NodeStatus(name, True, "", cluster, corosync, loaded, drbd, packages, errors)


def _pick_view(nodes: list[NodeStatus], expect: Expect) -> NodeStatus | None:
    """The view to judge: a node that is itself online in a quorate partition, the DC's first."""
    def rank(n: NodeStatus):
        c = n.cluster
        me = c.node(n.name) if c else None
        return (c is not None, bool(c and c.quorum), bool(me and me.online), bool(me and me.is_dc),
                -expect.nodes.index(n.name) if n.name in expect.nodes else -99)
    candidates = [n for n in nodes if n.cluster is not None]
    return max(candidates, key=rank) if candidates else None


def status_from_raw(expect: Expect, raw_by_node: dict[str, dict | str]) -> Status:
    """Every node's results -> Status. A str instead of a dict is why that node was not reached."""
    nodes = []
    for name in expect.nodes:
        raw = raw_by_node.get(name, "not contacted")
        nodes.append(NodeStatus(name, False, raw) if isinstance(raw, str) else node_from_raw(name, expect, raw))
    view = _pick_view(nodes, expect)
    constraints: tuple[LeftoverConstraint, ...] = ()
    history: tuple[FenceEvent, ...] = ()
    errors: dict[str, str] = {}
    # Cluster-wide reads: from the node whose view is judged, else the first that answered.
    order = ([view.name] if view else []) + [n for n in expect.nodes if not view or n != view.name]
    for key in (CONSTRAINTS, FENCE_HISTORY):
        why = "no node answered"
        for name in order:
            raw = raw_by_node.get(name)
            r = raw.get(key) if isinstance(raw, dict) else None
            if r is None:
                continue
            if r.rc:
                why = f"{name}: {_failure(r)}"
                continue
            try:
                if key == CONSTRAINTS:
                    constraints = parse_constraints(r.stdout)
                else:
                    history = parse_fence_history(r.stdout)
            except ParseError as exc:
                why = f"{name}: {exc}"
                continue
            why = ""
            break
        if why:
            errors[key] = why
    if view is not None and not history:
        history = view.cluster.fence_events
    return Status(expect, tuple(nodes), view.cluster if view else None, view.name if view else "",
                  constraints, history, errors)
