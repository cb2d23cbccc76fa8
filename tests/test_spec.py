"""ClusterSpec validation: every problem reported at once, naming its field."""

import pytest

from wizard.spec import (NO_FENCING_ACKNOWLEDGEMENT, IpmiDevice, Link, Node, NodeDisks, Secret,
                         SpecError, check, errors, validate, validate_secrets)


def test_example_is_valid(spec):
    assert validate(spec) == []


def _set(obj, path, value):
    """Set a dotted/indexed path like 'links[1].addresses[0]' on the spec."""
    parts = path.replace("]", "").replace("[", ".").split(".")
    for part in parts[:-1]:
        obj = obj[int(part)] if part.isdigit() else getattr(obj, part)
    last = parts[-1]
    if last.isdigit():
        obj[int(last)] = value
    else:
        setattr(obj, last, value)


# (change to apply, value, field that must be named, problem code)
BAD_INPUTS = [
    ("name", "bad name!", "name", "invalid-cluster-name"),
    ("name", "", "name", "invalid-cluster-name"),
    ("platform", "windows", "platform", "unknown-platform"),
    ("nodes[0].hostname", "node_1", "nodes[0].hostname", "invalid-hostname"),
    ("nodes[1].hostname", "node2.example.com", "nodes[1].hostname", "invalid-hostname"),
    ("nodes[1].hostname", "zbx-node1", "nodes[1].hostname", "duplicate-hostname"),
    ("nodes[0].address", "192.168.10.300", "nodes[0].address", "invalid-address"),
    ("nodes[1].address", "192.168.10.11", "nodes[1].address", "duplicate-address"),
    ("nodes[0].address", "127.0.0.1", "nodes[0].address", "unusable-ip"),
    ("nodes[0].ssh_port", 70000, "nodes[0].ssh_port", "invalid-port"),
    ("nodes[1].ssh_user", "Root User", "nodes[1].ssh_user", "invalid-user"),
    ("links[0].addresses[1]", "172.16.1.300", "links[0].addresses[1]", "invalid-ip"),
    ("links[0].addresses[1]", "172.16.9.2", "links[0].addresses[1]", "link-subnet"),
    ("links[0].addresses[1]", "172.16.1.1", "links[0].addresses[1]", "duplicate-address"),
    ("links[1].addresses[0]", "fd00::1", "links[1].addresses[1]", "mixed-family"),
    ("links[1].prefix", 40, "links[1].prefix", "invalid-prefix"),
    ("links[1].addresses", ["172.16.1.3", "172.16.1.4"], "links[1].addresses", "links-share-subnet"),
    ("links[0].addresses", ["172.16.1.1"], "links[0].addresses", "link-address-count"),
    ("links[0].addresses[0]", "172.16.1.0", "links[0].addresses[0]", "network-address"),
    ("storage.resource", "r 0", "storage.resource", "invalid-resource"),
    ("storage.nodes[0].disk", "sda6", "storage.nodes[0].disk", "invalid-device"),
    ("storage.nodes[1].meta_disk", "/dev/sda6", "storage.nodes[1].meta_disk", "meta-equals-disk"),
    ("storage.nodes[0].meta_disk", None, "storage.nodes[0].meta_disk", "meta-disk-missing"),
    ("storage.nodes[0].meta_index", -1, "storage.nodes[0].meta_index", "invalid-meta-index"),
    ("storage.meta_disk_mode", "sideways", "storage.meta_disk_mode", "invalid-meta-mode"),
    ("storage.minor", 300, "storage.minor", "invalid-minor"),
    ("storage.port", 80, "storage.port", "invalid-port"),
    ("storage.port", 5406, "storage.port", "port-conflict"),
    ("storage.port", 3306, "storage.port", "port-conflict"),
    ("storage.protocol", "A", "storage.protocol", "async-protocol"),
    ("storage.replication_link", 2, "storage.replication_link", "invalid-link"),
    ("storage.replication_link", "one", "storage.replication_link", "invalid-link"),
    ("storage.filesystem", "btrfs", "storage.filesystem", "invalid-filesystem"),
    ("storage.mount_point", "/var", "storage.mount_point", "system-mount-point"),
    ("storage.mount_point", "relative/dir", "storage.mount_point", "invalid-mount-point"),
    ("services.vip", "192.168.10.11", "services.vip", "vip-is-node-address"),
    ("services.vip", "10.0.0.10", "services.vip", "vip-outside-subnets"),
    ("services.vip", "not-an-ip", "services.vip", "invalid-ip"),
    ("services.vip_prefix", 33, "services.vip_prefix", "invalid-prefix"),
    ("services.vip_nics", ["eth0"], "services.vip_nics", "nic-count"),
    ("services.vip_nics[1]", "eth 0", "services.vip_nics[1]", "invalid-nic"),
    ("services.source_address", "192.168.10.12", "services.source_address", "source-is-node-address"),
    ("services.source_address", "192.168.10.999", "services.source_address", "invalid-ip"),
    ("zabbix.version", "5.0", "zabbix.version", "unsupported-version"),
    ("zabbix.version", "7.0", "zabbix.version", "version-not-in-os"),
    ("zabbix.package_source", "ftp", "zabbix.package_source", "invalid-source"),
    ("zabbix.mirror_url", "http://mirror.lan/", "zabbix.mirror_url", "mirror-url-unused"),
    ("zabbix.db_engine", "mysql", "zabbix.db_engine", "engine-not-in-os"),
    ("zabbix.db_name", "zabbix-db", "zabbix.db_name", "invalid-identifier"),
    ("zabbix.db_user", "", "zabbix.db_user", "invalid-identifier"),
    ("zabbix.server_name", "zabbix..example", "zabbix.server_name", "invalid-server-name"),
    ("zabbix.timezone", "Mars/Olympus", "zabbix.timezone", "invalid-timezone"),
    ("zabbix.sizing", "huge", "zabbix.sizing", "invalid-sizing"),
    ("fencing.method", "poison-pill", "fencing.method", "invalid-fencing"),
    ("fencing.ipmi[1].address", "192.168.20.11", "fencing.ipmi[1].address", "duplicate-bmc"),
    ("fencing.ipmi[0].address", "192.168.10.11", "fencing.ipmi[0].address", "bmc-is-node"),
    ("fencing.ipmi[0].user", " ", "fencing.ipmi[0].user", "missing-user"),
    ("fencing.ipmi", [IpmiDevice("192.168.20.11", "fence")], "fencing.ipmi", "ipmi-count"),
    ("nodes", [Node("zbx-node1", "192.168.10.11")], "nodes", "node-count"),
    ("links", [], "links", "link-count"),
]


@pytest.mark.parametrize("path,value,field,code", BAD_INPUTS, ids=[f"{b[0]}={b[1]!r}" for b in BAD_INPUTS])
def test_bad_input_names_field(spec, path, value, field, code):
    _set(spec, path, value)
    problems = errors(validate(spec))
    assert (field, code) in {(p.field, p.code) for p in problems}, problems
    for p in problems:
        assert p.message and p.fix


def test_enough_bad_inputs():
    assert len(BAD_INPUTS) >= 30


def test_every_problem_reported_at_once(spec):
    spec.name = "bad name"
    spec.nodes[0].hostname = "bad_host"
    spec.storage.protocol = "B"
    spec.services.vip = "1.2.3"
    fields = {p.field for p in errors(validate(spec))}
    assert {"name", "nodes[0].hostname", "storage.protocol", "services.vip"} <= fields


def test_check_raises_with_all_problems(spec):
    spec.zabbix.sizing = "huge"
    spec.storage.port = 5405
    with pytest.raises(SpecError) as info:
        check(spec)
    text = str(info.value)
    assert "zabbix.sizing" in text and "storage.port" in text


def test_single_link_is_a_warning_not_an_error(spec):
    spec.links = [spec.links[0]]
    spec.storage.replication_link = 0
    problems = validate(spec)
    assert errors(problems) == []
    assert [(p.field, p.code) for p in problems] == [("links", "single-link")]


def test_internal_meta_disk_warns_about_restore(spec):
    spec.storage.meta_disk_mode = "internal"
    for d in spec.storage.nodes:
        d.meta_disk = None
    problems = validate(spec)
    assert errors(problems) == []
    (warning,) = problems
    assert warning.code == "internal-meta" and "restore" in warning.message


def test_internal_mode_rejects_a_meta_disk(spec):
    spec.storage.meta_disk_mode = "internal"
    assert "meta-disk-with-internal" in {p.code for p in validate(spec)}


def test_no_fencing_needs_exact_acknowledgement(spec):
    spec.fencing.method = "none"
    spec.fencing.ipmi = []
    spec.fencing.acknowledgement = "yes"
    assert ("fencing.acknowledgement", "fencing-not-acknowledged") in {(p.field, p.code) for p in validate(spec)}
    spec.fencing.acknowledgement = NO_FENCING_ACKNOWLEDGEMENT
    problems = validate(spec)
    assert errors(problems) == [] and problems[0].code == "no-fencing"


def test_sbd_needs_a_device_that_is_not_a_drbd_disk(spec):
    spec.fencing.method = "sbd"
    assert "missing-sbd-device" in {p.code for p in validate(spec)}
    spec.fencing.sbd_device = "/dev/sda6"
    assert "sbd-is-drbd-disk" in {p.code for p in validate(spec)}
    spec.fencing.sbd_device = "/dev/disk/by-id/scsi-sbd"
    assert errors(validate(spec)) == []


def test_vip_may_sit_on_a_link_subnet(spec):
    spec.services.vip = "172.16.1.100"
    spec.services.source_address = ""
    assert errors(validate(spec)) == []


def test_source_address_may_equal_vip(spec):
    spec.services.source_address = spec.services.vip
    assert errors(validate(spec)) == []


def test_eight_links_allowed_nine_not(spec):
    spec.links = [Link([f"10.0.{i}.1", f"10.0.{i}.2"], 24) for i in range(8)]
    spec.storage.replication_link = 7
    assert errors(validate(spec)) == []
    spec.links.append(Link(["10.0.9.1", "10.0.9.2"], 24))
    assert "link-count" in {p.code for p in validate(spec)}


def test_mirror_source_needs_url_and_allows_any_version(spec):
    spec.zabbix.package_source = "mirror"
    spec.zabbix.version = "7.0"
    assert ("zabbix.mirror_url", "invalid-mirror-url") in {(p.field, p.code) for p in validate(spec)}
    spec.zabbix.mirror_url = "http://10.99.0.1:8080/debian"
    assert errors(validate(spec)) == []


def test_flexible_mode_rejects_index(spec):
    spec.storage.meta_disk_mode = "flexible"
    spec.storage.nodes[0].meta_index = 3
    assert ("storage.nodes[0].meta_index", "meta-index-unused") in {(p.field, p.code) for p in validate(spec)}


def test_ipv6_links_validate(spec):
    spec.links = [Link(["fd00:1::1", "fd00:1::2"], 64), Link(["fd00:2::1", "fd00:2::2"], 64)]
    assert errors(validate(spec)) == []


def test_secrets_validation(spec, secrets):
    assert validate_secrets(spec, secrets) == []
    secrets.db_password = Secret("short")
    del secrets.ipmi["zbx-node2"]
    secrets.ipmi["zbx-node9"] = Secret("x")
    found = {(p.field, p.code) for p in validate_secrets(spec, secrets)}
    assert found == {("secrets.db_password", "weak-secret"), ("secrets.ipmi.zbx-node2", "missing-secret"),
                     ("secrets.ipmi.zbx-node9", "unknown-node")}


def test_secret_hides_itself(secrets):
    assert "Db-pass" not in repr(secrets) and "Db-pass" not in str(secrets.db_password)
    assert secrets.db_password.reveal().startswith("Db-pass")


def test_node_disks_default_index(spec):
    assert NodeDisks("/dev/sdb").meta_index == 0


def test_drbd_secret_is_generated_and_checked(spec):
    from wizard.spec import DRBD_SECRET_MAX, Secret, Secrets, validate_secrets
    a, b = Secrets(), Secrets()
    assert a.drbd_secret and a.drbd_secret != b.drbd_secret
    assert 16 <= len(a.drbd_secret.reveal()) <= DRBD_SECRET_MAX
    base = dict(db_password=Secret("db-password-1"), hacluster_password=Secret("hacluster-1"),
                zabbix_admin_password=Secret("admin-pass-1"),
                ipmi={"zbx-node1": Secret("bmc-1"), "zbx-node2": Secret("bmc-2")})
    assert validate_secrets(spec, Secrets(**base)) == []
    for bad, code in (("", "missing-secret"), ("x" * 65, "invalid-secret"), ("short", "invalid-secret"),
                      ('has"quote-and-more-chars', "invalid-secret")):
        problems = validate_secrets(spec, Secrets(**base, drbd_secret=Secret(bad)))
        assert [(p.field, p.code) for p in problems] == [("secrets.drbd_secret", code)]
        assert all(bad not in str(p) for p in problems if bad)
