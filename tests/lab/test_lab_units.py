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


def test_interfaces_file_has_static_addresses_and_a_default_route_via_the_lab_host():
    text = interfaces_file(LAYOUT, "node1")
    assert "address 10.213.0.11/24" in text and "address 10.213.2.11/24" in text
    # IPsrcaddr needs a route to rewrite: the default route, on eth0 only, via the lab host.
    stanzas = text.split("\niface ")[1:]
    routed = [s.split()[0] for s in stanzas if "default via" in s]
    assert routed == ["eth0"] and f"up ip route replace default via {LAYOUT.host_address} dev eth0" in text
    # Not ifupdown's `gateway`: it adds the route `onlink`, which IPsrcaddr cannot change.
    assert "gateway" not in text.replace("the gateway is", "")


def test_seed_tar_carries_modes_keys_and_root_password():
    files = seed_files(LAYOUT, "node1", (b"PRIVATE", b"ssh-ed25519 BBBB root@node1\n"),
                       authorized_keys=b"ssh-ed25519 AAAA lab\nssh-ed25519 CCCC zabbix-ha\n", root_password="pw-1")
    with tarfile.open(fileobj=io.BytesIO(seed_tar(files))) as tar:
        members = {m.name: m for m in tar.getmembers()}
        authorized = tar.extractfile("root/.ssh/authorized_keys").read()
        password = tar.extractfile("etc/zha-lab/root-password").read()
    assert members["etc/ssh/ssh_host_ed25519_key"].mode == 0o600
    assert members["root/.ssh"].isdir() and members["root/.ssh"].mode == 0o700
    assert members["etc/zha-lab/root-password"].mode == 0o600 and password == b"pw-1"
    assert b"zabbix-ha" in authorized and b"lab" in authorized
    names = list(members)
    assert names.index("root/.ssh") < names.index("root/.ssh/authorized_keys")


def test_seed_script_applies_the_root_password_and_removes_it():
    from wizard.lab.image import SEED_SCRIPT

    assert "chpasswd" in SEED_SCRIPT and 'rm -f "$pw"' in SEED_SCRIPT
    # Applied for containers too (their seed is written by the host, already "seeded").
    assert SEED_SCRIPT.index("chpasswd") > SEED_SCRIPT.index("\nfi\n")


@pytest.mark.parametrize("platform_id", ["debian12", "debian13"])
def test_mirror_holds_the_platform_table_list(platform_id):
    from wizard.lab import repo
    from wizard.platforms import platform

    plat = platform(platform_id)
    assert set(plat.all_packages()) <= set(repo.stack(plat))
    assert set(repo.stack(plat)) - set(plat.all_packages()) == set(repo.LAB_ONLY)


def test_repo_and_preinstalled_keys_follow_the_package_list(monkeypatch, tmp_path):
    from wizard.lab import repo
    from wizard.lab.image import Image, preinstalled_hash
    from wizard.platforms import platform

    plat = platform("debian12")
    base = Image(tmp_path / "base-1234")
    before = (repo.repo_hash(plat, base), preinstalled_hash(base, repo.stack(plat)))
    monkeypatch.setattr(repo, "LAB_ONLY", ("hello",))
    after = (repo.repo_hash(plat, base), preinstalled_hash(base, repo.stack(plat)))
    assert before[0] != after[0] and before[1] != after[1]
    assert preinstalled_hash(Image(tmp_path / "base-5678"), repo.stack(plat)) != after[1]


def test_vm_memory_is_the_medium_tier_plus_what_the_guest_kernel_keeps():
    from wizard.lab import vm
    from wizard.sizing import TIERS

    assert vm.MEMORY_MB == TIERS["medium"].min_memory_mib + vm.GUEST_KERNEL_RESERVE_MIB
    argv = vm.qemu_argv(Image_for_argv(), LAYOUT, "node1", "tcg", None)
    assert argv[argv.index("-m") + 1] == str(vm.MEMORY_MB)


def Image_for_argv():
    from pathlib import Path

    from wizard.lab.image import Image
    return Image(Path("/nonexistent/image"))


def test_container_answers_name_the_containers_own_disks():
    st = LabState("container", LAYOUT.block, repo_url="http://10.213.0.1:8080/debian")
    spec = build_spec(st, LAYOUT, disks={"node1": ("/dev/loop3", "/dev/loop4"), "node2": ("/dev/loop5", "/dev/loop6")})
    assert [(n.disk, n.meta_disk) for n in spec.storage.nodes] == [("/dev/loop3", "/dev/loop4"),
                                                                  ("/dev/loop5", "/dev/loop6")]
    assert spec.fencing.method == "none"
    assert [p for p in validate(spec) if p.severity == "error"] == []


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


def _key_line(tmp_path, name: str) -> str:
    import subprocess

    key = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return " ".join(key.with_suffix(".pub").read_text().split()[:2])


def test_product_trusts_the_running_labs_host_keys_for_lab_addresses_only(tmp_path, monkeypatch):
    import json

    import paramiko

    from wizard.lab.ssh import fingerprint_of
    from wizard.sshtrust import TrustStore, fingerprint, lab_host_keys

    known, state_file = tmp_path / "known_hosts", tmp_path / "state.json"
    monkeypatch.setattr("wizard.lab.paths.KNOWN_HOSTS", known)
    monkeypatch.setattr("wizard.lab.paths.STATE_FILE", state_file)
    assert lab_host_keys() == []                                       # no lab up
    inside, outside = _key_line(tmp_path, "a"), _key_line(tmp_path, "b")
    known.write_text(f"{LAYOUT.node_address('mgmt', 'node1')} {inside}\n192.0.2.7 {outside}\n")
    known.chmod(0o600)
    state_file.write_text(json.dumps({"block": LAYOUT.block}))
    hosts = {host: fingerprint(key) for host, _type, key in lab_host_keys()}
    assert hosts == {LAYOUT.node_address("mgmt", "node1"): fingerprint_of(inside)}
    client = paramiko.SSHClient()
    TrustStore(tmp_path / "trust").load_into(client)
    assert client.get_host_keys().lookup(LAYOUT.node_address("mgmt", "node1")) is not None
    assert client.get_host_keys().lookup("192.0.2.7") is None
    client = paramiko.SSHClient()
    TrustStore(tmp_path / "trust", trust_lab=False).load_into(client)
    assert client.get_host_keys().lookup(LAYOUT.node_address("mgmt", "node1")) is None
    known.chmod(0o622)                                                 # writable by others: not trusted
    assert lab_host_keys() == []


def test_lab_keys_win_over_a_stale_entry_in_the_product_store(tmp_path, monkeypatch):
    import json

    import paramiko

    from wizard.lab.ssh import fingerprint_of
    from wizard.sshtrust import TrustStore, fingerprint

    known, state_file = tmp_path / "known_hosts", tmp_path / "state.json"
    monkeypatch.setattr("wizard.lab.paths.KNOWN_HOSTS", known)
    monkeypatch.setattr("wizard.lab.paths.STATE_FILE", state_file)
    address = LAYOUT.node_address("mgmt", "node2")
    current, stale = _key_line(tmp_path, "cur"), _key_line(tmp_path, "old")
    known.write_text(f"{address} {current}\n")
    known.chmod(0o600)
    state_file.write_text(json.dumps({"block": LAYOUT.block}))
    store = TrustStore(tmp_path / "trust")
    store.directory.mkdir()
    store.known_hosts_path.write_text(f"{address} {stale}\n")
    client = paramiko.SSHClient()
    store.load_into(client)
    assert fingerprint(client.get_host_keys().lookup(address)["ssh-ed25519"]) == fingerprint_of(current)


def test_lab_answers_cli_prints_the_root_password_file(tmp_path, monkeypatch, capsys):
    target = tmp_path / "root-password"
    monkeypatch.setattr("wizard.lab.paths.ROOT_PASSWORD_FILE", target)
    assert main(["lab", "answers", "--root-password-file"]) == 2
    target.write_text("x\n")
    assert main(["lab", "answers", "--root-password-file"]) == 0
    assert capsys.readouterr().out.strip() == str(target)


@pytest.fixture
def private_netns(monkeypatch):
    """A throwaway namespace under another name, so no lab is touched."""
    import secrets
    from pathlib import Path

    from wizard.lab import netns

    name = "zha-t" + secrets.token_hex(3)
    monkeypatch.setattr(netns, "NAME", name)
    monkeypatch.setattr(netns, "PATH", Path("/run/netns") / name)
    netns.create()
    try:
        yield netns
    finally:
        netns.delete()
    assert not (Path("/run/netns") / name).exists()


def test_netns_threads_sockets_and_commands_stay_inside(private_netns):
    import socket
    import threading

    netns = private_netns
    assert netns.forwarding() is False
    # A listener inside the namespace on its own loopback ...
    server = netns.call_in(lambda: socket.create_server(("127.0.0.1", 0)))
    port = server.getsockname()[1]
    accepted = []
    t = threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True)
    t.start()
    # ... is reached by a socket made inside, not from this (main-namespace) thread.
    with netns.call_in(lambda: socket.create_connection(("127.0.0.1", port), timeout=5)):
        t.join(5)
    assert accepted
    accepted[0].close()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    server.close()
    # Commands: only lo, up, in there; IPv6 off for links made later.
    out = netns.run(["ip", "-j", "link", "show"], check=True).stdout
    assert [link["ifname"] for link in __import__("json").loads(out)] == ["lo"]
    netns.run(["ip", "link", "add", "zha-tbr", "type", "bridge"], check=True)
    assert netns.run(["cat", "/proc/sys/net/ipv6/conf/zha-tbr/disable_ipv6"]).stdout.strip() in ("1", "")
    # The calling thread never moved.
    assert "zha-tbr" not in {i[1] for i in socket.if_nameindex()}


def test_product_opens_lab_connections_inside_the_lab_only(private_netns, tmp_path, monkeypatch):
    import json
    import socket

    from wizard.remote import lab_socket

    netns = private_netns
    state_file = tmp_path / "state.json"
    monkeypatch.setattr(netns, "STATE_FILE", state_file)
    assert lab_socket("10.213.0.11", 22, 1) is None                  # no lab up
    state_file.write_text(json.dumps({"block": "10.213.0.0/22"}))
    assert lab_socket("192.0.2.9", 22, 1) is None                    # not a lab address: paramiko's own socket
    netns.run(["ip", "addr", "add", "10.213.0.11/24", "dev", "lo"], check=True)
    server = netns.call_in(lambda: socket.create_server(("10.213.0.11", 0)))
    try:
        sock = lab_socket("10.213.0.11", server.getsockname()[1], 5)
        assert sock is not None and sock.getpeername()[0] == "10.213.0.11"
        sock.close()
    finally:
        server.close()


def test_bmc_listener_is_seen_in_its_own_namespace(private_netns):
    """ipmi._listening reads the BMC process's /proc/PID/net/tcp: its namespace's
    sockets, not this process's."""
    import subprocess
    import sys
    import time

    from wizard.lab.ipmi import _listening

    netns = private_netns
    script = ("import socket, sys, time; s = socket.create_server(('127.0.0.1', 0)); "
              "print(s.getsockname()[1], flush=True); time.sleep(30)")
    proc = subprocess.Popen(netns.host_argv([sys.executable, "-c", script]), stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        deadline = time.monotonic() + 10
        while not _listening(proc.pid, port):
            assert time.monotonic() < deadline, "listener not seen"
            time.sleep(0.1)
        assert not _listening(None, port)
        # Not listening in the main namespace. Only LISTEN (0A) rows count: the same
        # port may be a TIME_WAIT client port of an unrelated local connection there.
        main_rows = [row.split() for row in open("/proc/self/net/tcp").read().splitlines()[1:]]
        assert not any(r[1] == f"0100007F:{port:04X}" and r[3] == "0A" for r in main_rows)
    finally:
        proc.kill()
        proc.wait(5)
