"""The platform table against the Debian 12 packages installed on this machine.

notes/lab.md Part D: the Zabbix server died because LogFile named a directory
the package does not ship, and the frontend asked for setup because Debian's
frontend reads its config from one fixed place. These tests read the installed
packages' own files, so a wrong path in wizard/platforms.py fails here.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

from wizard.platforms import platform
from wizard.render import render

pytestmark = pytest.mark.validators

P = platform("debian12").paths


def _shipped(conf: str) -> dict[str, str]:
    out = {}
    for line in Path(conf).read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key] = value
    return out


def _package_dirs(package: str) -> set[str]:
    listing = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=True).stdout
    return set(listing.split())


def test_zabbix_server_paths_are_debians():
    shipped = _shipped("/usr/share/zabbix-server-mysql/zabbix_server.conf")
    assert shipped["LogFile"] == P.zabbix_server_log
    assert shipped["PidFile"] == P.zabbix_server_pid
    assert shipped["FpingLocation"] == P.fping
    assert shipped["AlertScriptsPath"].rstrip("/") == P.zabbix_alert_scripts
    assert os.path.dirname(P.zabbix_server_log) in _package_dirs("zabbix-server-mysql")
    assert P.zabbix_alert_scripts in _package_dirs("zabbix-server-mysql")
    assert os.access(P.fping, os.X_OK)
    assert os.access(P.zabbix_server_bin, os.X_OK)
    for sql in P.zabbix_sql:
        assert Path(sql).is_file(), sql
    tmpfiles = Path("/usr/lib/tmpfiles.d/zabbix-server.conf").read_text()
    assert f"d {P.zabbix_socket_dir} " in tmpfiles


def test_rendered_server_log_dir_is_shipped(spec):
    conf = next(f for f in render(spec)["zbx-node1"].values() if f.kind == "zabbix-server")
    log = re.search(r"^LogFile=(.*)$", conf.text, re.M).group(1)
    assert os.path.dirname(log) in _package_dirs("zabbix-server-mysql")


def test_zabbix_agent_paths_are_debians(spec):
    shipped = _shipped("/usr/share/zabbix-agent/zabbix_agentd.conf")
    assert shipped["PidFile"] == P.zabbix_agent_pid
    assert shipped["LogFile"] == P.zabbix_agent_log
    assert shipped["Include"] == f"{P.zabbix_agent_include_dir}/*.conf"
    assert os.path.dirname(P.zabbix_agent_log) in _package_dirs("zabbix-agent")
    # The package's postinst installs its config at the path the install overwrites.
    postinst = Path("/var/lib/dpkg/info/zabbix-agent.postinst").read_text()
    assert f'CONFFILE_DEST="{P.zabbix_agent_conf}"' in postinst


def test_frontend_reads_the_config_where_render_writes_it(spec, secrets):
    source = Path(P.zabbix_frontend_root, "include/classes/core/CConfigFile.php").read_text()
    assert f"const CONFIG_FILE_PATH = '{P.zabbix_frontend_conf}';" in source
    fe = next(f for f in render(spec, secrets)["zbx-node1"].values() if f.kind == "zabbix-frontend")
    assert fe.path == P.zabbix_frontend_conf


def test_mariadb_and_monitor_programs_exist():
    for program in (P.mysqld_safe, P.mariadbd, P.mysql_client, P.setpriv):
        assert os.access(program, os.X_OK), program
    # Debian's mariadb-server ships no log directory: render.directories creates it.
    assert P.mysql_log_dir not in _package_dirs("mariadb-server")
    from wizard.render import directories
    from wizard.answers import load_answers
    from tests.conftest import EXAMPLE_ANSWERS
    assert P.mysql_log_dir in [d.path for d in directories(load_answers(EXAMPLE_ANSWERS))]
