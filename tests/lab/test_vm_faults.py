"""Fault injection on the VM lab: links, partitions, power (scenarios shared with the container lab)."""

from __future__ import annotations

import pytest

from tests.lab.scenarios import (cut_all_interconnects_keeps_management, one_interconnect_down_and_up,
                                 power_off_and_on_again)

pytestmark = pytest.mark.lab_vm


def test_one_interconnect_down_and_up(lab):
    one_interconnect_down_and_up(lab, "node1", "node2", "ic1")


def test_cut_all_interconnects_keeps_management(lab):
    cut_all_interconnects_keeps_management(lab, "node2", "node1")


def test_power_off_and_on_again(lab):
    seconds = power_off_and_on_again(lab, "node2", "node1", boot_timeout=240)
    print(f"power-on to SSH-ready: {seconds:.1f} s")
