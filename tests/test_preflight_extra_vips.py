"""Preflight for services.extra_vips: their NICs are checked like the VIP's, the address-in-use
probe asks about them too, and on a rerun a new one that someone else answers on is still caught
while the running cluster's own addresses are not taken for strangers."""

from __future__ import annotations

from dataclasses import replace

from tests.test_preflight import N1, N2, World
from wizard.preflight.parse import Address
from wizard.preflight.probes import AddressUse, address_use
from wizard.remote import LocalExecutor
from wizard.spec import ExtraVip

EXTRA = "192.168.10.101"


def _world(nics=("eth0", "eth0")):
    w = World()
    w.spec.services.extra_vips = [ExtraVip(EXTRA, 24, list(nics))]
    return w


def _codes(findings):
    return [(f.code, f.node, f.payload.get("address")) for f in findings if f.severity == "error"]


def test_a_healthy_pair_with_an_extra_vip_has_no_findings():
    assert _world().run() == []


def test_the_extra_vips_nic_is_checked_and_the_fix_names_its_field():
    found = [f for f in _world(("eth0", "ens19")).run() if f.code == "vip-nic-missing"]
    assert [(f.node, f.payload["address"]) for f in found] == [(N2, EXTRA)]
    assert "services.extra_vips[0].nics" in found[0].fix


def test_an_extra_vip_configured_by_hand_is_refused():
    w = _world()
    eth0 = w.facts[N1].interface("eth0")
    w.iface(N1, "eth0", addresses=(*eth0.addresses, Address(EXTRA, 24, "inet", "global")))
    assert ("vip-configured", N1, EXTRA) in _codes(w.run())


def test_address_in_use_on_an_extra_vip():
    w = _world()
    w.probes.addresses = [AddressUse(EXTRA, N1, True, False)]
    assert ("address-in-use", N1, EXTRA) in _codes(w.run())


def _rerun_with_cluster_on_node1(w):
    """A rerun: the running cluster has the VIP on node1 and everything answers on it."""
    for node in (N1, N2):
        w.state(node, zabbix_ha_spec=True)
    eth0 = w.facts[N1].interface("eth0")
    w.iface(N1, "eth0", addresses=(*eth0.addresses, Address("192.168.10.10", 24, "inet", "global")))
    w.probes.addresses = [AddressUse("192.168.10.10", n, True, True) for n in (N1, N2)]


def test_a_rerun_takes_the_clusters_own_vip_for_its_own_but_probes_a_new_extra_vip():
    w = _world()
    _rerun_with_cluster_on_node1(w)
    assert "address-in-use" not in [c for c, _, _ in _codes(w.run())]
    w.probes.addresses.append(AddressUse(EXTRA, N2, False, True))          # someone else has it
    assert ("address-in-use", N2, EXTRA) in _codes(w.run())


def test_a_rerun_takes_the_applied_answers_addresses_for_its_own_while_they_move():
    """Lab run 6: mid-switchover neither node carried the source address when the facts were read,
    then node2 answered ARP for it: the cluster's own address, not a stranger's."""
    from wizard.answers import dump_answers

    w = _world()
    w.spec.services.source_address = "192.168.10.20"
    applied = dump_answers(replace(w.spec, services=replace(w.spec.services, extra_vips=[])))
    for node in (N1, N2):
        w.state(node, zabbix_ha_spec=True, zabbix_ha_name=w.spec.name, zabbix_ha_answers=applied)
    w.probes.addresses = [AddressUse("192.168.10.20", N1, False, True), AddressUse(EXTRA, N1, False, True)]
    # The source address was applied before: the cluster's own. The extra VIP is new: a stranger has it.
    assert [(c, a) for c, _, a in _codes(w.run()) if c == "address-in-use"] == [("address-in-use", EXTRA)]


def test_a_rerun_without_both_nodes_facts_does_not_guess():
    w = _world()
    _rerun_with_cluster_on_node1(w)
    w.probes.addresses.append(AddressUse(EXTRA, N2, False, True))
    w.facts[N2] = None
    assert "address-in-use" not in [c for c, _, _ in _codes(w.run())]


def test_the_probe_asks_about_every_floating_address():
    w = _world()
    w.spec.services.source_address = "192.168.10.20"
    asked = []

    class Recorder(LocalExecutor):
        def run(self, argv, **kw):
            asked.append(argv[4:])
            return replace(super().run(["true"]), stdout="")

    address_use(w.spec, {n: Recorder(n) for n in w.spec.hostnames})
    assert asked == [["192.168.10.10", "192.168.10.20", EXTRA]] * 2
