"""What the drill does to the cluster and reads back from it, through the nodes' executors.

Every action here is one the scenarios undo (standby -> unstandby, link down
-> up, a fail count -> cleanup); every wait is bounded and polls the same
status reader as `zabbix-ha status`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Callable

from wizard.status.gather import read_status
from wizard.status.model import Expect, Status

GROUP = "zabbix"              # templates/pacemaker/cib.xml.j2
SERVER = "zabbix-server"
DATABASE = "zabbix-db"


class DrillFailed(Exception):
    """A scenario did not reach the state it waited for; the message says which and what was seen."""


@dataclass
class ClusterOps:
    spec: object                          # ClusterSpec
    executors: dict                       # node -> wizard.remote.Executor
    local: str | None = None              # the node this drill runs on, if it is one
    log: Callable[[str], None] = lambda _m: None

    def __post_init__(self) -> None:
        self.expect = Expect.from_spec(self.spec)
        # While a scenario waits, the status is read every few seconds on both
        # nodes: without the package query (packages do not change in a drill),
        # which is the batch's heaviest command. On the emulated lab the full
        # batch every 3 s kept both nodes busy and slowed the very failover it
        # measured (a switchover took over 10 min).
        self.progress_expect = dataclasses.replace(self.expect, packages=())
        self.nodes = list(self.spec.hostnames)

    def other(self, node: str) -> str:
        return next(n for n in self.nodes if n != node)

    def run(self, node: str, argv: list[str], *, timeout: float = 60, check: bool = True, input: str | None = None):
        return self.executors[node].run(argv, check=check, timeout=timeout, input=input)

    def status(self) -> Status:
        return read_status(self.executors, self.expect)

    # -- reading placement ------------------------------------------------------

    @staticmethod
    def group_node(status: Status) -> str | None:
        """The node every member of the Zabbix group runs on; None when they are not all started on one."""
        if status.cluster is None:
            return None
        members = [r for r in status.cluster.resources if r.parent == GROUP]
        where = {r.nodes for r in members}
        if not members or any(r.role != "Started" or len(r.nodes) != 1 or r.failed for r in members) \
                or len(where) != 1:
            return None
        return where.pop()[0]

    def active_node(self) -> str | None:
        return self.group_node(self.status())

    def wait(self, what: str, done: Callable[[Status], bool | str], *, timeout: float,
             interval: float = 5.0, stop=None) -> Status:
        """Poll the status until `done` says True; a str is progress. Bounded by `timeout`."""
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            st = read_status(self.executors, self.progress_expect)
            result = done(st)
            if result is True:
                return st
            if isinstance(result, str) and result != last:
                self.log(result)
                last = result
            if time.monotonic() >= deadline:
                raise DrillFailed(f"{what}: not within {timeout:.0f} s" + (f" (last seen: {last})" if last else ""))
            if stop is not None and stop.is_set():
                raise DrillFailed(f"{what}: aborted")
            time.sleep(interval)

    def wait_group_on(self, node: str, *, timeout: float, stop=None) -> Status:
        def done(st: Status):
            where = self.group_node(st)
            return True if where == node else f"Zabbix services: {'moving' if where is None else 'on ' + where}"
        return self.wait(f"every Zabbix service started on {node}", done, timeout=timeout, stop=stop)

    def wait_ready(self, *, timeout: float, stop=None) -> Status:
        """Until the cluster could fail over again (both online, DRBD UpToDate, no failures)."""
        from wizard.status.health import failover_ready

        def done(st: Status):
            found = failover_ready(st)
            return True if not found else found[0].message
        return self.wait("the cluster able to fail over again", done, timeout=timeout, stop=stop)

    # -- actions ------------------------------------------------------------------

    def standby(self, node: str, on: bool) -> None:
        base = ["crm_attribute", "--type", "nodes", "--node", node, "--name", "standby"]
        self.run(self.other(node) if on else node, base + (["--update", "on"] if on else ["--delete"]))

    def cleanup(self, resource: str) -> None:
        """Forget a resource's failures (the fail count a kill scenario leaves)."""
        node = self.active_node() or self.nodes[0]
        self.run(node, ["crm_resource", "--cleanup", "--resource", resource], timeout=120)

    def kill(self, node: str, process: str) -> None:
        self.run(node, ["pkill", "-KILL", "-x", process])

    def fence(self, target: str) -> None:
        """Power the target off and on through the cluster's own fence device, asked from the peer."""
        self.run(self.other(target), ["stonith_admin", "--reboot", target, "--timeout", "240"], timeout=300)

    def crash_cluster_stack(self, node: str) -> None:
        """No fencing: the node's cluster stack dies hard, as if the node had."""
        self.run(node, ["sh", "-c", "pkill -KILL -x pacemakerd; pkill -KILL -x corosync; true"])

    def start_cluster_stack(self, node: str) -> None:
        self.run(node, ["systemctl", "start", "corosync", "pacemaker"], timeout=300)

    def interface_of(self, node: str, address: str) -> str:
        res = self.run(node, ["ip", "-o", "addr", "show", "to", address], check=False)
        fields = res.stdout.split()
        if res.rc or len(fields) < 2:
            raise DrillFailed(f"no interface on {node} holds {address}")
        return fields[1].split("@")[0]

    def set_link(self, node: str, interface: str, up: bool) -> None:
        self.run(node, ["ip", "link", "set", "dev", interface, "up" if up else "down"])

    @staticmethod
    def link_connected(status: Status, link: int) -> dict[str, bool | None]:
        """Per node: is knet link `link` up to the peer (None: corosync not read, or no such link)."""
        out: dict[str, bool | None] = {}
        for n in status.nodes:
            found = [lk for lk in (n.corosync.links if n.corosync else ()) if lk.id == link]
            out[n.name] = found[0].connected if found else None
        return out
