"""Fault injection on the container lab: the same verbs and scenarios as on the VMs."""

from __future__ import annotations

import pytest

from tests.lab.scenarios import (cut_all_interconnects_keeps_management, one_interconnect_down_and_up,
                                 power_off_and_on_again)

pytestmark = pytest.mark.lab_container


def test_one_interconnect_down_and_up(lab):
    one_interconnect_down_and_up(lab, "node1", "node2", "ic2")


def test_cut_all_interconnects_keeps_management(lab):
    cut_all_interconnects_keeps_management(lab, "node1", "node2")


def test_power_off_and_on_again(lab):
    seconds = power_off_and_on_again(lab, "node1", "node2", boot_timeout=60)
    print(f"container power-on to SSH-ready: {seconds:.1f} s")
