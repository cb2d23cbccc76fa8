"""Health and the failover gate on real outputs: a healthy cluster passes, each degraded one names its fix."""

from __future__ import annotations

import dataclasses

import pytest

from tests.status.conftest import DATA, EXPECT, NODES, raw, simulated
from wizard.status.health import failover_ready, healthy, problems
from wizard.status.model import CFGTOOL, FENCE_HISTORY, PACKAGES, PROC_DRBD, status_from_raw
from wizard.status.parse import DrbdState

COROSYNC = DATA / "corosync"
PKG_ARGV = ("dpkg-query", "-W", "-f", "${Package}\\t${Version}\\t${db:Status-Abbrev}\\n", "--")
VERSIONS = {"corosync": "3.1.7-1", "pacemaker": "2.1.5-1+deb12u1", "drbd-utils": "9.22.0-1"}
EXPECT3 = dataclasses.replace(EXPECT, packages=tuple(VERSIONS))
# Until the lab capture of /proc/drbd is in: DRBD's state as the parser returns it.
UP_TO_DATE = (DrbdState(0, "Connected", "Primary", "Secondary", "UpToDate", "UpToDate"),
              DrbdState(0, "Connected", "Secondary", "Primary", "UpToDate", "UpToDate"))


def _dpkg(versions: dict[str, str]) -> str:
    return "".join(f"{p}\t{v}\tii \n" for p, v in versions.items())


def make(scenario="healthy", links=("healthy.n1.txt", "healthy.n2.txt"), drbd=UP_TO_DATE, versions=(VERSIONS, VERSIONS),
         expect=EXPECT3, unreachable=()):
    by_node = {}
    for i, node in enumerate(NODES):
        if node in unreachable:
            by_node[node] = "no answer from 192.168.10.12:22 within 10 s"
            continue
        r = simulated(scenario)
        r[CFGTOOL] = raw(CFGTOOL, ("corosync-cfgtool", "-s"), (COROSYNC / links[i]).read_text())
        r[PROC_DRBD] = raw(PROC_DRBD, ("cat", "/proc/drbd"), "version: 8.4.11 (api:1/proto:86-101)\n")
        r[PACKAGES] = raw(PACKAGES, PKG_ARGV + tuple(VERSIONS), _dpkg(versions[i]))
        r[FENCE_HISTORY] = raw(FENCE_HISTORY, ("stonith_admin", "--history", "*", "--output-as=xml"),
                               '<pacemaker-result api-version="2.25" request="stonith_admin --history * '
                               '--output-as=xml"><status code="0" message="OK"/></pacemaker-result>')
        by_node[node] = r
    st = status_from_raw(expect, by_node)
    nodes = tuple(dataclasses.replace(n, drbd=drbd[i]) if n.reached else n for i, n in enumerate(st.nodes))
    return dataclasses.replace(st, nodes=nodes)


def codes(st):
    return sorted((p.code, p.node) for p in problems(st))


def test_healthy_cluster_has_no_problem_and_can_fail_over():
    st = make()
    assert problems(st) == []
    assert failover_ready(st) == [] and healthy(st)


@pytest.mark.parametrize("scenario,code,node,fix", [
    ("moved", "leftover-constraint", None, "crm_resource --clear --resource zabbix"),
    ("banned", "leftover-constraint", None, "crm_resource --clear --resource zabbix"),
    ("failed-action", "failed-action", "zbx-node1", "crm_resource --cleanup --resource zabbix-db --node zbx-node1"),
    ("standby", "node-standby", "zbx-node2", "crm_standby --node zbx-node2 --update off"),
    ("node-maintenance", "node-maintenance", "zbx-node2", "crm_attribute --node zbx-node2 --name maintenance --delete"),
    ("cluster-maintenance", "cluster-maintenance", None,
     "crm_attribute --type crm_config --name maintenance-mode --update false"),
    ("node2-down", "node-offline", "zbx-node2", "systemctl start corosync pacemaker"),
])
def test_degraded_cluster_cannot_fail_over(scenario, code, node, fix):
    st = make(scenario)
    gate = failover_ready(st)
    assert (code, node) in [(p.code, p.node) for p in gate]
    assert any(fix in p.fix for p in gate if p.code == code)
    assert not healthy(st)


def test_drbd_fence_constraint_left_behind_blocks_failover():
    (p,) = failover_ready(make("drbd-fenced"))
    assert (p.code, p.payload["target"], p.payload["resource"]) == ("drbd-fence-constraint", "zbx-node1", "drbd-r0-clone")
    assert "cibadmin --delete --scope constraints --xml-text '<rsc_location id=\"drbd-fence-by-handler-r0-drbd-r0-clone\"/>'" \
        in p.fix


def test_leftover_move_names_the_constraint_and_where_it_pins():
    (p,) = [p for p in problems(make("moved")) if p.code == "leftover-constraint"]
    assert p.payload == {"id": "cli-prefer-zabbix", "resource": "zabbix", "target": "zbx-node2", "kind": "prefer"}


def test_failed_action_only_that():
    assert codes(make("failed-action")) == [("failed-action", "zbx-node1")]


def test_one_link_down_is_degraded_but_can_fail_over():
    st = make(links=("link1-down.n1.txt", "link1-down.n2.txt"))
    assert codes(st) == [("link-down", "zbx-node1"), ("link-down", "zbx-node2")]
    assert all(p.severity == "warning" and p.payload["link"] == 1 for p in problems(st))
    assert failover_ready(st) == [] and not healthy(st)


def test_a_link_fewer_than_the_answers():
    st = make(expect=dataclasses.replace(EXPECT3, links=3))
    assert codes(st) == [("link-missing", "zbx-node1"), ("link-missing", "zbx-node2")]


@pytest.mark.parametrize("cs,fix", [("StandAlone", "drbdadm connect r0"), ("WFConnection", "drbdadm connect r0")])
def test_drbd_disconnected(cs, fix):
    drbd = (DrbdState(0, cs, "Primary", "Unknown", "UpToDate", "DUnknown"), UP_TO_DATE[1])
    (p,) = failover_ready(make(drbd=drbd))
    assert (p.code, p.node, p.payload["cs"]) == ("drbd-disconnected", "zbx-node1", cs)
    assert fix in p.fix


def test_drbd_resync_in_progress():
    drbd = (DrbdState(0, "SyncSource", "Primary", "Secondary", "UpToDate", "Inconsistent", 42.5, "0:01:10", 123),
            DrbdState(0, "SyncTarget", "Secondary", "Primary", "Inconsistent", "UpToDate", 42.5, "0:01:10", 123))
    gate = failover_ready(make(drbd=drbd))
    assert [(p.code, p.payload["percent"]) for p in gate] == [("drbd-syncing", 42.5)] * 2


def test_drbd_down_on_a_node():
    (p,) = failover_ready(make(drbd=(UP_TO_DATE[0], None)))
    assert (p.code, p.node) == ("drbd-down", "zbx-node2")


def test_node_unreachable_the_other_still_reports():
    st = make(unreachable=("zbx-node2",))
    assert st.view_from == "zbx-node1"
    assert ("node-unreachable", "zbx-node2") in [(p.code, p.node) for p in failover_ready(st)]


def test_without_fencing_acknowledged_is_healthy():
    ack = dataclasses.replace(EXPECT3, fencing="none", fencing_acknowledged=True)
    st = make("healthy-nofencing", expect=ack)
    assert codes(st) == [("fencing-none-acknowledged", None)]
    assert healthy(st) and failover_ready(st) == []


def test_fencing_disabled_but_the_answers_want_it():
    assert [p.code for p in failover_ready(make("healthy-nofencing"))] == ["fencing-disabled"]


def test_package_versions_differ():
    other = {**VERSIONS, "pacemaker": "2.1.6-1"}
    st = make(versions=(VERSIONS, other))
    (p,) = problems(st)
    assert (p.code, p.severity, p.payload["package"], p.payload["strict"]) == \
        ("package-version-differs", "warning", "pacemaker", True)
    assert "apt-get install pacemaker=2.1.6-1" in p.fix
    assert failover_ready(st) == [] and not healthy(st)


def test_package_missing_on_one_node():
    st = make(versions=(VERSIONS, {k: v for k, v in VERSIONS.items() if k != "drbd-utils"}))
    assert codes(st) == [("package-missing", "zbx-node2")]
