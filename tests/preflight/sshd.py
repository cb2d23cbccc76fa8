"""A real, throwaway sshd on 127.0.0.1 for the executor tests.

Runs /usr/sbin/sshd -D with its own config, host key and authorized_keys
file under a tmp directory; only loopback (or one address inside a network
namespace of the test's own: `prefix`), stopped by pid at teardown.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SSHD = "/usr/sbin/sshd"


def available() -> str | None:
    """Why the sshd tests cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root to run sshd"
    if not Path(SSHD).exists():
        return "openssh-server is not installed (.ci/packages/preflight.txt)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Sshd:
    root: Path
    port: int
    host_key: Path
    authorized_keys: Path      # root's keys (AuthorizedKeysFile %u)
    proc: subprocess.Popen | None = None
    prefix: tuple[str, ...] = ()     # e.g. ("ip", "netns", "exec", NS): sshd runs in that namespace
    listen: str = "127.0.0.1"

    def regenerate_host_key(self) -> None:
        """A 'reinstalled' server: new host key, restart sshd."""
        self.stop()
        self.host_key.unlink()
        Path(f"{self.host_key}.pub").unlink()
        _keygen(self.host_key)
        self.start()

    def start(self) -> None:
        log = self.root / "sshd.log"
        seen = log.stat().st_size if log.exists() else 0      # a restart appends to the same log
        self.proc = subprocess.Popen([*self.prefix, SSHD, "-D", "-e", "-f", str(self.root / "sshd_config")],
                                     stdout=subprocess.DEVNULL, stderr=open(log, "ab"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("sshd exited: " + log.read_text())
            if self.prefix:
                # Not reachable from this namespace: its own word that it listens.
                if f"Server listening on {self.listen} port {self.port}" in log.read_text()[seen:]:
                    return
                time.sleep(0.05)
                continue
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("sshd did not start listening within 10 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True, timeout=30)


def start(root: Path, listen: str = "127.0.0.1", prefix: tuple[str, ...] = ()) -> Sshd:
    # A missing sshd (or not being root) is a failure, never a skip: the
    # runner installs openssh-server (.ci/packages/preflight.txt) and runs as root.
    problem = available()
    assert problem is None, problem
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)   # sshd's StrictModes and other users' logins must traverse it
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)   # privilege separation directory
    host_key = root / "host_ed25519"
    _keygen(host_key)
    keys_dir = root / "keys"
    keys_dir.mkdir(mode=0o755)
    port = free_port()
    (root / "sshd_config").write_text(f"""\
ListenAddress {listen}
Port {port}
HostKey {host_key}
PidFile {root}/sshd.pid
AuthorizedKeysFile .ssh/authorized_keys {keys_dir}/%u
PermitRootLogin prohibit-password
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
StrictModes no
MaxStartups 50
MaxSessions 50
LogLevel VERBOSE
""")
    sshd = Sshd(root, port, host_key, keys_dir / "root", prefix=tuple(prefix), listen=listen)
    sshd.start()
    return sshd


def which(name: str) -> bool:
    return shutil.which(name) is not None
