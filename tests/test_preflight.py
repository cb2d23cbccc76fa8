"""Every preflight check, passing on a healthy pair and failing when one thing breaks.

The healthy pair (tests/preflight/factory.py) is built from facts captured on
a real Debian 12 machine; each case tweaks one fact and asserts the finding's
code, severity, node and payload (not its wording).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.preflight import factory
from wizard.answers import dump_answers
from wizard.preflight import checks as preflight
from wizard.preflight import parse as preflight_parse
from wizard.preflight.parse import Address, DrbdInfo, DrbdMinor, Listener, OsInfo, TimeSync
from wizard.preflight.checks import Finding, check, drbd_meta_bytes, meta_needed
from wizard.preflight.command import format_table
from wizard.preflight.probes import AddressUse, ReachResult
from wizard.spec import NO_FENCING_ACKNOWLEDGEMENT, Fencing

N1, N2 = "zbx-node1", "zbx-node2"
MiB = 2**20


class World:
    def __init__(self):
        self.spec = factory.spec()
        self.facts = factory.facts()
        self.secrets = factory.secrets()
        self.probes = factory.probes(self.spec)
        self.forced: set[str] = set()

    def node(self, name, **changes):
        self.facts[name] = replace(self.facts[name], **changes)

    def device(self, node, which, **changes):
        f = self.facts[node]
        self.node(node, block_devices=[replace(d, **changes) if d.path == which else d for d in f.block_devices])

    def state(self, name, **changes):
        self.node(name, state=replace(self.facts[name].state, **changes))

    def iface(self, name, nic, **changes):
        f = self.facts[name]
        self.node(name, interfaces=[replace(i, **changes) if i.name == nic else i for i in f.interfaces])

    def path(self, kind, link, ok, detail="", src=N1):
        self.probes.paths = [replace(p, ok=ok, detail=detail) if (p.kind, p.link, p.src) == (kind, link, src) else p
                             for p in self.probes.paths]

    def run(self) -> list[Finding]:
        return check(self.spec, self.facts, self.secrets, probes=self.probes, forced=self.forced)


def test_healthy_pair_has_no_findings():
    assert World().run() == []


# (code, severity, node, breaker, payload subset)
CASES = [
    ("facts-missing", "error", N2, lambda w: w.facts.pop(N2), {}),
    ("facts-incomplete", "warning", N1, lambda w: w.node(N1, problems=["`lsblk` failed"]), {}),
    ("os-unsupported", "error", N1, lambda w: w.node(N1, os=OsInfo("rocky", "9.4", ("rhel",), "Rocky Linux 9.4")),
     {"platform": "rhel9"}),
    ("os-not-answers-platform", "error", N1,
     lambda w: w.node(N1, os=OsInfo("debian", "13", (), "Debian 13")), {"platform": "debian13"}),
    ("os-mismatch", "error", None, lambda w: w.node(N2, os=OsInfo("debian", "13", (), "Debian 13")), {}),
    ("kernel-mismatch", "warning", None, lambda w: w.node(N2, kernel="6.1.0-41-amd64"), {}),
    ("package-version-mismatch", "error", None,
     lambda w: w.node(N2, packages={**w.facts[N2].packages, "corosync": "3.1.6-1"}), {"package": "corosync"}),
    ("package-one-side", "warning", N2,
     lambda w: w.node(N1, packages={**w.facts[N1].packages, "pacemaker": "2.1.5-1+deb12u1"}),
     {"package": "pacemaker"}),
    ("drbd-module-missing", "error", N2, lambda w: w.node(N2, drbd=DrbdInfo()), {}),
    ("drbd-module-version", "warning", N1, lambda w: w.node(N1, drbd=DrbdInfo(True, "9.2.12")),
     {"version": "9.2.12"}),
    ("hostname-mismatch", "error", N2, lambda w: w.node(N2, hostname="debian"), {"actual": "debian"}),
    ("hostname-unresolved", "warning", N1,
     lambda w: w.node(N1, resolution={N1: ("192.168.10.11",), N2: ()}), {"name": N2}),
    ("hostname-loopback", "warning", N1,
     lambda w: w.node(N1, resolution={N1: ("127.0.1.1",), N2: ("192.168.10.12",)}), {"name": N1}),
    ("hostname-resolution-differs", "error", None,
     lambda w: w.node(N2, resolution={N1: ("192.168.10.99",), N2: ("192.168.10.12",)}), {"name": N1}),
    ("time-sync-unknown", "warning", N1, lambda w: w.node(N1, time=TimeSync(known=False)), {}),
    ("time-not-synced", "warning", N2, lambda w: w.node(N2, time=TimeSync(True, False, False)), {}),
    ("clock-skew", "error", None, lambda w: w.node(N2, clock_offset=12.0), {}),
    ("disk-missing", "error", N1, lambda w: w.device(N1, "/dev/vdb", path="/dev/vdx", name="vdx"),
     {"device": "/dev/vdb"}),
    ("disk-mounted", "error", N2, lambda w: w.device(N2, "/dev/vdb", mountpoints=("/srv",)), {"mounts": ["/srv"]}),
    ("disk-has-children", "error", N1, lambda w: w.device(N1, "/dev/vdb", children=("vdb1",)),
     {"children": ["vdb1"]}),
    ("disk-read-only", "error", N1, lambda w: w.device(N1, "/dev/vdb", ro=True), {}),
    ("disk-signature", "error", N2, lambda w: w.node(N2, signatures={"/dev/vdb": ("ext4",), "/dev/vdc": ()}),
     {"signatures": ["ext4"]}),
    ("disk-unprobed", "warning", N2, lambda w: w.node(N2, signatures={"/dev/vdb": None, "/dev/vdc": ()}), {}),
    ("disk-small", "warning", N1, lambda w: w.device(N1, "/dev/vdb", size=256 * MiB), {}),
    ("disk-size-differs", "warning", None, lambda w: w.device(N2, "/dev/vdb", size=2048 * MiB), {}),
    ("meta-disk-missing", "error", N2, lambda w: w.device(N2, "/dev/vdc", path="/dev/vdz", name="vdz"), {}),
    ("meta-disk-mounted", "error", N1, lambda w: w.device(N1, "/dev/vdc", mountpoints=("/boot",)), {}),
    ("meta-disk-has-children", "error", N1, lambda w: w.device(N1, "/dev/vdc", children=("vdc1",)), {}),
    ("meta-disk-read-only", "error", N2, lambda w: w.device(N2, "/dev/vdc", ro=True), {}),
    ("meta-disk-signature", "error", N1,
     lambda w: w.node(N1, signatures={"/dev/vdb": (), "/dev/vdc": ("LVM2_member",)}), {}),
    ("meta-disk-unprobed", "warning", N1, lambda w: w.node(N1, signatures={"/dev/vdb": (), "/dev/vdc": None}), {}),
    ("meta-disk-too-small", "error", N1, lambda w: w.device(N1, "/dev/vdc", size=100 * MiB),
     {"needed": 128 * MiB}),
    ("indexed-meta-capacity", "error", N1, lambda w: w.device(N1, "/dev/vdb", size=5 * 2**40), {}),
    ("link-address-missing", "error", N2, lambda w: w.iface(N2, "eth2", addresses=()),
     {"link": 1, "address": "172.16.2.2"}),
    ("link-prefix-mismatch", "warning", N1,
     lambda w: w.iface(N1, "eth1", addresses=(Address("172.16.1.1", 16, "inet"),)), {"actual": 16}),
    ("link-nic-down", "error", N1, lambda w: w.iface(N1, "eth2", up=False), {"nic": "eth2"}),
    ("links-share-nic", "warning", N1, lambda w: w.iface(
        N1, "eth1", addresses=(Address("172.16.1.1", 24, "inet"), Address("172.16.2.1", 24, "inet"))), {}),
    ("mtu-mismatch", "error", None, lambda w: w.iface(N2, "eth2", mtu=9000), {"link": 1}),
    ("vip-nic-missing", "error", N2, lambda w: setattr(w.spec.services, "vip_nics", ["eth0", "ens18"]),
     {"nic": "ens18"}),
    ("vip-nic-down", "error", N1, lambda w: w.iface(N1, "eth0", up=False), {}),
    ("vip-nic-subnet", "error", N1, lambda w: setattr(w.spec.services, "vip_nics", ["eth1", "eth0"]), {}),
    ("vip-configured", "error", N1, lambda w: w.iface(
        N1, "eth0", addresses=(Address("192.168.10.11", 24, "inet"), Address("192.168.10.10", 24, "inet"))),
     {"address": "192.168.10.10"}),
    ("port-in-use", "error", N2, lambda w: w.node(N2, listeners=[Listener("tcp", "0.0.0.0", 3306, "postgres")]),
     {"port": 3306}),
    ("port-held-by-stack", "info", N1, lambda w: w.node(N1, listeners=[Listener("tcp", "::", 80, "apache2")]),
     {"port": 80}),
    ("memory-low", "warning", N1, lambda w: w.node(N1, memory_mib=1024), {"needed": 2048}),
    ("cpus-low", "warning", N2, lambda w: w.node(N2, cpus=1), {}),
    ("rerun", "info", N1, lambda w: w.state(N1, zabbix_ha_spec=True), {}),
    ("fixed-answer-changed", "error", N1, lambda w: w.state(
        N1, zabbix_ha_spec=True, zabbix_ha_answers=dump_answers(replace(w.spec, name=w.spec.name, platform="debian13"))),
     {"field": "platform", "was": "debian13", "now": "debian12"}),
    ("applied-answers-unreadable", "warning", N2, lambda w: w.state(N2, zabbix_ha_spec=True, zabbix_ha_answers="- a"),
     {}),
    ("other-zabbix-ha-cluster", "error", N2, lambda w: w.state(N2, zabbix_ha_spec=True, zabbix_ha_name="prod"),
     {"cluster": "prod"}),
    ("existing-cluster", "error", N1, lambda w: w.state(
        N1, corosync_conf=True, corosync_cluster_name="prod", corosync_nodes=("a", "b"),
        corosync_addresses=("10.1.1.1", "10.1.1.2")), {"cluster": "prod"}),
    ("existing-cib", "error", N2, lambda w: w.state(N2, cib=True, corosync_conf=False), {}),
    ("package-default-cib", "info", N2, lambda w: w.state(
        N2, cib=True, corosync_conf=True, corosync_nodes=("node1",), corosync_addresses=("127.0.0.1",)), {}),
    ("existing-drbd-resource", "error", N2, lambda w: w.state(N2, drbd_resources=("r0",)), {"resource": "r0"}),
    ("drbd-minor-in-use", "error", N1, lambda w: w.node(
        N1, drbd=DrbdInfo(True, "8.4.11", "8.4.11", (DrbdMinor(0, "Connected", "Primary/Secondary",
                                                              "UpToDate/UpToDate"),))), {"minor": 0}),
    ("existing-database", "warning", N1, lambda w: w.state(N1, datadir_entries=("mysql/", "zabbix/")),
     {"databases": ["zabbix"]}),
    ("cluster-services-running", "error", N2, lambda w: w.state(
        N2, services=(("corosync", "active"),), corosync_conf=True, corosync_cluster_name="prod",
        corosync_nodes=("a", "b"), corosync_addresses=("10.1.1.1", "10.1.1.2")), {}),
    ("package-default-cluster-running", "info", N2, lambda w: w.state(
        N2, services=(("corosync", "active"), ("pacemaker", "active")), corosync_conf=True,
        corosync_nodes=("node1",), corosync_addresses=("127.0.0.1",)), {"units": ["corosync", "pacemaker"]}),
    ("connectivity-not-probed", "info", None, lambda w: setattr(w, "probes", None), {}),
    ("path-icmp-failed", "warning", N1, lambda w: w.path("icmp", 0, False, "100% packet loss"), {"link": 0}),
    ("path-mtu-failed", "error", N1, lambda w: w.path("mtu", 0, False, "message too long"), {}),
    ("path-udp-failed", "error", N1, lambda w: w.path("udp", 1, False), {"port": 5406, "dst": N2}),
    ("path-tcp-failed", "error", N1, lambda w: w.path("tcp", 1, False), {"port": 7788}),
    ("path-icmp-untested", "warning", N1, lambda w: w.path("icmp", 0, None, "ping is not installed"), {}),
    ("path-mtu-untested", "warning", N1, lambda w: w.path("mtu", 1, None, "ping is not installed"), {}),
    ("path-udp-untested", "warning", N1, lambda w: w.path("udp", 0, None, "port busy"), {}),
    ("path-tcp-untested", "warning", N1, lambda w: w.path("tcp", 1, None, "perl missing"), {}),
    ("address-in-use", "error", N2, lambda w: setattr(w.probes, "addresses", [
        AddressUse("192.168.10.10", N2, False, True)]), {"address": "192.168.10.10"}),
    ("ipmi-secret-missing", "error", N2, lambda w: w.secrets.ipmi.pop(N2), {"fenced": N2}),
    ("ipmi-not-probed", "warning", None, lambda w: setattr(w.probes, "ipmi", []), {}),
    ("ipmi-unreachable", "error", N2, lambda w: setattr(w.probes, "ipmi", [
        ReachResult(N2, N1, False, "Unable to connect/login to fencing device")]), {"fenced": N1}),
    ("ipmi-untested", "warning", N2, lambda w: setattr(w.probes, "ipmi", [
        ReachResult(N2, N1, None, "fence_ipmilan is not installed yet")]), {}),
    ("package-source-unreachable", "error", N1, lambda w: setattr(w.probes, "sources", [
        ReachResult(N1, "http://deb.debian.org/debian", False, "no TCP connection")]), {}),
    ("package-source-unknown", "warning", None, lambda w: setattr(w.probes, "sources", []), {}),
    ("force-unmatched", "warning", None, lambda w: setattr(w, "forced", {"wipe-disk:zbx-node3:/dev/vdb"}),
     {"force": "wipe-disk:zbx-node3:/dev/vdb"}),
    ("default-route-missing", "error", N1, lambda w: w.node(N1, default_routes={"inet": (), "inet6": ()}),
     {"family": "inet"}),
    ("default-route-onlink", "error", N2, lambda w: w.node(N2, default_routes={
        "inet": (preflight_parse.Route("192.168.10.1", "eth0", onlink=True),), "inet6": ()}),
     {"gateway": "192.168.10.1", "dev": "eth0"}),
    ("internal-meta-usable", "info", N1, lambda w: (
        setattr(w.spec.storage, "meta_disk_mode", "internal"),
        [setattr(d, "meta_disk", None) for d in w.spec.storage.nodes]), {}),
]


def test_every_code_has_a_case():
    assert sorted({c[0] for c in CASES}) == preflight.codes()


@pytest.mark.parametrize("code,severity,node,breaker,payload", CASES, ids=[c[0] for c in CASES])
def test_check_fails_then_passes(code, severity, node, breaker, payload):
    healthy = World()
    assert [f for f in healthy.run() if f.code == code] == []          # passing case
    broken = World()
    breaker(broken)
    hits = [f for f in broken.run() if f.code == code]                  # failing case
    assert hits, f"{code} not reported"
    hit = hits[0]
    assert (hit.severity, hit.node) == (severity, node)
    for key, value in payload.items():
        assert hit.payload[key] == value
    assert hit.message and hit.fix


def test_findings_sorted_errors_first_and_serialisable():
    w = World()
    w.node(N1, memory_mib=1024)
    w.node(N2, drbd=DrbdInfo())
    w.state(N1, zabbix_ha_spec=True)
    found = w.run()
    assert [f.severity for f in found] == ["error", "warning", "info"]
    import json
    json.dumps([f.as_dict() for f in found])


def test_wipe_is_accepted_per_node_and_device_only():
    w = World()
    w.node(N1, signatures={"/dev/vdb": ("xfs",), "/dev/vdc": ("LVM2_member",)})
    w.node(N2, signatures={"/dev/vdb": ("ext4",), "/dev/vdc": ()})
    hits = {(f.node, f.payload["device"]): f for f in w.run() if f.code in ("disk-signature", "meta-disk-signature")}
    assert {k: (f.severity, f.force_code) for k, f in hits.items()} == {
        (N1, "/dev/vdb"): ("error", f"wipe-disk:{N1}:/dev/vdb"),
        (N1, "/dev/vdc"): ("error", f"wipe-disk:{N1}:/dev/vdc"),
        (N2, "/dev/vdb"): ("error", f"wipe-disk:{N2}:/dev/vdb")}
    # Accepting node1's data disk accepts nothing else: not its meta-disk, not node2's disk.
    w.forced = {f"wipe-disk:{N1}:/dev/vdb"}
    found = w.run()
    hits = {(f.node, f.payload["device"]): f for f in found if f.code in ("disk-signature", "meta-disk-signature")}
    assert hits[(N1, "/dev/vdb")].severity == "warning" and "WILL BE WIPED" in hits[(N1, "/dev/vdb")].message
    assert hits[(N1, "/dev/vdc")].severity == "error" and hits[(N2, "/dev/vdb")].severity == "error"
    assert not [f for f in found if f.code == "force-unmatched"]
    # The old blanket code accepts nothing and is reported as matching nothing.
    w.forced = {"wipe-disk"}
    found = w.run()
    assert all(f.severity == "error" for f in found if f.code.endswith("disk-signature"))
    [unmatched] = [f for f in found if f.code == "force-unmatched"]
    assert unmatched.payload["force"] == "wipe-disk" and f"wipe-disk:{N2}:/dev/vdb" in unmatched.fix


def test_memory_fix_names_a_tier_that_fits_or_says_none_does():
    w = World()
    w.spec.zabbix.sizing = "large"
    w.node(N1, memory_mib=8192)
    [hit] = [f for f in w.run() if f.code == "memory-low" and f.node == N1]
    assert "medium" in hit.fix and "small" not in hit.fix
    w.spec.zabbix.sizing = "small"
    w.node(N1, memory_mib=1209)
    [hit] = [f for f in w.run() if f.code == "memory-low" and f.node == N1]
    assert "smallest tier (small)" in hit.fix and "choose" not in hit.fix


def test_container_lab_like_node_reports_missing_drbd_with_fix():
    # The captured host itself has no DRBD module (like a container lab node).
    from tests.preflight.capture import load
    from wizard.preflight.facts import facts_from_raw
    raw_host = facts_from_raw(N1, load(factory.DATA / "debian12-host"))
    w = World()
    w.node(N1, drbd=raw_host.drbd)
    [hit] = [f for f in w.run() if f.code == "drbd-module-missing"]
    assert hit.severity == "error" and "container" in hit.fix and "linux-image" in hit.fix


def test_rerun_downgrades_existing_state():
    w = World()
    w.state(N1, zabbix_ha_spec=True, corosync_conf=True, corosync_nodes=(N1, N2),
            corosync_addresses=("172.16.1.1", "172.16.1.2"), drbd_resources=("r0",))
    codes = {f.code for f in w.run()}
    assert "rerun" in codes and "existing-cluster" not in codes and "existing-drbd-resource" not in codes


def test_a_node_of_another_zabbix_ha_cluster_stops_preflight_and_is_no_rerun():
    """Its /etc/zabbix-ha/cluster.yaml names another cluster: nothing there is ours to converge."""
    w = World()
    w.state(N2, zabbix_ha_spec=True, zabbix_ha_name="prod", corosync_conf=True, corosync_cluster_name="prod",
            corosync_nodes=(N1, N2), corosync_addresses=("172.16.1.1", "172.16.1.2"))
    found = w.run()
    [hit] = [f for f in found if f.code == "other-zabbix-ha-cluster"]
    assert (hit.severity, hit.node, hit.force_code) == ("error", N2, None)
    assert hit.payload == {"cluster": "prod", "answers": w.spec.name}
    assert "/etc/zabbix-ha/cluster.yaml" in hit.message and hit.fix
    codes = {f.code for f in found}
    assert "rerun" not in codes and "existing-cluster" in codes
    # The same cluster's name (or a name that could not be read) is a rerun, as before.
    for name in (w.spec.name, ""):
        w.state(N2, zabbix_ha_name=name)
        codes = {f.code for f in w.run()}
        assert "rerun" in codes and not {"other-zabbix-ha-cluster", "existing-cluster"} & codes


def test_the_applied_name_is_read_from_the_state_script_output():
    text = ("@@@ zabbix-ha\n/etc/zabbix-ha/cluster.yaml\n@@@ zabbix-ha-name\nname: 'prod-01'\n"
            "@@@ services\ncorosync active\n")
    st = preflight_parse.parse_state(text)
    assert st.zabbix_ha_spec and st.zabbix_ha_name == "prod-01"
    assert preflight_parse.applied_name("name: 2024") == "2024"
    assert preflight_parse.applied_name("name: [broken") == "" and preflight_parse.applied_name("") == ""
    assert preflight_parse.parse_state("@@@ zabbix-ha\n").zabbix_ha_name == ""


def test_no_fencing_skips_ipmi_checks():
    w = World()
    w.spec.fencing = Fencing("none", acknowledgement=NO_FENCING_ACKNOWLEDGEMENT)
    w.secrets.ipmi.clear()
    assert not [f for f in w.run() if f.code.startswith("ipmi")]


@pytest.mark.parametrize("data,expected_sectors", [
    # DRBD 8.4 guide: Ms = ceil(Cs / 2^18) * 8 + 72 (sectors)
    (2**18 * 512, 8 + 72),
    (2**18 * 512 + 1, 16 + 72),
    (1 * 2**40, (2**31 // 2**18) * 8 + 72),
])
def test_meta_data_size_formula(data, expected_sectors):
    assert drbd_meta_bytes(data) == expected_sectors * 512
    assert meta_needed("indexed", data, 2) == 3 * 128 * MiB
    assert meta_needed("flexible", data, 0) == drbd_meta_bytes(data)


def test_rerun_takes_the_clusters_own_drbd_disks_as_in_use_by_it_not_as_disks_to_wipe():
    """On a running cluster the backing disk carries ext4 (external meta-data) and
    holds drbd0, which is mounted: all of it the cluster's own data."""
    w = World()
    for node in (N1, N2):
        w.device(node, "/dev/vdb", fstype="ext4", children=("drbd0",))
        w.device(node, "/dev/vdc", children=("drbd0",))
    before = {f.code for f in w.run() if f.severity == "error"}
    assert {"disk-signature", "disk-has-children", "meta-disk-has-children"} & before
    for node in (N1, N2):
        w.state(node, zabbix_ha_spec=True, drbd_resources=("r0",))
    found = w.run()
    assert [f for f in found if f.severity == "error"] == []
    assert {(f.code, f.node) for f in found if f.code.endswith("-in-cluster")} == {
        ("disk-in-cluster", N1), ("disk-in-cluster", N2), ("meta-disk-in-cluster", N1), ("meta-disk-in-cluster", N2)}


def test_a_rerun_whose_node_state_went_unread_still_knows_its_own_mounted_drbd():
    """Lab run 6: node1's state script timed out under load, so its drbd.d was unknown, and the
    no-op rerun was refused: "/dev/vdb on node1 is in use: /dev/drbd0 on /srv/zabbix-ha"."""
    from wizard.preflight.parse import BlockDevice

    w = World()
    drbd0 = BlockDevice("drbd0", "/dev/drbd0", 512 * MiB, "disk", "ext4", ("/srv/zabbix-ha",), "vdb")
    w.node(N1, block_devices=[*w.facts[N1].block_devices, drbd0])
    for which in ("/dev/vdb", "/dev/vdc"):
        w.device(N1, which, children=("drbd0",))
    w.state(N2, zabbix_ha_spec=True, drbd_resources=("r0",))      # node1's state: not read
    found = w.run()
    assert not [f for f in found if f.severity == "error"], found
    assert {f.code for f in found if f.node == N1} >= {"disk-in-cluster", "meta-disk-in-cluster"}
    # Another minor mounted on the disk is no proof: still refused.
    w.spec.storage.minor = 1
    assert {"disk-mounted", "meta-disk-mounted"} <= {f.code for f in w.run() if f.severity == "error"}


def test_a_rerun_still_guards_a_disk_that_is_not_this_clusters():
    w = World()
    w.device(N1, "/dev/vdb", fstype="xfs")
    w.state(N1, zabbix_ha_spec=True, drbd_resources=("other",))
    assert "disk-signature" in {f.code for f in w.run() if f.severity == "error"}


def test_default_route_of_the_source_address_family_is_what_counts():
    """notes/lab.md Part D.2: IPsrcaddr failed "no matching route exists" on nodes without one."""
    w = World()
    route = preflight_parse.Route("192.168.10.1", "eth0")
    w.node(N1, default_routes={"inet": (route,), "inet6": ()})
    w.node(N2, default_routes={"inet": (route,)})
    assert [f for f in w.run() if f.code == "default-route-missing"] == []
    w.node(N2, default_routes={"inet": (), "inet6": (preflight_parse.Route("fd00::1", "eth0"),)})
    assert [(f.node, f.payload["family"]) for f in w.run() if f.code == "default-route-missing"] == [(N2, "inet")]


def test_bmcs_not_asked_names_the_cause_not_the_secrets_file():
    """Issue 14 item 10: the fix fits the situation, and no finding tells the
    TUI's user about a CLI option."""
    unreached = World()
    unreached.probes.ipmi = []                     # the nodes were not reached: secrets were given
    hit = next(f for f in unreached.run() if f.code == "ipmi-not-probed")
    assert "secret" not in (hit.message + hit.fix).lower() and "password" not in (hit.message + hit.fix).lower()
    assert "connection" in hit.fix
    no_secrets = World()
    no_secrets.secrets = None
    no_secrets.probes.ipmi = []
    hit = next(f for f in no_secrets.run() if f.code == "ipmi-not-probed")
    assert "BMC passwords" in hit.fix


@pytest.mark.parametrize("code,severity,node,breaker,payload", CASES, ids=[c[0] for c in CASES])
def test_no_finding_names_a_command_line_option(code, severity, node, breaker, payload):
    broken = World()
    breaker(broken)
    for f in broken.run():
        assert " --" not in f" {f.message} {f.fix}" and "(--" not in f.fix, (f.code, f.message, f.fix)


@pytest.mark.parametrize("code,severity,node,breaker,payload", CASES, ids=[c[0] for c in CASES])
def test_a_message_does_not_repeat_its_node(code, severity, node, breaker, payload):
    """Issue 14 item 10: every view shows the finding's node beside the message
    (the TUI's Node column, the CLI's NODE column), so the message does not start
    with it or name it as the asker again."""
    broken = World()
    breaker(broken)
    for f in broken.run():
        if f.node:
            shown = f.beside_node()
            assert f.node not in shown.split()[0], (f.code, shown)
            assert shown[:1].isalnum() or shown[:1] in "/(", (f.code, shown)      # no "'s clock ..." left over
            row = format_table([f], 200).splitlines()[1]
            assert shown.startswith(row.split(f.code, 1)[1].strip()), row     # the CLI table shows it so too


def test_answers_changing_what_the_running_cluster_cannot_change_are_refused_from_the_nodes_own_answers():
    """Its /etc/zabbix-ha/cluster.yaml, read over SSH, is the applied answers: a rerun from a machine
    that is not a node of the cluster meets the same refusal as one on node1 (wizard.rerun)."""
    import copy

    from wizard.answers import dump_answers

    w = World()
    applied = copy.deepcopy(w.spec)
    applied.storage.nodes[1].disk = "/dev/sdz9"               # the cluster was built on another disk
    text = dump_answers(applied)                              # as the install keeps them
    for node in (N1, N2):
        w.state(node, zabbix_ha_spec=True, zabbix_ha_name=w.spec.name, zabbix_ha_answers=text)
    hits = [f for f in w.run() if f.code == "fixed-answer-changed"]
    assert len(hits) == 1                                       # both nodes keep the same answers: said once
    [hit] = hits
    assert (hit.severity, hit.force_code) == ("error", None)
    assert hit.payload["field"] == "storage.nodes[1].disk" and hit.payload["was"] == "/dev/sdz9"
    assert "/dev/sdz9" in hit.fix and "cannot change on a running cluster" in hit.message
    # The same answers: nothing refused. Unreadable applied answers: said, not guessed.
    for node in (N1, N2):
        w.state(node, zabbix_ha_spec=True, zabbix_ha_name=w.spec.name,
                zabbix_ha_answers=dump_answers(w.spec))
    assert not [f for f in w.run() if f.code == "fixed-answer-changed"]
    w.state(N1, zabbix_ha_spec=True, zabbix_ha_name=w.spec.name, zabbix_ha_answers="name: [broken")
    codes = [f.code for f in w.run()]
    assert "applied-answers-unreadable" in codes and "fixed-answer-changed" not in codes
    # The text comes from the state script's own section.
    st = preflight_parse.parse_state(f"@@@ zabbix-ha\n/etc/zabbix-ha/cluster.yaml\n@@@ zabbix-ha-answers\n{text}")
    assert st.zabbix_ha_answers.strip() == text.strip()
