"""The database password as each consumer reads it back (issue 14 item 6).

The Zabbix server reads `DBPassword=` with its config parser (spaces around
the value are dropped); the frontend includes zabbix.conf.php (PHP keeps the
string literal as it is). Whatever passes validation must read back the same
in both; a value they would read differently is refused with the reason.
"""

from __future__ import annotations

import copy
import shutil
import subprocess

import pytest

from wizard.render import render
from wizard.spec import Secret, validate_secrets

PASSWORDS = ["plain-pass-1", "it's\\a$\"pass#word;", "spaces  inside it", "ünïcødé-pässwörd",
             "ends-with-backslash\\", "<?php echo 1; ?>", "'; system('id'); '", "%s%n${HOME}`id`"]


def zabbix_reads(conf_text: str) -> str:
    """Zabbix's cfg parser: `Key=value`, whitespace around key and value stripped
    (src/libs/zbxconf/cfg.c: parse_cfg_file -> zbx_ltrim/zbx_rtrim)."""
    for line in conf_text.splitlines():
        if line.lstrip().startswith("#") or "=" not in line:
            continue
        key, _sep, value = line.partition("=")
        if key.strip() == "DBPassword":
            return value.strip(" \t\r\n")
    raise AssertionError("no DBPassword line")


def php_reads(php_file) -> str:
    """PHP includes the rendered file as the frontend does (IMAGE_FORMAT_PNG is
    one of the frontend's own constants the file refers to)."""
    assert shutil.which("php"), "php is missing (.ci/packages/validators.txt: php-cli)"
    r = subprocess.run(["php", "-r", 'define("IMAGE_FORMAT_PNG", "PNG"); include $argv[1]; echo $DB["PASSWORD"];',
                        str(php_file)],
                       capture_output=True, text=True, timeout=30, check=True)
    return r.stdout


def rendered(tree, marker: str):
    for files in tree.values():
        for path, f in files.items():
            if marker in f.text:
                return path, f.text
    raise AssertionError(f"no rendered file holds {marker!r}")


@pytest.mark.parametrize("password", PASSWORDS)
def test_server_and_frontend_read_the_same_password(spec, secrets, tmp_path, password):
    secrets = copy.deepcopy(secrets)
    secrets.db_password = Secret(password)
    assert not [p for p in validate_secrets(spec, secrets) if p.field == "secrets.db_password"]
    tree = render(spec, secrets)
    _path, conf = rendered(tree, "DBPassword=")
    _php_path, php = rendered(tree, "$DB['PASSWORD']")
    php_file = tmp_path / "zabbix.conf.php"
    php_file.write_text(php)
    assert zabbix_reads(conf) == password
    assert php_reads(php_file) == password


@pytest.mark.parametrize("password", [" leading-space", "trailing-space ", "  both  "])
def test_a_password_the_two_would_read_differently_is_refused(spec, secrets, tmp_path, password):
    secrets = copy.deepcopy(secrets)
    secrets.db_password = Secret(password)
    # Why it is refused: rendered anyway, the two consumers disagree.
    tree = render(spec, secrets)
    php_file = tmp_path / "zabbix.conf.php"
    php_file.write_text(rendered(tree, "$DB['PASSWORD']")[1])
    assert zabbix_reads(rendered(tree, "DBPassword=")[1]) != php_reads(php_file)
    problems = [p for p in validate_secrets(spec, secrets) if p.field == "secrets.db_password"]
    assert [p.code for p in problems] == ["secret-edge-space"]
    assert "PHP" in problems[0].message and "Zabbix" in problems[0].message
