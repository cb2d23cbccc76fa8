"""Executors against real processes: subprocess locally, a real sshd on 127.0.0.1."""

from __future__ import annotations

import os
import secrets as pysecrets
import subprocess
import time
from pathlib import Path

import pytest

from tests.preflight import sshd as sshd_helper
from wizard.journal import MASK, Journal
from wizard.remote import AuthFailed, CommandFailed, CommandTimeout, ConnectFailed, LocalExecutor, SSHExecutor
from wizard.spec import Node, Secret
from wizard.sshtrust import (HostKeyChanged, HostKeyUnknown, TrustStore, accept_fingerprints, connect,
                             scan_host_key)

SECRET = "s3cr3t-Pa55-" + pysecrets.token_hex(4)


# ---------------------------------------------------------------------------
# local

def test_local_run_stdout_stderr_rc():
    ex = LocalExecutor("here")
    r = ex.run(["sh", "-c", 'echo out; echo err >&2; exit 3'], check=False)
    assert (r.rc, r.stdout, r.stderr) == (3, "out\n", "err\n")
    assert r.duration >= 0
    with pytest.raises(CommandFailed) as exc:
        ex.run(["false"])
    assert "here" in str(exc.value) and exc.value.result.rc == 1


def test_local_argv_is_not_a_shell_string():
    ex = LocalExecutor("here")
    # A value with shell syntax stays one argument.
    r = ex.run(["printf", "%s", "$(touch /nonexistent); `id`"])
    assert r.stdout == "$(touch /nonexistent); `id`"


def test_local_timeout_kills_and_journals():
    # Behaviour, not speed: the timeout raises and the command is gone (no
    # wall-clock bound here; how fast is a benchmark's question).
    journal = Journal()
    ex = LocalExecutor("here", journal=journal)
    marker = f"{31 + pysecrets.randbelow(1000)}.{pysecrets.randbelow(1000)}"
    with pytest.raises(CommandTimeout) as exc:
        ex.run(["sh", "-c", f"sleep {marker}; echo never"], timeout=0.5)
    assert "here" in str(exc.value)
    assert journal.entries[-1].rc is None and "timed out" in journal.entries[-1].note
    for _attempt in range(50):                      # bounded: up to 50 x 0.1 s for the kill to land
        if subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True).returncode != 0:
            break
        time.sleep(0.1)
    assert subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True).returncode != 0


def test_local_put_get_mode_and_atomic(tmp_path):
    ex = LocalExecutor("here")
    target = tmp_path / "sub.conf"
    ex.put(str(target), "a=1\n", mode=0o640)
    assert target.read_text() == "a=1\n"
    assert target.stat().st_mode & 0o777 == 0o640
    ex.put(str(target), "a=2\n", mode=0o600)
    assert ex.get(str(target)) == "a=2\n"
    assert target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["sub.conf"]   # no temp file left behind


def test_journal_masks_secrets_from_secrets_values(tmp_path):
    from wizard.spec import Secrets

    secrets = Secrets(db_password=Secret(SECRET), ipmi={"n1": Secret("bmc-" + SECRET)})
    path = tmp_path / "journal.jsonl"
    journal = Journal(secrets.values(), path=path)
    ex = LocalExecutor("here", journal=journal)
    # A secret passed on stdin never reaches the journal; one in argv (which
    # callers must not do) is masked anyway.
    ex.run(["cat"], input=SECRET)
    with pytest.raises(CommandFailed) as exc:
        ex.run(["sh", "-c", f'echo "bad {SECRET}" >&2; exit 1', "x", "bmc-" + SECRET])
    assert SECRET not in str(exc.value)
    text = path.read_text()
    assert SECRET not in text and MASK in text
    assert path.stat().st_mode & 0o777 == 0o600
    assert all(SECRET not in line for line in journal.lines())


# ---------------------------------------------------------------------------
# ssh against a real sshd

@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    server = sshd_helper.start(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture
def trust(tmp_path, sshd):
    store = TrustStore(tmp_path / "trust")
    public = store.ensure_key()
    sshd.authorized_keys.write_text(public + "\n")
    return store


def _host_fp(sshd) -> str:
    out = subprocess.run(["ssh-keygen", "-lf", f"{sshd.host_key}.pub"], capture_output=True, text=True,
                         check=True).stdout
    return out.split()[1]


def _root_executor(sshd, trust, **kw) -> SSHExecutor:
    kw.setdefault("accept_host_key", accept_fingerprints([_host_fp(sshd)]))
    return SSHExecutor("127.0.0.1", trust=trust, node="node-a", port=sshd.port, user="root", **kw)


def test_key_pair_is_private(trust):
    assert trust.key_path.stat().st_mode & 0o777 == 0o600
    assert trust.directory.stat().st_mode & 0o777 == 0o700
    assert trust.ensure_key().startswith("ssh-ed25519 ")


def test_ssh_run_put_get_and_connection_reuse(sshd, trust):
    with _root_executor(sshd, trust) as ex:
        r = ex.run(["sh", "-c", 'echo "$1"; echo err >&2; exit 4', "x", "it's a \"quoted\" $value"], check=False)
        assert (r.rc, r.stdout, r.stderr) == (4, "it's a \"quoted\" $value\n", "err\n")
        transport = ex._client.get_transport()
        assert ex.run(["cat"], input="from stdin").stdout == "from stdin"
        target = sshd.root / "put" / "file.conf"
        target.parent.mkdir(exist_ok=True)
        ex.put(str(target), "x=1\n", mode=0o600, owner="root:root")
        assert target.read_text() == "x=1\n" and target.stat().st_mode & 0o777 == 0o600
        assert ex.get(str(target)) == "x=1\n"
        with pytest.raises(CommandFailed) as exc:
            ex.get(str(target.parent / "missing"))
        assert "node-a" in str(exc.value)
        assert ex._client.get_transport() is transport      # one connection, reused
        # Parallel commands share the connection.
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(4) as pool:
            outs = list(pool.map(lambda i: ex.run(["echo", str(i)]).stdout, range(8)))
        assert outs == [f"{i}\n" for i in range(8)]
    assert [e.node for e in ex.journal.entries] == ["node-a"] * len(ex.journal.entries)


def test_first_contact_returns_fingerprint_then_accepts(sshd, tmp_path):
    store = TrustStore(tmp_path / "fresh")
    public = store.ensure_key()
    sshd.authorized_keys.write_text(public + "\n")
    ex = SSHExecutor("127.0.0.1", trust=store, node="node-a", port=sshd.port)
    with pytest.raises(HostKeyUnknown) as exc:
        ex.run(["true"])
    assert exc.value.info.fingerprint == _host_fp(sshd)
    assert exc.value.info.port == sshd.port and "127.0.0.1" in str(exc.value)
    assert not store.known_hosts_path.exists()                    # nothing added silently
    assert scan_host_key("127.0.0.1", sshd.port).fingerprint == _host_fp(sshd)
    # A callback that declines keeps it unknown; one that accepts stores it.
    with pytest.raises(HostKeyUnknown):
        SSHExecutor("127.0.0.1", trust=store, port=sshd.port, accept_host_key=lambda info: False).run(["true"])
    seen = []
    ok = SSHExecutor("127.0.0.1", trust=store, port=sshd.port,
                     accept_host_key=lambda info: seen.append(info) or True)
    assert ok.run(["echo", "hi"]).stdout == "hi\n"
    ok.close()
    assert len(seen) == 1 and store.lookup("127.0.0.1", sshd.port) == [_host_fp(sshd)]
    assert f"[127.0.0.1]:{sshd.port}" in store.known_hosts_path.read_text()
    # Known now: no callback needed.
    again = SSHExecutor("127.0.0.1", trust=store, port=sshd.port)
    assert again.run(["true"]).rc == 0
    again.close()


def test_changed_host_key_is_a_hard_error(sshd, tmp_path):
    store = TrustStore(tmp_path / "t")
    sshd.authorized_keys.write_text(store.ensure_key() + "\n")
    old = _host_fp(sshd)
    with SSHExecutor("127.0.0.1", trust=store, port=sshd.port, node="node-b",
                     accept_host_key=accept_fingerprints([old])) as ex:
        ex.run(["true"])
    sshd.regenerate_host_key()
    new = _host_fp(sshd)
    assert new != old
    # Even a callback that would accept anything must not be asked.
    asked = []
    ex = SSHExecutor("127.0.0.1", trust=store, port=sshd.port, node="node-b",
                     accept_host_key=lambda info: asked.append(info) or True)
    with pytest.raises(HostKeyChanged) as exc:
        ex.run(["true"])
    err = exc.value
    assert asked == []
    assert (err.expected, err.got, err.exit_code) == (old, new, 1)
    assert "node-b" in str(err) and f"ssh-keygen -R '[127.0.0.1]:{sshd.port}'" in err.fix
    assert store.lookup("127.0.0.1", sshd.port) == [old]


def test_ssh_command_timeout_stops_remote_command(sshd, trust):
    marker = f"{37 + pysecrets.randbelow(1000)}.{pysecrets.randbelow(1000)}"
    with _root_executor(sshd, trust) as ex:
        with pytest.raises(CommandTimeout) as exc:
            ex.run(["sleep", marker], timeout=1)
        assert "node-a" in str(exc.value)
        assert ex.journal.entries[-1].rc is None
        # `timeout` on the node stopped it: no sleep left behind.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and subprocess.run(["pgrep", "-f", f"sleep {marker}"],
                                                             capture_output=True).returncode == 0:
            time.sleep(0.1)
        assert subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True).returncode == 1
        # The connection is still usable after a timeout.
        assert ex.run(["echo", "ok"]).stdout == "ok\n"


def test_connect_failures_name_the_host(sshd, trust):
    closed = sshd_helper.free_port()
    with pytest.raises(ConnectFailed) as exc:
        SSHExecutor("127.0.0.1", trust=trust, node="node-x", port=closed, connect_timeout=3).run(["true"])
    assert "node-x" in str(exc.value) and f"127.0.0.1:{closed}" in str(exc.value)
    assert exc.value.exit_code == 1
    with pytest.raises(AuthFailed) as exc2:
        _root_executor(sshd, trust, key_paths=[]).run(["true"])
    assert "node-a" in str(exc2.value) and "root@127.0.0.1" in str(exc2.value)


def test_secret_masking_over_ssh(sshd, trust):
    journal = Journal([SECRET])
    with _root_executor(sshd, trust, journal=journal) as ex:
        target = sshd.root / "secret.conf"
        ex.put(str(target), f"password={SECRET}\n", mode=0o600)
        assert target.read_text() == f"password={SECRET}\n"
        ex.run(["echo", SECRET])       # a caller bug: still masked in the journal
    dump = "\n".join(journal.lines()) + repr(journal.entries)
    assert SECRET not in dump and MASK in dump


# ---------------------------------------------------------------------------
# trust bootstrap: a throwaway user with a password and sudo

@pytest.fixture
def password_user(sshd):
    name = "zhat" + pysecrets.token_hex(3)
    password = "Pw-" + pysecrets.token_hex(8)
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True)
    sudoers = Path(f"/etc/sudoers.d/zabbix-ha-test-{name}")
    try:
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
        # Password-protected sudo (not NOPASSWD): exercises sudo -S.
        fd = os.open(sudoers, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o440)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"{name} ALL=(ALL) ALL\n")
        yield name, password
    finally:
        sudoers.unlink(missing_ok=True)
        # The user's sshd session may still be closing: stop its processes,
        # wait (bounded) for them to go, then remove the user even if busy.
        subprocess.run(["pkill", "-u", name], check=False)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and subprocess.run(["pgrep", "-u", name],
                                                             capture_output=True).returncode == 0:
            time.sleep(0.1)
        subprocess.run(["userdel", "-f", "-r", name], check=False, capture_output=True)
        assert subprocess.run(["id", name], capture_output=True).returncode != 0, f"user {name} left behind"


def wire(monkeypatch) -> dict[str, list[str]]:
    """What really goes over SSH: every command line sent and every stdin
    written, recorded on paramiko's channel (below any journal masking)."""
    import paramiko

    sent: dict[str, list[str]] = {"commands": [], "stdin": []}
    real_exec, real_sendall = paramiko.Channel.exec_command, paramiko.Channel.sendall

    def exec_command(chan, command):
        sent["commands"].append(command if isinstance(command, str) else command.decode())
        return real_exec(chan, command)

    def sendall(chan, data):
        sent["stdin"].append(bytes(data).decode(errors="replace"))
        return real_sendall(chan, data)

    monkeypatch.setattr(paramiko.Channel, "exec_command", exec_command)
    monkeypatch.setattr(paramiko.Channel, "sendall", sendall)
    return sent


def test_bootstrap_installs_key_with_one_password(sshd, tmp_path, password_user, monkeypatch):
    name, password = password_user
    sent = wire(monkeypatch)
    store = TrustStore(tmp_path / "boot")
    journal = Journal()
    node = Node(hostname="peer", address="127.0.0.1", ssh_user=name, ssh_port=sshd.port)
    accept = accept_fingerprints([_host_fp(sshd)])
    with pytest.raises(AuthFailed) as exc:       # no key yet, no password: says what to give
        connect(node, store, accept_host_key=accept)
    assert "password" in exc.value.fix
    ex = connect(node, store, password=Secret(password), accept_host_key=accept, journal=journal)
    try:
        assert ex.key_paths == [str(store.key_path)] and ex.password is None
        assert ex.run(["id", "-un"], as_root=False).stdout.strip() == name
        assert ex.run(["id", "-u"]).stdout.strip() == "0"               # sudo -S, password on stdin
        assert ex.run(["cat"], input="payload").stdout == "payload"      # stdin still reaches the command
        authorized = Path(f"/home/{name}/.ssh/authorized_keys")
        assert authorized.read_text().count(store.ensure_key()) == 1
        assert authorized.stat().st_mode & 0o777 == 0o600
    finally:
        ex.close()
    # Second time: key only, no password anywhere.
    again = connect(node, store, accept_host_key=None, journal=journal)
    assert again.run(["id", "-un"], as_root=False).stdout.strip() == name
    again.close()
    dump = repr(journal.entries)
    assert password not in dump
    # The password went to sudo on stdin, never in a command line: checked on
    # the wire, not in the (masked) journal, so argv use would fail here.
    assert sent["commands"] and not any(password in c for c in sent["commands"])
    assert any(s.startswith(password + "\n") for s in sent["stdin"])


def test_wrong_sudo_password_is_a_clear_error(sshd, tmp_path, password_user):
    name, password = password_user
    store = TrustStore(tmp_path / "boot2")
    node = Node(hostname="peer", address="127.0.0.1", ssh_user=name, ssh_port=sshd.port)
    ex = connect(node, store, password=Secret(password), accept_host_key=accept_fingerprints([_host_fp(sshd)]))
    ex.sudo_password = Secret("wrong-" + password)
    ex._sudo_prefix = None
    with pytest.raises(AuthFailed) as exc:
        ex.run(["true"])
    assert "sudo on peer" in str(exc.value)
    ex.close()
