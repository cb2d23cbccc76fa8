"""Fault scenarios run the same way on both lab flavours (VMs and containers).

Each takes the lab handle, the node the fault is injected on and its peer,
and asserts what a person would check by hand: the fault is visible from the
peer, the rest still works, and undoing it brings everything back.
"""

from __future__ import annotations

import time

from wizard.lab import lab as labmod
from wizard.lab.nodeconf import NICS

INTERCONNECTS = ("ic1", "ic2")


def pings(lab, src: str, dst: str, net: str) -> bool:
    return lab.ssh(src, ["ping", "-c", "1", "-W", "2", "-I", NICS[net], lab.address(dst, net)],
                   timeout=30, check=False).returncode == 0


def eventually(check, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(1)
    return False


def one_interconnect_down_and_up(lab, node: str, peer: str, net: str) -> None:
    other = next(n for n in INTERCONNECTS if n != net)
    lab.fault("link-down", node, net)
    try:
        assert not pings(lab, peer, node, net)
        assert pings(lab, peer, node, other)
        assert "NO-CARRIER" in lab.ssh(node, ["ip", "-br", "link", "show", NICS[net]]).stdout
        assert labmod.status()["nodes"][node]["links"][net] is False
    finally:
        lab.fault("link-up", node, net)
    assert eventually(lambda: pings(lab, peer, node, net))


def cut_all_interconnects_keeps_management(lab, node: str, peer: str) -> None:
    lab.fault("cut", node)
    try:
        for net in INTERCONNECTS:
            assert not pings(lab, peer, node, net)
        assert lab.ssh(node, ["hostname"]).stdout.strip() == node
    finally:
        lab.fault("heal", node)
    for net in INTERCONNECTS:
        assert eventually(lambda: pings(lab, peer, node, net))


def power_off_and_on_again(lab, node: str, peer: str, *, boot_timeout: float) -> float:
    """Returns the seconds from power-on to SSH-ready."""
    lab.ssh(node, "echo survived > /root/marker && sync")
    lab.fault("power-off", node)
    assert labmod.status()["nodes"][node]["running"] is False
    assert not lab.reachable(node)
    started = time.monotonic()
    lab.fault("power-on", node)
    assert eventually(lambda: lab.reachable(node), timeout=boot_timeout), \
        f"{node} did not come back within {boot_timeout:.0f} s"
    seconds = time.monotonic() - started
    # Same disk, same identity (the SSH host key is checked on every call).
    assert lab.ssh(node, ["cat", "/root/marker"]).stdout.strip() == "survived"
    for net in INTERCONNECTS:
        assert eventually(lambda: pings(lab, peer, node, net))
    return seconds
