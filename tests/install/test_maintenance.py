"""A running cluster whose stack must restart (SBD newly chosen, a new authkey) keeps its resources running.

cluster.hold puts Pacemaker in maintenance mode first and remembers where each
resource ran; cluster.release ends it only once Pacemaker sees every resource
where it ran again. Pacemaker's side runs for real: crm_mon and crm_attribute on
a running cluster's CIB made by crm_simulate (CIB_file, tests/data/status/simulate).
Which nodes need a restart is decided from systemctl/corosync answers (recorded
executor). The restart itself under live services is proven on the VM lab
(tests/lab/test_vm_install.py, the IPMI -> SBD rerun).
"""

from __future__ import annotations

import pytest

from tests.install.fake import RecordingExecutor
from wizard.install import cluster
from wizard.install.step import Context, Shared, StepFailed
from wizard.remote import LocalExecutor
from wizard.render import render


@pytest.fixture
def live(tmp_path, monkeypatch):
    from tests.data.status.simulate import running

    path = running(tmp_path, "ipmi")
    monkeypatch.setenv("CIB_file", str(path))
    monkeypatch.setenv("LC_ALL", "C")
    # The install state lives on the first node; here it stays in memory.
    monkeypatch.setattr(Shared, "remember", lambda self, ctx, key, value: self.state.__setitem__(key, value))
    return path


def _ctx(spec, secrets, shared=None):
    first, second = spec.hostnames
    ex = {n: LocalExecutor(n) for n in (first, second)}
    return Context(spec, secrets, first, ex, render(spec, secrets), shared or Shared())


def test_hold_remembers_where_everything_runs_then_sets_maintenance_mode(spec, secrets, live):
    ctx = _ctx(spec, secrets)
    said = cluster._hold(ctx)
    assert "maintenance mode on" in said
    where = ctx.shared.state[cluster.HELD]
    # Every resource instance but the fence devices, with its role and node, as Pacemaker showed it.
    assert ["drbd-r0", "Promoted", spec.hostnames[0]] in where
    assert ["drbd-r0", "Unpromoted", spec.hostnames[1]] in where
    assert ["zabbix-server", "Started", spec.hostnames[0]] in where
    assert not any(r[0].startswith("fence-") for r in where)
    view = cluster.cluster_status(ctx)
    assert view.maintenance_mode is True
    assert cluster._hold_not_needed(ctx)              # held: a rerun of the step does nothing more


def test_release_ends_maintenance_only_once_everything_is_where_it_ran(spec, secrets, live, monkeypatch):
    ctx = _ctx(spec, secrets)
    cluster._hold(ctx)
    assert not cluster._released(ctx)
    said = cluster._release(ctx)
    assert "maintenance mode off" in said and cluster._released(ctx)
    assert cluster.cluster_status(ctx).maintenance_mode is False

    # A resource not found where it ran (as after a restart whose probe found it stopped):
    # maintenance mode stays on and the message says how to end it by hand.
    monkeypatch.setattr(cluster, "PROBE_TIMEOUT", 0)
    cluster._hold(ctx)
    ctx.shared.state[cluster.HELD] = ctx.shared.state[cluster.HELD] + [["zabbix-server", "Started", "elsewhere"]]
    with pytest.raises(StepFailed) as err:
        cluster._release(ctx)
    assert "zabbix-server Started elsewhere" in str(err.value) and "maintenance-mode --delete" in err.value.fix
    assert cluster.cluster_status(ctx).maintenance_mode is True
    assert not cluster._released(ctx)


def test_an_administrators_own_maintenance_mode_is_left_alone(spec, secrets, live):
    import subprocess

    subprocess.run(["crm_attribute", "--type", "crm_config", "--name", "maintenance-mode", "--update", "true"],
                   check=True, timeout=60, capture_output=True)
    ctx = _ctx(spec, secrets)
    assert "not set by zabbix-ha" in cluster._hold(ctx)
    assert cluster._released(ctx)                         # nothing of ours to end
    assert cluster.cluster_status(ctx).maintenance_mode is True


def _node(name, *, pacemaker_active=True, cluster_name="zabbix-ha-cluster", sbd="absent"):
    """systemctl's answers on a node; sbd: "absent" (not installed), "disabled", "active" (enabled and running)."""
    def state(unit, which):
        if unit != "sbd.service":
            return "enabled" if which == "is-enabled" else "active"
        if which == "is-enabled":
            return {"absent": "", "disabled": "disabled", "active": "enabled"}[sbd]
        return "active" if sbd == "active" else "inactive"

    def answer(argv, _stdin):
        units = [a for a in argv[2:] if not a.startswith("-")]
        lines = [state(u, argv[1]) for u in units]
        return (0 if all(x in ("enabled", "active") for x in lines) else 3), "\n".join(x for x in lines if x), ""
    return RecordingExecutor(name, [
        (r"^systemctl is-active --quiet pacemaker.service", (0 if pacemaker_active else 3, "", "")),
        (r"^systemctl is-(active|enabled) -- ", answer),
        (r"^corosync-cmapctl -g totem.cluster_name", (0, f"totem.cluster_name (str) = {cluster_name}\n", "")),
    ])


def test_a_hold_is_needed_only_where_pacemaker_runs_our_cluster_and_the_stack_must_restart(spec, secrets):
    first, second = spec.hostnames

    def needed(fencing="ipmi", authkey_changed=False, **node_kw):
        s = spec
        s.fencing.method = fencing
        shared = Shared()
        shared.runtime["authkey_changed"] = authkey_changed
        ex = {first: _node(first, **node_kw), second: _node(second, **node_kw)}
        ctx = Context(s, secrets, first, ex, {}, shared)
        return not cluster._hold_not_needed(ctx)

    name = spec.name
    assert not needed(cluster_name=name)                                   # running as it should: no restart
    assert not needed(cluster_name=name, sbd="disabled")
    assert needed(fencing="sbd", sbd="disabled", cluster_name=name)        # sbd newly chosen: restart held
    assert not needed(fencing="sbd", sbd="active", cluster_name=name)
    assert needed(authkey_changed=True, cluster_name=name)                 # a new authkey: restart held
    # IPMI fencing, but Debian's sbd package started with corosync (lab run 5: it reset a busy node1):
    # only a stack restart stops it, held like the others.
    assert needed(cluster_name=name, sbd="active")
    # Nothing of ours runs resources: a fresh install, Debian's own one-node cluster, a stopped pacemaker.
    assert not needed(fencing="sbd", sbd="disabled", cluster_name="debian")
    assert not needed(fencing="sbd", sbd="disabled", cluster_name=name, pacemaker_active=False)


def test_a_stray_sbd_is_disabled_before_corosync_starts_it(spec, secrets):
    # Fresh install, IPMI fencing, Debian's sbd package installed and enabled: corosync would start it.
    first = spec.hostnames[0]
    spec.fencing.method = "ipmi"
    ex = _node(first, pacemaker_active=False, cluster_name="", sbd="active")
    ex.answers.insert(0, (r"^systemctl is-active corosync.service", (3, "inactive\n", "")))
    ctx = Context(spec, secrets, first, {first: ex, spec.hostnames[1]: ex}, {}, Shared())
    assert not cluster._stack_running(ctx)
    cluster._start_stack(ctx)
    calls = [" ".join(argv) for argv, _ in ex.calls]
    disable = calls.index("systemctl disable -- sbd.service")
    assert disable < calls.index("systemctl start corosync.service")
    spec.fencing.method = "sbd"                 # chosen: it stays
    ex.calls.clear()
    cluster._start_stack(ctx)
    assert "systemctl disable -- sbd.service" not in [" ".join(a) for a, _ in ex.calls]
