"""A node's identity: hostname, addresses, SSH keys — the files of its seed.

Both flavours boot the same image; what makes node1 node1 is this seed,
applied once at first boot (VMs read it from qemu's fw_cfg, containers get
it written into their overlay). Addresses are static in
/etc/network/interfaces, as on a Debian server installed by hand: eth0 is
management, eth1/eth2 the two interconnects. The default route goes via the
lab host on eth0 (IPsrcaddr rewrites the source of a route and fails with
"no matching route exists" without one); the lab host forwards nothing, so
the nodes still reach nothing beyond the lab.

Root logs in with the lab's key, zabbix-ha's own key (so the product trusts
and reaches the lab with no flags) or the lab's random root password.
"""

from __future__ import annotations

from wizard.lab.network import NETWORKS, Layout
from wizard.lab.paths import NODES, SSH_KEY
from wizard.lab.ssh import read_root_password, seed_tar

NICS = {"mgmt": "eth0", "ic1": "eth1", "ic2": "eth2"}
PURPOSE = {"mgmt": "management: SSH, package mirror, VIP", "ic1": "interconnect 1", "ic2": "interconnect 2"}


def interfaces_file(layout: Layout, node: str) -> str:
    out = [f"# {node}: written by zabbix-ha lab (static; the gateway is the lab host, which forwards nothing)",
           "source /etc/network/interfaces.d/*", "", "auto lo", "iface lo inet loopback"]
    for net in NETWORKS:
        prefix = layout.subnet(net).prefixlen
        out += ["", f"# {PURPOSE[net]}", f"auto {NICS[net]}", f"iface {NICS[net]} inet static",
                f"    address {layout.node_address(net, node)}/{prefix}"]
        if net == "mgmt":
            # Not `gateway`: ifupdown adds that route with `onlink`, and
            # resource-agents 4.12's IPsrcaddr then fails ("Nexthop device
            # required for onlink"; corosync/corosync#773). Preflight warns
            # about such routes on real servers.
            out.append(f"    up ip route replace default via {layout.host_address} dev {NICS[net]}")
    return "\n".join(out) + "\n"


def hosts_file(layout: Layout) -> str:
    lines = ["127.0.0.1 localhost"]
    lines += [f"{layout.node_address('mgmt', n)} {n}" for n in NODES]
    return "\n".join(lines) + "\n"


def seed_files(layout: Layout, node: str, host_key: tuple[bytes, bytes], *, authorized_keys: bytes,
               root_password: str) -> dict[str, tuple[bytes | None, int]]:
    private, public = host_key
    return {
        "etc/hostname": (f"{node}\n".encode(), 0o644),
        "etc/hosts": (hosts_file(layout).encode(), 0o644),
        "etc/network/interfaces": (interfaces_file(layout, node).encode(), 0o644),
        "etc/ssh/ssh_host_ed25519_key": (private, 0o600),
        "etc/ssh/ssh_host_ed25519_key.pub": (public, 0o644),
        "root/.ssh": (None, 0o700),
        "root/.ssh/authorized_keys": (authorized_keys, 0o600),
        # Applied (hashed by chpasswd) and deleted by the node's seed script.
        "etc/zha-lab": (None, 0o700),
        "etc/zha-lab/root-password": (root_password.encode(), 0o600),
    }


def authorized_keys() -> bytes:
    """The lab's own key and zabbix-ha's key (made if missing: the product's
    trust store on this host, /etc/zabbix-ha/ssh as root)."""
    from wizard.sshtrust import TrustStore, default_dir

    lab = SSH_KEY.with_suffix(".pub").read_text().strip()
    product = TrustStore(default_dir()).ensure_key()
    return f"{lab}\n{product}\n".encode()


def seed(layout: Layout, node: str, host_key: tuple[bytes, bytes]) -> bytes:
    return seed_tar(seed_files(layout, node, host_key, authorized_keys=authorized_keys(),
                               root_password=read_root_password()))
