"""Fault injection on the container lab: the same verbs as on the VMs."""

from __future__ import annotations

import time

import pytest

from tests.lab.test_vm_faults import eventually, pings
from wizard.lab import lab as labmod

pytestmark = pytest.mark.lab_container


def test_one_interconnect_down_and_up(lab):
    lab.fault("link-down", "node1", "ic2")
    try:
        assert not pings(lab, "node2", "node1", "ic2")
        assert pings(lab, "node2", "node1", "ic1")
        assert "NO-CARRIER" in lab.ssh("node1", ["ip", "-br", "link", "show", "eth2"]).stdout
    finally:
        lab.fault("link-up", "node1", "ic2")
    assert eventually(lambda: pings(lab, "node2", "node1", "ic2"))


def test_cut_all_interconnects_keeps_management(lab):
    lab.fault("cut", "node1")
    try:
        for net in ("ic1", "ic2"):
            assert not pings(lab, "node2", "node1", net)
        assert lab.reachable("node1")
    finally:
        lab.fault("heal", "node1")
    for net in ("ic1", "ic2"):
        assert eventually(lambda: pings(lab, "node2", "node1", net))


def test_power_off_and_on_again(lab):
    lab.ssh("node1", "echo survived > /root/marker && sync")
    lab.fault("power-off", "node1")
    assert labmod.status()["nodes"]["node1"]["running"] is False
    assert not lab.reachable("node1")
    started = time.monotonic()
    lab.fault("power-on", "node1")
    assert eventually(lambda: lab.reachable("node1"), timeout=60)
    print(f"container power-on to SSH-ready: {time.monotonic() - started:.1f} s")
    assert lab.ssh("node1", ["cat", "/root/marker"]).stdout.strip() == "survived"
    for net in ("ic1", "ic2"):
        assert eventually(lambda: pings(lab, "node2", "node1", net))
