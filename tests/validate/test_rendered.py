"""The real validators on files rendered from answers (not hand-written samples).

Each variant of the example answers is rendered with secrets and every file
of both nodes is handed to the tool that will read it in production.
"""

import pytest

from tests.validate.conftest import assert_all_ok
from wizard.commands import validation_context
from wizard.render import render
from wizard.spec import NO_FENCING_ACKNOWLEDGEMENT, ExtraVip, Link
from wizard.validators import simulate, validate_tree

pytestmark = pytest.mark.validators


def _no_fencing(spec):
    spec.fencing.method = "none"
    spec.fencing.ipmi = []
    spec.fencing.acknowledgement = NO_FENCING_ACKNOWLEDGEMENT


def _sbd(spec):
    spec.fencing.method = "sbd"
    spec.fencing.ipmi = []
    spec.fencing.sbd_device = "/dev/disk/by-id/scsi-shared-sbd"


def _internal(spec):
    spec.storage.meta_disk_mode = "internal"
    for d in spec.storage.nodes:
        d.meta_disk = None


def _flexible_xfs(spec):
    spec.storage.meta_disk_mode = "flexible"
    spec.storage.filesystem = "xfs"
    spec.storage.resource = "zabbix"
    spec.storage.minor = 3
    spec.storage.port = 7790


def _one_link(spec):
    spec.links = [spec.links[0]]
    spec.storage.replication_link = 0


def _four_links_ipv6(spec):
    spec.links = [Link([f"fd00:{i}::1", f"fd00:{i}::2"], 64) for i in range(1, 5)]
    spec.storage.replication_link = 3


def _per_node_nic_large(spec):
    spec.services.vip_nics = ["eth0", "ens18"]
    spec.services.source_address = ""
    spec.zabbix.sizing = "large"
    spec.zabbix.timezone = "Asia/Tokyo"


def _medium_mirror(spec):
    spec.zabbix.sizing = "medium"
    spec.zabbix.package_source = "mirror"
    spec.zabbix.mirror_url = "http://10.99.0.1:8080/debian"


def _extra_vips(spec):
    spec.services.extra_vips = [ExtraVip("192.168.10.101", 24, ["eth0", "eth0"]),
                                ExtraVip("192.168.10.102", 25, ["eth0", "ens18"], "backup")]


VARIANTS = {
    "example": lambda spec: None,
    "no-fencing": _no_fencing,
    "sbd": _sbd,
    "internal-meta": _internal,
    "flexible-xfs": _flexible_xfs,
    "one-link": _one_link,
    "four-links-ipv6": _four_links_ipv6,
    "per-node-nic-large": _per_node_nic_large,
    "medium-mirror": _medium_mirror,
    "extra-vips": _extra_vips,
}


@pytest.mark.parametrize("variant", VARIANTS)
def test_rendered_files_pass_real_validators(spec, secrets, variant):
    VARIANTS[variant](spec)
    tree = render(spec, secrets)
    verdicts = validate_tree(tree, validation_context(spec))
    assert_all_ok(verdicts)
    checked = {(v.node, v.path) for v in verdicts}
    # every rendered file of both nodes was looked at by something
    assert checked == {(node, path) for node, files in tree.items() for path in files}
    tools = {v.tool for v in verdicts}
    assert {"drbdadm dump", "drbdadm -d up", "corosync -t", "crm_verify", "crm_simulate",
            "apache2ctl -t", "mariadbd --help --verbose"} <= tools
    assert any(t.startswith("zabbix_server") for t in tools)


@pytest.mark.parametrize("variant", ["example", "no-fencing", "extra-vips"])
def test_simulated_failover_of_rendered_cib(spec, variant):
    VARIANTS[variant](spec)
    cib = next(f.text for f in render(spec)["zbx-node1"].values() if f.kind == "cib")
    result = simulate(cib, validation_context(spec))
    assert result.problems == []
    expected = {"both-online": "zbx-node1", "preferred-standby": "zbx-node2",
                "preferred-failed": "zbx-node2", "preferred-outdated": "zbx-node2"}
    assert {name: s.expected_node for name, s in result.scenarios.items()} == expected
    for name, scenario in result.scenarios.items():
        node = expected[name]
        assert scenario.ok, (name, scenario.problems)
        extra = ("vip-extra-192-168-10-101", "vip-extra-backup") if variant == "extra-vips" else ()
        for rsc in ("zabbix-fs", "zabbix-db", "zabbix-vip", "zabbix-web", "zabbix-server", *extra):
            assert scenario.placement[rsc] == [(node, "Started")], (name, rsc, scenario.placement[rsc])
        promoted = [n for n, role in scenario.placement["drbd-r0"] if role == "Promoted"]
        assert promoted == [node], (name, scenario.placement["drbd-r0"])


def test_broken_location_preference_changes_placement(spec):
    """The simulation catches a mistake no syntax check can: a CIB whose
    location constraint names the wrong node puts everything there."""
    cib = next(f.text for f in render(spec)["zbx-node1"].values() if f.kind == "cib")
    broken = cib.replace('node="zbx-node1" score="50"', 'node="zbx-node2" score="50"')
    assert broken != cib
    result = simulate(broken, validation_context(spec))
    both = result.scenarios["both-online"]
    assert both.placement["zabbix-server"] == [("zbx-node2", "Started")]
    assert not both.ok
