import dataclasses

import pytest

from wizard.validators import check_corosync

from .conftest import NODE1, NODE2, assert_all_ok, assert_rejected, mutate, sample

pytestmark = pytest.mark.validators

CONF = sample("corosync.conf")


@pytest.mark.parametrize("node", [NODE1, NODE2])
def test_good_file_passes_as_each_node(ctx, node):
    verdicts = check_corosync(CONF, ctx, node)
    assert [v.tool for v in verdicts] == ["corosync -t", "python"]
    assert_all_ok(verdicts)


def test_non_integer_token(ctx):
    bad = mutate(CONF, "token: 3000", "token: abc")
    v = assert_rejected(check_corosync(bad, ctx, NODE1), "corosync -t", 'Value of key "totem.token"')
    # The line number points into the original file, under its real path.
    assert any("/etc/corosync/corosync.conf:8:" in m for m in v.messages), v.messages


def test_missing_closing_brace(ctx):
    bad = CONF.rstrip().rsplit("}", 1)[0]
    assert_rejected(check_corosync(bad, ctx, NODE1), "corosync -t", "Missing closing brace")


def test_bad_cipher(ctx):
    bad = mutate(CONF, "crypto_cipher: aes256", "crypto_cipher: aes999")
    verdicts = check_corosync(bad, ctx, NODE1)
    assert_rejected(verdicts, "corosync -t", "Invalid cipher type")


def test_duplicate_nodeid(ctx):
    bad = mutate(CONF, "nodeid: 2", "nodeid: 1")
    assert_rejected(check_corosync(bad, ctx, NODE2), "corosync -t", "Nodeid 1 appears twice")


def test_link_count_mismatch(ctx):
    bad = mutate(CONF, "        ring1_addr: 172.16.2.2\n", "")
    verdicts = check_corosync(bad, ctx, NODE1)
    assert_rejected(verdicts, "corosync -t", "Not all nodes have the same number of links")
    assert_rejected(verdicts, "python", "zbx-node2 has no ring1_addr")


def test_node_not_in_nodelist_is_refused_by_corosync(ctx):
    # Checking as a node that the file does not list: corosync cannot find itself.
    other = dataclasses.replace(ctx, nodes=(NODE1, "zbx-node3"), link_addresses=())
    assert_rejected(check_corosync(CONF, other, "zbx-node3"), "corosync -t", "No valid name found for local host")


def test_unknown_key_and_bad_provider_pass_corosync_but_not_python(ctx):
    bad = mutate(CONF, "token: 3000", "tokn: 3000")
    bad = mutate(bad, "provider: corosync_votequorum", "provider: corosync_votequorumX")
    verdicts = check_corosync(bad, ctx, NODE1)
    assert verdicts[0].ok  # the trap: corosync -t accepts both
    v = assert_rejected(verdicts, "python", "unknown key 'tokn' in totem")
    assert any("corosync_votequorumX" in m for m in v.messages)


def test_ring_address_that_does_not_match_the_spec(ctx):
    bad = mutate(CONF, "ring0_addr: 172.16.1.2", "ring0_addr: 172.16.1.22")
    assert_rejected(check_corosync(bad, ctx, NODE1), "python", "ring0_addr is 172.16.1.22, expected 172.16.1.2")


def test_bad_octet(ctx):
    bad = mutate(CONF, "ring0_addr: 172.16.1.2", "ring0_addr: 172.16.1.300")
    verdicts = check_corosync(bad, ctx, NODE1)
    assert_rejected(verdicts, "corosync -t", "failed to parse node address")
    assert_rejected(verdicts, "python", "'172.16.1.300' is not a valid IPv4 address")


def test_two_node_is_required(ctx):
    bad = mutate(CONF, "two_node: 1", "two_node: 0")
    assert_rejected(check_corosync(bad, ctx, NODE1), "python", "two_node must be 1")
