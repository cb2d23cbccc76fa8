import pytest

from wizard.validators import check_mariadb, run_mariadbd

from .conftest import NODE1, assert_all_ok, assert_rejected, mutate, sample

pytestmark = pytest.mark.validators

CNF = sample("60-zabbix-ha.cnf")


def test_good_file_passes(ctx):
    verdicts = check_mariadb(CNF, ctx, NODE1)
    assert [v.tool for v in verdicts] == ["mariadbd --help --verbose", "python"]
    assert_all_ok(verdicts)


def test_effective_values(ctx):
    result = run_mariadbd(CNF)
    assert result is not None and result.rc == 0 and result.errors == []
    values = result.values
    assert values["innodb-buffer-pool-size"] == str(1024 ** 3)
    assert values["innodb-log-file-size"] == str(256 * 1024 ** 2)
    assert values["max-connections"] == "500"
    assert values["collation-server"] == "utf8mb4_bin"
    assert values["skip-name-resolve"] == "TRUE"
    assert values["datadir"] == "/var/lib/zabbix-ha/mysql/"


def test_misspelled_variable(ctx):
    bad = mutate(CNF, "innodb_buffer_pool_size", "innodb_bufer_pool_size")
    assert_rejected(check_mariadb(bad, ctx, NODE1), "mariadbd --help --verbose",
                    "unknown variable 'innodb_bufer_pool_size=1G'")


def test_bad_number(ctx):
    bad = mutate(CNF, "max_connections         = 500", "max_connections         = lots")
    assert_rejected(check_mariadb(bad, ctx, NODE1), "mariadbd --help --verbose", "Unknown suffix 'l'")


def test_unknown_collation(ctx):
    bad = mutate(CNF, "utf8mb4_bin", "utf8mb4_foo")
    assert_rejected(check_mariadb(bad, ctx, NODE1), "mariadbd --help --verbose", "Unknown collation: 'utf8mb4_foo'")


def test_innodb_suffix_error_with_rc_0(ctx):
    # mariadbd exits 0 and silently disables InnoDB: the [ERROR] line decides.
    bad = mutate(CNF, "innodb_buffer_pool_size = 1G", "innodb_buffer_pool_size = 1X")
    assert run_mariadbd(bad).rc == 0
    assert_rejected(check_mariadb(bad, ctx, NODE1), "mariadbd --help --verbose", "Unknown suffix 'X'")


def test_clamped_value(ctx):
    bad = mutate(CNF, "max_connections         = 500", "max_connections         = 999999")
    assert_rejected(check_mariadb(bad, ctx, NODE1), "mariadbd --help --verbose", "adjusted to 100000")


def test_broken_group_header(ctx):
    bad = mutate(CNF, "[mysqld]", "[mysqld")
    assert_rejected(check_mariadb(bad, ctx, NODE1), "mariadbd --help --verbose", "Wrong group definition")


def test_bad_bind_address_logs_an_error_with_rc_0(ctx):
    bad = mutate(CNF, "bind-address            = 127.0.0.1", "bind-address            = 172.16.1.300")
    verdicts = check_mariadb(bad, ctx, NODE1)
    assert_rejected(verdicts, "python", "'172.16.1.300' is not a valid IPv4 address")
    assert_rejected(verdicts, "mariadbd --help --verbose", "172.16.1.300")
