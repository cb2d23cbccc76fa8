"""crm_mon / cibadmin parsers on real Pacemaker 2.1 output of simulated cluster states."""

from __future__ import annotations

import pytest

from tests.status.conftest import SIMULATED
from wizard.status.parse import ParseError, parse_constraints, parse_crm_mon

GROUP = ("zabbix-fs", "zabbix-db", "zabbix-vip", "zabbix-srcip", "zabbix-srcaddr", "zabbix-web", "zabbix-server")


def mon(scenario):
    return parse_crm_mon((SIMULATED / scenario / "crm_mon.xml").read_text())


def constraints(scenario):
    return parse_constraints((SIMULATED / scenario / "constraints.xml").read_text())


def test_healthy_cluster():
    c = mon("healthy")
    assert (c.dc, c.quorum, c.stonith_enabled, c.maintenance_mode) == ("zbx-node1", True, True, False)
    assert [(n.name, n.online, n.standby, n.maintenance, n.is_dc) for n in c.nodes] == \
        [("zbx-node1", True, False, False, True), ("zbx-node2", True, False, False, False)]
    drbd = [(r.role, r.nodes, r.parent) for r in c.resources if r.id == "drbd-r0"]
    assert drbd == [("Promoted", ("zbx-node1",), "drbd-r0-clone"), ("Unpromoted", ("zbx-node2",), "drbd-r0-clone")]
    group = [r for r in c.resources if r.parent == "zabbix"]
    assert tuple(r.id for r in group) == GROUP
    assert all(r.role == "Started" and r.nodes == ("zbx-node1",) and r.managed and not r.failed for r in group)
    assert [(d.id, d.agent, d.role, d.nodes) for d in c.fence_devices()] == [
        ("fence-zbx-node1", "stonith:fence_ipmilan", "Started", ("zbx-node2",)),
        ("fence-zbx-node2", "stonith:fence_ipmilan", "Started", ("zbx-node1",))]
    assert c.failures == () and c.fail_counts == () and c.fence_events == ()
    assert constraints("healthy") == ()      # the rendered constraints are not leftovers


def test_without_fencing():
    c = mon("healthy-nofencing")
    assert c.stonith_enabled is False and c.fence_devices() == ()


def test_node_states():
    assert mon("standby").node("zbx-node2").standby is True
    assert mon("node-maintenance").node("zbx-node2").maintenance is True
    down = mon("node2-down").node("zbx-node2")
    assert (down.online, down.unclean) == (False, False)
    assert mon("cluster-maintenance").maintenance_mode is True


def test_failed_action():
    (f,) = mon("failed-action").failures
    assert (f.op_key, f.resource, f.task, f.node, f.exitstatus, f.exitcode) == \
        ("zabbix-db_monitor_20000", "zabbix-db", "monitor", "zbx-node1", "not running", "7")


def test_move_and_ban_leave_cli_constraints():
    (moved,) = constraints("moved")
    assert (moved.id, moved.resource, moved.node, moved.kind, moved.score) == \
        ("cli-prefer-zabbix", "zabbix", "zbx-node2", "prefer", "INFINITY")
    c = mon("moved")
    assert {r.nodes for r in c.resources if r.parent == "zabbix"} == {("zbx-node2",)}
    (ban,) = constraints("banned")
    assert (ban.id, ban.resource, ban.node, ban.kind, ban.score) == \
        ("cli-ban-zabbix-on-zbx-node1", "zabbix", "zbx-node1", "ban", "-INFINITY")


@pytest.mark.parametrize("text", ["", "crm_mon: Error: cluster is not available on this node\n",
                                  '<pacemaker-result api-version="2.25"><status code="102" message="Not connected"/>'
                                  "</pacemaker-result>"])
def test_not_crm_mon_output(text):
    with pytest.raises(ParseError):
        parse_crm_mon(text)


def test_drbd_fence_peer_constraint():
    (c,) = constraints("drbd-fenced")
    assert (c.id, c.resource, c.node, c.kind, c.score, c.role) == \
        ("drbd-fence-by-handler-r0-drbd-r0-clone", "drbd-r0-clone", "zbx-node1", "drbd-fence", "-INFINITY", "")
