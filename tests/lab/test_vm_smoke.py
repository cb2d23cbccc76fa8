"""Smoke test of the VM lab: two real Debian 12 servers with real DRBD."""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.lab import checks
from tests.lab.conftest import both_ways
from wizard.lab import vm
from wizard.lab.nodeconf import NICS
from wizard.lab.paths import NODES
from wizard.sizing import TIERS

pytestmark = pytest.mark.lab_vm


@pytest.mark.parametrize("node", NODES)
def test_node_answers_ssh_with_its_own_identity(lab, node):
    out = lab.ssh(node, ["hostname"]).stdout.strip()
    assert out == node


@pytest.mark.parametrize("net", ["ic1", "ic2"])
@pytest.mark.parametrize("src,dst", both_ways())
def test_interconnect_pings_across(lab, net, src, dst):
    lab.ssh(src, ["ping", "-c", "2", "-W", "3", "-I", NICS[net],
                  lab.address(dst, net)], timeout=30)


@pytest.mark.parametrize("node", NODES)
def test_data_and_meta_disks_present(lab, node):
    disks = {d["name"]: d for d in json.loads(lab.ssh(node, ["lsblk", "-J", "-b", "-d", "-o", "NAME,SIZE,TYPE"])
                                              .stdout)["blockdevices"]}
    assert disks["vdb"]["size"] == 1536 * 2**20
    # The indexed meta-disk needs 128 MiB per index.
    assert disks["vdc"]["size"] >= 132 * 2**20


@pytest.mark.parametrize("node", NODES)
def test_default_route_via_the_lab_host_which_forwards_nothing(lab, node):
    checks.default_route_via_the_lab_host(lab, node)


@pytest.mark.parametrize("node", NODES)
def test_memory_is_what_the_medium_sizing_tier_wants(lab, node):
    mem_total_kib = int(lab.ssh(node, ["grep", "MemTotal", "/proc/meminfo"]).stdout.split()[1])
    print(f"{node}: MemTotal {mem_total_kib // 1024} MiB with qemu -m {vm.MEMORY_MB}")
    assert mem_total_kib // 1024 >= TIERS["medium"].min_memory_mib


def test_preflight_trusts_and_reaches_the_lab_with_no_flags(lab):
    out = checks.preflight_needs_no_flags(lab)
    assert not [f for f in out["findings"] if f["code"] in ("memory-low", "cpus-low")]


def test_login_sets_up_with_the_root_password(lab, tmp_path):
    checks.login_with_the_root_password(lab, tmp_path)


def test_mirror_is_served_on_the_lab_address_only(lab):
    port = int(lab.repo_url.split(":")[2].split("/")[0])
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    lab.ssh("node1", ["curl", "-fsS", "-o", "/dev/null", f"{lab.repo_url}/dists/{lab.suite}/Release"], timeout=30)


def test_drbd_module_loads_and_a_resource_connects(lab):
    started = time.monotonic()
    res = "\n".join([
        "resource zhasmoke {", "  net { protocol C; }",
        *[f"  on {n} {{ device /dev/drbd9; disk /dev/vdb; meta-disk /dev/vdc[0]; "
          f"address {lab.address(n, 'ic2')}:7799; }}" for n in NODES],
        "}", ""])
    # From the lab's local mirror, both nodes at once (TCG makes dpkg slow).
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda n: lab.apt_install(n, "drbd-utils"), NODES))
    for node in NODES:
        lab.ssh(node, ["modprobe", "drbd"])
        assert "version: 8.4" in lab.ssh(node, ["cat", "/proc/drbd"]).stdout
        lab.ssh(node, f"cat > /etc/drbd.d/zhasmoke.res <<'EOF'\n{res}EOF")
        lab.ssh(node, ["drbdadm", "create-md", "--force", "zhasmoke"], timeout=60)
    for node in NODES:
        lab.ssh(node, ["drbdadm", "up", "zhasmoke"], timeout=60)
    deadline = time.monotonic() + 60
    while True:
        states = [lab.ssh(n, ["drbdadm", "cstate", "zhasmoke"]).stdout.strip() for n in NODES]
        if states == ["Connected", "Connected"]:
            break
        assert time.monotonic() < deadline, f"DRBD did not connect in 60 s: {states}"
        time.sleep(1)
    for node in NODES:
        lab.ssh(node, ["drbdadm", "down", "zhasmoke"], timeout=60)
    print(f"DRBD install + connect: {time.monotonic() - started:.1f} s")


def test_answers_files_describe_this_lab(lab):
    from wizard.answers import load_answers, load_secrets
    from wizard.lab.answers import SBD_ANSWERS_FILE
    from wizard.lab.paths import ANSWERS_FILE, SECRETS_FILE
    from wizard.spec import validate, validate_secrets

    spec, secrets = load_answers(ANSWERS_FILE), load_secrets(SECRETS_FILE)
    assert [n.address for n in spec.nodes] == [lab.address(n) for n in NODES]
    assert [link.addresses for link in spec.links] == [[lab.address(n, net) for n in NODES] for net in ("ic1", "ic2")]
    assert spec.zabbix.mirror_url == lab.repo_url
    assert spec.fencing.method == "ipmi"
    assert not [p for p in validate(spec) + validate_secrets(spec, secrets) if p.severity == "error"]
    sbd = load_answers(SBD_ANSWERS_FILE)
    assert sbd.fencing.method == "sbd"
    for node in NODES:
        lab.ssh(node, ["test", "-b", sbd.fencing.sbd_device])
