"""Fault injection on the VM lab: links, partitions, power."""

from __future__ import annotations

import time

import pytest

from wizard.lab import lab as labmod

pytestmark = pytest.mark.lab_vm

NIC = {"ic1": "eth1", "ic2": "eth2"}


def pings(lab, src: str, dst: str, net: str) -> bool:
    return lab.ssh(src, ["ping", "-c", "1", "-W", "2", "-I", NIC[net], lab.address(dst, net)],
                   timeout=30, check=False).returncode == 0


def eventually(check, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(1)
    return False


def test_one_interconnect_down_and_up(lab):
    lab.fault("link-down", "node1", "ic1")
    try:
        assert not pings(lab, "node2", "node1", "ic1")
        assert pings(lab, "node2", "node1", "ic2")
        assert "NO-CARRIER" in lab.ssh("node1", ["ip", "-br", "link", "show", "eth1"]).stdout
        assert labmod.status()["nodes"]["node1"]["links"]["ic1"] is False
    finally:
        lab.fault("link-up", "node1", "ic1")
    assert eventually(lambda: pings(lab, "node2", "node1", "ic1"))


def test_cut_all_interconnects_keeps_management(lab):
    lab.fault("cut", "node2")
    try:
        for net in ("ic1", "ic2"):
            assert not pings(lab, "node1", "node2", net)
        assert lab.ssh("node2", ["hostname"]).stdout.strip() == "node2"
    finally:
        lab.fault("heal", "node2")
    for net in ("ic1", "ic2"):
        assert eventually(lambda: pings(lab, "node1", "node2", net))


def test_power_off_and_on_again(lab):
    lab.ssh("node2", "echo survived > /root/marker && sync")
    lab.fault("power-off", "node2")
    assert labmod.status()["nodes"]["node2"]["running"] is False
    assert not lab.reachable("node2")
    started = time.monotonic()
    lab.fault("power-on", "node2")
    assert eventually(lambda: lab.reachable("node2"), timeout=240), "node2 did not come back within 240 s"
    print(f"power-on to SSH-ready: {time.monotonic() - started:.1f} s")
    # Same disk, same identity (the SSH host key is checked on every call).
    assert lab.ssh("node2", ["cat", "/root/marker"]).stdout.strip() == "survived"
    assert pings(lab, "node1", "node2", "ic1")
