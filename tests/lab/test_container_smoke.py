"""Smoke test of the container lab: fast nodes, same layout, no DRBD."""

from __future__ import annotations

import pytest

from tests.lab import checks
from tests.lab.conftest import both_ways
from wizard.lab.nodeconf import NICS
from wizard.lab.paths import NODES

pytestmark = pytest.mark.lab_container


@pytest.mark.parametrize("node", NODES)
def test_node_answers_ssh_with_its_own_identity(lab, node):
    assert lab.ssh(node, ["hostname"]).stdout.strip() == node


@pytest.mark.parametrize("net", ["ic1", "ic2"])
@pytest.mark.parametrize("src,dst", both_ways())
def test_interconnect_pings_across(lab, net, src, dst):
    lab.ssh(src, ["ping", "-c", "2", "-W", "3", "-I", NICS[net],
                  lab.address(dst, net)], timeout=30)


@pytest.mark.parametrize("node", NODES)
def test_data_and_meta_disks_present(lab, node):
    sizes = lab.ssh(node, ["blockdev", "--getsize64", "/dev/vdb", "/dev/vdc"]).stdout.split()
    assert int(sizes[0]) == 512 * 2**20
    assert int(sizes[1]) >= 132 * 2**20


@pytest.mark.parametrize("node", NODES)
def test_no_drbd_module_in_containers(lab, node):
    # The host kernel has no DRBD: exactly what preflight must report here.
    assert lab.ssh(node, ["modprobe", "drbd"], check=False).returncode != 0
    assert lab.ssh(node, ["test", "-e", "/proc/drbd"], check=False).returncode != 0


def test_packages_install_from_the_local_mirror(lab):
    lab.apt_install("node1", "drbd-utils")
    assert "install ok installed" in lab.ssh("node1", ["dpkg-query", "-W", "-f", "${Status}", "drbd-utils"]).stdout


@pytest.mark.parametrize("node", NODES)
def test_default_route_via_the_lab_host_which_forwards_nothing(lab, node):
    checks.default_route_via_the_lab_host(lab, node)


def test_preflight_trusts_and_reaches_the_lab_with_no_flags(lab):
    out = checks.preflight_needs_no_flags(lab)
    # Containers: no DRBD module (an error), but the disks the answers name are the containers' own.
    assert out["rc"] == 1
    assert {f["node"] for f in out["findings"] if f["code"] == "drbd-module-missing"} == set(NODES)
    assert not [f for f in out["findings"] if f["code"].endswith("-missing") and f["code"] != "drbd-module-missing"]


def test_login_sets_up_with_the_root_password(lab, tmp_path):
    checks.login_with_the_root_password(lab, tmp_path)
