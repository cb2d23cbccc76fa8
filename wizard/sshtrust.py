"""SSH trust: our own key pair and our own known_hosts file.

The most common first-run failure of pcs and crmsh is authentication between
nodes (notes/anchors.md). So: one credential, asked once. With a password (or
an existing key) for the peer we create a dedicated ed25519 key pair, install
its public half on the peer, and use only the key from then on.

Host keys live in a known_hosts file of our own, never ~/.ssh/known_hosts.
First contact yields the fingerprint for the person to confirm (no silent
auto-add); a changed key is a hard error naming the host and the fix.

The one exception is the local lab (`zabbix-ha lab up`): it made its nodes
and their host keys, and keeps them in its own known_hosts while it is up.
That file is trusted as well, read-only and only for addresses inside the
lab's own subnets; `lab down` deletes it, so nothing of the lab stays in
our store.
"""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from wizard.errors import EnvironmentProblem, UserError
from wizard.journal import Journal
from wizard.spec import Node, Secret

KEY_NAME = "id_ed25519"
KEY_COMMENT = "zabbix-ha"
# Both nodes connect in parallel: only one thread may create the key pair.
_KEY_LOCK = threading.Lock()

# Install a public key for the login user (not root: it is that user's
# ~/.ssh). The key line comes as $1 and is matched as a fixed whole line.
_INSTALL_KEY_SCRIPT = (
    'set -e; umask 077; mkdir -p -- "$HOME/.ssh"; chmod 700 -- "$HOME/.ssh"; '
    'f="$HOME/.ssh/authorized_keys"; touch -- "$f"; chmod 600 -- "$f"; '
    'grep -qxF -- "$1" "$f" || printf \'%s\\n\' "$1" >> "$f"'
)


@dataclass(frozen=True)
class HostKeyInfo:
    host: str
    port: int
    key_type: str          # e.g. ssh-ed25519
    fingerprint: str       # SHA256:..., as `ssh-keygen -lf` prints it

    def __str__(self) -> str:
        return f"{self.host}:{self.port} {self.key_type} {self.fingerprint}"


class HostKeyUnknown(UserError):
    """First contact: the person must confirm the fingerprint."""

    def __init__(self, node: str, info: HostKeyInfo) -> None:
        self.node, self.info = node, info
        super().__init__(
            f"{node}: first contact with {info.host}:{info.port}; its host key is {info.key_type} {info.fingerprint}",
            "compare it with `ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` run on the node's console, "
            f"then accept it (zabbix-ha preflight --accept-host-key {info.fingerprint})")


class HostKeyChanged(EnvironmentProblem):
    def __init__(self, node: str, host: str, port: int, expected: str, got: str, known_hosts: Path) -> None:
        self.node, self.host, self.port, self.expected, self.got = node, host, port, expected, got
        name = entry_name(host, port)
        super().__init__(
            f"{node}: the host key of {host}:{port} CHANGED: expected {expected}, the server sent {got}. "
            "Either the node was reinstalled or someone is intercepting the connection",
            f"if {host} was reinstalled, check the new fingerprint on its console, then remove the old key: "
            f"ssh-keygen -R '{name}' -f {known_hosts}")


def entry_name(host: str, port: int) -> str:
    """The known_hosts name, the way OpenSSH (and paramiko) write it."""
    return host if port == 22 else f"[{host}]:{port}"


def fingerprint(key) -> str:
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def default_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/etc/zabbix-ha/ssh")
    return Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "zabbix-ha" / "ssh"


@dataclass
class TrustStore:
    """A directory (0700) with our key pair and our known_hosts."""

    directory: Path
    # Read-only known_hosts files trusted as well (e.g. the lab's, written at
    # VM creation from the host keys it generated). Never written to.
    extra_known_hosts: tuple[Path, ...] = ()
    # Also trust the running local lab's nodes (see lab_host_keys).
    trust_lab: bool = True

    def __post_init__(self) -> None:
        self.directory = Path(self.directory)
        self.extra_known_hosts = tuple(Path(p) for p in self.extra_known_hosts)

    @property
    def key_path(self) -> Path:
        return self.directory / KEY_NAME

    @property
    def known_hosts_path(self) -> Path:
        return self.directory / "known_hosts"

    def ensure_key(self) -> str:
        """Create the key pair if missing; return the public key line."""
        with _KEY_LOCK:
            return self._ensure_key()

    def _ensure_key(self) -> str:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        if not self.key_path.exists():
            # ssh-keygen creates the private key 0600 itself; no passphrase
            # because the wizard must run unattended after the first prompt.
            try:
                subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", KEY_COMMENT,
                                "-f", str(self.key_path)], check=True, capture_output=True, timeout=30)
            except FileNotFoundError:
                raise EnvironmentProblem("ssh-keygen is not installed on this machine",
                                         "install openssh-client (apt-get install openssh-client)") from None
            except subprocess.CalledProcessError as exc:
                raise EnvironmentProblem(f"ssh-keygen could not create {self.key_path}: "
                                         f"{exc.stderr.decode(errors='replace').strip()}",
                                         f"check that {self.directory} is writable") from None
        mode = self.key_path.stat().st_mode & 0o777
        if mode & 0o077:
            raise EnvironmentProblem(f"the private key {self.key_path} is readable by others (mode {mode:04o})",
                                     f"run: chmod 600 {self.key_path}")
        return Path(f"{self.key_path}.pub").read_text(encoding="utf-8").strip()

    def load_into(self, client) -> None:
        keys = client.get_host_keys()
        # Read-only sources first: for one host and key type the first entry wins,
        # so the lab's current keys beat a stale entry for the same address.
        for host, key_type, key in lab_host_keys() if self.trust_lab else ():
            keys.add(host, key_type, key)
        for path in (*self.extra_known_hosts, self.known_hosts_path):
            if path.exists():
                keys.load(str(path))

    def lookup(self, host: str, port: int) -> list[str]:
        """Fingerprints we trust for host:port."""
        import paramiko

        if not self.known_hosts_path.exists():
            return []
        keys = paramiko.HostKeys(str(self.known_hosts_path)).lookup(entry_name(host, port)) or {}
        return [fingerprint(k) for k in keys.values()]

    def add(self, host: str, port: int, key) -> None:
        """Trust `key` for host:port (written atomically)."""
        import tempfile

        import paramiko

        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        keys = paramiko.HostKeys()
        if self.known_hosts_path.exists():
            keys.load(str(self.known_hosts_path))
        keys.add(entry_name(host, port), key.get_name(), key)
        # mkstemp creates the temp file 0600; rename makes the update atomic.
        fd, tmp = tempfile.mkstemp(prefix=".known_hosts.", dir=self.directory)
        os.close(fd)
        try:
            keys.save(tmp)
            os.replace(tmp, self.known_hosts_path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def lab_host_keys() -> list[tuple[str, str, object]]:
    """(host, key type, key) of the local lab's nodes while a lab is up: the
    lab's known_hosts (written by `zabbix-ha lab up` from the host keys it
    generated), only when that file is root's (or ours) and not writable by
    others, and only for addresses inside the lab's own subnets."""
    import ipaddress
    import json

    try:
        from wizard.lab.paths import KNOWN_HOSTS, STATE_FILE
    except ImportError:            # a build without the lab
        return []
    try:
        info = KNOWN_HOSTS.stat()
        block = ipaddress.ip_network(json.loads(STATE_FILE.read_text())["block"])
    except (OSError, ValueError, KeyError, TypeError):
        return []                  # no lab up, or not ours to read
    if info.st_uid not in (0, os.geteuid()) or info.st_mode & 0o022:
        return []
    import paramiko

    out = []
    try:
        entries = paramiko.HostKeys(str(KNOWN_HOSTS))
    except (OSError, paramiko.SSHException):
        return []
    for host in entries.keys():
        try:
            inside = ipaddress.ip_address(host) in block
        except ValueError:
            inside = False
        if inside:
            out += [(host, key_type, key) for key_type, key in entries[host].items()]
    return out


def ask_policy(trust: TrustStore, port: int, accept: Callable[[HostKeyInfo], bool] | None):
    """A paramiko policy: ask `accept` about an unknown key; never add silently."""
    import paramiko

    class _Ask(paramiko.MissingHostKeyPolicy):
        def missing_host_key(self, client, hostname, key):  # noqa: D401 (paramiko's API)
            host = hostname[1:].split("]:")[0] if hostname.startswith("[") else hostname
            info = HostKeyInfo(host, port, key.get_name(), fingerprint(key))
            if accept is not None and accept(info):
                trust.add(host, port, key)
                client.get_host_keys().add(hostname, key.get_name(), key)
                return
            raise HostKeyUnknown(host, info)

    return _Ask()


def accept_fingerprints(fingerprints: list[str] | tuple[str, ...]) -> Callable[[HostKeyInfo], bool]:
    """A callback accepting exactly the given fingerprints (for --accept-host-key)."""
    wanted = set(fingerprints)
    return lambda info: info.fingerprint in wanted


def scan_host_key(host: str, port: int = 22, timeout: float = 10.0) -> HostKeyInfo:
    """The server's host key, without logging in (to show before asking for a password)."""
    import paramiko

    from wizard.remote import lab_socket

    try:
        sock = lab_socket(host, port, timeout) or socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot connect to {host}:{port}: {exc.strerror or exc}",
                                 f"check that {host} is up and sshd listens on port {port}") from None
    transport = paramiko.Transport(sock)
    try:
        transport.banner_timeout = timeout
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
        return HostKeyInfo(host, port, key.get_name(), fingerprint(key))
    except paramiko.SSHException as exc:
        raise EnvironmentProblem(f"SSH handshake with {host}:{port} failed: {exc}",
                                 f"check that port {port} on {host} is an SSH server") from None
    finally:
        transport.close()


def install_public_key(executor, public_key: str) -> None:
    """Add our public key to the login user's authorized_keys on the node (idempotent)."""
    executor.run(["sh", "-c", _INSTALL_KEY_SCRIPT, "zabbix-ha-key", public_key], as_root=False, timeout=20)


def connect(node: Node, trust: TrustStore, *, password: Secret | None = None,
            accept_host_key: Callable[[HostKeyInfo], bool] | None = None, journal: Journal | None = None,
            connect_timeout: float = 10.0):
    """An SSHExecutor for `node` that logs in with our key.

    If our key is not accepted yet and a password is given, log in once with
    the password, install the key, and reconnect with the key alone. The same
    password then serves sudo when the login user is not root: one prompt.
    """
    from wizard.remote import AuthFailed, SSHExecutor

    public = trust.ensure_key()
    sudo = password if node.ssh_user != "root" else None
    common = dict(trust=trust, node=node.hostname, port=node.ssh_port, user=node.ssh_user,
                  sudo_password=sudo, journal=journal, accept_host_key=accept_host_key,
                  connect_timeout=connect_timeout)
    keyed = SSHExecutor(node.address, key_paths=[str(trust.key_path)], **common)
    try:
        keyed.connect()
        return keyed
    except AuthFailed:
        if not password:
            raise AuthFailed(f"{node.hostname}: our key is not installed for {node.ssh_user}@{node.address}",
                             "give the SSH password of that user once; the wizard installs its own key") from None
    with SSHExecutor(node.address, password=password, key_paths=[], **common) as bootstrap:
        install_public_key(bootstrap, public)
    keyed = SSHExecutor(node.address, key_paths=[str(trust.key_path)], **common)
    try:
        keyed.run(["true"], as_root=False, timeout=10)
    except AuthFailed:
        raise AuthFailed(f"{node.hostname}: the key was installed but {node.address} still refuses it",
                         "check sshd_config on the node: PubkeyAuthentication yes, and AuthorizedKeysFile "
                         "includes .ssh/authorized_keys") from None
    return keyed
