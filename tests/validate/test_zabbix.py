import pytest

from wizard.validators import check_zabbix_frontend, check_zabbix_secrets, check_zabbix_server
from wizard.validators.zabbix import server_version

from .conftest import NODE1, assert_all_ok, assert_rejected, by_tool, mutate, sample

pytestmark = pytest.mark.validators

CONF = sample("zabbix_server.conf")
PHP = sample("zabbix.conf.php")


def server_tool():
    return "zabbix_server -T" if server_version() >= (7, 0) else "zabbix_server -R"


def test_good_server_conf_passes_without_the_secrets_file(ctx):
    # The sample includes /etc/zabbix/zabbix_server.secrets.conf, absent here.
    verdicts = check_zabbix_server(CONF, ctx, NODE1)
    assert [v.tool for v in verdicts] == [server_tool(), "python"]
    assert_all_ok(verdicts)


def test_unknown_parameter(ctx):
    bad = mutate(CONF, "StartPollers=10", "StartPolers=10")
    v = assert_rejected(check_zabbix_server(bad, ctx, NODE1), server_tool(), 'unknown parameter "StartPolers"')
    assert any('"/etc/zabbix/zabbix_server.conf", line 13' in m for m in v.messages), v.messages


def test_value_out_of_range(ctx):
    bad = mutate(CONF, "StartPollers=10", "StartPollers=5000")
    assert_rejected(check_zabbix_server(bad, ctx, NODE1), server_tool(), 'wrong value of "StartPollers"')


def test_not_key_value(ctx):
    bad = mutate(CONF, "LogSlowQueries=3000", "LogSlowQueries 3000")
    assert_rejected(check_zabbix_server(bad, ctx, NODE1), server_tool(), 'invalid entry "LogSlowQueries 3000"')


def test_bad_source_ip(ctx):
    bad = mutate(CONF, "SourceIP=192.168.10.50", "SourceIP=192.168.10.300")
    verdicts = check_zabbix_server(bad, ctx, NODE1)
    assert_rejected(verdicts, server_tool(), 'invalid "SourceIP" configuration parameter')
    assert_rejected(verdicts, "python", "'192.168.10.300' is not a valid IPv4 address")


def test_what_the_parser_lets_through(ctx):
    bad = mutate(CONF, "Timeout=4", "Timeout=4\nTimeout=5\nHANodeName=zbx-node1")
    verdicts = check_zabbix_server(bad, ctx, NODE1)
    assert by_tool(verdicts, server_tool()).ok  # the trap
    v = assert_rejected(verdicts, "python", "Timeout is set twice")
    assert any("HANodeName must be unset" in m for m in v.messages)


def test_good_frontend_passes(ctx):
    verdicts = check_zabbix_frontend(PHP, ctx, NODE1)
    assert [v.tool for v in verdicts] == ["php -l", "python"]
    assert_all_ok(verdicts)


def test_frontend_syntax_error(ctx):
    bad = mutate(PHP, "$DB['SERVER']                   = 'localhost';", "$DB['SERVER']                   = 'localhost'")
    assert_rejected(check_zabbix_frontend(bad, ctx, NODE1), "php -l", "syntax error")


def test_frontend_wrong_db_type(ctx):
    bad = mutate(PHP, "= 'MYSQL';", "= 'MARIADB';")
    assert_rejected(check_zabbix_frontend(bad, ctx, NODE1), "python", "$DB['TYPE'] is 'MARIADB'")


def test_frontend_undefined_constant(ctx):
    bad = mutate(PHP, "IMAGE_FORMAT_PNG;", "IMAGE_FORMAT_PNGG;")
    assert_rejected(check_zabbix_frontend(bad, ctx, NODE1), "python", "PHP could not load it")


def test_rendered_secrets_file_is_read_by_the_tool(ctx):
    verdicts = check_zabbix_server(CONF, ctx, NODE1, secrets="DBPassword=s3cret\n")
    assert_all_ok(verdicts)
    bad = check_zabbix_server(CONF, ctx, NODE1, secrets="DBPasword=s3cret\n")
    v = assert_rejected(bad, server_tool(), 'unknown parameter "DBPasword"')
    assert not any("s3cret" in m for m in v.messages)


def test_secrets_file_shape(ctx):
    assert_all_ok(check_zabbix_secrets("DBPassword=s3cret\n", ctx, NODE1))
    assert_rejected(check_zabbix_secrets("DBPassword=\nStartPollers=5\n", ctx, NODE1), "python",
                    "StartPollers does not belong in the secrets file")
