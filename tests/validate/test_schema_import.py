"""The install's schema import (wizard.install.database.IMPORT_SCRIPT), run for real: the Zabbix
package's SQL files into a throw-away mariadbd with the set-up server's options."""

from __future__ import annotations

import subprocess

import pytest

from tests.validate.test_db_monitor import _tool, mariadb  # noqa: F401  (a real mariadbd on a temp socket)
from wizard.install.database import BATCH_INSERTS_AWK, IMPORT_SCRIPT
from wizard.platforms import platform

pytestmark = pytest.mark.validators


def _sql(sock, text: str, db: str = "") -> str:
    return subprocess.run([_tool("mysql"), "--socket", str(sock), "--batch", "--skip-column-names", *([db] if db else [])],
                          input=text, capture_output=True, text=True, check=True, timeout=60).stdout


def _import(sock, path: str, db: str) -> None:
    """The install's import, as the install runs it."""
    subprocess.run(["bash", "-o", "pipefail", "-c", IMPORT_SCRIPT, "zabbix-ha", path, _tool("mysql"), str(sock),
                    db, BATCH_INSERTS_AWK], check=True, capture_output=True, timeout=600)


def _checksums(sock, db: str) -> dict[str, str]:
    tables = _sql(sock, f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{db}';").split()
    return {t: _sql(sock, f"CHECKSUM TABLE `{db}`.`{t}` EXTENDED;").split()[-1] for t in tables}


def test_packaged_schema_imports_in_one_transaction_per_file_and_leaves_checks_on(mariadb):  # noqa: F811
    sock = mariadb[0]
    _sql(sock, "CREATE DATABASE zabbix CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;\n"
               "SET GLOBAL log_bin_trust_function_creators = 1;\n")
    for path in platform("debian12").paths.zabbix_sql:
        _import(sock, path, "zabbix")
    # Committed, whole: the Admin user, the templates' items, the schema version the server checks.
    assert _sql(sock, "SELECT username FROM users ORDER BY userid;", "zabbix").split() == ["Admin", "guest"]
    assert int(_sql(sock, "SELECT count(*) FROM items;", "zabbix")) > 10000
    assert int(_sql(sock, "SELECT mandatory FROM dbversion;", "zabbix")) > 0
    # The checks were switched off for the import's own sessions only.
    assert _sql(sock, "SELECT @@GLOBAL.foreign_key_checks, @@GLOBAL.unique_checks, @@GLOBAL.autocommit;").split() \
        == ["1", "1", "1"]
    # A foreign key still holds for everyone else.
    out = subprocess.run([_tool("mysql"), "--socket", str(sock), "zabbix"],
                         input="DELETE FROM hosts WHERE host = 'Zabbix server';\n", capture_output=True, text=True,
                         timeout=60)
    assert out.returncode != 0 and "foreign key" in out.stderr.lower(), out.stderr


def test_batched_import_holds_exactly_the_rows_of_the_packaged_sql(mariadb):  # noqa: F811
    """The install joins 6.0's one-row INSERTs into multi-row ones: every table
    ends up identical (CHECKSUM TABLE) to the packaged SQL piped as it is."""
    sock = mariadb[0]
    for db in ("plain", "batched"):
        _sql(sock, f"CREATE DATABASE {db} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;\n"
                   "SET GLOBAL log_bin_trust_function_creators = 1;\n")
    for path in platform("debian12").paths.zabbix_sql:
        subprocess.run(["bash", "-o", "pipefail", "-c", f'zcat -- "$1" | "$2" --socket "$3" plain', "sh", path,
                        _tool("mysql"), str(sock)], check=True, capture_output=True, timeout=900)
        _import(sock, path, "batched")
    plain, batched = _checksums(sock, "plain"), _checksums(sock, "batched")
    assert len(plain) > 150 and int(_sql(sock, "SELECT count(*) FROM plain.items;")) > 10000
    assert batched == plain


def _batch(text: str, awk: str = "awk") -> str:
    return subprocess.run([awk, "--", BATCH_INSERTS_AWK], input=text, capture_output=True, text=True, check=True,
                          timeout=30).stdout


@pytest.mark.parametrize("awk", ["mawk", "gawk"])   # Debian's base has mawk; gawk where an admin installed it
def test_batching_joins_only_one_row_inserts_into_the_same_table_and_columns(awk):
    import shutil

    assert shutil.which(awk), f"{awk} is not installed"
    text = ("START TRANSACTION;\n"
            "INSERT INTO `a` (`x`,`y`) values ('1','p');\n"
            "INSERT INTO `a` (`x`,`y`) values ('2','q);r');\n"
            "INSERT INTO `a` (`x`) values ('3');\n"                   # other columns: a new statement
            "INSERT INTO `b` (`x`) values ('4');\n"
            "INSERT INTO `b` (`x`) values ('5\n"                        # a row holding a newline: left alone
            "six');\n"
            "INSERT INTO `b` (`x`) VALUES ('7'),\n('8');\n"          # already multi-row (7.0): left alone
            "INSERT INTO `b` (`x`) values ('9');\n"
            "COMMIT;\n")
    assert _batch(text, awk) == (
        "START TRANSACTION;\n"
        "INSERT INTO `a` (`x`,`y`) values ('1','p'),\n('2','q);r');\n"
        "INSERT INTO `a` (`x`) values ('3');\n"
        "INSERT INTO `b` (`x`) values ('4');\n"
        "INSERT INTO `b` (`x`) values ('5\n"
        "six');\n"
        "INSERT INTO `b` (`x`) VALUES ('7'),\n('8');\n"
        "INSERT INTO `b` (`x`) values ('9');\n"
        "COMMIT;\n")
    # A file ending in an INSERT is closed; a long run is cut into statements of about 1 MB.
    assert _batch("INSERT INTO `a` (`x`) values ('1');\n", awk) == "INSERT INTO `a` (`x`) values ('1');\n"
    rows = 30000
    out = _batch("".join(f"INSERT INTO `a` (`x`) values ('{i:060d}');\n" for i in range(rows)), awk)
    statements = out.split(";\n")[:-1]
    assert 2 <= len(statements) <= 3 and all(len(s) < 1_100_000 for s in statements)
    assert out.count("('") == rows
