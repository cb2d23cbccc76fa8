"""services.extra_vips on a running cluster: what Pacemaker itself (crm_simulate on a
simulated running cluster, the real tool) does when one is added or removed.

Adding one starts that address and nothing else; removing one stops only it; the
source address (IPsrcaddr) and every other resource keep running untouched.
"""

from __future__ import annotations

import copy
import subprocess

import pytest

from tests.data.status.simulate import running
from wizard.install.diff import transition
from wizard.install.step import Context, Shared, StepFailed
from wizard.remote import LocalExecutor
from wizard.render import render
from wizard.spec import ExtraVip

NEW = "vip-extra-192-168-10-101"
SECOND = "vip-extra-backup"


def _with_extra(spec, *vips):
    out = copy.deepcopy(spec)
    out.services.extra_vips = list(vips)
    return out


def _first(spec):
    return ExtraVip("192.168.10.101", 24, ["eth0", "eth0"])


def _second(spec):
    return ExtraVip("192.168.10.102", 24, ["eth0", "eth1"], "backup")


def _cib(spec, secrets) -> str:
    return next(f.text for f in render(spec, secrets)[spec.hostnames[0]].values() if f.kind == "cib")


def _transition(spec, secrets) -> list[str]:
    node = spec.hostnames[0]
    ctx = Context(spec, secrets, node, {node: LocalExecutor(node)}, render(spec, secrets), Shared())
    lines = transition(ctx)
    assert lines is not None, "crm_simulate gave no transition summary"
    return lines


def _running_with(tmp_path, monkeypatch, spec, secrets):
    """A simulated running cluster (both nodes up, everything started) configured by `spec`."""
    cib = running(tmp_path, "ipmi", _cib(spec, secrets))
    monkeypatch.setenv("CIB_file", str(cib))
    return cib


def _placement(cib) -> dict[str, list[str]]:
    """resource id -> the nodes crm_mon shows it active on (CIB_file)."""
    import xml.etree.ElementTree as ET

    out = subprocess.run(["crm_mon", "-1", "--output-as=xml"], env={"CIB_file": str(cib), "LC_ALL": "C",
                                                                    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
                         capture_output=True, text=True, check=True, timeout=60).stdout
    placed: dict[str, list[str]] = {}
    for r in ET.fromstring(out).iter("resource"):
        placed.setdefault(r.get("id"), []).extend(n.get("name") for n in r.iter("node") if r.get("active") == "true")
    return placed


def _actions(lines: list[str]) -> list[tuple[str, str]]:
    """("Start", resource) pairs of a transition summary ("* Start  vip-x  ( zbx-node1 )")."""
    return [(line.split()[1], line.split()[2]) for line in lines]


def test_the_running_fixture_runs_the_extra_vip_with_the_group(spec, secrets, tmp_path, monkeypatch):
    cib = _running_with(tmp_path, monkeypatch, _with_extra(spec, _first(spec), _second(spec)), secrets)
    placed = _placement(cib)
    assert placed[NEW] == placed[SECOND] == placed["zabbix-vip"] == ["zbx-node1"], placed


def test_adding_an_extra_vip_starts_only_it(spec, secrets, tmp_path, monkeypatch):
    _running_with(tmp_path, monkeypatch, spec, secrets)
    assert _transition(spec, secrets) == []
    lines = _transition(_with_extra(spec, _first(spec)), secrets)
    assert _actions(lines) == [("Start", NEW)], lines
    assert "zbx-node1" in lines[0]


def test_removing_it_again_stops_only_it(spec, secrets, tmp_path, monkeypatch):
    _running_with(tmp_path, monkeypatch, _with_extra(spec, _first(spec)), secrets)
    assert _transition(_with_extra(spec, _first(spec)), secrets) == []
    lines = _transition(spec, secrets)
    assert _actions(lines) == [("Stop", NEW)], lines


def test_adding_a_second_and_removing_the_first_touch_only_that_one(spec, secrets, tmp_path, monkeypatch):
    # Not members of the group: which one is first in the list decides nothing (in a group,
    # taking out a middle member would restart every member after it).
    _running_with(tmp_path, monkeypatch, _with_extra(spec, _first(spec)), secrets)
    assert _actions(_transition(_with_extra(spec, _first(spec), _second(spec)), secrets)) == [("Start", SECOND)]
    monkeypatch.undo()
    _running_with(tmp_path, monkeypatch, _with_extra(spec, _first(spec), _second(spec)), secrets)
    assert _actions(_transition(_with_extra(spec, _second(spec)), secrets)) == [("Stop", NEW)]


def test_the_source_address_and_the_group_are_rendered_unchanged(spec, secrets):
    import xml.etree.ElementTree as ET

    from wizard.install.cib import _canonical

    before = ET.fromstring(_cib(spec, secrets)).find("configuration")
    after = ET.fromstring(_cib(_with_extra(spec, _first(spec), _second(spec)), secrets)).find("configuration")
    for path in ("./resources/group", "./resources/clone", "./rsc_defaults", "./op_defaults", "./crm_config"):
        assert _canonical(before.find(path)) == _canonical(after.find(path)), path
    src = after.find("./resources/group/primitive[@id='zabbix-srcaddr']")
    assert src.get("type") == "IPsrcaddr"
    assert {nv.get("name"): nv.get("value") for nv in src.iter("nvpair")}["ipaddress"] == "192.168.10.20"
    old = [_canonical(c) for c in before.find("constraints")]
    new = [_canonical(c) for c in after.find("constraints")]
    assert set(old) <= set(new) and len(new) == len(old) + 4     # the existing ones as they were, 2 per VIP


@pytest.mark.parametrize("event", ["node1-down", "zabbix-server-fails"])
def test_the_extra_vips_follow_the_group_and_ignore_a_zabbix_restart(spec, secrets, tmp_path, monkeypatch, event):
    cib = _running_with(tmp_path, monkeypatch, _with_extra(spec, _first(spec), _second(spec)), secrets)
    if event == "node1-down":
        argv = ["--node-down", "zbx-node1"]
    else:
        argv = ["-i", "zabbix-server_monitor_20000@zbx-node1=7"]
    out = subprocess.run(["crm_simulate", "-x", str(cib), "-S", *argv, "-O", str(tmp_path / "after.xml")],
                         capture_output=True, text=True, check=True, timeout=120).stdout
    summary = out.split("Transition Summary:", 1)[1].split("Executing Cluster Transition:", 1)[0]
    lines = [line.strip() for line in summary.splitlines() if line.strip().startswith("*")]
    placed = _placement(tmp_path / "after.xml")
    if event == "node1-down":
        assert placed[NEW] == placed[SECOND] == placed["zabbix-vip"] == ["zbx-node2"], (placed, lines)
    else:
        # Pacemaker recovers the failed server in place; the addresses stay up.
        assert any("zabbix-server" in line for line in lines), lines
        assert not any(NEW in line or SECOND in line or "zabbix-vip" in line for line in lines), lines
        assert placed[NEW] == placed[SECOND] == ["zbx-node1"], placed


def test_plan_for_an_added_extra_vip_names_only_the_cib_and_the_start_of_the_new_address(
        spec, secrets, tmp_path, monkeypatch):
    # What `zabbix-ha plan --diff` prints under "What happens to the running services": the nodes hold
    # the files of the running configuration, the cluster runs it (crm_simulate'd, real tools).
    from tests.install.fake import RecordingExecutor
    from tests.install.test_diff import FakeNode
    from wizard.install.diff import effects

    _running_with(tmp_path, monkeypatch, spec, secrets)
    installed = render(spec, secrets)
    added = _with_extra(spec, _first(spec))
    tree = render(added, secrets)

    def real(argv, stdin):
        res = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120)
        return res.returncode, res.stdout, res.stderr

    contexts = {}
    for node in spec.hostnames:
        files = {p: (f.text, f"{f.mode:o} {f.owner} {f.group}") for p, f in installed[node].items()}
        ex = RecordingExecutor(node, [(r"^(cibadmin|crm_simulate) ", real), (r".", FakeNode(files))])
        contexts[node] = Context(added, secrets, node, {node: ex}, tree, Shared())
    text = "".join(effects(contexts, spec.hostnames))
    changed = [line.strip() for line in text.splitlines() if line.startswith("  zbx-node")]
    assert changed == ["zbx-node1:/etc/zabbix-ha/cib.xml: nothing restarts",
                       "zbx-node2:/etc/zabbix-ha/cib.xml: nothing restarts"], text
    pacemaker = [line.strip() for line in text.splitlines() if line.strip().startswith("* ")]
    assert _actions(pacemaker) == [("Start", NEW)], text


def test_the_install_waits_for_the_extra_vips_too(spec, secrets):
    from wizard.install.cib import group_members

    added = _with_extra(spec, _first(spec), _second(spec))
    node = spec.hostnames[0]
    ctx = Context(added, secrets, node, {node: LocalExecutor(node)}, render(added, secrets), Shared())
    assert group_members(ctx)[-2:] == [NEW, SECOND] and "zabbix-server" in group_members(ctx)


def _sbd(spec):
    out = copy.deepcopy(spec)
    out.fencing.method, out.fencing.ipmi = "sbd", []
    out.fencing.sbd_device = "/dev/disk/by-id/virtio-zha-sbd"
    return out


@pytest.mark.parametrize("before,after,gone", [
    (lambda s: _with_extra(s, _first(s)), lambda s: s, {NEW}),
    (lambda s: s, _sbd, {"fence-zbx-node1", "fence-zbx-node2"}),
])
def test_applying_the_removal_of_running_resources_passes_crm_verify(spec, secrets, tmp_path, monkeypatch,
                                                                      before, after, gone):
    # Lab run 9: switching fencing to SBD was refused: crm_verify warns "Detected active orphan
    # fence-node1 running on node2" for every running resource the new configuration removes (and
    # exits 78). Pacemaker stops those: that warning is the change itself, not a problem in it.
    import xml.etree.ElementTree as ET

    from wizard.install.cib import proposed, removed_ids, rendered_configuration, verify

    cib = _running_with(tmp_path, monkeypatch, before(spec), secrets)
    new = after(spec)
    node = new.hostnames[0]
    ctx = Context(new, secrets, node, {node: LocalExecutor(node)}, render(new, secrets), Shared())
    whole, config = ET.parse(cib).getroot(), rendered_configuration(ctx)
    assert removed_ids(whole.find("configuration"), config) == gone
    after_text = ET.tostring(proposed(whole, config), encoding="unicode")
    verify(ctx, whole, config, after_text)                   # raised StepFailed before the fix
    # Anything else crm_verify warns about still refuses: a constraint on a resource that is not there.
    broken = proposed(whole, config)
    ET.SubElement(broken.find("configuration/constraints"), "rsc_location",
                  {"id": "loc-nothing", "rsc": "no-such-resource", "node": node, "score": "100"})
    with pytest.raises(StepFailed, match="crm_verify rejects"):
        verify(ctx, whole, config, ET.tostring(broken, encoding="unicode"))
