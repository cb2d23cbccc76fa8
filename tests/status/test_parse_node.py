"""corosync-cfgtool and /proc/drbd parsers on real outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.status.conftest import DATA
from wizard.status.parse import ParseError, parse_cfgtool, parse_drbd

COROSYNC = DATA / "corosync"
FACTS = Path(__file__).resolve().parent.parent / "data" / "facts"


def links(name):
    return parse_cfgtool((COROSYNC / name).read_text())


def test_both_links_up_seen_from_each_node():
    for name, local in (("healthy.n1.txt", 1), ("healthy.n2.txt", 2)):
        c = links(name)
        assert (c.local_nodeid, c.transport) == (local, "knet")
        assert [(ln.id, ln.transport, ln.connected) for ln in c.links] == [(0, "udp", True), (1, "udp", True)]
        assert {p.nodeid for ln in c.links for p in ln.peers if p.is_local} == {local}
    assert [ln.address for ln in links("healthy.n1.txt").links] == ["10.77.1.1", "10.77.2.1"]


def test_one_link_down_on_both_sides():
    for name in ("link1-down.n1.txt", "link1-down.n2.txt"):
        c = links(name)
        assert [(ln.id, ln.connected) for ln in c.links] == [(0, True), (1, False)], name
        (peer,) = [p for p in c.links[1].peers if not p.is_local]
        assert (peer.state, peer.connected) == ("disconnected", False)


def test_peer_not_started_every_link_down():
    assert [ln.connected for ln in links("peer-down.n1.txt").links] == [False, False]


def test_corosync_not_running():
    with pytest.raises(ParseError):
        parse_cfgtool((COROSYNC / "not-running.stderr.txt").read_text())


def test_drbd_module_loaded_without_a_resource():
    # The VM lab's node before the install (tests/data/facts): module 8.4.11, nothing configured.
    raw = json.loads((FACTS / "debian12-vm-lab-node1" / "proc-drbd.json").read_text())
    assert parse_drbd(raw["stdout"], raw["rc"]) == ("8.4.11", ())


def test_drbd_module_not_loaded():
    raw = json.loads((FACTS / "debian12-host" / "proc-drbd.json").read_text())
    assert raw["rc"] != 0
    assert parse_drbd(raw["stdout"], raw["rc"]) == (None, ())
