import pytest

from wizard.validators import check_apache

from .conftest import NODE1, assert_all_ok, assert_rejected, mutate, sample

pytestmark = pytest.mark.validators

VHOST = sample("zabbix-ha.conf")


def test_good_vhost_passes(ctx):
    verdicts = check_apache(VHOST, ctx, NODE1)
    assert [v.tool for v in verdicts] == ["apache2ctl -t", "python"]
    assert_all_ok(verdicts)


def test_misspelled_directive(ctx):
    bad = mutate(VHOST, "DocumentRoot /usr/share/zabbix", "DocumentRooot /usr/share/zabbix")
    v = assert_rejected(check_apache(bad, ctx, NODE1), "apache2ctl -t", "Invalid command 'DocumentRooot'")
    assert any("/etc/apache2/sites-available/zabbix-ha.conf" in m for m in v.messages), v.messages


def test_unclosed_virtualhost(ctx):
    bad = mutate(VHOST, "</VirtualHost>", "")
    assert_rejected(check_apache(bad, ctx, NODE1), "apache2ctl -t", "<VirtualHost> was not closed")


def test_unknown_authz_provider(ctx):
    bad = mutate(VHOST, "Require local", "Require lcoal")
    assert_rejected(check_apache(bad, ctx, NODE1), "apache2ctl -t", "Unknown Authz provider: lcoal")


def test_module_that_is_not_enabled(ctx):
    bad = mutate(VHOST, "    ServerName zabbix.example.com\n", "    ServerName zabbix.example.com\n    SSLEngine on\n")
    assert_rejected(check_apache(bad, ctx, NODE1), "apache2ctl -t", "Invalid command 'SSLEngine'")


def test_unresolvable_vhost_address(ctx):
    # Alone, apache2ctl -t only warns (AH00547, rc 0); the Listen line the
    # test copy derives from the vhost makes it fail outright.
    bad = mutate(VHOST, "<VirtualHost 192.168.10.50:80>", "<VirtualHost 192.168.10.300:80>")
    verdicts = check_apache(bad, ctx, NODE1)
    assert_rejected(verdicts, "apache2ctl -t", "failed to set up sockaddr for 192.168.10.300")
    assert_rejected(verdicts, "python", "'192.168.10.300' is not a valid IPv4 address")
