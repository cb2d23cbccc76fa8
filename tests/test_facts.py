"""Fact parsers on outputs captured from real machines (tests/data/facts)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tests.preflight.capture import load
from wizard.preflight import parse as fp
from wizard.preflight.facts import Raw, commands_for, facts_from_raw, gather
from wizard.remote import LocalExecutor

DATA = Path(__file__).parent / "data" / "facts"


@pytest.fixture(scope="module")
def host():
    return facts_from_raw("vm", load(DATA / "debian12-host"))


def test_captured_commands_are_the_ones_gather_runs():
    raw = load(DATA / "debian12-host")
    current = commands_for(packages=raw["packages"].argv[raw["packages"].argv.index("--") + 1:],
                           names=raw["getent"].argv[4:])
    for key, argv in current.items():
        assert raw[key].argv == tuple(argv), key


def test_debian12_host(host):
    assert host.problems == []
    assert (host.os.id, host.os.version_id, host.os.codename, host.os.family, host.os.platform_id) == \
        ("debian", "12", "bookworm", "debian", "debian12")
    assert host.kernel == "6.18.44-fc-v669" and host.hostname == "vm"
    assert host.cpus == 2 and host.memory_mib == 24105
    # This machine has no DRBD module: modinfo fails, /proc/drbd is absent.
    assert host.drbd == fp.DrbdInfo(False, None, None, ())
    # No systemd here: timedatectl fails, time sync is unknown, not "bad".
    assert host.time.known is False
    assert host.clock_offset is not None and abs(host.clock_offset) < 1
    vda = host.device("/dev/vda")
    assert (vda.type, vda.size, vda.mountpoints, vda.parent) == ("disk", 274877906944, ("/",), None)
    assert host.default_routes == {"inet": (fp.Route("192.0.2.1", "eth0"),), "inet6": (fp.Route("fd00::1", "eth0"),)}

    assert fp.parse_default_routes("[]\n") == ()
    eth0 = host.interface("eth0")
    assert eth0.mtu == 1400 and eth0.up
    assert [(a.address, a.prefix) for a in eth0.addresses if a.family == "inet"] == [("192.0.2.2", 24)]
    assert host.interface_with("127.0.0.1")[0].name == "lo"
    assert host.resolution == {"vm": ("127.0.0.1",), "no-such-node-zbx": ()}
    # dpkg-query exit 1 (unknown names) and 'un' (known, not installed) are both "not installed".
    assert host.packages["corosync"] == "3.1.7-1+deb12u2"
    assert host.packages["mariadb-server"] == "1:10.11.19-0+deb12u1"
    assert "pcs" not in host.packages and "zabbix-agent" not in host.packages
    assert "pcs" in host.packages_queried
    assert fp.Listener("tcp", "0.0.0.0", 2024, "") in host.listeners


def test_existing_state_package_defaults_are_not_a_cluster(host):
    st = host.state
    # Debian's corosync package ships a one-node 127.0.0.1 corosync.conf.
    assert st.corosync_conf and st.corosync_cluster_name == "debian"
    assert st.corosync_nodes == ("node1",) and st.corosync_addresses == ("127.0.0.1",)
    assert st.corosync_is_package_default
    assert not st.cib and st.drbd_resources == () and not st.zabbix_ha_spec
    # mariadb-server's own system schemas are not user data.
    assert "mysql/" in st.datadir_entries and st.database_names == ()
    assert st.service("corosync") == "unknown"          # no systemd on this machine
    assert "http://deb.debian.org/debian" in st.apt_uris


def test_listeners_from_real_ss():
    raw = load(DATA / "debian12-listeners")
    listeners = fp.parse_ss(raw["ss"].stdout)
    assert fp.Listener("udp", "127.0.0.1", 5405, "python") in listeners
    assert fp.Listener("tcp", "::1", 3306, "python") in listeners
    assert fp.Listener("tcp", "0.0.0.0", 10051, "python") in listeners
    assert any(lst.process == "sshd" and lst.address == "127.0.0.1" for lst in listeners)
    assert fp.Listener("tcp", "0.0.0.0", 10051, "python").wildcard


def test_loop_devices_and_signatures():
    raw = load(DATA / "debian12-loops")
    f = facts_from_raw("vm", raw)
    loop0 = f.device("/dev/loop0")
    assert loop0.type == "loop" and loop0.size == 400 * 2**20 and len(loop0.mountpoints) == 1
    # No udev in this VM: lsblk cannot name the filesystem, wipefs can.
    assert loop0.fstype is None
    assert f.signatures["/dev/loop0"] == ("ext4",)
    assert f.signatures["/dev/loop2"] == ("gpt", "PMBR")
    assert f.signatures["/dev/loop1"] == ()
    assert f.signatures["/dev/nonexistent-zbx"] is None


RHEL_FAMILY_OS_RELEASE = [
    ("miraclelinux-9.2.os-release", ("miraclelinux", "9.2", "rhel", "rhel9", "MIRACLE LINUX 9.2 (Feige)")),
    ("rocky-8.3.os-release", ("rocky", "8.3", "rhel", "rhel8", "Rocky Linux 8.3")),
    ("rocky-8.4.os-release", ("rocky", "8.4", "rhel", "rhel8", "Rocky Linux 8.4 (Green Obsidian)")),
    ("rhel-7.0.os-release", ("rhel", "7.0", "rhel", "rhel7", "Red Hat Enterprise Linux Server 7.0 (Maipo)")),
    ("centos-7.os-release", ("centos", "7", "rhel", "rhel7", "CentOS Linux 7 (Core)")),
    # ID="ol" and no ID_LIKE at all: only the list of known ids makes it rpm.
    ("oracle-7.5.os-release", ("ol", "7.5", "rhel", "rhel7", "Oracle Linux Server 7.5")),
    ("cloudlinux-7.3.os-release", ("cloudlinux", "7.3", "rhel", "rhel7", "CloudLinux 7.3 (Yury Malyshev)")),
    # Scientific Linux 7 calls itself ID="rhel".
    ("scientific-7.2.os-release", ("rhel", "7.2", "rhel", "rhel7", "Scientific Linux 7.2 (Nitrogen)")),
    # rpm, but not RHEL: Fedora 30 is not "rhel30", Amazon Linux (ID_LIKE="rhel fedora") not "rhel2016".
    ("fedora-30.os-release", ("fedora", "30", "rhel", "fedora30", "Fedora 30 (Thirty)")),
    ("amazon-2016.03.os-release", ("amzn", "2016.03", "rhel", "amzn2016", "Amazon Linux AMI 2016.03")),
]


@pytest.mark.parametrize("name,expected", RHEL_FAMILY_OS_RELEASE)
def test_rhel_family_os_release(name, expected):
    info = fp.parse_os_release((DATA / "rhel-family" / name).read_text())
    assert (info.id, info.version_id, info.family, info.platform_id, info.pretty_name) == expected
    assert commands_for(os_family=info.family, packages=["corosync"])["packages"][0] == "rpm"


@pytest.mark.parametrize("name", [n for n, _ in RHEL_FAMILY_OS_RELEASE])
def test_rhel_family_node_is_refused_naming_its_os_and_the_supported_ones(name):
    # Only Debian profiles exist: a RHEL-family node must be an error that says what it runs.
    from tests.preflight import factory
    from wizard.platforms import PLATFORMS
    from wizard.preflight.checks import check

    info = fp.parse_os_release((DATA / "rhel-family" / name).read_text())
    spec, facts = factory.spec(), factory.facts()
    facts = {n: replace(f, os=info) for n, f in facts.items()}
    found = [f for f in check(spec, facts, factory.secrets(), probes=factory.probes(spec))
             if f.code == "os-unsupported"]
    assert [(f.severity, f.node, f.payload["platform"]) for f in found] == \
        [("error", n, info.platform_id) for n in spec.hostnames]
    assert info.pretty_name in found[0].message
    assert all(p.name in found[0].fix for p in PLATFORMS.values())


def test_rpm_query_fixture_through_facts_from_raw():
    # Real `rpm -q --qf` output (Debian's rpm 4.18 on a test database, see rhel-family/SOURCE
    # and tests/test_rpm_query.py), on a node whose os-release is a real Rocky Linux 8.4 one.
    raw = load(DATA / "rhel-family")                       # rpm-query.json: key "packages"
    assert list(raw) == ["packages"]
    raw["os-release"] = Raw(("cat", "/etc/os-release"), 0, (DATA / "rhel-family" / "rocky-8.4.os-release").read_text())
    f = facts_from_raw("rocky", raw)
    assert f.problems == []
    assert f.os.family == "rhel" and raw["packages"].rc == 1       # rc 1: pcs is not installed
    assert f.packages_queried == ("corosync", "pacemaker", "pcs", "mariadb-server")
    assert f.packages == {"corosync": "3.1.7-1.el9", "pacemaker": "2.1.7-5.el9", "mariadb-server": "3:10.5.22-1.el9_2"}


@pytest.mark.parametrize("argv0,rc,answered", [
    ("rpm", 1, True), ("rpm", 4, True),          # rpm exits with the count of unknown names (4 queried)
    ("rpm", 5, False), ("rpm", 127, False),      # more than that: no answer (127: rpm not installed)
    ("dpkg-query", 1, True), ("dpkg-query", 2, False), ("dpkg-query", 124, False),
])
def test_a_package_query_without_an_answer_is_a_problem_not_an_empty_node(argv0, rc, answered):
    argv = (argv0, "-q", "--", "corosync", "pacemaker", "pcs", "mariadb-server")
    f = facts_from_raw("n", {"packages": Raw(argv, rc, "", "sh: 1: rpm: not found" if rc == 127 else "")})
    assert f.packages == {}
    assert (f.problems == []) == answered, f.problems


def test_lsblk_tree_is_flattened_with_parents():
    # Derived from the captured loop output: the same device given a child
    # (this VM has no udev, so no real partition nodes could be captured).
    import json
    data = json.loads(load(DATA / "debian12-loops")["lsblk"].stdout)
    disk = data["blockdevices"][0]
    disk["children"] = [dict(disk, name="loop0p1", path="/dev/loop0p1", type="part", pkname="loop0",
                             size=2**20, mountpoints=[None])]
    devs = fp.parse_lsblk(json.dumps(data))
    child = next(d for d in devs if d.name == "loop0p1")
    assert child.parent == "loop0" and devs[0].children == ("loop0p1",)
    assert [d.name for d in devs].index("loop0") < [d.name for d in devs].index("loop0p1")


def test_parse_errors_become_problems_not_crashes():
    raw = load(DATA / "debian12-host")
    from dataclasses import replace
    raw["lsblk"] = replace(raw["lsblk"], stdout="{not json")
    raw["meminfo"] = replace(raw["meminfo"], rc=1, stderr="cat: /proc/meminfo: Permission denied")
    f = facts_from_raw("vm", raw)
    assert f.block_devices == [] and f.memory_mib == 0
    assert len(f.problems) == 2 and any("lsblk" in p for p in f.problems)


def test_apt_sources_both_formats():
    text = ("deb [arch=amd64 signed-by=/k.gpg] http://mirror.lan/debian bookworm main\n"
            "# deb http://commented.example/ x y\nTypes: deb\nURIs: https://repo.zabbix.com/zabbix/6.0/debian\n")
    assert fp.parse_apt_uris(text) == ["http://mirror.lan/debian", "https://repo.zabbix.com/zabbix/6.0/debian"]


def test_gather_on_this_machine_matches_fixture_shape():
    f = gather(LocalExecutor("here"), packages=["corosync"], names=["localhost"], devices=["/dev/nonexistent-zbx"])
    assert f.os.id and f.kernel and f.memory_mib > 0 and f.cpus >= 1
    assert f.resolution["localhost"]
    assert f.signatures["/dev/nonexistent-zbx"] is None
    assert f.problems == []


def test_run_batch_frames_any_output_and_journals_each_command():
    from wizard.preflight.facts import run_batch
    from wizard.journal import Journal

    ex = LocalExecutor("here", journal=Journal())
    cmds = {"tricky": ["printf", "%s", "@@ZHA 1 0 5 5\nline\n"], "fails": ["sh", "-c", "echo oops >&2; exit 3"],
            "empty": ["true"], "slow": ["sleep", "5"]}
    raw = run_batch(ex, cmds, timeout=1)
    assert raw["tricky"].stdout == "@@ZHA 1 0 5 5\nline\n" and raw["tricky"].rc == 0
    assert (raw["fails"].rc, raw["fails"].stderr) == (3, "oops\n")
    assert (raw["empty"].rc, raw["empty"].stdout) == (0, "")
    assert raw["slow"].rc == 124 and "timed out" in raw["slow"].stderr
    assert sorted(e.argv[0] for e in ex.journal.entries) == ["printf", "sh", "sleep", "true"]


@pytest.mark.parametrize("node,address,loaded", [("node1", "10.213.0.11", "8.4.11"),
                                                  ("node2", "10.213.0.12", None)])   # node2: module not loaded yet
def test_debian12_vm_lab_node_with_real_drbd(node, address, loaded):
    # Captured over SSH from the VM lab (Debian 12 kernel 6.1, in-tree DRBD 8.4).
    f = facts_from_raw(node, load(DATA / f"debian12-vm-lab-{node}"))
    assert f.problems == []
    assert (f.os.platform_id, f.kernel, f.hostname) == ("debian12", "6.1.0-50-amd64", node)
    assert f.drbd.module_available and f.drbd.module_version == "8.4.11" and f.drbd.loaded_version == loaded
    assert f.drbd.minors == ()
    assert f.time == fp.TimeSync(True, False, False, "Etc/UTC")
    disks = {d.name: d for d in f.block_devices}
    assert disks["vdb"].size == 512 * 2**20 and disks["vdc"].size == 136 * 2**20
    assert disks["vda"].fstype == "ext4" and disks["vda"].mountpoints == ("/",)    # udev here: lsblk knows
    assert f.signatures == {"/dev/vdb": (), "/dev/vdc": ()}
    assert f.interface_with(address)[0].name == "eth0"
    assert f.resolution == {"node1": ("10.213.0.11",), "node2": ("10.213.0.12",)}
    assert [(l.proto, l.port, l.process) for l in f.listeners] == [("tcp", 22, "sshd"), ("tcp", 22, "sshd")]
    assert f.state.service("corosync") == "inactive" and f.state.apt_uris == ("http://10.213.0.1:8080/debian",)


def test_an_onlink_default_route_is_recognised():
    """`ip -j route show default` of a Debian node whose ifupdown `gateway` line made the route."""
    text = '[{"dst":"default","gateway":"10.213.0.1","dev":"eth0","flags":["onlink"]}]'
    assert fp.parse_default_routes(text) == (fp.Route("10.213.0.1", "eth0", onlink=True),)
