"""A node's identity: hostname, addresses, SSH keys — the files of its seed.

Both flavours boot the same image; what makes node1 node1 is this seed,
applied once at first boot (VMs read it from qemu's fw_cfg, containers get
it written into their overlay). Addresses are static in
/etc/network/interfaces, as on a Debian server installed by hand: eth0 is
management, eth1/eth2 the two interconnects; no default route.
"""

from __future__ import annotations

from wizard.lab.network import NETWORKS, Layout
from wizard.lab.paths import NODES, SSH_KEY
from wizard.lab.ssh import seed_tar

NICS = {"mgmt": "eth0", "ic1": "eth1", "ic2": "eth2"}
PURPOSE = {"mgmt": "management: SSH, package mirror, VIP", "ic1": "interconnect 1", "ic2": "interconnect 2"}


def interfaces_file(layout: Layout, node: str) -> str:
    out = [f"# {node}: written by zabbix-ha lab (static, no gateway: the lab has no way out)",
           "source /etc/network/interfaces.d/*", "", "auto lo", "iface lo inet loopback"]
    for net in NETWORKS:
        prefix = layout.subnet(net).prefixlen
        out += ["", f"# {PURPOSE[net]}", f"auto {NICS[net]}", f"iface {NICS[net]} inet static",
                f"    address {layout.node_address(net, node)}/{prefix}"]
    return "\n".join(out) + "\n"


def hosts_file(layout: Layout) -> str:
    lines = ["127.0.0.1 localhost"]
    lines += [f"{layout.node_address('mgmt', n)} {n}" for n in NODES]
    return "\n".join(lines) + "\n"


def seed_files(layout: Layout, node: str, host_key: tuple[bytes, bytes]) -> dict[str, tuple[bytes | None, int]]:
    private, public = host_key
    return {
        "etc/hostname": (f"{node}\n".encode(), 0o644),
        "etc/hosts": (hosts_file(layout).encode(), 0o644),
        "etc/network/interfaces": (interfaces_file(layout, node).encode(), 0o644),
        "etc/ssh/ssh_host_ed25519_key": (private, 0o600),
        "etc/ssh/ssh_host_ed25519_key.pub": (public, 0o644),
        "root/.ssh": (None, 0o700),
        "root/.ssh/authorized_keys": (SSH_KEY.with_suffix(".pub").read_bytes(), 0o600),
    }


def seed(layout: Layout, node: str, host_key: tuple[bytes, bytes]) -> bytes:
    return seed_tar(seed_files(layout, node, host_key))
