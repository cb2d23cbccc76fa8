"""The install's waits read the cluster through the same parsers as the status (real outputs)."""

from __future__ import annotations

import json

from tests.install.fake import RecordingExecutor
from tests.status.conftest import DATA, SIMULATED
from wizard.install import cib, cluster, drbd
from wizard.install.step import Context, Shared
from wizard.render import render

COROSYNC = DATA / "corosync"


def ctx_with(spec, secrets, answers):
    node = spec.hostnames[0]
    ex = RecordingExecutor(node, answers)
    return Context(spec, secrets, node, {node: ex}, render(spec, secrets), Shared())


def test_links_connected(spec, secrets):
    ok = ctx_with(spec, secrets, [("corosync-cfgtool", (0, (COROSYNC / "healthy.n1.txt").read_text(), ""))])
    assert cluster.links_connected(ok) == ""
    down = ctx_with(spec, secrets, [("corosync-cfgtool", (0, (COROSYNC / "link1-down.n1.txt").read_text(), ""))])
    assert cluster.links_connected(down) == "link 1 (10.77.2.1) not connected"
    not_running = (1, "", (COROSYNC / "not-running.stderr.txt").read_text())
    stopped = ctx_with(spec, secrets, [("corosync-cfgtool", not_running)])
    assert cluster.links_connected(stopped) == "corosync-cfgtool -s failed"


def test_cluster_view_for_the_install(spec, secrets):
    def mon(scenario):
        text = (SIMULATED / scenario / "crm_mon.xml").read_text()
        return cluster.cluster_status(ctx_with(spec, secrets, [("crm_mon", (0, text, ""))]))

    view = mon("healthy")
    assert cluster.online_nodes(view) == {"zbx-node1", "zbx-node2"} and cluster.has_quorum(view)
    states = cib._resource_states(view)
    assert states["drbd-r0"] == ("Promoted", {"zbx-node1", "zbx-node2"})
    assert states["zabbix-server"] == ("Started", {"zbx-node1"})
    assert cib.failures(view) == []
    assert cluster.online_nodes(mon("node2-down")) == {"zbx-node1"}
    assert cib.failures(mon("failed-action")) == ["zabbix-db_monitor_20000 on zbx-node1: Simulated action result"]
    assert cluster.cluster_status(ctx_with(spec, secrets, [("crm_mon", (102, "", "not connected"))])) is None


def test_drbd_module_loaded_nothing_up(spec, secrets):
    # The VM lab's node before the install (tests/data/facts): module loaded, no resource.
    lab = json.loads((DATA.parent / "facts" / "debian12-vm-lab-node1" / "proc-drbd.json").read_text())
    ctx = ctx_with(spec, secrets, [("/proc/drbd", (lab["rc"], lab["stdout"], lab["stderr"]))])
    assert drbd.status(ctx) == {} and drbd.sync_progress(ctx) == ""
