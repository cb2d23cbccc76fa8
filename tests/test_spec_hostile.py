"""Hostile values in the model: each is refused by one rule, naming its field.

Issue 14 items 1-3, 5 and 6: control characters in any field, patterns that
must match the whole value, paths judged in their normal form, floating and
BMC addresses, DNS names where an address is needed, passwords that two
consumers would read differently.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest

from wizard.spec import (NO_FENCING_ACKNOWLEDGEMENT, IpmiDevice, Secret, Secrets, devices_overlap, text_fields,
                         validate, validate_secrets, whole_disk)

ROOT = Path(__file__).resolve().parent.parent


def every_field_filled(spec):
    """The example with every optional text field given a value, so the walk reaches them all."""
    s = copy.deepcopy(spec)
    s.zabbix.mirror_url = "http://mirror.example.lan/debian"
    s.fencing.sbd_device = "/dev/disk/by-id/shared"
    s.fencing.acknowledgement = NO_FENCING_ACKNOWLEDGEMENT
    return s


def codes(problems, field):
    return {p.code for p in problems if p.field == field and p.severity == "error"}


def set_path(obj, path: str, value) -> None:
    parts = re.findall(r"[A-Za-z_]+|\[\d+\]", path)
    for part in parts[:-1]:
        obj = obj[int(part[1:-1])] if part.startswith("[") else getattr(obj, part)
    last = parts[-1]
    if last.startswith("["):
        obj[int(last[1:-1])] = value
    else:
        setattr(obj, last, value)


def test_the_walk_reaches_every_text_field(spec):
    paths = {p for p, _v in text_fields(every_field_filled(spec))}
    for expected in ("name", "platform", "nodes[1].hostname", "nodes[0].address", "nodes[0].ssh_user",
                     "links[1].addresses[0]", "storage.nodes[1].disk", "storage.nodes[0].meta_disk",
                     "storage.resource", "storage.mount_point", "storage.meta_disk_mode", "storage.protocol",
                     "services.vip", "services.vip_nics[1]", "services.source_address", "zabbix.db_name",
                     "zabbix.timezone", "zabbix.mirror_url", "fencing.ipmi[1].user", "fencing.ipmi[0].address",
                     "fencing.sbd_device", "fencing.acknowledgement", "fencing.method"):
        assert expected in paths


@pytest.mark.parametrize("bad", ["x\n", "\x00", "\x1b", "\r", "\t", "\x7f", "\x85", "\u2028"],
                         ids=["newline", "nul", "escape", "cr", "tab", "del", "c1-nel", "line-separator"])
def test_every_text_field_refuses_control_characters_by_name(spec, bad):
    base = every_field_filled(spec)
    for path, value in list(text_fields(base)):
        spec = copy.deepcopy(base)
        for spelling in (bad, value + bad, bad + value):
            set_path(spec, path, spelling)
            assert "control-character" in codes(validate(spec), path), (path, spelling)


def test_patterns_match_the_whole_value_not_up_to_a_trailing_newline(spec):
    # Independently of the control-character rule: each pattern check itself.
    cases = {"zabbix.db_name": "invalid-identifier", "zabbix.db_user": "invalid-identifier",
             "storage.resource": "invalid-resource", "name": "invalid-cluster-name",
             "nodes[0].hostname": "invalid-hostname", "nodes[0].ssh_user": "invalid-user",
             "services.vip_nics[0]": "invalid-nic", "zabbix.server_name": "invalid-server-name"}
    for path, code in cases.items():
        spec = copy.deepcopy(spec)
        current = dict(text_fields(spec))[path]
        set_path(spec, path, current + "\n")
        assert code in codes(validate(spec), path), path


def test_no_pattern_in_wizard_is_anchored_with_a_dollar():
    """`$` matches before a trailing newline: checks use fullmatch (or \\Z).
    A `$` is allowed only in a multi-line search over a whole text."""
    offenders = []
    for path in sorted((ROOT / "wizard").rglob("*.py")):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            for literal in re.findall(r"""r(["'])(.*?)(?<!\\)\1""", line):
                if literal[1].endswith("$") and "re.M" not in line:
                    offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
            if re.search(r"\bre\.match\(", line):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: re.match (use re.fullmatch): {line.strip()}")
    assert not offenders, "\n".join(offenders)


# -- paths ---------------------------------------------------------------------

@pytest.mark.parametrize("spelling,normal", [("/dev/./sda6", "/dev/sda6"), ("/dev//sda6", "/dev/sda6"),
                                             ("/dev/sda6/", "/dev/sda6"), ("/dev/disk/./by-id/x", "/dev/disk/by-id/x")])
def test_roundabout_device_paths_are_refused_with_the_normal_form(spec, spelling, normal):
    spec = copy.deepcopy(spec)
    spec.storage.nodes[0].disk = spelling
    problems = [p for p in validate(spec) if p.field == "storage.nodes[0].disk"]
    assert [p.code for p in problems] == ["device-not-normal"]
    assert normal in problems[0].fix


@pytest.mark.parametrize("disk,meta", [("/dev/sdb", "/dev/sdb1"), ("/dev/sdb2", "/dev/sdb"),
                                       ("/dev/nvme0n1", "/dev/nvme0n1p1"), ("/dev/vdb1", "/dev/vdb"),
                                       ("/dev/disk/by-id/ata-X", "/dev/disk/by-id/ata-X-part2")])
def test_a_disk_and_its_partition_cannot_be_data_and_meta(spec, disk, meta):
    spec = copy.deepcopy(spec)
    spec.storage.nodes[1].disk, spec.storage.nodes[1].meta_disk = disk, meta
    assert "meta-overlaps-disk" in codes(validate(spec), "storage.nodes[1].meta_disk")


def test_two_partitions_of_one_disk_are_fine(spec):
    assert not devices_overlap("/dev/sda5", "/dev/sda6")
    assert whole_disk("/dev/nvme0n1p2") == "/dev/nvme0n1" and whole_disk("/dev/sdb") == "/dev/sdb"
    assert not [p for p in validate(spec) if p.field.startswith("storage.nodes")]


@pytest.mark.parametrize("sbd", ["/dev/sda6", "/dev/sda5", "/dev/sda", "/dev/./sda6"])
def test_sbd_device_may_not_share_blocks_with_a_drbd_disk(spec, sbd):
    spec = copy.deepcopy(spec)
    spec.fencing.method, spec.fencing.ipmi, spec.fencing.sbd_device = "sbd", [], sbd
    assert codes(validate(spec), "fencing.sbd_device") & {"sbd-is-drbd-disk", "device-not-normal"}


@pytest.mark.parametrize("mp,code", [
    ("/.", "mount-point-not-normal"), ("/etc/.", "mount-point-not-normal"), ("/srv//zabbix", "mount-point-not-normal"),
    ("/srv/zabbix/", "mount-point-not-normal"), ("/srv/../etc", "mount-point-not-normal"),
    ("/usr/lib", "system-mount-point"), ("/etc/zabbix", "system-mount-point"), ("/var/lib/dpkg", "system-mount-point"),
    ("/var/lib/mysql", "system-mount-point"), ("/home/admin", "system-mount-point"), ("/", "system-mount-point"),
    ("/srv", "system-mount-point"), ("/opt", "system-mount-point"), ("/boot/efi", "system-mount-point"),
    ("srv/zabbix", "invalid-mount-point"), ("", "invalid-mount-point"), ("/srv/zab bix", "invalid-mount-point"),
])
def test_mount_point_is_a_fresh_directory_outside_system_trees(spec, mp, code):
    spec = copy.deepcopy(spec)
    spec.storage.mount_point = mp
    problems = [p for p in validate(spec) if p.field == "storage.mount_point"]
    assert [p.code for p in problems] == [code], problems
    if code == "system-mount-point" and mp.count("/") > 1:
        assert mp.split("/")[1] in problems[0].message          # says which tree


@pytest.mark.parametrize("mp", ["/srv/zabbix-ha", "/data", "/opt/zabbix-ha", "/mnt/drbd0"])
def test_fresh_directories_are_accepted(spec, mp):
    spec = copy.deepcopy(spec)
    spec.storage.mount_point = mp
    assert not codes(validate(spec), "storage.mount_point")


# -- addresses -----------------------------------------------------------------

def test_source_address_gets_the_vips_subnet_check(spec):
    spec = copy.deepcopy(spec)
    spec.services.source_address = "10.99.0.5"
    assert "source-outside-subnets" in codes(validate(spec), "services.source_address")


@pytest.mark.parametrize("addr,what", [("192.168.10.10", "VIP"), ("192.168.10.20", "source address"),
                                       ("172.16.2.1", "link 1 address")])
def test_bmc_may_not_be_a_cluster_address(spec, addr, what):
    spec = copy.deepcopy(spec)
    spec.fencing.ipmi[1].address = addr
    problems = [p for p in validate(spec) if p.field == "fencing.ipmi[1].address"]
    assert [p.code for p in problems] == ["bmc-is-cluster-address"] and what in problems[0].message


def test_a_dns_node_address_is_refused_at_its_own_field(spec):
    spec = copy.deepcopy(spec)
    spec.nodes[0].address = "zbx-node1.example.com"
    problems = [p for p in validate(spec) if p.severity == "error"]
    assert [(p.field, p.code) for p in problems] == [("nodes[0].address", "address-is-name")]
    assert "getent hosts zbx-node1.example.com" in problems[0].fix


def test_scoped_ipv6_is_not_an_address(spec):
    spec = copy.deepcopy(spec)
    spec.services.vip = "fe80::1%eth0"
    assert "invalid-ip" in codes(validate(spec), "services.vip")


def test_bmc_user_with_a_newline_is_refused(spec):
    spec = copy.deepcopy(spec)
    spec.fencing.ipmi[0] = IpmiDevice("192.168.20.11", "fence\naction=off")
    assert "control-character" in codes(validate(spec), "fencing.ipmi[0].user")


# -- secrets -------------------------------------------------------------------

def full_secrets(spec, **over):
    s = Secrets(db_password=Secret("db-secret-1"), hacluster_password=Secret("ha-secret-1"),
                zabbix_admin_password=Secret("admin-secret-1"),
                ipmi={n: Secret("bmc-secret") for n in spec.hostnames})
    for k, v in over.items():
        setattr(s, k, Secret(v))
    return s


@pytest.mark.parametrize("value", [" leading-space", "trailing-space ", "\tabcdefgh"])
def test_passwords_the_consumers_would_read_differently_are_refused(spec, value):
    problems = validate_secrets(spec, full_secrets(spec, db_password=value))
    assert codes(problems, "secrets.db_password") & {"secret-edge-space", "invalid-secret"}


@pytest.mark.parametrize("bad", ["pass\x1bword", "pass\nword", "pass\x00word", "password\x7f"])
def test_every_secret_refuses_control_characters(spec, bad):
    for name in ("db_password", "hacluster_password", "zabbix_admin_password"):
        problems = validate_secrets(spec, full_secrets(spec, **{name: bad}))
        assert "invalid-secret" in codes(problems, f"secrets.{name}")
    secrets = full_secrets(spec)
    secrets.ipmi["zbx-node2"] = Secret(bad)
    assert "invalid-secret" in codes(validate_secrets(spec, secrets), "secrets.ipmi.zbx-node2")
