"""A consistent two-node spec + facts pair for the preflight tests.

The facts start from outputs captured on this Debian 12 machine
(tests/data/facts/debian12-host, debian12-loops) and are tweaked into two
healthy nodes; each test then breaks one thing.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from tests.preflight.capture import load
from wizard.preflight.facts import facts_from_raw
from wizard.preflight.parse import Address, DrbdInfo, TimeSync
from wizard.preflight.probes import AddressUse, PathResult, Probes, ReachResult
from wizard.spec import (ClusterSpec, Fencing, IpmiDevice, Link, Node, NodeDisks, Secret, Secrets,
                         ServiceAddresses, Storage, Zabbix)

DATA = Path(__file__).parent.parent / "data" / "facts"
MiB = 2**20


def spec() -> ClusterSpec:
    return ClusterSpec(
        name="zbx",
        nodes=[Node("zbx-node1", "192.168.10.11"), Node("zbx-node2", "192.168.10.12")],
        links=[Link(["172.16.1.1", "172.16.1.2"]), Link(["172.16.2.1", "172.16.2.2"])],
        storage=Storage(nodes=[NodeDisks("/dev/vdb", "/dev/vdc", 0), NodeDisks("/dev/vdb", "/dev/vdc", 0)],
                        replication_link=1),
        services=ServiceAddresses(vip="192.168.10.10", vip_nics=["eth0", "eth0"]),
        zabbix=Zabbix(sizing="small"),
        fencing=Fencing("ipmi", [IpmiDevice("192.168.20.11", "fence"), IpmiDevice("192.168.20.12", "fence")]),
    )


def secrets() -> Secrets:
    return Secrets(Secret("db-password-1"), Secret("hacluster-pw-1"), Secret("admin-pw-123"),
                   {"zbx-node1": Secret("bmc1-pw"), "zbx-node2": Secret("bmc2-pw")})


def _node(i: int, name: str):
    host = facts_from_raw(name, load(DATA / "debian12-host"))
    loops = facts_from_raw(name, load(DATA / "debian12-loops"))
    empty = loops.device("/dev/loop1")            # captured: an unmounted device with no signature
    vdb = replace(empty, name="vdb", path="/dev/vdb", size=4096 * MiB)
    vdc = replace(empty, name="vdc", path="/dev/vdc", size=132 * MiB)
    eth0 = host.interface("eth0")
    nic = lambda n, ip, mtu=1500: replace(eth0, name=n, mtu=mtu, addresses=(Address(ip, 24, "inet", "global"),))
    interfaces = [host.interface("lo"), nic("eth0", f"192.168.10.1{i + 1}"), nic("eth1", f"172.16.1.{i + 1}"),
                  nic("eth2", f"172.16.2.{i + 1}")]
    resolution = {"zbx-node1": ("192.168.10.11",), "zbx-node2": ("192.168.10.12",)}
    return replace(host, node=name, hostname=name, kernel="6.1.0-50-amd64",
                   drbd=DrbdInfo(True, "8.4.11", None, ()),
                   block_devices=[*[d for d in host.block_devices], vdb, vdc],
                   signatures={"/dev/vdb": (), "/dev/vdc": ()},
                   interfaces=interfaces, memory_mib=4096, time=TimeSync(True, True, True, "UTC"),
                   clock_offset=0.01 * i, clock_uncertainty=0.002, resolution=resolution,
                   packages={"corosync": "3.1.7-1+deb12u2", "drbd-utils": "9.22.0-1"},
                   listeners=[l for l in host.listeners if l.port == 22 or l.address.startswith("127.")],
                   problems=[])


def facts() -> dict:
    return {"zbx-node1": _node(0, "zbx-node1"), "zbx-node2": _node(1, "zbx-node2")}


def probes(s: ClusterSpec | None = None) -> Probes:
    s = s or spec()
    names = s.hostnames
    paths = []
    for li in range(len(s.links)):
        for a, b in ((0, 1), (1, 0)):
            paths += [PathResult(li, names[a], names[b], "icmp", True), PathResult(li, names[a], names[b], "mtu", True, 1500),
                      PathResult(li, names[a], names[b], "udp", True, 5405 + li)]
            if li == s.storage.replication_link:
                paths.append(PathResult(li, names[a], names[b], "tcp", True, s.storage.port))
    return Probes(paths=paths, addresses=[AddressUse(s.services.vip, n, False, False) for n in names],
                  ipmi=[ReachResult(names[1], names[0], True, "Status: ON"),
                        ReachResult(names[0], names[1], True, "Status: ON")],
                  sources=[ReachResult(n, "http://deb.debian.org/debian", True) for n in names], sources_probed=True)
