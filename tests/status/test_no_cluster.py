"""A node with the tools but no cluster running: captured, and read live on this machine."""

from __future__ import annotations

from tests.preflight.capture import load
from tests.status.conftest import DATA
from wizard.platforms import platform
from wizard.remote import LocalExecutor
from wizard.status.gather import commands_for, gather_raw
from wizard.status.health import failover_ready, problems
from wizard.status.model import Expect, status_from_raw

EXPECT = Expect(nodes=("vm",), links=2, packages=platform("debian12").packages("ipmi", "ext4"))
CAPTURED = DATA / "no-cluster" / "vm"
DOWN = [("drbd-not-loaded", "vm"), ("pacemaker-not-running", "vm")]


def test_captured_commands_are_the_ones_status_runs():
    raw = load(CAPTURED)
    assert {k: r.argv for k, r in raw.items()} == {k: tuple(v) for k, v in commands_for(EXPECT).items()}


def test_no_cluster_captured():
    st = status_from_raw(EXPECT, {"vm": load(CAPTURED)})
    (node,) = st.nodes
    assert node.reached and node.cluster is None and node.corosync is None and node.drbd_loaded is None
    assert set(node.tool_errors) == {"crm_mon", "corosync-cfgtool", "proc-drbd"}
    assert node.packages["pacemaker"] and node.packages["corosync"]
    assert st.cluster is None and set(st.errors) == {"constraints", "fence-history"}
    assert sorted((p.code, p.node) for p in problems(st)) == DOWN
    assert all(p.blocks_failover for p in failover_ready(st))
    (stack,) = [p for p in problems(st) if p.code == "pacemaker-not-running"]
    assert stack.payload["corosync"] is False
    assert stack.message == ("neither corosync nor Pacemaker answers on vm "
                             "(crm_mon: exit 102: crm_mon: Connection to cluster failed: Connection refused)")


def test_no_cluster_live_on_this_machine():
    """The batch through a real executor: every tool is installed (test.sh), none has a cluster to talk to."""
    raw = gather_raw({"vm": LocalExecutor("vm")}, EXPECT)
    assert not any(r.rc == 127 for r in raw["vm"].values()), "a tool is missing"
    st = status_from_raw(EXPECT, raw)
    assert sorted((p.code, p.node) for p in problems(st)) == DOWN
