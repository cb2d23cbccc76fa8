"""The CIB's deep MariaDB monitor, run for real: the rendered CIB's mysql
parameters, the rendered client wrapper and monitor_user_sql() against a real
mariadbd on a throw-away datadir (socket only, --skip-networking), through
Pacemaker's own mysql agent with OCF_CHECK_LEVEL=10.

The host has no `zha_monitor` account and the test does not create one (it
does not change this machine's users): `nobody` stands in, by setting
render.MONITOR_DB_USER (and the group) before rendering, which is what every name in the CIB,
the wrapper and the SQL comes from.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.validate.ocf import run_agent
from wizard import render as render_module
from wizard.platforms import platform

pytestmark = pytest.mark.validators

AGENT = "/usr/lib/ocf/resource.d/heartbeat/mysql"
STAND_IN, STAND_IN_GROUP = "nobody", "nogroup"
START_WAIT_S = 60


def _tool(name: str) -> str:
    found = shutil.which(name, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    assert found, f"{name} is not installed"
    return found


def _dbversion_ddl() -> str:
    """CREATE TABLE dbversion exactly as the Zabbix package's schema has it."""
    schema = platform("debian12").paths.zabbix_sql[0]
    with gzip.open(schema, "rt") as fh:
        text = fh.read()
    match = re.search(r"CREATE TABLE `dbversion` \(.*?\) ENGINE=InnoDB;", text, re.S)
    assert match, "no dbversion table in the Zabbix schema"
    return match.group(0)


@pytest.fixture
def mariadb(tmp_path):
    """A mariadbd on tmp_path/m.sock; yields (socket, cnf, datadir, pidfile). Stopped afterwards."""
    # The stand-in user must reach the socket: let others traverse pytest's dirs.
    for d in [tmp_path, *tmp_path.parents]:
        if d == Path("/tmp") or d == Path("/"):
            break
        d.chmod(d.stat().st_mode | 0o711)
    sock, pid, datadir = tmp_path / "m.sock", tmp_path / "m.pid", tmp_path / "data"
    cnf = tmp_path / "my.cnf"
    cnf.write_text(f"[mysqld]\ndatadir={datadir}\nsocket={sock}\npid-file={pid}\nskip-networking\n"
                   f"log-error={tmp_path / 'error.log'}\n")
    subprocess.run([_tool("mariadb-install-db"), f"--defaults-file={cnf}", "--user=root",
                    "--auth-root-authentication-method=socket"],
                   check=True, capture_output=True, timeout=120)
    proc = subprocess.Popen([_tool("mariadbd"), f"--defaults-file={cnf}", "--user=root"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + START_WAIT_S
        while not (sock.exists() and pid.exists()):
            assert proc.poll() is None, (tmp_path / "error.log").read_text()
            assert time.monotonic() < deadline, "mariadbd did not open its socket"
            time.sleep(0.1)
        yield sock, cnf, datadir, pid
    finally:
        subprocess.run([_tool("mariadb-admin"), "-S", str(sock), "shutdown"], capture_output=True, timeout=60)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _sql(sock: Path, statement: str) -> None:
    subprocess.run([_tool("mariadb"), "-S", str(sock), "-e", statement], check=True, timeout=30)


def _agent(action: str, env: dict[str, str], timeout: int = 60):
    return run_agent(AGENT, action, "zabbix-db", env, timeout)


def test_deep_mariadb_monitor_logs_in_by_socket_without_a_secret(spec, secrets, mariadb, tmp_path, monkeypatch):
    sock, cnf, datadir, pid = mariadb
    monkeypatch.setattr(render_module, "MONITOR_DB_USER", STAND_IN)
    monkeypatch.setattr(render_module, "MONITOR_OS_GROUP", STAND_IN_GROUP)
    tree = render_module.render(spec, secrets)
    files = {f.kind: f for f in tree["zbx-node1"].values()}
    cib = ET.fromstring(files["cib"].text)
    db = cib.find(".//primitive[@id='zabbix-db']")
    params = {n.get("name"): n.get("value") for n in db.findall("instance_attributes/nvpair")}
    monitor = db.find("operations/op[@name='monitor']")
    level = monitor.find("instance_attributes/nvpair[@name='OCF_CHECK_LEVEL']").get("value")

    # The Zabbix database with its real dbversion table, then the monitor account.
    _sql(sock, f"CREATE DATABASE `{spec.zabbix.db_name}`")
    _sql(sock, f"USE `{spec.zabbix.db_name}`; {_dbversion_ddl()} "
               "INSERT INTO dbversion (dbversionid, mandatory, optional) VALUES (1, 6000000, 6000000)")
    for statement in render_module.monitor_user_sql(spec):
        _sql(sock, statement)
    for statement in render_module.monitor_user_sql(spec):   # idempotent on a rerun
        _sql(sock, statement)

    client = tmp_path / "mysql-monitor-client"
    client.write_text(files["mysql-monitor-client"].text)
    client.chmod(files["mysql-monitor-client"].mode)
    # The CIB's parameters, with the node's paths pointed at this throw-away server.
    env = {f"OCF_RESKEY_{k}": v for k, v in params.items()}
    env.update(OCF_RESKEY_socket=str(sock), OCF_RESKEY_pid=str(pid), OCF_RESKEY_datadir=str(datadir),
               OCF_RESKEY_config=str(cnf), OCF_RESKEY_client_binary=str(client),
               OCF_RESKEY_log=str(tmp_path / "agent.log"), OCF_CHECK_LEVEL=level)
    assert "OCF_RESKEY_test_passwd" not in env and level == "10"

    ok = _agent("monitor", env)
    assert ok.returncode == 0, ok.output

    # The query really runs, as the monitor account: without its grant the monitor fails.
    _sql(sock, f"REVOKE SELECT ON `{spec.zabbix.db_name}`.`dbversion` FROM '{STAND_IN}'@'localhost'")
    failed = _agent("monitor", env)
    assert failed.returncode == 1, failed.output
    assert "Failed to select" in failed.output

    # The wrapper drops root: the same client cannot log in as root, nor write.
    as_root = subprocess.run([str(client), "-S", str(sock), "--user=root", "--password=", "-e", "SELECT 1"],
                             capture_output=True, text=True, timeout=30)
    assert as_root.returncode != 0 and "Access denied" in as_root.stderr
    for statement in render_module.monitor_user_sql(spec)[-1:]:
        _sql(sock, statement)
    write = subprocess.run([str(client), "-S", str(sock), f"--user={STAND_IN}", "--password=", "-e",
                            f"DELETE FROM `{spec.zabbix.db_name}`.dbversion"],
                           capture_output=True, text=True, timeout=30)
    assert write.returncode != 0 and "denied" in write.stderr


def test_a_killed_database_is_seen_failed_by_the_agent(spec, secrets, tmp_path):
    """The CIB's `binary`, started by Pacemaker's mysql agent as the mysql user:
    after a SIGKILL of mariadbd the agent's monitor reports it not running, and
    it stays down until Pacemaker acts. Under mysqld_safe (the agent's default)
    mariadbd was respawned behind the monitor's back: the lab's drill killed the
    database and Pacemaker never saw a failure."""
    tree = render_module.render(spec, secrets)
    cib = ET.fromstring({f.kind: f for f in tree["zbx-node1"].values()}["cib"].text)
    params = {n.get("name"): n.get("value")
              for n in cib.findall(".//primitive[@id='zabbix-db']/instance_attributes/nvpair")}
    user, group = params["user"], params["group"]
    for d in [tmp_path, *tmp_path.parents]:
        if d == Path("/tmp") or d == Path("/"):
            break
        d.chmod(d.stat().st_mode | 0o711)
    run = tmp_path / "run"
    run.mkdir()
    shutil.chown(run, user, group)
    sock, pid, datadir, log = run / "m.sock", run / "m.pid", tmp_path / "data", tmp_path / "error.log"
    cnf = tmp_path / "my.cnf"
    cnf.write_text(f"[mysqld]\ndatadir={datadir}\nsocket={sock}\npid-file={pid}\nskip-networking\n")
    subprocess.run([_tool("mariadb-install-db"), f"--defaults-file={cnf}", f"--user={user}",
                    "--auth-root-authentication-method=socket"], check=True, capture_output=True, timeout=120)
    env = {"OCF_RESKEY_binary": params["binary"], "OCF_RESKEY_config": str(cnf),
           "OCF_RESKEY_datadir": str(datadir), "OCF_RESKEY_pid": str(pid), "OCF_RESKEY_socket": str(sock),
           "OCF_RESKEY_user": user, "OCF_RESKEY_group": group, "OCF_RESKEY_log": str(log),
           "OCF_RESKEY_CRM_meta_timeout": "60000"}
    try:
        started = _agent("start", env, timeout=120)
        assert started.returncode == 0, started.output + (log.read_text() if log.exists() else "")
        assert _agent("monitor", env).returncode == 0
        server = int(pid.read_text())
        assert Path(f"/proc/{server}/exe").resolve().name == "mariadbd"
        os.kill(server, 9)

        deadline = time.monotonic() + 30
        while (rc := _agent("monitor", env).returncode) != 7:
            assert rc == 0, f"monitor returned {rc}"
            assert time.monotonic() < deadline, "the agent still reports the killed database running"
            time.sleep(0.5)
        # mysqld_safe respawns within a second or two: the database must stay down.
        time.sleep(5)
        assert _agent("monitor", env).returncode == 7, "the killed database came back behind Pacemaker's back"
        respawned = subprocess.run(["pgrep", "-f", f"--datadir={datadir}"], capture_output=True, text=True)
        assert respawned.stdout.strip() == "", "a database process was respawned on the datadir"
    finally:
        _agent("stop", env, timeout=90)
        subprocess.run(["pkill", "-9", "-f", f"--datadir={datadir}"], capture_output=True)
