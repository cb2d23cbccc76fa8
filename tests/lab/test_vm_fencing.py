"""Real fencing in the VM lab: fence_ipmilan on one node powers the other
off and on through its (simulated) BMC, as on real servers."""

from __future__ import annotations

import time

import pytest

from wizard.lab import ipmi
from wizard.lab import lab as labmod

pytestmark = pytest.mark.lab_vm


def fence(lab, action: str, target: str) -> str:
    bmc = lab.layout.bmc_address(target)
    out = lab.ssh("node1" if target == "node2" else "node2",
                  ["fence_ipmilan", "--ip", bmc, "--username", ipmi.USER, "--password", ipmi.PASSWORD,
                   "--lanplus", "--action", action], timeout=180, check=False)
    # Fence agents answer `status` of a powered-off node with exit code 2.
    expected = 2 if action == "status" and "Status: OFF" in out.stdout else 0
    assert out.returncode == expected, out.stdout + out.stderr
    return out.stdout


def test_fence_ipmilan_powers_the_peer_off_and_on(lab):
    started = time.monotonic()
    lab.apt_install("node1", "fence-agents", "ipmitool", timeout=900)
    print(f"fence-agents install: {time.monotonic() - started:.1f} s")
    assert "Status: ON" in fence(lab, "status", "node2")

    started = time.monotonic()
    assert "Powered OFF" in fence(lab, "off", "node2")
    assert labmod.status()["nodes"]["node2"]["running"] is False
    assert "Status: OFF" in fence(lab, "status", "node2")
    print(f"fence off: {time.monotonic() - started:.1f} s")

    started = time.monotonic()
    assert "Powered ON" in fence(lab, "on", "node2")
    assert labmod.status()["nodes"]["node2"]["running"] is True
    deadline = time.monotonic() + 240
    while not lab.reachable("node2"):
        assert time.monotonic() < deadline, "node2 did not boot after fence on"
        time.sleep(2)
    print(f"fence on to SSH-ready: {time.monotonic() - started:.1f} s")


SBD = "/dev/disk/by-id/virtio-zha-sbd"


def test_sbd_poison_pill_on_the_shared_disk_powers_the_peer_off(lab):
    """SBD on the disk both VMs share, with the guests' softdog as watchdog."""
    from concurrent.futures import ThreadPoolExecutor

    started = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda n: lab.apt_install(n, "sbd"), ("node1", "node2")))
    print(f"sbd install: {time.monotonic() - started:.1f} s")
    for node in ("node1", "node2"):
        assert lab.ssh(node, ["test", "-b", SBD], check=False).returncode == 0, f"{node} does not see {SBD}"
    lab.ssh("node1", ["sbd", "-d", SBD, "-1", "10", "-4", "20", "create"], timeout=60)
    # The watcher on node2: its own slot, the softdog watchdog, no Pacemaker (-PP).
    lab.ssh("node2", ["modprobe", "softdog"])
    lab.ssh("node2", ["env", "SBD_SYNC_RESOURCE_STARTUP=no", "sbd", "-d", SBD, "-W", "-PP", "watch"], timeout=60)
    deadline = time.monotonic() + 60
    while "node2" not in lab.ssh("node1", ["sbd", "-d", SBD, "list"]).stdout:
        assert time.monotonic() < deadline, "node2 did not take a slot on the SBD disk"
        time.sleep(2)

    started = time.monotonic()
    lab.ssh("node1", ["sbd", "-d", SBD, "message", "node2", "off"], timeout=60)
    deadline = time.monotonic() + 90
    while labmod.status()["nodes"]["node2"]["running"]:
        assert time.monotonic() < deadline, "node2 did not power itself off after the SBD message"
        time.sleep(1)
    print(f"sbd message to power-off: {time.monotonic() - started:.1f} s")
    assert "off" in lab.ssh("node1", ["sbd", "-d", SBD, "list"]).stdout
    lab.fault("power-on", "node2")
