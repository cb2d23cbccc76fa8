"""A real two-node Pacemaker 2.1.5 / corosync 3.1.7 cluster (this machine, two network namespaces):
the status batch's own captures, healthy and degraded (see tests/data/status/SOURCE)."""

from __future__ import annotations

import dataclasses

import pytest

from tests.status.conftest import NODES, captured
from tests.status.test_health import UP_TO_DATE
from wizard.status.health import failover_ready, healthy, problems
from wizard.status.model import Expect, status_from_raw
from wizard.status.view import format_screen

# What the capture machine has of the stack (the rest of a node's list is not installed there).
EXPECT = Expect(nodes=NODES, links=2, packages=("drbd-utils", "corosync", "pacemaker", "resource-agents",
                                                 "fence-agents"))


def status(case: str):
    st = status_from_raw(EXPECT, captured(f"local-cluster/{case}"))
    # No DRBD module on the capture machine: its state as the parser returns it (the lab captures have it).
    assert all(n.drbd_loaded is None for n in st.nodes if n.reached)
    return dataclasses.replace(st, nodes=tuple(dataclasses.replace(n, drbd_loaded="8.4.11", drbd=UP_TO_DATE[i])
                                                 for i, n in enumerate(st.nodes)))


def codes(st):
    return sorted((p.code, p.node) for p in problems(st))


def test_healthy():
    st = status("healthy")
    c = st.cluster
    assert (st.view_from, c.dc, c.quorum, c.stonith_enabled) == ("zbx-node1", "zbx-node1", True, True)
    assert [n.name for n in c.nodes if n.online] == list(NODES)
    assert {r.id: r.nodes for r in c.resources if r.parent == "zabbix"} == {
        m: ("zbx-node1",) for m in ("zabbix-fs", "zabbix-db", "zabbix-vip", "zabbix-web", "zabbix-server")}
    assert all(n.packages["pacemaker"].startswith("2.1.5") for n in st.nodes)
    assert st.fence_history == () and st.constraints == () and st.errors == {}
    assert problems(st) == [] and failover_ready(st) == [] and healthy(st)
    out = format_screen(st, problems(st))
    assert "HEALTHY, can fail over" in out and max(map(len, out.splitlines())) <= 80


def test_leftover_move():
    st = status("moved")
    assert codes(st) == [("leftover-constraint", None)]
    (p,) = failover_ready(st)
    assert p.payload == {"id": "cli-prefer-zabbix", "resource": "zabbix", "target": "zbx-node2", "kind": "prefer"}
    assert p.fix == "crm_resource --clear --resource zabbix"


def test_failed_action_with_its_fail_count():
    st = status("failed-action")
    (p,) = failover_ready(st)
    assert (p.code, p.node, p.payload["resource"], p.payload["fail_count"]) == \
        ("failed-action", "zbx-node2", "zabbix-db", 2)
    assert p.fix.endswith("crm_resource --cleanup --resource zabbix-db --node zbx-node2")


def test_one_link_down_degraded_but_can_fail_over():
    st = status("link1-down")
    assert codes(st) == [("link-down", "zbx-node1"), ("link-down", "zbx-node2")]
    assert failover_ready(st) == [] and not healthy(st)


def test_standby_node_also_stops_the_fence_device_that_runs_there():
    st = status("standby")
    assert codes(st) == [("fence-device-stopped", None), ("node-standby", "zbx-node2"), ("resource-stopped", None)]
    assert {p.payload.get("resource") for p in failover_ready(st)} == {None, "fence-zbx-node1", "drbd-r0"}


def test_failed_fencing_blocks_failover():
    st = status("fence-failed")
    (ev,) = st.fence_history
    assert (ev.target, ev.action, ev.status, ev.delegate) == ("zbx-node2", "reboot", "failed", "zbx-node1")
    (p,) = failover_ready(st)
    assert (p.code, p.node) == ("fence-failed", "zbx-node2")
    assert "did not complete within 20s" in p.message


def test_fenced_node_the_other_reports():
    st = status("node2-fenced")
    assert st.view_from == "zbx-node1"
    (ev,) = st.fence_history
    assert (ev.target, ev.status) == ("zbx-node2", "success")
    got = codes(st)
    for want in [("node-offline", "zbx-node2"), ("pacemaker-not-running", "zbx-node2"), ("link-down", "zbx-node1")]:
        assert want in got
    assert ("corosync-not-running", "zbx-node2") not in got       # said once, with Pacemaker
    assert ("fence-failed", "zbx-node2") not in got
    assert failover_ready(st)


@pytest.mark.parametrize("case", ["healthy", "moved", "failed-action", "link1-down", "standby", "fence-failed",
                                  "node2-fenced"])
def test_screen_fits_80_columns(case):
    st = status(case)
    assert max(map(len, format_screen(st, problems(st)).splitlines())) <= 80
