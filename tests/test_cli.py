"""The zabbix-ha command line: exit codes, messages, no tracebacks."""

import stat
import subprocess
import sys

from tests.conftest import EXAMPLE_ANSWERS, ROOT
from wizard.answers import save_secrets


def zabbix_ha(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "wizard", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_version():
    result = zabbix_ha("--version")
    assert result.returncode == 0 and result.stdout.startswith("zabbix-ha ")


def test_render_writes_one_tree_per_node(tmp_path, secrets):
    secrets_file = tmp_path / "secrets.yaml"
    save_secrets(secrets, secrets_file)
    result = zabbix_ha("render", "--answers", EXAMPLE_ANSWERS, "--secrets", secrets_file, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    for node in ("zbx-node1", "zbx-node2"):
        res = tmp_path / "out" / node / "etc/drbd.d/r0.res"
        assert "resource r0" in res.read_text()
        php = tmp_path / "out" / node / "etc/zabbix/zabbix.conf.php"
        assert stat.S_IMODE(php.stat().st_mode) == 0o640
        pw = tmp_path / "out" / node / "etc/zabbix-ha/ipmi-password-zbx-node2"
        assert stat.S_IMODE(pw.stat().st_mode) == 0o600


def test_render_without_secrets_leaves_secret_files_out(tmp_path):
    result = zabbix_ha("render", "--answers", EXAMPLE_ANSWERS, "--out", tmp_path)
    assert result.returncode == 0
    assert "no --secrets given" in result.stderr
    assert not (tmp_path / "zbx-node1/etc/zabbix/zabbix.conf.php").exists()


def test_broken_answers_exit_2_naming_the_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE_ANSWERS.read_text().replace("address: 192.168.10.12", "address: 192.168.10.11"))
    result = zabbix_ha("render", "--answers", bad, "--out", tmp_path / "out")
    assert result.returncode == 2
    assert "nodes[1].address" in result.stderr and "fix:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_unknown_key_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(EXAMPLE_ANSWERS.read_text().replace("  sizing: small", "  sizeing: small"))
    result = zabbix_ha("validate", "--answers", bad)
    assert result.returncode == 2
    assert "zabbix.sizeing: unknown key 'sizeing'" in result.stderr
    assert "Traceback" not in result.stderr


def test_world_readable_secrets_exit_2(tmp_path, secrets):
    secrets_file = tmp_path / "secrets.yaml"
    save_secrets(secrets, secrets_file)
    secrets_file.chmod(0o644)
    result = zabbix_ha("render", "--answers", EXAMPLE_ANSWERS, "--secrets", secrets_file, "--out", tmp_path / "out")
    assert result.returncode == 2 and "chmod 600" in result.stderr


def test_old_secrets_file_gets_a_stable_drbd_secret(tmp_path):
    """The example secrets file predates drbd_secret: the first run generates
    and saves it (message, never the value), later runs render the same file."""
    secrets_file = tmp_path / "secrets.yaml"
    secrets_file.write_text((EXAMPLE_ANSWERS.parent / "two-node.secrets.example.yaml").read_text())
    secrets_file.chmod(0o600)
    first = zabbix_ha("render", "--answers", EXAMPLE_ANSWERS, "--secrets", secrets_file, "--out", tmp_path / "a")
    assert first.returncode == 0, first.stderr
    assert "generated drbd_secret and saved it" in first.stderr
    saved = secrets_file.read_text()
    value = next(line.split(": ", 1)[1] for line in saved.splitlines() if line.startswith("drbd_secret: "))
    assert value not in first.stderr + first.stdout
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    second = zabbix_ha("render", "--answers", EXAMPLE_ANSWERS, "--secrets", secrets_file, "--out", tmp_path / "b")
    assert second.returncode == 0 and "generated" not in second.stderr
    texts = {(tmp_path / out / node / "etc/drbd.d/r0.res").read_text()
             for out in ("a", "b") for node in ("zbx-node1", "zbx-node2")}
    assert len(texts) == 1 and f'shared-secret "{value}";' in texts.pop()
    res = tmp_path / "a" / "zbx-node1" / "etc/drbd.d/r0.res"
    assert stat.S_IMODE(res.stat().st_mode) == 0o600
