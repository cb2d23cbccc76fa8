"""Smoke test of the container lab: fast nodes, same layout, no DRBD."""

from __future__ import annotations

import pytest

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
