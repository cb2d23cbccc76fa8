"""SSH to the nodes with real host-key checking.

Each `lab up` makes a lab SSH key and, per node, an ed25519 host key. Both
go into the node's seed; the host keys' public halves go into a lab-only
known_hosts file, so every connection checks the node's identity
(StrictHostKeyChecking=yes) and nothing touches ~/.ssh.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import secrets
import shlex
import socket
import subprocess
import tarfile
import tempfile
import time
from pathlib import Path

from wizard.lab import netns
from wizard.lab.paths import KNOWN_HOSTS, ROOT_PASSWORD_FILE, RUN_DIR, SSH_KEY
from wizard.lab.proc import LabError, run


def ensure_lab_key() -> None:
    RUN_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not SSH_KEY.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "zabbix-ha-lab", "-f", str(SSH_KEY)])


def new_root_password() -> str:
    """A fresh random root password for this lab's nodes, kept 0600 in the run dir."""
    RUN_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    password = secrets.token_urlsafe(18)
    fd = os.open(ROOT_PASSWORD_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(password + "\n")
    return password


def read_root_password() -> str:
    try:
        return ROOT_PASSWORD_FILE.read_text().strip()
    except FileNotFoundError:
        raise LabError(f"the lab has no root password file {ROOT_PASSWORD_FILE}",
                       "`zabbix-ha lab down`, then `zabbix-ha lab up`") from None


def fingerprint_of(public_line: str) -> str:
    """SHA256:... of an OpenSSH public key line, as `ssh-keygen -lf` prints it."""
    blob = base64.b64decode(public_line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def host_key_fingerprints() -> dict[str, str]:
    """address -> host key fingerprint of the running lab's nodes (from its known_hosts)."""
    out = {}
    if KNOWN_HOSTS.exists():
        for line in KNOWN_HOSTS.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                address, rest = line.split(None, 1)
                out[address] = fingerprint_of(rest)
    return out


def make_host_key(node: str) -> tuple[bytes, bytes]:
    """A fresh ed25519 host key for `node`: (private, public)."""
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "key"
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"root@{node}", "-f", str(key)])
        return key.read_bytes(), key.with_suffix(".pub").read_bytes()


def write_known_hosts(entries: dict[str, bytes]) -> None:
    """entries: address -> public host key line ("ssh-ed25519 AAAA... comment")."""
    lines = []
    for address, pub in entries.items():
        keytype, blob = pub.decode().split()[:2]
        lines.append(f"{address} {keytype} {blob}\n")
    KNOWN_HOSTS.write_text("".join(lines))


def seed_tar(files: dict[str, tuple[bytes | None, int]]) -> bytes:
    """A tar of {path under /: (content, mode)} for the node's first boot;
    content None makes a directory (listed before the files inside it)."""
    buf = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for path, (content, mode) in sorted(files.items(), key=lambda item: (item[1][0] is not None, item[0])):
            info = tarfile.TarInfo(path.lstrip("/"))
            info.mode = mode
            info.mtime = now
            if content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


# 15 s: an emulated node busy starting its services took over 5 s to send the SSH banner.
def ssh_argv(address: str, command: list[str] | None = None, *, connect_timeout: int = 15,
             tty: bool = False) -> list[str]:
    argv = ["ssh", "-i", str(SSH_KEY),
            "-o", f"UserKnownHostsFile={KNOWN_HOSTS}", "-o", "GlobalKnownHostsFile=/dev/null",
            "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
            "-o", f"ConnectTimeout={connect_timeout}", "-o", "ServerAliveInterval=5",
            "-o", "ServerAliveCountMax=3", "-o", "LogLevel=ERROR"]
    if tty:
        argv.append("-t")
    argv.append(f"root@{address}")
    if command:
        # ssh joins its arguments with spaces for the remote shell: quote each one.
        argv.append(shlex.join(command))
    # The nodes are reachable from the lab's namespace only.
    return netns.host_argv(argv)


def ssh_run(address: str, command: list[str] | str, *, timeout: float = 60,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a command on a node. A str is a remote shell snippet (lab-internal use only)."""
    argv = ssh_argv(address)
    argv.append(command if isinstance(command, str) else shlex.join(command))
    proc = run(argv, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise LabError(f"on {address}: {command!r} failed (exit {proc.returncode}): "
                       + (proc.stderr or proc.stdout).strip()[-400:], "see the message above")
    return proc


def port_open(address: str, port: int = 22, timeout: float = 1.0) -> bool:
    """Does an SSH server answer on address:port (inside the lab's namespace)?"""
    def probe() -> bool:
        try:
            with socket.create_connection((address, port), timeout=timeout) as s:
                # sshd answers with its banner first; a half-booted node may accept then close.
                s.settimeout(timeout)
                return s.recv(4).startswith(b"SSH-")
        except OSError:
            return False
    return netns.call_in(probe, timeout=timeout * 2 + 5)


def ssh_ready(address: str) -> bool:
    if not port_open(address):
        return False
    return ssh_run(address, ["true"], timeout=20, check=False).returncode == 0
