"""Which node a scenario acts on and when it refuses, judged on real crm_mon captures
(tests/data/status/local-cluster: Pacemaker 2.1.5 in two network namespaces)."""

from __future__ import annotations

import copy

import pytest

from tests.status.test_local_cluster import status
from wizard.failover.cluster import ClusterOps
from wizard.failover.scenarios import SCENARIOS, _link_target, by_name


@pytest.fixture
def ops(spec):
    return ClusterOps(spec, executors={}, local=spec.hostnames[0])


def test_the_zabbix_group_is_found_where_all_its_members_run():
    assert ClusterOps.group_node(status("healthy")) == "zbx-node1"
    assert ClusterOps.group_node(status("moved")) == "zbx-node2"


def test_a_failed_member_means_the_group_is_not_settled_anywhere():
    import dataclasses

    st = status("healthy")
    members = tuple(dataclasses.replace(r, role="Stopped", nodes=()) if r.id == "zabbix-server" else r
                    for r in st.cluster.resources)
    broken = dataclasses.replace(st, cluster=dataclasses.replace(st.cluster, resources=members))
    assert ClusterOps.group_node(broken) is None


def test_node_lost_refuses_to_crash_the_machine_the_drill_runs_on(ops, spec):
    node_lost = by_name("node-lost")
    why = node_lost.applicable(ops, spec.hostnames[0])
    assert "run the switchover first" in why and spec.hostnames[1] in why
    assert node_lost.applicable(ops, spec.hostnames[1]) == ""


def test_failback_only_when_the_services_are_away_from_the_preferred_node(ops, spec):
    failback = by_name("failback")
    assert "already run on" in failback.applicable(ops, spec.preferred_node)
    assert failback.applicable(ops, spec.hostnames[1]) == ""
    assert failback.applicable(ops, None)        # services not settled: never


def test_link_cut_picks_the_passive_node_and_never_its_management_link(spec):
    ops = ClusterOps(spec, executors={}, local=spec.hostnames[0])
    node, link, address = _link_target(ops, spec.hostnames[0])
    assert node == spec.hostnames[1] and address == spec.links[link].addresses[1]
    shared = copy.deepcopy(spec)
    shared.links[0].addresses[1] = shared.nodes[1].address        # link 0 is node2's management network
    shared.links[1].addresses[1] = shared.nodes[1].address
    why = _link_target(ClusterOps(shared, executors={}, local=spec.hostnames[0]), spec.hostnames[0])
    assert isinstance(why, str) and "cuts SSH" in why


def test_one_link_clusters_do_not_cut_their_only_link(spec):
    single = copy.deepcopy(spec)
    single.links = single.links[:1]
    why = by_name("link-cut").applicable(ClusterOps(single, executors={}), single.hostnames[0])
    assert "one interconnect link only" in why


def test_scenarios_have_unique_names_and_an_explanation_each():
    names = [s.name for s in SCENARIOS]
    assert len(set(names)) == len(names) and all(len(s.explain) > 80 for s in SCENARIOS)


@pytest.mark.parametrize("replication", [0, 1])
def test_link_cut_spares_the_link_drbd_replicates_over(spec, replication):
    s = copy.deepcopy(spec)
    s.storage.replication_link = replication
    _node, link, _address = _link_target(ClusterOps(s, executors={}, local=s.hostnames[0]), s.hostnames[0])
    assert link == 1 - replication


def test_waiting_reads_the_status_without_the_package_query_and_the_gate_with_it(spec):
    # The waits poll both nodes every few seconds while the failover runs: the heaviest
    # command of the batch (the package query) is left out there, kept for the gate's status.
    from tests.install.fake import RecordingExecutor

    executors = {n: RecordingExecutor(n) for n in spec.hostnames}
    ops = ClusterOps(spec, executors=executors, local=spec.hostnames[0])
    ops.wait("anything", lambda st: True, timeout=5)
    polled = " ".join(stdin or "" for ex in executors.values() for _, stdin in ex.calls)
    assert "crm_mon" in polled and "dpkg-query" not in polled
    for ex in executors.values():
        ex.calls.clear()
    ops.status()
    assert "dpkg-query" in " ".join(stdin or "" for ex in executors.values() for _, stdin in ex.calls)


def test_kill_server_names_the_zabbix_server_monitor_interval_of_the_cib(spec):
    """What the drill tells the administrator about Pacemaker matches the CIB the install applies."""
    import re
    import xml.etree.ElementTree as ET

    from wizard.render import render

    cib = ET.fromstring(next(f for f in render(spec)["zbx-node1"].values() if f.kind == "cib").text)
    interval = cib.find(".//primitive[@id='zabbix-server']/operations/op[@name='monitor']").get("interval")
    said = re.search(r"monitor \(every (\d+) s\)", by_name("kill-server").explain)
    assert said and f"{said.group(1)}s" == interval
