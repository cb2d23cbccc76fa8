"""The lab's host-side network: three private bridges and per-node ports,
all inside the lab's own network namespace (netns.py, `zha-lab`).

- `zha-mgmt`: management network. The host has .1 on it (SSH to the nodes,
  the local apt repository, the nodes' BMCs on .21/.22); the VIP and the
  Zabbix source address live here too.
- `zha-ic1`, `zha-ic2`: the two interconnects (Corosync links, DRBD). The
  host has no address on them.

Nothing is routed: the machine's main namespace gets no lab link, address or
route, and its routes, forwarding and firewall are never touched. The nodes'
default route points at the lab host (IPsrcaddr needs a route to rewrite),
i.e. the namespace, which forwards nothing, so they reach nothing outside
these bridges. Subnets are picked from a list after checking that no address
or route of the main namespace overlaps them (no confusion for a person who
sees both).
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

from wizard.lab import netns
from wizard.lab.paths import NODES, PREFIX, link_name, short
from wizard.lab.proc import LabError, run

# Candidate /22 blocks: mgmt = first /24, ic1 = second, ic2 = third.
CANDIDATE_BLOCKS = ("10.213.0.0/22", "10.217.4.0/22", "172.29.212.0/22", "192.168.212.0/22")
NETWORKS = ("mgmt", "ic1", "ic2")


@dataclass(frozen=True)
class Layout:
    block: str

    def subnet(self, net: str) -> ipaddress.IPv4Network:
        return list(ipaddress.ip_network(self.block).subnets(new_prefix=24))[NETWORKS.index(net)]

    def _host(self, net: str, index: int) -> str:
        return str(self.subnet(net).network_address + index)

    def node_address(self, net: str, node: str) -> str:
        return self._host(net, 10 + NODES.index(node) + 1)      # .11, .12

    @property
    def host_address(self) -> str:
        return self._host("mgmt", 1)

    def bmc_address(self, node: str) -> str:
        return self._host("mgmt", 20 + NODES.index(node) + 1)   # .21, .22

    @property
    def vip(self) -> str:
        return self._host("mgmt", 100)

    @property
    def source_address(self) -> str:
        return self._host("mgmt", 101)

    @staticmethod
    def bridge(net: str) -> str:
        return link_name(net)

    @staticmethod
    def port(node: str, net: str) -> str:
        """Host end of a node's NIC on `net` (tap for VMs, veth for containers)."""
        return link_name(short(node), net)


def _host_networks() -> list[ipaddress.IPv4Network]:
    used: list[ipaddress.IPv4Network] = []
    for link in json.loads(run(["ip", "-j", "-4", "addr"]).stdout or "[]"):
        if link.get("ifname", "").startswith(PREFIX + "-"):
            continue   # ours, from an earlier lab
        for a in link.get("addr_info", []):
            used.append(ipaddress.ip_network(f"{a['local']}/{a['prefixlen']}", strict=False))
    for route in json.loads(run(["ip", "-j", "-4", "route", "show", "table", "all"]).stdout or "[]"):
        dst = route.get("dst", "")
        if dst in ("default", "") or route.get("dev", "").startswith(PREFIX + "-"):
            continue
        try:
            used.append(ipaddress.ip_network(dst if "/" in dst else dst + "/32", strict=False))
        except ValueError:
            continue
    return used


def pick_layout() -> Layout:
    used = _host_networks()
    for block in CANDIDATE_BLOCKS:
        net = ipaddress.ip_network(block)
        if not any(net.overlaps(u) for u in used):
            return Layout(block)
    raise LabError("no free private subnet for the lab: every candidate overlaps a host address or route "
                   + ", ".join(CANDIDATE_BLOCKS), "free one of these ranges on this host")


def _ip(*args: str, check: bool = True):
    """`ip` inside the lab's namespace (a lab from before the namespace: the main one)."""
    where = ["-n", netns.NAME] if netns.exists() else []
    return run(["ip", *where, *args], check=check)


def link_exists(name: str) -> bool:
    return _ip("link", "show", "dev", name, check=False).returncode == 0


def create_bridges(layout: Layout) -> None:
    netns.create()
    for net in NETWORKS:
        br = layout.bridge(net)
        if not link_exists(br):
            _ip("link", "add", br, "type", "bridge")
        _ip("link", "set", br, "up")
    mgmt = layout.bridge("mgmt")
    prefix = layout.subnet("mgmt").prefixlen
    addresses = [layout.host_address] + [layout.bmc_address(n) for n in NODES]
    for addr in addresses:
        _ip("addr", "replace", f"{addr}/{prefix}", "dev", mgmt)


def create_tap(layout: Layout, node: str, net: str) -> str:
    tap = layout.port(node, net)
    if not link_exists(tap):
        _ip("tuntap", "add", "dev", tap, "mode", "tap")
    _ip("link", "set", tap, "master", layout.bridge(net), "up")
    return tap


def attach_port(layout: Layout, node: str, net: str) -> None:
    _ip("link", "set", layout.port(node, net), "master", layout.bridge(net), "up")


def set_port(layout: Layout, node: str, net: str, up: bool) -> None:
    _ip("link", "set", layout.port(node, net), "up" if up else "down")


def port_is_up(layout: Layout, node: str, net: str) -> bool:
    out = _ip("-j", "link", "show", "dev", layout.port(node, net), check=False).stdout
    try:
        return "UP" in json.loads(out)[0].get("flags", [])
    except (ValueError, IndexError):
        return False


def host_forwarding() -> bool:
    """Does the lab host side (the namespace) forward IPv4 (it must not)?"""
    return netns.forwarding()


def main_namespace_leftovers() -> list[dict]:
    """Links with the lab prefix in the machine's main namespace: none are
    made there, but an older zabbix-ha (before the namespace) left them."""
    links = json.loads(run(["ip", "-j", "-d", "link", "show"]).stdout or "[]")
    return [link for link in links if link.get("ifname", "").startswith(PREFIX + "-")]


def lab_links() -> list[dict]:
    """Every link of the lab: in its namespace, and leftovers in the main one."""
    return [link for link in netns.links() if link.get("ifname", "").startswith(PREFIX + "-")] \
        + main_namespace_leftovers()


def remove_all_links() -> list[str]:
    """Delete the lab's namespace (its links go with it) and any main-namespace leftovers."""
    removed = []
    kind = lambda link: link.get("linkinfo", {}).get("info_kind", "")   # noqa: E731
    for link in sorted(main_namespace_leftovers(), key=lambda link: kind(link) == "bridge"):
        name = link["ifname"].split("@")[0]
        if run(["ip", "link", "del", "dev", name], check=False).returncode == 0:
            removed.append(name)
    if netns.delete():
        removed.append(f"netns {netns.NAME}")
    return removed
