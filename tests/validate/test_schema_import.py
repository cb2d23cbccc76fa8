"""The install's schema import (wizard.install.database.IMPORT_SCRIPT), run for real: the Zabbix
package's SQL files into a throw-away mariadbd with the set-up server's options."""

from __future__ import annotations

import subprocess

import pytest

from tests.validate.test_db_monitor import _tool, mariadb  # noqa: F401  (a real mariadbd on a temp socket)
from wizard.install.database import IMPORT_SCRIPT
from wizard.platforms import platform

pytestmark = pytest.mark.validators


def _sql(sock, text: str, db: str = "") -> str:
    return subprocess.run([_tool("mysql"), "--socket", str(sock), "--batch", "--skip-column-names", *([db] if db else [])],
                          input=text, capture_output=True, text=True, check=True, timeout=60).stdout


def test_packaged_schema_imports_in_one_transaction_per_file_and_leaves_checks_on(mariadb):  # noqa: F811
    sock = mariadb[0]
    _sql(sock, "CREATE DATABASE zabbix CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;\n"
               "SET GLOBAL log_bin_trust_function_creators = 1;\n")
    for path in platform("debian12").paths.zabbix_sql:
        subprocess.run(["bash", "-o", "pipefail", "-c", IMPORT_SCRIPT, "zabbix-ha", path, _tool("mysql"), str(sock),
                        "zabbix"], check=True, capture_output=True, timeout=600)
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
