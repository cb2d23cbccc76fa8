"""`zabbix-ha login`: the non-interactive, password-once login setup, against
a real sshd on 127.0.0.1 with a throwaway user (fixtures of test_remote)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_remote import _host_fp, password_user, sshd  # noqa: F401  (fixtures)
from wizard import login
from wizard.answers import save_answers
from wizard.cli import main


@pytest.fixture
def answers(spec, tmp_path):
    path = tmp_path / "answers.yaml"
    save_answers(spec, path)
    return path


@pytest.fixture
def pwfile(tmp_path):
    def make(text: str, mode: int = 0o600) -> Path:
        path = tmp_path / "pw"
        path.write_text(text)
        path.chmod(mode)
        return path
    return make


@pytest.fixture
def peer(sshd, password_user, spec, tmp_path, monkeypatch):  # noqa: F811
    """The spec's second node is the sshd on loopback (validation refuses a
    loopback node address, so the loaded spec is swapped in after loading);
    the first node is "this machine"."""
    name, password = password_user
    spec.nodes[1].address, spec.nodes[1].ssh_port, spec.nodes[1].ssh_user = "127.0.0.1", sshd.port, name
    monkeypatch.setattr(login, "_load", lambda _path: spec)
    monkeypatch.setattr("wizard.remote.is_local_address", lambda address: address == spec.nodes[0].address)
    path = tmp_path / "answers.yaml"
    path.write_text("# replaced by the fixture\n")
    return path, name, password


def _run(argv, capsys):
    rc = main(argv)
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_login_installs_our_key_with_the_password_once(peer, pwfile, sshd, tmp_path, capsys):  # noqa: F811
    answers, name, password = peer
    trust = tmp_path / "trust"
    pw = pwfile(password + "\n")
    base = ["login", "--answers", str(answers), "--password-file", str(pw), "--trust-dir", str(trust)]
    # First contact without the fingerprint: refused, the host named, the fingerprint given.
    rc, out, err = _run(base, capsys)
    assert rc == 1
    assert "zbx-node2" in err and "127.0.0.1" in err and f"--accept-host-key {_host_fp(sshd)}" in err
    assert "zbx-node1: this machine" in out
    # With it: password once, key installed, key alone works.
    rc, out, err = _run([*base, "--accept-host-key", _host_fp(sshd)], capsys)
    assert rc == 0, err
    assert "zbx-node2: logged in" in out and "installed zabbix-ha's key" in out
    public = (trust / "id_ed25519.pub").read_text().strip()
    assert Path(f"/home/{name}/.ssh/authorized_keys").read_text().count(public) == 1
    # Again: nothing to do; the host key is in our store now.
    rc, out, err = _run(base, capsys)
    assert rc == 0 and "already works" in out
    assert password not in out + err


def test_login_reads_the_password_from_stdin_and_names_the_host_on_a_wrong_one(peer, sshd, tmp_path,  # noqa: F811
                                                                             capsys, monkeypatch):
    answers, _name, password = peer
    base = ["login", "--answers", str(answers), "--password-stdin", "--node", "zbx-node2",
            "--trust-dir", str(tmp_path / "t"), "--accept-host-key", _host_fp(sshd)]
    monkeypatch.setattr("sys.stdin", io.StringIO("wrong-" + password + "\n"))
    rc, out, err = _run(base, capsys)
    assert rc == 1 and "zbx-node2" in err and "127.0.0.1" in err and "refused" in err
    assert password not in out + err
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    rc, out, err = _run(base, capsys)
    assert rc == 0 and "zbx-node2: logged in" in out and "zbx-node1" not in out


@pytest.mark.parametrize("argv_extra,needle", [
    ([], "one of the arguments --password-file --password-stdin is required"),
    (["--password-file", "PW", "--password-stdin"], "not allowed with"),
])
def test_login_needs_exactly_one_password_source(answers, argv_extra, needle, capsys, pwfile):
    pw = pwfile("x\n")
    argv = ["login", "--answers", str(answers), *[str(pw) if a == "PW" else a for a in argv_extra]]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and needle in capsys.readouterr().err


def test_login_has_no_password_option_in_argv():
    help_text = subprocess.run([sys.executable, "-m", "wizard", "login", "--help"], capture_output=True, text=True,
                               cwd=Path(__file__).parent.parent).stdout
    assert "--password-file" in help_text and "--password " not in help_text and "--password=" not in help_text


@pytest.mark.parametrize("text,mode,needle", [
    ("secret\n", 0o644, "readable by others"),
    ("\n", 0o600, "no password"),
    ("", 0o600, "no password"),
    ("se\x1bcret\n", 0o600, "control character"),
])
def test_login_refuses_a_bad_password_file(answers, pwfile, text, mode, needle, capsys):
    pw = pwfile(text, mode)
    rc, _out, err = _run(["login", "--answers", str(answers), "--password-file", str(pw)], capsys)
    assert rc == 2 and needle in err


def test_login_bad_input_exits_2_naming_it(answers, pwfile, tmp_path, capsys):
    pw = pwfile("secret\n")
    rc, _, err = _run(["login", "--answers", str(answers), "--password-file", str(pw), "--node", "nope"], capsys)
    assert rc == 2 and "--node nope" in err and "zbx-node1" in err
    rc, _, err = _run(["login", "--answers", str(answers), "--password-file", str(tmp_path / "missing")], capsys)
    assert rc == 2 and "missing" in err
    rc, _, err = _run(["login", "--answers", str(answers), "--password-file", str(pw),
                       "--accept-host-key", "abc"], capsys)
    assert rc == 2 and "SHA256" in err
    rc, _, err = _run(["login", "--password-file", str(pw)], capsys)
    assert rc == 2 and "answers" in err


def test_login_never_logs_in_to_this_machine(answers, pwfile, monkeypatch, capsys, spec, tmp_path):
    pw = pwfile("secret\n")
    monkeypatch.setattr("wizard.remote.is_local_address", lambda address: True)
    rc, out, _ = _run(["login", "--answers", str(answers), "--password-file", str(pw),
                       "--trust-dir", str(tmp_path / "unused-trust")], capsys)
    assert rc == 0 and out.count("this machine") == len(spec.nodes)
