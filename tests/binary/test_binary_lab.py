"""The binary against the two-node container lab: copied onto a node (Debian
12, no Python packages of ours, no checkout) and run there, as an
administrator would on the first node; and its `preflight` (SSH through
paramiko, frozen) finding the same problems as the source tree's.

Uses the lab fixtures of tests/lab/conftest.py (one lab per process); skipped,
like the other lab users outside tests/lab, when a run ignores tests/lab.
"""

from __future__ import annotations

import io
import json
import shlex
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.binary.conftest import ROOT, START_TIMEOUT, binary_env, report, run_binary, run_source
from tests.lab.conftest import _lab_manager, lab  # noqa: F401  (the lab fixtures; one lab per process)
from wizard import __version__
from wizard.lab.ssh import ssh_argv

pytestmark = [pytest.mark.binary, pytest.mark.lab_container]

NODE = "node1"
HOME = "/root/zha-binary"


def put(lab, node: str, data: bytes, path: str, mode: int) -> None:
    script = f"mkdir -p {shlex.quote(str(Path(path).parent))} && cat > {shlex.quote(path)}.part && " \
             f"chmod {mode:o} {shlex.quote(path)}.part && mv {shlex.quote(path)}.part {shlex.quote(path)}"
    subprocess.run(ssh_argv(lab.address(node), ["sh", "-c", script]), input=data, capture_output=True,
                   timeout=300, check=True)


def fetch_tree(lab, node: str, path: str) -> dict[str, tuple[bytes, int]]:
    out = subprocess.run(ssh_argv(lab.address(node), ["tar", "-C", path, "-cf", "-", "."]),
                         capture_output=True, timeout=120, check=True).stdout
    files = {}
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        for member in tar.getmembers():
            if member.isfile():
                files[member.name.removeprefix("./")] = (tar.extractfile(member).read(), stat.S_IMODE(member.mode))
    return files


@pytest.fixture(scope="module")
def on_node(lab, binary):
    """The binary and the example answers on the node, nothing else."""
    lab.ssh(NODE, ["rm", "-rf", HOME])
    put(lab, NODE, binary.path.read_bytes(), f"{HOME}/zabbix-ha", 0o755)
    put(lab, NODE, (ROOT / "examples" / "two-node.yaml").read_bytes(), f"{HOME}/two-node.yaml", 0o644)
    return f"{HOME}/zabbix-ha"


def test_the_node_is_debian_12_without_our_code(lab):
    assert lab.ssh(NODE, ["cat", "/etc/debian_version"]).stdout.startswith("12.")
    found = lab.ssh(NODE, "python3 -c 'import wizard' 2>&1 || true").stdout
    assert "No module named" in found or "not found" in found


def test_version_on_a_lab_node(lab, on_node):
    result = lab.ssh(NODE, [on_node, "--version"])
    assert result.stdout.strip() == f"zabbix-ha {__version__}"


def test_render_on_a_lab_node_matches_the_source_tree(lab, on_node, tmp_path):
    result = lab.ssh(NODE, f"cd {HOME} && ./zabbix-ha render --answers two-node.yaml --out {HOME}/out")
    assert "zbx-node1: " in result.stdout and "Traceback" not in result.stderr
    source = run_source("render", "--answers", ROOT / "examples" / "two-node.yaml", "--out", tmp_path / "source")
    assert source.returncode == 0, source.stderr
    want = {str(p.relative_to(tmp_path / "source")): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
            for p in sorted((tmp_path / "source").rglob("*")) if p.is_file()}
    got = fetch_tree(lab, NODE, f"{HOME}/out")
    assert sorted(got) == sorted(want)
    for path in want:
        assert got[path] == want[path], f"{path} rendered on {NODE} differs from the source-tree render"


def test_tui_on_a_lab_node_over_ssh_shows_the_welcome_step(lab, on_node, terminals):
    """What an administrator does: SSH to the first node, run the wizard there."""
    term = terminals("zha-lab-tui", binary_env())
    term.start(ssh_argv(lab.address(NODE), ["sh", "-c", f"cd {HOME} && ./zabbix-ha"], tty=True))
    seconds = term.wait_for("Welcome", "step 1 of", "Start from", timeout=START_TIMEOUT)
    report(f"TUI welcome screen on lab {NODE} over ssh -t: {seconds:.2f} s")
    assert "Traceback" not in term.capture()
    term.keys("C-q")
    term.wait_for("zabbix-ha exited 0", timeout=30)


def test_broken_answers_on_a_lab_node_exit_2(lab, on_node):
    script = (f"cd {HOME} && sed 's/address: 192.168.10.12/address: 192.168.10.11/' two-node.yaml > bad.yaml"
              f" && ./zabbix-ha render --answers bad.yaml --out bad-out")
    result = lab.ssh(NODE, script, check=False)
    assert result.returncode == 2
    assert "nodes[1].address" in result.stderr and "Traceback" not in result.stderr


def _preflight_args(trust: Path) -> list[str]:
    from wizard.lab.paths import ANSWERS_FILE, KNOWN_HOSTS, SECRETS_FILE, SSH_KEY

    return ["preflight", "--answers", str(ANSWERS_FILE), "--secrets", str(SECRETS_FILE), "--json",
            "--ssh-key", str(SSH_KEY), "--known-hosts", str(KNOWN_HOSTS), "--all-ssh", "--trust-dir", str(trust)]


def _findings(stdout: str) -> set[tuple]:
    return {(f["code"], f.get("node"), f["severity"]) for f in json.loads(stdout)["findings"]}


def test_preflight_from_the_binary_finds_what_the_source_tree_finds(lab, binary, workdir, tmp_path):
    frozen = run_binary(binary, *_preflight_args(tmp_path / "frozen-trust"), cwd=workdir, timeout=300)
    source = run_source(*_preflight_args(tmp_path / "source-trust"), timeout=300)
    assert "Traceback" not in frozen.stderr, frozen.stderr
    assert frozen.returncode == source.returncode == 1, frozen.stderr      # containers: no DRBD module
    assert _findings(frozen.stdout) == _findings(source.stdout)
    assert {n for code, n, _sev in _findings(frozen.stdout) if code == "drbd-module-missing"} == {"node1", "node2"}


def test_node1_sets_up_its_login_to_node2_the_products_way(lab, on_node):
    """What the install's end-to-end test does first: on node1, `login` with the
    lab's root password on stdin and node2's fingerprint (as a person would
    confirm it), then preflight from node1 (local) reaches node2 with the key."""
    from wizard.lab.paths import ANSWERS_FILE

    put(lab, NODE, ANSWERS_FILE.read_bytes(), f"{HOME}/lab.yaml", 0o600)
    password = lab.root_password()
    login = [f"{HOME}/zabbix-ha", "login", "--answers", f"{HOME}/lab.yaml", "--password-stdin",
             "--accept-host-key", lab.host_key("node2")]
    first = subprocess.run(ssh_argv(lab.address(NODE), login), input=password + "\n", capture_output=True,
                           text=True, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "node1: this machine" in first.stdout and "node2: logged in" in first.stdout
    again = subprocess.run(ssh_argv(lab.address(NODE), login), input=password + "\n", capture_output=True,
                           text=True, timeout=300)
    assert again.returncode == 0 and "node2: zabbix-ha's key already works" in again.stdout, again.stderr
    assert password not in first.stdout + first.stderr + again.stdout + again.stderr
    pre = lab.ssh(NODE, [f"{HOME}/zabbix-ha", "preflight", "--answers", f"{HOME}/lab.yaml", "--json"],
                  timeout=600, check=False)
    codes = {f["code"] for f in json.loads(pre.stdout)["findings"]}
    assert not codes & {"host-key-unknown", "ssh-auth-failed", "ssh-unreachable", "facts-missing"}, pre.stdout
