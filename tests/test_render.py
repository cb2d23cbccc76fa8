"""Rendering: decisions land in the files; secrets only in secret files."""

import re
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
                     "hosts", "zabbix-server-secrets", "zabbix-frontend", "ipmi-password", "zabbix-agent",
                     "mysql-monitor-client", "zabbix-server-agent"}


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
    # Two IPMI devices: a fixed delay, only on the device that fences the preferred node.
    assert cib.findall(".//primitive[@class='stonith']//nvpair[@name='pcmk_delay_max']") == []
    delays = cib.findall(".//primitive[@class='stonith']//nvpair[@name='pcmk_delay_base']")
    assert [d.get("id") for d in delays] == ["fence-zbx-node1-pcmk_delay_base"]
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
        "Filesystem", "mysql", "IPaddr2", "IPaddr2", "IPsrcaddr", "apache", "zabbix-server"]
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
    # Zabbix 7.0.22 starts on Debian 13's MariaDB 11.8 as it is (measured in the
    # trixie tree: tests/validate/test_trixie.py)
    assert "AllowUnsupportedDBVersions" not in _files(render(spec))["zabbix-server"].text


def test_debian13_mariadb_file_has_no_option_11_8_deprecates(spec):
    assert "innodb_file_per_table   = 1\n" in _files(render(spec))["mariadb"].text
    spec.platform = "debian13"
    spec.zabbix.version = "7.0"
    text = _files(render(spec))["mariadb"].text
    assert "innodb_file_per_table" not in text
    assert "collation-server        = utf8mb4_bin\n" in text


def test_debian13_cib_claims_pacemaker_3_0s_schema(spec):
    assert '<cib validate-with="pacemaker-3.9" ' in _files(render(spec))["cib"].text
    spec.platform = "debian13"
    spec.zabbix.version = "7.0"
    assert '<cib validate-with="pacemaker-4.0" ' in _files(render(spec))["cib"].text


def test_debian13_runs_drbds_fence_peer_handler_through_the_node_state_wrapper(spec):
    files = _files(render(spec))
    assert "drbd-fence-peer" not in files                        # Pacemaker 2.1.5 writes true/online
    assert 'fence-peer "/usr/lib/drbd/crm-fence-peer.sh --timeout=' in files["drbd-global"].text
    spec.platform = "debian13"
    spec.zabbix.version = "7.0"
    for method in ("ipmi", "none"):                               # stonith-disabled reads node_state too
        if method == "none":
            spec.fencing.method, spec.fencing.ipmi = "none", []
            spec.fencing.acknowledgement = NO_FENCING_ACKNOWLEDGEMENT
        files = _files(render(spec))
        wrapper = files["drbd-fence-peer"]
        assert (wrapper.path, wrapper.mode) == ("/usr/local/lib/zabbix-ha/crm-fence-peer.sh", 0o755)
        assert 'fence-peer "/usr/local/lib/zabbix-ha/crm-fence-peer.sh' in files["drbd-global"].text
        assert 'exec /usr/lib/drbd/crm-fence-peer.sh "$@"' in wrapper.text


def test_sizing_tier_sets_values(spec):
    spec.zabbix.sizing = "large"
    files = _files(render(spec))
    assert "innodb_buffer_pool_size = 8G" in files["mariadb"].text
    assert "StartPollers=50" in files["zabbix-server"].text
    assert "datadir                 = /srv/zabbix-ha/mysql" in files["mariadb"].text


def _seconds(value: str) -> int:
    assert value.endswith("s"), value
    return int(value[:-1])


def _op(cib, rsc, name):
    ops = cib.findall(f".//primitive[@id='{rsc}']/operations/op[@name='{name}']")
    assert len(ops) == 1, (rsc, name)
    return ops[0]


def test_debian_paths_in_zabbix_files(spec, secrets):
    """notes/lab.md Part D.4/D.5: the server died on LogFile=/var/log/zabbix/, the
    frontend asked for setup because Debian reads /etc/zabbix/zabbix.conf.php."""
    files = _files(render(spec, secrets))
    server = files["zabbix-server"].text
    assert "LogFile=/var/log/zabbix-server/zabbix_server.log" in server
    assert "FpingLocation=/usr/bin/fping" in server.splitlines()
    assert "AlertScriptsPath=/etc/zabbix/alert.d" in server.splitlines()
    assert "ExternalScripts=/etc/zabbix/externalscripts" in server.splitlines()
    assert "PidFile=/run/zabbix/zabbix_server.pid" in server.splitlines()
    fe = files["zabbix-frontend"]
    assert (fe.path, fe.mode, fe.owner, fe.group) == ("/etc/zabbix/zabbix.conf.php", 0o640, "root", "www-data")


def test_agent_allows_the_addresses_the_server_polls_from(spec):
    """notes/lab.md Part D.6: Server=127.0.0.1 only, while checks came from the source address."""
    for node in ("zbx-node1", "zbx-node2"):
        agent = _files(render(spec), node)["zabbix-agent"]
        assert agent.path == "/etc/zabbix/zabbix_agentd.conf" and agent.mode == 0o644
        lines = agent.text.splitlines()
        assert "Server=127.0.0.1,192.168.10.10,192.168.10.20" in lines
        assert "ServerActive=192.168.10.10" in lines
        assert f"Hostname={node}" in lines
        assert "LogFile=/var/log/zabbix-agent/zabbix_agentd.log" in lines
    spec.services.source_address = ""          # source = VIP: listed once
    assert "Server=127.0.0.1,192.168.10.10" in _files(render(spec))["zabbix-agent"].text.splitlines()


def test_cib_timeouts_that_keep_planned_moves_from_fencing(spec):
    cib = ET.fromstring(_files(render(spec))["cib"].text)
    assert _seconds(_op(cib, "zabbix-server", "stop").get("timeout")) >= 300
    assert _seconds(_op(cib, "zabbix-db", "start").get("timeout")) >= 300
    assert _seconds(_op(cib, "zabbix-db", "stop").get("timeout")) >= 300
    meta = {n.get("name"): n.get("value") for n in cib.findall(".//group[@id='zabbix']/meta_attributes/nvpair")}
    assert int(meta["migration-threshold"]) >= 1
    assert _seconds(meta["failure-timeout"]) > 0


def test_cib_mariadb_monitor_runs_a_query_without_a_secret(spec, secrets):
    from wizard.render import MONITOR_DB_USER
    tree = render(spec, secrets)
    cib_text = _files(tree)["cib"].text
    cib = ET.fromstring(cib_text)
    params = {n.get("name"): n.get("value")
              for n in cib.findall(".//primitive[@id='zabbix-db']/instance_attributes/nvpair")}
    assert params["test_user"] == MONITOR_DB_USER
    assert params["test_table"] == "zabbix.dbversion"
    assert "test_passwd" not in params
    assert params["client_binary"] == "/usr/local/lib/zabbix-ha/mysql-monitor-client"
    monitor = _op(cib, "zabbix-db", "monitor")
    level = monitor.find("instance_attributes/nvpair[@name='OCF_CHECK_LEVEL']")
    assert level is not None and level.get("value") == "10"
    assert params["log"] == "/var/log/mysql/error.log"
    client = _files(tree)["mysql-monitor-client"]
    assert (client.path, client.mode, client.secret) == ("/usr/local/lib/zabbix-ha/mysql-monitor-client", 0o755, False)
    assert f"--reuid={MONITOR_DB_USER}" in client.text
    assert not any(v in cib_text for v in secrets.values())


def test_monitor_user_sql_grants_only_a_select_by_socket(spec):
    from wizard.render import monitor_os_user_argv, monitor_user_sql
    sql = monitor_user_sql(spec)
    assert sql[0] == "CREATE USER IF NOT EXISTS 'zha_monitor'@'localhost' IDENTIFIED VIA unix_socket"
    assert sql[-1] == "GRANT SELECT ON `zabbix`.`dbversion` TO 'zha_monitor'@'localhost'"
    assert not any("PASSWORD" in s.upper() for s in sql)
    assert monitor_os_user_argv(spec)[-1] == "zha_monitor"


@pytest.mark.parametrize("method", ["ipmi", "sbd"])
def test_fence_timeouts_and_delays_are_consistent(spec, method):
    from wizard.render import SBD_MSGWAIT_S
    if method == "sbd":
        spec.fencing.method = "sbd"
        spec.fencing.ipmi = []
        spec.fencing.sbd_device = "/dev/disk/by-id/scsi-shared-sbd"
    cib = ET.fromstring(_files(render(spec))["cib"].text)
    stonith = cib.findall(".//primitive[@class='stonith']")
    assert stonith
    for dev in stonith:
        for op in ("start", "monitor"):
            assert _seconds(_op(cib, dev.get("id"), op).get("timeout")) >= 60, (dev.get("id"), op)
    props = {n.get("name"): n.get("value") for n in cib.findall(".//cluster_property_set/nvpair")}
    delay_param = "pcmk_delay_max" if method == "sbd" else "pcmk_delay_base"
    delays = cib.findall(f".//primitive[@class='stonith']//nvpair[@name='{delay_param}']")
    assert len(delays) == 1
    delay = _seconds(delays[0].get("value"))
    priority = _seconds(props["priority-fencing-delay"])
    assert priority >= 2 * delay                  # the dynamic tie-break dominates
    action = SBD_MSGWAIT_S * 1.2 if method == "sbd" else 60
    assert _seconds(props["stonith-timeout"]) >= priority + delay + action


def test_drbd_peer_authentication_from_the_secrets_file(spec, secrets):
    tree = render(spec, secrets)
    res = {n: _files(tree, n)["drbd-resource"] for n in tree}
    assert res["zbx-node1"].text == res["zbx-node2"].text           # the same secret on both nodes
    text = res["zbx-node1"].text
    assert "cram-hmac-alg sha256;" in text
    assert f'shared-secret "{secrets.drbd_secret.reveal()}";' in text
    assert res["zbx-node1"].secret and res["zbx-node1"].mode == 0o600
    assert render(spec, secrets)["zbx-node1"][res["zbx-node1"].path].text == text   # stable on a rerun
    preview = _files(render(spec))["drbd-resource"]                  # no secrets: no auth, not secret
    assert "shared-secret" not in preview.text and not preview.secret


def test_drbd_resync_tuning_and_fence_peer_timeout(spec):
    from wizard.render import fence_peer_timeouts_s, stonith_timeout_s
    gc = _files(render(spec))["drbd-global"].text
    for option in ("al-extents 3389;", "c-plan-ahead 20;", "c-fill-target 100k;", "c-max-rate 110M;",
                   "c-min-rate 10M;"):
        assert option in gc
    timeout, dc_timeout = (int(x) for x in re.search(
        r'fence-peer "/usr/lib/drbd/crm-fence-peer.sh --timeout=(\d+) --dc-timeout=(\d+)";', gc).groups())
    cib = ET.fromstring(_files(render(spec))["cib"].text)
    props = {n.get("name"): n.get("value") for n in cib.findall(".//cluster_property_set/nvpair")}
    # Longer than the cluster needs to wait its fencing delays and reboot the peer.
    assert timeout > int(props["stonith-timeout"].rstrip("s")) == stonith_timeout_s(spec)
    assert timeout > int(props["priority-fencing-delay"].rstrip("s")) + 60
    assert dc_timeout > timeout and (timeout, dc_timeout) == fence_peer_timeouts_s(spec)
    spec.fencing.method = "none"
    spec.fencing.ipmi = []
    spec.fencing.acknowledgement = NO_FENCING_ACKNOWLEDGEMENT
    assert 'fence-peer "/usr/lib/drbd/crm-fence-peer.sh";' in _files(render(spec))["drbd-global"].text


def test_sbd_complete_in_the_files(spec):
    """SBD mode rendered a fence device and nothing for the sbd daemon (issue 11 review)."""
    from wizard.render import (SBD_MSGWAIT_S, SBD_WATCHDOG_TIMEOUT_S, sbd_create_argv, sbd_watchdog_module,
                               stonith_timeout_s)
    assert "sbd" not in _files(render(spec))                       # IPMI: no sbd file
    spec.fencing.method = "sbd"
    spec.fencing.ipmi = []
    spec.fencing.sbd_device = "/dev/disk/by-id/scsi-shared-sbd"
    for node in ("zbx-node1", "zbx-node2"):
        f = _files(render(spec), node)["sbd"]
        assert (f.path, f.mode, f.secret) == ("/etc/default/sbd", 0o644, False)
        lines = f.text.splitlines()
        assert 'SBD_DEVICE="/dev/disk/by-id/scsi-shared-sbd"' in lines
        assert "SBD_PACEMAKER=yes" in lines and "SBD_WATCHDOG_DEV=/dev/watchdog" in lines
        assert f"SBD_WATCHDOG_TIMEOUT={SBD_WATCHDOG_TIMEOUT_S}" in lines
    assert sbd_create_argv(spec) == ["sbd", "-d", "/dev/disk/by-id/scsi-shared-sbd", "-1", str(SBD_WATCHDOG_TIMEOUT_S),
                                     "-4", str(SBD_MSGWAIT_S), "create"]
    assert SBD_MSGWAIT_S >= 2 * SBD_WATCHDOG_TIMEOUT_S             # sbd(8): msgwait at least twice the watchdog
    assert sbd_watchdog_module(spec) == "softdog"
    cib = ET.fromstring(_files(render(spec))["cib"].text)
    props = {n.get("name"): n.get("value") for n in cib.findall(".//cluster_property_set/nvpair")}
    assert _seconds(props["stonith-timeout"]) == stonith_timeout_s(spec) >= 1.2 * SBD_MSGWAIT_S
    devices = cib.findall(".//primitive[@class='stonith']")
    assert [d.get("type") for d in devices] == ["fence_sbd"]
    assert devices[0].find(".//nvpair[@name='devices']").get("value") == spec.fencing.sbd_device


def test_no_cluster_operation_is_bounded_below_a_minute(spec, secrets):
    """A timed-out operation is a failure Pacemaker acts on; on the lab, 20 s monitors and
    the default 20 s start of an address failed the install while the node was merely slow."""
    tree = render(spec, secrets)
    root = ET.fromstring(_files(tree)["cib"].text)
    default = root.find(".//op_defaults//nvpair[@name='timeout']")
    assert default is not None and int(default.get("value").rstrip("s")) >= 60
    for op in root.iter("op"):
        if op.get("timeout"):
            assert int(op.get("timeout").rstrip("s")) >= 60, op.attrib
