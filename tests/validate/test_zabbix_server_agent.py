"""zabbix-ha's OCF agent for the Zabbix server, run for real: the rendered
agent (wrapping Pacemaker's heartbeat:zabbixserver) starts this machine's
zabbix_server 6.0 against a throw-away mariadbd holding the packaged schema,
and stops it. With the database alive the server exits by itself on SIGTERM;
with the database killed the stock agent would wait for ever (zabbix_server
keeps retrying to write its caches) and Pacemaker would fence the node when
the stop timed out (lab run 8): this agent kills it within its grace."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.validate.test_db_monitor import _tool, mariadb  # noqa: F401  (a real mariadbd on a temp socket)
from tests.validate.ocf import run_agent
from tests.validate.test_schema_import import _import, _sql
from wizard.failover.sender import send_value
from wizard.platforms import platform
from wizard.render import render

pytestmark = pytest.mark.validators

ZABBIX_USER = "zabbix"
ZABBIX_HOST_ID, ZABBIX_HOST = 10084, "Zabbix server"     # in the packaged data.sql
TRAPPER_KEY = "zabbix-ha.test"          # the zabbix-server-mysql package's user: the server drops root for it
START_TIMEOUT_S = 120


def _agent(agent: Path, action: str, env: dict[str, str], timeout: float) -> tuple[int, str, float]:
    run = run_agent(str(agent), action, "zabbix-server",
                    {"HA_LOGFILE": env["log"], **{k: v for k, v in env.items() if k.startswith("OCF_")}}, timeout)
    return run.returncode, run.output, run.seconds


def _server_group(pid_file: Path) -> int | None:
    """The process group of the main zabbix_server (its pid file): its children share it (they
    rename themselves, "zabbix_server: poller #1 ..."). It daemonises with fork, setsid, fork:
    the group's leader is gone, the main process is a member."""
    main = pid_file.read_text().strip() if pid_file.exists() else ""
    if not main.isdigit():
        return None
    res = subprocess.run(["ps", "-o", "pgid=", "-p", main], capture_output=True, text=True)
    return int(res.stdout) if res.stdout.strip() else None


def _group_alive(pgid: int) -> bool:
    return subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True).returncode == 0


def _free_port() -> int:
    """A free port zabbix_server accepts (ListenPort: 1024-32767)."""
    for port in range(31051, 32767, 7):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port in 31051-32767")


@pytest.fixture
def zabbix(spec, secrets, mariadb, tmp_path):  # noqa: F811
    """(agent, env, conf): the rendered agent and the parameters the CIB gives it, pointed at a
    zabbix_server config of this test (its database: the throw-away mariadbd)."""
    sock, _cnf, _datadir, db_pid = mariadb
    _sql(sock, "CREATE DATABASE zabbix CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;\n"
               "SET GLOBAL log_bin_trust_function_creators = 1;\n"
               f"CREATE USER '{ZABBIX_USER}'@'localhost' IDENTIFIED VIA unix_socket;\n"
               f"GRANT ALL PRIVILEGES ON zabbix.* TO '{ZABBIX_USER}'@'localhost';\n")
    for path in platform("debian12").paths.zabbix_sql:
        _import(sock, path, "zabbix")
    # A trapper item on the packaged "Zabbix server" host: values sent to it wait in the
    # server's history cache while the database is down (what the server tries to write on stop).
    _sql(sock, f"INSERT INTO items (itemid, hostid, name, key_, type, value_type, delay, params, description, "
               f"posts, headers) VALUES (990001, {ZABBIX_HOST_ID}, 'zabbix-ha test', '{TRAPPER_KEY}', 2, 3, '0', "
               "'', '', '', '');\nINSERT INTO item_rtdata (itemid) VALUES (990001);\n", "zabbix")
    run = tmp_path / "run"
    run.mkdir()
    shutil.chown(run, ZABBIX_USER, ZABBIX_USER)
    sock.parent.chmod(0o755)
    conf = tmp_path / "zabbix_server.conf"
    port = _free_port()
    conf.write_text(f"LogType=file\nLogFile={run}/zabbix_server.log\nPidFile={run}/zabbix_server.pid\n"
                    f"SocketDir={run}\nDBName=zabbix\nDBUser={ZABBIX_USER}\nDBSocket={sock}\n"
                    f"ListenIP=127.0.0.1\nListenPort={port}\nAllowUnsupportedDBVersions=1\n"
                    "StartPollers=1\nStartPingers=0\nStartDiscoverers=0\nStartHTTPPollers=0\n")
    tree = render(spec, secrets)
    rendered = next(f for f in tree["zbx-node1"].values() if f.kind == "zabbix-server-agent")
    agent = tmp_path / "zabbix-server"
    agent.write_text(rendered.text)
    agent.chmod(rendered.mode)
    env = {"OCF_RESKEY_binary": _tool("zabbix_server"), "OCF_RESKEY_pid": str(run / "zabbix_server.pid"),
           "OCF_RESKEY_config": str(conf), "OCF_RESKEY_db_pid": str(db_pid),
           "OCF_RESKEY_CRM_meta_timeout": "300000", "log": str(tmp_path / "agent.log"), "port": str(port),
           "socket": str(sock)}
    try:
        yield agent, env, conf, db_pid
    finally:
        group = _server_group(run / "zabbix_server.pid")
        if group and group != os.getpgid(0):
            subprocess.run(["pkill", "-KILL", "-g", str(group)], capture_output=True)


def _start(agent, env, conf) -> int:
    """Started and answering monitor; the server's process group."""
    rc, out, _ = _agent(agent, "start", env, START_TIMEOUT_S)
    log = Path(env["OCF_RESKEY_pid"]).parent / "zabbix_server.log"
    assert rc == 0, out + (log.read_text()[-3000:] if log.exists() else "")
    deadline = time.monotonic() + 60          # the server up: its children forked, the DB checked
    while "server #1 started" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.5)
    assert _agent(agent, "monitor", env, 30)[0] == 0
    group = _server_group(Path(env["OCF_RESKEY_pid"]))
    members = subprocess.run(["pgrep", "-g", str(group)], capture_output=True, text=True).stdout.split()
    assert group and group != os.getpgid(0) and len(members) > 3, members
    return group


def test_with_the_database_up_the_server_stops_by_itself(zabbix):
    agent, env, conf, _db_pid = zabbix
    group = _start(agent, env, conf)
    rc, out, _secs = _agent(agent, "stop", env, 300)
    assert rc == 0, out
    log = Path(env["log"])
    assert "killing it" not in (log.read_text() if log.exists() else "")
    assert not _group_alive(group)
    assert _agent(agent, "monitor", env, 30)[0] == 7


def test_with_the_database_killed_the_stop_kills_the_server_within_its_grace(zabbix):
    agent, env, conf, db_pid = zabbix
    group = _start(agent, env, conf)
    log = Path(env["OCF_RESKEY_pid"]).parent / "zabbix_server.log"
    deadline = time.monotonic() + 60      # every process up: the history syncers, then the trappers
    while "[trapper #1]" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()[-3000:]
        time.sleep(0.5)
    # Values the server accepts but cannot write: a session holding every table read-locked
    # keeps them in its history cache; then the database dies with them unwritten.
    lock = subprocess.Popen([_tool("mysql"), "--socket", env["socket"]], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    try:
        lock.stdin.write("FLUSH TABLES WITH READ LOCK;\n")
        lock.stdin.flush()
        accepted = [send_value("127.0.0.1", ZABBIX_HOST, TRAPPER_KEY, str(n), port=int(env["port"]))
                    for n in range(20)]
        assert all(ok for ok, _ in accepted), (accepted, log.read_text()[-3000:])
        os.kill(int(db_pid.read_text()), signal.SIGKILL)
    finally:
        lock.kill()
        lock.wait(10)
    db_pid.unlink()                      # what Pacemaker's mysql agent does when it finds the server dead
    rc, out, secs = _agent(agent, "stop", env, 120)
    assert rc == 0, out
    assert secs < 60, f"the stop took {secs:.0f} s"
    assert "writing its caches with the database down: killing it" in Path(env["log"]).read_text()
    assert not _group_alive(group)       # the children too: nothing keeps the trapper port
    assert _agent(agent, "monitor", env, 30)[0] == 7


def test_the_agent_declares_every_parameter_the_cib_gives_the_zabbix_server(spec, secrets, tmp_path):
    """crmsh cannot read zabbix-ha's agent where the CIB is validated (it is installed by the
    install): the agent's own meta-data, run with resource-agents, declares what the CIB sets."""
    import xml.etree.ElementTree as ET

    files = {f.kind: f for f in render(spec, secrets)["zbx-node1"].values()}
    cib = ET.fromstring(files["cib"].text)
    server = cib.find(".//primitive[@id='zabbix-server']")
    assert (server.get("class"), server.get("provider"), server.get("type")) == ("ocf", "zabbix-ha", "zabbix-server")
    assert files["zabbix-server-agent"].path == "/usr/lib/ocf/resource.d/zabbix-ha/zabbix-server"
    agent = tmp_path / "zabbix-server"
    agent.write_text(files["zabbix-server-agent"].text)
    agent.chmod(0o755)
    meta = subprocess.run([str(agent), "meta-data"], env={"OCF_ROOT": "/usr/lib/ocf", "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=30, check=True).stdout
    declared = {p.get("name") for p in ET.fromstring(meta).iter("parameter")}
    given = {n.get("name") for n in server.findall("instance_attributes/nvpair")}
    assert given and given <= declared, given - declared
