"""Rendering: decisions land in the files; secrets only in secret files."""

import xml.etree.ElementTree as ET

import pytest

from wizard.render import render
from wizard.spec import NO_FENCING_ACKNOWLEDGEMENT, Link, SpecError


def _files(tree, node="zbx-node1"):
    return {f.kind: f for f in tree[node].values()}


def test_both_nodes_get_every_file(spec, secrets):
    tree = render(spec, secrets)
    assert set(tree) == {"zbx-node1", "zbx-node2"}
    kinds = set(_files(tree))
    assert kinds == {"drbd-global", "drbd-resource", "corosync", "cib", "mariadb", "apache", "zabbix-server",
                     "hosts", "zabbix-server-secrets", "zabbix-frontend", "ipmi-password"}


def test_secrets_only_in_secret_files(spec, secrets):
    tree = render(spec, secrets)
    values = secrets.values()
    for node, files in tree.items():
        for f in files.values():
            leaked = [v for v in values if v in f.text]
            if f.secret:
                assert f.mode & 0o007 == 0, f.path
            else:
                assert leaked == [], f"{node}:{f.path} holds a secret"
    fe = _files(tree)["zabbix-frontend"]
    # the PHP literal escapes the quote and backslash of the password
    assert r"$DB['PASSWORD'] = 'Db-pass\'with\\quote-1';" in fe.text
    assert _files(tree)["zabbix-server-secrets"].text.splitlines()[-1] == "DBPassword=" + secrets.db_password.reveal()


def test_without_secrets_no_secret_file(spec):
    tree = render(spec)
    assert not any(f.secret for files in tree.values() for f in files.values())


def test_invalid_spec_is_not_rendered(spec):
    spec.storage.protocol = "A"
    with pytest.raises(SpecError):
        render(spec)


def test_drbd_resource_uses_replication_link_and_indexed_meta(spec):
    res = _files(render(spec))["drbd-resource"].text
    assert "address   172.16.2.1:7788;" in res and "address   172.16.2.2:7788;" in res
    assert "meta-disk /dev/sda5[0];" in res
    spec.storage.replication_link = 0
    spec.storage.meta_disk_mode = "flexible"
    res = _files(render(spec))["drbd-resource"].text
    assert "172.16.1.1:7788" in res and "meta-disk /dev/sda5;" in res


def test_drbd_ipv6_address_syntax(spec):
    spec.links = [Link(["fd00:1::1", "fd00:1::2"], 64)]
    spec.storage.replication_link = 0
    assert "address   ipv6 [fd00:1::1]:7788;" in _files(render(spec))["drbd-resource"].text


def test_fencing_modes(spec):
    files = _files(render(spec))
    assert "fencing resource-and-stonith;" in files["drbd-global"].text
    cib = ET.fromstring(files["cib"].text)
    assert cib.find(".//nvpair[@name='stonith-enabled']").get("value") == "true"
    delays = cib.findall(".//primitive[@class='stonith']//nvpair[@name='pcmk_delay_max']")
    assert len(delays) == 1  # random delay on one side only
    assert cib.find(".//nvpair[@name='password_script']") is not None

    spec.fencing.method = "none"
    spec.fencing.ipmi = []
    spec.fencing.acknowledgement = NO_FENCING_ACKNOWLEDGEMENT
    files = _files(render(spec))
    assert "fencing resource-only;" in files["drbd-global"].text
    assert "crm-fence-peer.sh" in files["drbd-global"].text
    cib = ET.fromstring(files["cib"].text)
    assert cib.find(".//nvpair[@name='stonith-enabled']").get("value") == "false"
    assert cib.find(".//primitive[@class='stonith']") is None


def test_cib_group_order_and_constraints(spec):
    cib = ET.fromstring(_files(render(spec))["cib"].text)
    group = cib.find(".//group[@id='zabbix']")
    assert [p.get("type") for p in group.findall("primitive")] == [
        "Filesystem", "mysql", "IPaddr2", "IPaddr2", "IPsrcaddr", "apache", "zabbixserver"]
    assert cib.find(".//rsc_colocation").get("with-rsc-role") == "Promoted"
    assert cib.find(".//rsc_order").get("first-action") == "promote"
    assert cib.find(".//rsc_location[@rsc='zabbix']").get("node") == "zbx-node1"
    assert cib.find(".//nvpair[@name='statusurl']").get("value").endswith("/server-status")
    assert cib.get("crm_feature_set") is None
    # source address equal to the VIP: no second IPaddr2
    spec.services.source_address = ""
    group = ET.fromstring(_files(render(spec))["cib"].text).find(".//group[@id='zabbix']")
    assert [p.get("type") for p in group.findall("primitive")].count("IPaddr2") == 1


def test_vip_nic_per_node_uses_rules(spec):
    spec.services.vip_nics = ["eth0", "ens18"]
    cib = ET.fromstring(_files(render(spec))["cib"].text)
    vip = cib.find(".//primitive[@id='zabbix-vip']")
    nics = {ia.find("rule/expression").get("value"): ia.find("nvpair").get("value")
            for ia in vip.findall("instance_attributes") if ia.find("rule") is not None}
    assert nics == {"zbx-node1": "eth0", "zbx-node2": "ens18"}


def test_corosync_has_every_link_and_two_node(spec):
    text = _files(render(spec))["corosync"].text
    assert "ring0_addr: 172.16.1.2" in text and "ring1_addr: 172.16.2.2" in text
    assert "two_node: 1" in text and "transport: knet" in text
    assert text.count("interface {") == 2


def test_zabbix_needs_unsupported_db_flag_on_debian12(spec):
    text = _files(render(spec))["zabbix-server"].text
    assert "AllowUnsupportedDBVersions=1" in text
    assert "ListenIP=192.168.10.10" in text and "SourceIP=192.168.10.20" in text
    assert "HANodeName" not in text.replace("# HANodeName", "")
    spec.platform = "debian13"
    spec.zabbix.version = "7.0"
    # MariaDB 11.8 is newer than 7.0's 11.4 too
    assert "AllowUnsupportedDBVersions=1" in _files(render(spec))["zabbix-server"].text


def test_sizing_tier_sets_values(spec):
    spec.zabbix.sizing = "large"
    files = _files(render(spec))
    assert "innodb_buffer_pool_size = 8G" in files["mariadb"].text
    assert "StartPollers=50" in files["zabbix-server"].text
    assert "datadir                 = /srv/zabbix-ha/mysql" in files["mariadb"].text
