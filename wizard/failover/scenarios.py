"""The failover scenarios: what each does to the cluster, how it knows the cluster recovered, how it undoes itself.

Each scenario's `act` breaks something and waits (bounded) until Pacemaker
has recovered; `restore` puts the starting state back and runs even when
`act` failed or was aborted, so a drill never leaves a standby node, a fail
count or a downed link behind. `applicable` says why a scenario cannot run
on this cluster now (empty when it can).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from wizard.failover.cluster import DATABASE, SERVER, ClusterOps, DrillFailed

MOVE_TIMEOUT = 900            # TCG lab: a standby switchover moved everything in 3-8 min (load-bound)
RECOVER_TIMEOUT = 420         # a killed process: monitor interval (60 s) + restart of the group's tail
NODE_BACK_TIMEOUT = 900       # a fenced node reboots and rejoins


@dataclass
class Run:
    """What a scenario works with while it runs."""
    ops: ClusterOps
    stop: threading.Event
    log: Callable[[str], None]
    started: float = field(default_factory=time.monotonic)
    events: list = field(default_factory=list)     # (seconds since start, what)
    memo: dict = field(default_factory=dict)       # what act() learnt that restore() needs

    def note(self, what: str) -> None:
        self.events.append((round(time.monotonic() - self.started, 1), what))
        self.log(what)


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    explain: str
    act: Callable[[Run], None]
    restore: Callable[[Run], None]
    applicable: Callable[[ClusterOps, str | None], str]   # (ops, active node) -> why not, "" when it can run
    expect_outage: bool = True          # False: any outage through the VIP fails the scenario
    expect_fence: bool = False          # False: a node fenced during the scenario fails it


def _always(_ops, active) -> str:
    return "" if active else "the Zabbix services do not all run on one node"


# -- controlled switchover, and failback ------------------------------------------------

def _switch(run: Run, src: str) -> None:
    dst = run.ops.other(src)
    run.memo["standby"] = src
    run.ops.standby(src, True)
    run.note(f"{src} put in standby")
    run.ops.wait_group_on(dst, timeout=MOVE_TIMEOUT, stop=run.stop)
    run.note(f"every Zabbix service runs on {dst}")
    run.ops.standby(src, False)
    run.memo.pop("standby")
    run.note(f"{src} back online (the services stay on {dst})")


def _unstandby(run: Run) -> None:
    node = run.memo.pop("standby", None)
    if node:
        run.ops.standby(node, False)
        run.note(f"{node} back online")


def _switchover(run: Run) -> None:
    _switch(run, run.memo["active"])


def _failback(run: Run) -> None:
    _switch(run, run.memo["active"])


def _failback_applicable(ops: ClusterOps, active: str | None) -> str:
    if not active:
        return _always(ops, active)
    preferred = ops.spec.preferred_node
    return "" if active != preferred else f"the services already run on {preferred}, the preferred node"


# -- a process killed ---------------------------------------------------------------------

def _kill(process: str, resource: str):
    def act(run: Run) -> None:
        node = run.memo["active"]
        before = run.ops.run(node, ["pgrep", "-o", "-x", process], check=False).stdout.strip()
        if not before:
            raise DrillFailed(f"{process} does not run on {node}")
        run.memo["cleanup"] = resource
        run.ops.kill(node, process)
        run.note(f"{process} (pid {before}) killed on {node}")

        def recovered(st):
            fails = [f for f in (st.cluster.fail_counts if st.cluster else ()) if f.resource == resource]
            where = run.ops.group_node(st)
            if not fails:
                return f"waiting for Pacemaker to notice ({resource} monitor)"
            if where != node:
                return f"Pacemaker recovering {resource}" if where is None else f"the services moved to {where}"
            return True
        run.ops.wait(f"Pacemaker recovering {resource} on {node}", recovered, timeout=RECOVER_TIMEOUT, stop=run.stop)
        after = run.ops.run(node, ["pgrep", "-o", "-x", process], check=False).stdout.strip()
        if not after or after == before:
            raise DrillFailed(f"{process} on {node}: pid {after or 'none'} after recovery (was {before})")
        run.note(f"Pacemaker restarted {resource} in place on {node} (new pid {after})")

    def restore(run: Run) -> None:
        if run.memo.pop("cleanup", None):
            run.ops.cleanup(resource)
            run.note(f"fail count of {resource} cleared")
    return act, restore


_kill_server, _cleanup_server = _kill("zabbix_server", SERVER)
_kill_db, _cleanup_db = _kill("mariadbd", DATABASE)


# -- the active node lost -------------------------------------------------------------------

CRASH = "echo 1 > /proc/sys/kernel/sysrq; (sleep 1; echo b > /proc/sysrq-trigger) >/dev/null 2>&1 &"


def _node_lost(run: Run) -> None:
    ops = run.ops
    target = run.memo["active"]
    survivor = ops.other(target)

    def fence_events(st) -> int:
        return len([e for e in st.fence_history if e.target == target and e.status == "success"
                    and e.action in ("reboot", "off")])
    before = fence_events(ops.status())
    run.memo["lost"] = target
    ops.run(target, ["sh", "-c", CRASH], timeout=20)
    run.note(f"{target} crashed (immediate reboot, no shutdown)")
    ops.wait_group_on(survivor, timeout=MOVE_TIMEOUT, stop=run.stop)
    run.note(f"every Zabbix service runs on {survivor}")
    if ops.spec.fencing.method != "none":
        def fenced(st):
            return True if fence_events(st) > before else f"waiting for the fence event of {target}"
        ops.wait(f"{target} fenced by {survivor}", fenced, timeout=300, stop=run.stop)
        run.note(f"{survivor} fenced {target} ({ops.spec.fencing.method})")


def _node_back(run: Run) -> None:
    target = run.memo.pop("lost", None)
    if not target:
        return

    def back(st):
        n = st.cluster.node(target) if st.cluster else None
        return True if n is not None and n.online else f"waiting for {target} to rejoin"
    run.ops.wait(f"{target} back in the cluster", back, timeout=NODE_BACK_TIMEOUT, interval=10, stop=run.stop)
    run.note(f"{target} rejoined the cluster")


def _node_lost_applicable(ops: ClusterOps, active: str | None) -> str:
    if not active:
        return _always(ops, active)
    if active == ops.local:
        return (f"the services run on {active}, the machine this test runs on; run the switchover first "
                f"(they move to {ops.other(active)}), or run the test from {ops.other(active)}")
    return ""


# -- one interconnect link cut --------------------------------------------------------------

HOLD = 15                     # seconds the link stays cut: corosync notices in ~1 s (knet pings)


def _link_target(ops: ClusterOps, active: str | None) -> tuple[str, int, str] | str:
    """(node, link index, its address on that link) to cut, or why none can be cut safely."""
    if len(ops.spec.links) < 2:
        return "one interconnect link only: cutting it splits the cluster (that is the node-lost scenario)"
    node = next((n for n in ops.nodes if n != ops.local and n != active), None) or \
        next((n for n in ops.nodes if n != ops.local), ops.nodes[-1])
    i = ops.nodes.index(node)
    ssh_address = ops.spec.nodes[i].address
    # A link DRBD does not replicate over first: cutting that one is a DRBD
    # disconnect (resync and fence-peer constraint), not this scenario.
    order = sorted(range(len(ops.spec.links)), key=lambda n: n == ops.spec.storage.replication_link)
    for link in order:
        lk = ops.spec.links[link]
        if len(lk.addresses) == 2 and lk.addresses[i] != ssh_address:
            return node, link, lk.addresses[i]
    return f"every interconnect link of {node} shares its management address {ssh_address}; cutting one cuts SSH"


def _link_applicable(ops: ClusterOps, active: str | None) -> str:
    target = _link_target(ops, active)
    return target if isinstance(target, str) else ""


def _link_cut(run: Run) -> None:
    ops = run.ops
    node, link, address = _link_target(ops, run.memo["active"])
    iface = ops.interface_of(node, address)
    run.memo["link"] = (node, iface, link)
    ops.set_link(node, iface, False)
    run.note(f"link {link} cut: {iface} ({address}) down on {node}")

    def down(st):
        state = ops.link_connected(st, link)
        others = [ok for n, ok in state.items() if n != node]
        return True if others and all(ok is False for ok in others) else f"link {link}: {state}"
    ops.wait(f"corosync seeing link {link} down", down, timeout=60, stop=run.stop)
    run.note(f"corosync shows link {link} down")
    deadline = time.monotonic() + HOLD
    while time.monotonic() < deadline and not run.stop.is_set():
        st = ops.status()
        if st.cluster is None or not st.cluster.quorum:
            raise DrillFailed(f"quorum lost with link {link} cut: the other link(s) did not carry the cluster")
        if ops.group_node(st) != run.memo["active"]:
            raise DrillFailed(f"the services moved while link {link} was cut (they must stay on {run.memo['active']})")
        time.sleep(3)
    run.note(f"quorum kept and nothing moved for {HOLD} s on the remaining link(s)")
    _link_heal(run)


def _link_heal(run: Run) -> None:
    held = run.memo.pop("link", None)
    if not held:
        return
    node, iface, link = held
    run.ops.set_link(node, iface, True)
    run.note(f"{iface} up again on {node}")

    def up(st):
        state = run.ops.link_connected(st, link)
        return True if all(ok for ok in state.values()) else f"link {link}: {state}"
    run.ops.wait(f"link {link} back", up, timeout=120, stop=None)    # healing is never aborted
    run.note(f"corosync shows link {link} up on both nodes")


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("switchover", "Controlled switchover (standby the active node)",
             "The node running Zabbix is put in standby: Pacemaker stops every service there and starts "
             "them on the other node (DRBD promoted there). Then the node leaves standby; the services "
             "stay where they are. Failback is its own scenario, run when you choose.",
             _switchover, _unstandby, _always),
    Scenario("kill-server", "Zabbix server process killed",
             "zabbix_server is killed (SIGKILL) on the active node. Pacemaker's monitor (every 20 s) "
             "notices and restarts it in place. Its fail count is cleared afterwards.",
             _kill_server, _cleanup_server, _always),
    Scenario("kill-database", "Database process killed",
             "mariadbd is killed (SIGKILL) on the active node. Pacemaker's monitor notices, stops what "
             "runs after it in the group (the Zabbix server, whose unwritten cache is lost without a "
             "database, within seconds), and restarts them all in place: nothing moves and nobody is "
             "fenced. The fail count is cleared after.",
             _kill_db, _cleanup_db, _always),
    Scenario("node-lost", "Active node lost (crash)",
             "The active node is crashed (immediate reboot, no clean shutdown). The other node must fence "
             "it through the fence device and take over every service. The test waits for the crashed "
             "node to come back and rejoin.",
             _node_lost, _node_back, _node_lost_applicable, expect_fence=True),
    Scenario("link-cut", "One interconnect link cut",
             "One corosync link's interface is taken down on the passive node for 15 s. The cluster must "
             "stay quorate on the other link and nothing may move; then the link is brought back.",
             _link_cut, _link_heal, _link_applicable, expect_outage=False),
    Scenario("failback", "Failback to the preferred node",
             "The services move back to the preferred (first) node the same way as the switchover: "
             "the node running them now goes in standby, then leaves it.",
             _failback, _unstandby, _failback_applicable),
)


def unexpected_fences(sc: Scenario, operations: list[dict]) -> list[str]:
    """Fences in a scenario's timeline (wizard.failover.resources) that it must not cause: a planned
    switchover or a killed process that ends with a node fenced is not a cluster that works (lab run 11:
    a switchover on Debian 13 fenced its target after DRBD's promote and stop timed out)."""
    if sc.expect_fence:
        return []
    return [f"{o['resource'].removeprefix('fence ')} fenced ({o['op']}) by {o['node']} at +{o['end']:.0f} s"
            for o in operations if o["resource"].startswith("fence ") and o["op"] != "delay"]


def by_name(name: str) -> Scenario:
    for s in SCENARIOS:
        if s.name == name:
            return s
    raise KeyError(name)
