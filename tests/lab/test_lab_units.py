"""The lab's pure parts, without a lab: layout, seed, answers, CLI errors."""

from __future__ import annotations

import io
import ipaddress
import tarfile

import pytest

from wizard.cli import main
from wizard.lab.answers import build_secrets, build_spec
from wizard.lab.network import Layout
from wizard.lab.nodeconf import interfaces_file, seed_files
from wizard.lab.ssh import seed_tar
from wizard.lab.state import LabState
from wizard.spec import validate, validate_secrets

LAYOUT = Layout("10.213.0.0/22")


def test_layout_puts_each_network_in_its_own_subnet():
    assert [str(LAYOUT.subnet(n)) for n in ("mgmt", "ic1", "ic2")] == ["10.213.0.0/24", "10.213.1.0/24",
                                                                      "10.213.2.0/24"]
    assert LAYOUT.node_address("ic2", "node2") == "10.213.2.12"
    for addr in (LAYOUT.vip, LAYOUT.source_address, LAYOUT.bmc_address("node1"), LAYOUT.host_address):
        assert ipaddress.ip_address(addr) in LAYOUT.subnet("mgmt")
    assert len({LAYOUT.port(n, net) for n in ("node1", "node2") for net in ("mgmt", "ic1", "ic2")}) == 6
    assert all(len(LAYOUT.port("node2", net)) <= 15 for net in ("mgmt", "ic1", "ic2"))


def test_interfaces_file_has_static_addresses_and_no_gateway():
    text = interfaces_file(LAYOUT, "node1")
    assert "address 10.213.0.11/24" in text and "address 10.213.2.11/24" in text
    assert "gateway" not in text.replace("no gateway", "")


def test_seed_tar_carries_modes(tmp_path, monkeypatch):
    monkeypatch.setattr("wizard.lab.nodeconf.SSH_KEY", tmp_path / "id")
    (tmp_path / "id.pub").write_text("ssh-ed25519 AAAA lab\n")
    files = seed_files(LAYOUT, "node1", (b"PRIVATE", b"ssh-ed25519 BBBB root@node1\n"))
    with tarfile.open(fileobj=io.BytesIO(seed_tar(files))) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["etc/ssh/ssh_host_ed25519_key"].mode == 0o600
    assert members["root/.ssh"].isdir() and members["root/.ssh"].mode == 0o700
    names = list(members)
    assert names.index("root/.ssh") < names.index("root/.ssh/authorized_keys")


@pytest.mark.parametrize("fencing", ["ipmi", ""])
def test_lab_answers_are_a_valid_cluster_spec(fencing):
    st = LabState("vm", LAYOUT.block, repo_url="http://10.213.0.1:8080/debian", fencing=fencing)
    spec = build_spec(st, LAYOUT)
    assert [p for p in validate(spec) if p.severity == "error"] == []
    assert validate_secrets(spec, build_secrets(st)) == []
    assert spec.zabbix.package_source == "mirror"
    assert spec.links[0].addresses == ["10.213.1.11", "10.213.1.12"]
    assert spec.storage.nodes[0].meta_disk == "/dev/vdc"


def test_sbd_variant_uses_the_shared_disk():
    st = LabState("vm", LAYOUT.block, repo_url="http://10.213.0.1:8080/debian", fencing="ipmi")
    spec = build_spec(st, LAYOUT, fencing_method="sbd")
    assert spec.fencing.method == "sbd" and spec.fencing.sbd_device == "/dev/disk/by-id/virtio-zha-sbd"
    assert [p for p in validate(spec) if p.severity == "error"] == []


def test_lab_commands_need_root(monkeypatch, capsys):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert main(["lab", "status"]) == 1
    assert "needs root" in capsys.readouterr().err


def test_link_fault_needs_the_link(capsys):
    assert main(["lab", "fault", "link-down", "node1"]) == 2
    assert "ic1 or ic2" in capsys.readouterr().err
