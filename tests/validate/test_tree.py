import dataclasses

import pytest

from wizard.validators import CHECKERS, validate_tree

from .conftest import NODE1, NODE2, SAMPLES, File, assert_all_ok, mutate, sample

pytestmark = pytest.mark.validators


def tree():
    files = {path: File(sample(name), kind) for path, (name, kind) in SAMPLES.items()}
    return {NODE1: dict(files), NODE2: dict(files)}


def test_sample_tree_is_valid_and_every_kind_is_covered(ctx):
    assert {kind for _, kind in SAMPLES.values()} == set(CHECKERS)
    verdicts = validate_tree(tree(), ctx)
    assert_all_ok(verdicts)
    # One verdict per (node, file, tool).
    keys = [(v.node, v.path, v.tool) for v in verdicts]
    assert len(keys) == len(set(keys))
    for node in (NODE1, NODE2):
        assert {v.path for v in verdicts if v.node == node} == set(SAMPLES)


def test_node_specific_checks_run_as_each_node(ctx):
    # Only zbx-node2's interconnect is wrong: only its DRBD dry run fails.
    wrong = dataclasses.replace(ctx, link_addresses=(ctx.link_addresses[0], ("172.16.1.2", "172.16.9.2")))
    verdicts = validate_tree(tree(), wrong)
    up = {v.node: v for v in verdicts if v.tool == "drbdadm -d up"}
    assert up[NODE1].ok is False  # node1 sees its peer at an address node2 does not own
    assert up[NODE2].ok is False
    assert any("172.16.2.2" in m and "zbx-node2's interconnect" in m for m in up[NODE2].messages)


def test_files_that_must_match_differ(ctx):
    t = tree()
    t[NODE2]["/etc/corosync/corosync.conf"] = File(mutate(sample("corosync.conf"), "token: 3000", "token: 5000"),
                                                   "corosync")
    verdicts = validate_tree(t, ctx)
    same = [v for v in verdicts if v.tool == "python:identical" and v.path == "/etc/corosync/corosync.conf"]
    assert [v.ok for v in same] == [False, False]
    assert "differs between zbx-node1 and zbx-node2" in same[0].messages[0]
    # Each node's own copy is still valid on its own.
    assert all(v.ok for v in verdicts if v.path == "/etc/corosync/corosync.conf" and v.tool != "python:identical")


def test_a_broken_file_is_reported_for_the_node_that_has_it(ctx):
    t = tree()
    t[NODE2]["/etc/zabbix/zabbix_server.conf"] = File(mutate(sample("zabbix_server.conf"), "StartPollers", "StartPolers"),
                                                      "zabbix-server")
    bad = [v for v in validate_tree(t, ctx) if not v.ok]
    assert {(v.node, v.path) for v in bad} == {(NODE2, "/etc/zabbix/zabbix_server.conf")}


def test_unknown_kind_is_not_silently_valid(ctx):
    t = {NODE1: {"/etc/x.conf": File("x", "mystery")}, NODE2: {}}
    (v,) = validate_tree(t, ctx)
    assert not v.ok and v.skipped_reason == "no validator for kind 'mystery'"


def test_a_crashing_checker_fails_its_file_only(ctx, monkeypatch):
    import wizard.validators as validators

    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setitem(validators.CHECKERS, "hosts", boom)
    verdicts = validate_tree(tree(), ctx)
    bad = [v for v in verdicts if not v.ok]
    assert {(v.node, v.path, v.tool) for v in bad} == {
        (NODE1, "/etc/zabbix-ha/hosts", "hosts validator"), (NODE2, "/etc/zabbix-ha/hosts", "hosts validator")}
    assert bad[0].messages == ["validator crashed: RuntimeError: bug"]
