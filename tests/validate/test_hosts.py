import pytest

from wizard.validators import check_hosts

from .conftest import NODE1, assert_all_ok, assert_rejected, mutate, sample

pytestmark = pytest.mark.validators

HOSTS = sample("hosts")


def test_good_hosts(ctx):
    assert_all_ok(check_hosts(HOSTS, ctx, NODE1))


def test_bad_address(ctx):
    bad = mutate(HOSTS, "192.168.10.12", "192.168.10.312")
    assert_rejected(check_hosts(bad, ctx, NODE1), "python", "'192.168.10.312' is not an IP address")


def test_missing_node(ctx):
    bad = mutate(HOSTS, "zbx-node2.example.com zbx-node2", "zbx-node2.example.com")
    assert_rejected(check_hosts(bad, ctx, NODE1), "python", "no line for node zbx-node2")


def test_name_on_two_addresses(ctx):
    bad = HOSTS + "192.168.10.99 zbx-node1\n"
    assert_rejected(check_hosts(bad, ctx, NODE1), "python", "zbx-node1 maps to 192.168.10.99 and 192.168.10.11")
