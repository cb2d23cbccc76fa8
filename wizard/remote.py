"""Run commands on a node: one Executor API, local (subprocess) or SSH (paramiko).

Commands are argument lists, never shell strings built from user text: the
SSH side joins them with shlex. Escalation uses sudo when the login user is
not root (`sudo -n`, or `sudo -S` with the password on stdin; never in argv).
Every call is journaled with secrets masked, and every call has a timeout:
on the remote side the command runs under `timeout`, so a hung command dies
on the node too, not only in our bookkeeping.

paramiko is imported inside SSHExecutor.connect(): `zabbix-ha --help` must
stay fast.
"""

from __future__ import annotations

import os
import select
import shlex
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from wizard.errors import EnvironmentProblem, UserError
from wizard.journal import Journal
from wizard.spec import Secret

if TYPE_CHECKING:  # pragma: no cover
    from wizard.sshtrust import HostKeyInfo, TrustStore

DEFAULT_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
# Extra time we wait after the remote `timeout` should have fired.
GRACE = 3.0
# A remote `timeout` exits with 124 when it had to stop the command.
TIMEOUT_RC = 124

# put(): write to a temp file in the target directory (mktemp creates it
# 0600), set mode and owner, then rename into place. Path, mode and owner
# come as positional parameters, so no value is ever pasted into the script.
_PUT_SCRIPT = (
    'set -e; umask 077; dir=$(dirname -- "$1"); '
    'tmp=$(mktemp -- "$dir/.zabbix-ha.XXXXXX"); '
    'trap \'rm -f -- "$tmp"\' EXIT; '
    'cat > "$tmp"; chmod -- "$2" "$tmp"; '
    'if [ -n "$3" ]; then chown -- "$3" "$tmp"; fi; '
    'mv -f -- "$tmp" "$1"; trap - EXIT'
)


@dataclass(frozen=True)
class Result:
    rc: int
    stdout: str
    stderr: str
    duration: float

    @property
    def ok(self) -> bool:
        return self.rc == 0


def shown(argv: tuple[str, ...], limit: int = 160) -> str:
    """A command as a person reads it in a message: whole when short, else its start
    (a probe's inline script is pages long; the journal keeps it whole)."""
    text = shlex.join(argv)
    return text if len(text) <= limit else text[:limit].rstrip() + " ..."


class CommandFailed(EnvironmentProblem):
    def __init__(self, node: str, argv: tuple[str, ...], result: Result) -> None:
        self.node, self.argv, self.result = node, argv, result
        detail = result.stderr.strip().splitlines()[-1:] or ["no error output"]
        super().__init__(f"on {node}: `{shown(argv)}` failed with exit code {result.rc}: {detail[0]}",
                         "read the error above; the journal has the full command list")


class CommandTimeout(EnvironmentProblem):
    def __init__(self, node: str, argv: tuple[str, ...], timeout: float) -> None:
        self.node, self.argv, self.timeout = node, argv, timeout
        super().__init__(f"on {node}: `{shown(argv)}` did not finish within {timeout:g} s and was stopped",
                         f"check that {node} is not overloaded or waiting on a hung disk or mount")


class ConnectFailed(EnvironmentProblem):
    pass


class AuthFailed(UserError):
    pass


class Executor:
    """Runs commands on one node. Subclasses implement `_exec`."""

    node: str
    journal: Journal
    user: str = "root"

    def __init__(self, node: str, *, journal: Journal | None = None, user: str = "root",
                 sudo_password: Secret | None = None) -> None:
        self.node = node
        self.journal = journal if journal is not None else Journal()
        self.user = user
        self.sudo_password = sudo_password
        if sudo_password:
            self.journal.add_secret(sudo_password.reveal())
        self._sudo_prefix: list[str] | None = None
        self._sudo_lock = threading.Lock()

    # -- the API -----------------------------------------------------------

    def run(self, argv: list[str] | tuple[str, ...], *, check: bool = True, input: str | None = None,
            timeout: float = DEFAULT_TIMEOUT, as_root: bool = True, log: bool = True) -> Result:
        """Run `argv`; `input` goes to its stdin (the way to pass secrets).

        log=False: the caller journals the call itself (run_batch records
        each command of a batch instead of the `sh -s` carrying them).
        """
        argv = tuple(str(a) for a in argv)
        if not argv:
            raise ValueError("empty command")
        prefix, stdin = self._escalation(as_root, input)
        started = time.time()
        t0 = time.monotonic()
        try:
            rc, out, err = self._exec([*prefix, *argv], stdin, timeout)
        except CommandTimeout:
            self.journal.record(self.node, argv, None, time.monotonic() - t0, started,
                                note=f"timed out after {timeout:g} s")
            raise CommandTimeout(self.node, self.journal.entries[-1].argv, timeout) from None
        except (ConnectFailed, AuthFailed) as exc:
            self.journal.record(self.node, argv, None, time.monotonic() - t0, started, note=str(exc))
            raise
        duration = time.monotonic() - t0
        if log:
            self.journal.record(self.node, argv, rc, duration, started, note=err if rc else "")
        result = Result(rc, out, err, duration)
        if check and rc != 0:
            masked = Result(rc, self.journal.mask(out), self.journal.mask(err), duration)
            raise CommandFailed(self.node, tuple(self.journal.mask(a) for a in argv), masked)
        return result

    def put(self, path: str, text: str, mode: int = 0o644, owner: str | None = None,
            timeout: float = DEFAULT_TIMEOUT) -> None:
        """Write `text` to `path` atomically (temp name + rename), mode set before the rename."""
        if not path.startswith("/"):
            raise ValueError(f"put() needs an absolute path, got {path!r}")
        self.run(["sh", "-c", _PUT_SCRIPT, "zabbix-ha-put", path, f"{mode:04o}", owner or ""],
                 input=text, timeout=timeout)

    def get(self, path: str, timeout: float = DEFAULT_TIMEOUT) -> str:
        return self.run(["cat", "--", path], timeout=timeout).stdout

    def close(self) -> None:
        pass

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- sudo ----------------------------------------------------------------

    @property
    def is_root(self) -> bool:
        return self.user == "root"

    def _escalation(self, as_root: bool, input: str | None) -> tuple[list[str], str | None]:
        if not as_root or self.is_root:
            return [], input
        prefix = self._sudo()
        if "-S" in prefix:
            # The password is the first line sudo reads; the command gets the rest.
            return prefix, self.sudo_password.reveal() + "\n" + (input or "")
        return prefix, input

    def _sudo(self) -> list[str]:
        """Find out once per node how to become root: sudo -n, or sudo -S with the password."""
        with self._sudo_lock:
            if self._sudo_prefix is not None:
                return self._sudo_prefix
            rc, _, _ = self._exec(["sudo", "-n", "true"], None, 10)
            if rc == 0:
                self._sudo_prefix = ["sudo", "-n", "--"]
                return self._sudo_prefix
            if not self.sudo_password:
                raise AuthFailed(f"{self.user}@{self.node} is not root and sudo asks for a password",
                                 "give the user's password (it is used for sudo, never stored), "
                                 "or allow the user passwordless sudo")
            # -k: ignore a cached sudo timestamp, so sudo always reads the
            # password line first and never hands it to the command instead.
            prefix = ["sudo", "-k", "-S", "-p", "", "--"]
            rc, _, _ = self._exec([*prefix, "true"], self.sudo_password.reveal() + "\n", 15)
            if rc != 0:
                raise AuthFailed(f"sudo on {self.node} refused the password of {self.user}",
                                 f"check the password and that {self.user} may use sudo (group sudo or wheel)")
            self._sudo_prefix = prefix
            return prefix

    def _exec(self, argv: list[str], stdin: str | None, timeout: float) -> tuple[int, str, str]:
        raise NotImplementedError


class LocalExecutor(Executor):
    """The node the wizard runs on."""

    def __init__(self, node: str = "local", *, journal: Journal | None = None,
                 sudo_password: Secret | None = None) -> None:
        import getpass

        user = "root" if os.geteuid() == 0 else getpass.getuser()
        super().__init__(node, journal=journal, user=user, sudo_password=sudo_password)

    def _exec(self, argv: list[str], stdin: str | None, timeout: float) -> tuple[int, str, str]:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    start_new_session=True, env={**os.environ, "LC_ALL": "C"})
        except FileNotFoundError:
            return 127, "", f"{argv[0]}: command not found"
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            # Kill the whole process group: the command may have children.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.communicate()
            raise CommandTimeout(self.node, tuple(argv), timeout) from None
        return proc.returncode, out, err


class SSHExecutor(Executor):
    """A node reached over SSH. One connection, opened on first use, reused.

    Host keys are checked against the TrustStore's own known_hosts file.
    An unknown key calls `accept_host_key(info)`; without a callback, or if
    it answers False, connecting fails with HostKeyUnknown carrying the
    fingerprint (the UI shows it and retries with a callback). A changed key
    is always a hard error (HostKeyChanged).
    """

    def __init__(self, host: str, *, trust: "TrustStore", node: str | None = None, port: int = 22,
                 user: str = "root", password: Secret | None = None, key_paths: list[str] | None = None,
                 sudo_password: Secret | None = None, journal: Journal | None = None,
                 accept_host_key: Callable[["HostKeyInfo"], bool] | None = None,
                 connect_timeout: float = CONNECT_TIMEOUT) -> None:
        super().__init__(node or host, journal=journal, user=user, sudo_password=sudo_password)
        self.host, self.port = host, port
        self.trust = trust
        self.password = password
        if password:
            self.journal.add_secret(password.reveal())
        self.key_paths = list(key_paths) if key_paths is not None else (
            [str(trust.key_path)] if trust.key_path.exists() else [])
        self.accept_host_key = accept_host_key
        self.connect_timeout = connect_timeout
        self._client = None
        self._connect_lock = threading.Lock()

    @property
    def target(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    def connect(self) -> None:
        with self._connect_lock:
            if self._client is not None and self._client.get_transport() is not None \
                    and self._client.get_transport().is_active():
                return
            self._client = self._open()

    def _open(self):
        import logging

        import paramiko

        # paramiko's transport thread logs handshake failures with a
        # traceback to stderr; we report them ourselves, naming the host.
        log = logging.getLogger("paramiko")
        if not log.handlers:
            log.addHandler(logging.NullHandler())
            log.propagate = False

        from wizard.sshtrust import HostKeyChanged, ask_policy, fingerprint

        if not self.password and not self.key_paths:
            raise AuthFailed(f"{self.node}: no password and no key to log in as {self.target}",
                             f"give the SSH password of {self.user} once; the wizard then installs its own key")
        client = paramiko.SSHClient()
        self.trust.load_into(client)
        client.set_missing_host_key_policy(ask_policy(self.trust, self.port, self.accept_host_key))
        t = self.connect_timeout
        try:
            sock = lab_socket(self.host, self.port, t)
            client.connect(self.host, port=self.port, username=self.user, sock=sock,
                           password=self.password.reveal() if self.password else None,
                           key_filename=self.key_paths or None, allow_agent=False, look_for_keys=False,
                           timeout=t, banner_timeout=t, auth_timeout=t, channel_timeout=t)
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise HostKeyChanged(self.node, self.host, self.port, fingerprint(exc.expected_key),
                                 fingerprint(exc.key), self.trust.known_hosts_path) from None
        except paramiko.AuthenticationException:
            client.close()
            how = "password" if self.password else "key " + ", ".join(self.key_paths)
            raise AuthFailed(f"{self.node}: SSH login as {self.target} was refused ({how})",
                             f"check the user and password for {self.host}; if root login is disabled, "
                             "use a sudo-capable user (ssh_user in the answers)") from None
        except (socket.timeout, TimeoutError):
            client.close()
            raise ConnectFailed(f"{self.node}: no answer from {self.host}:{self.port} within {t:g} s",
                                f"check that {self.host} is up, the address and SSH port are right, "
                                "and no firewall drops the connection") from None
        except paramiko.ssh_exception.NoValidConnectionsError as exc:
            client.close()
            reasons = "; ".join(sorted({e.strerror or str(e) for e in exc.errors.values()}))
            raise ConnectFailed(f"{self.node}: cannot connect to {self.host}:{self.port}: {reasons}",
                                f"check that sshd runs on {self.host} and listens on port {self.port}") from None
        except paramiko.SSHException as exc:
            client.close()
            raise ConnectFailed(f"{self.node}: SSH handshake with {self.host}:{self.port} failed: {exc}",
                                f"check that port {self.port} on {self.host} is an SSH server") from None
        except OSError as exc:
            client.close()
            raise ConnectFailed(f"{self.node}: cannot connect to {self.host}:{self.port}: {exc.strerror or exc}",
                                f"check the address of {self.node} and the network path to it") from None
        except BaseException:
            client.close()
            raise
        transport = client.get_transport()
        # Keepalives notice a dead peer during long steps instead of hanging.
        transport.set_keepalive(15)
        return client

    def close(self) -> None:
        with self._connect_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def _exec(self, argv: list[str], stdin: str | None, timeout: float) -> tuple[int, str, str]:
        self.connect()
        # `timeout` on the node stops the command there; -k kills it if TERM is ignored.
        wrapped = ["timeout", "-k", "2", f"{timeout:g}", *argv] if argv[0] != "sudo" else \
            self._wrap_after_sudo(argv, timeout)
        command = "LC_ALL=C " + shlex.join(wrapped)
        deadline = time.monotonic() + timeout + GRACE
        try:
            chan = self._client.get_transport().open_session(timeout=self.connect_timeout)
        except Exception as exc:  # paramiko.SSHException, EOFError: the connection died
            self.close()
            raise ConnectFailed(f"{self.node}: the SSH connection to {self.host} was lost ({exc})",
                                f"check that {self.host} is up and reachable, then run again") from None
        try:
            chan.settimeout(max(deadline - time.monotonic(), 0.1))
            chan.exec_command(command)
            if stdin is not None:
                chan.sendall(stdin.encode())
            chan.shutdown_write()
            out, err = bytearray(), bytearray()
            while True:
                progressed = False
                while chan.recv_ready():
                    out += chan.recv(65536)
                    progressed = True
                while chan.recv_stderr_ready():
                    err += chan.recv_stderr(65536)
                    progressed = True
                if chan.exit_status_ready() and chan.eof_received and not chan.recv_ready() \
                        and not chan.recv_stderr_ready():
                    break
                if progressed:
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise CommandTimeout(self.node, tuple(argv), timeout)
                select.select([chan], [], [], min(remaining, 0.02))
            rc = chan.recv_exit_status()
        except socket.timeout:
            raise CommandTimeout(self.node, tuple(argv), timeout) from None
        finally:
            chan.close()
        if rc == TIMEOUT_RC and time.monotonic() >= deadline - GRACE - 0.05:
            raise CommandTimeout(self.node, tuple(argv), timeout)
        if rc == -1:  # the channel closed without an exit status (connection dropped)
            raise ConnectFailed(f"{self.node}: the connection to {self.host} closed during a command",
                                f"check that {self.host} is up, then run again")
        return rc, out.decode(errors="replace"), err.decode(errors="replace")

    @staticmethod
    def _wrap_after_sudo(argv: list[str], timeout: float) -> list[str]:
        # Run `timeout` as root (after sudo's options) so it can stop a root command.
        cut = argv.index("--") + 1 if "--" in argv else len(argv) - 1
        return [*argv[:cut], "timeout", "-k", "2", f"{timeout:g}", *argv[cut:]]


def lab_socket(host: str, port: int, timeout: float):
    """A connection to a node of the local lab, opened inside the lab's own
    network namespace (the main namespace has no route to it); None for any
    host that is not a running lab's (then paramiko connects as usual)."""
    try:
        from wizard.lab import netns
    except ImportError:            # a build without the lab
        return None
    return netns.connect(host, port, timeout)


def is_local_address(address: str) -> bool:
    """True if `address` is one of this machine's own addresses (binding to it works)."""
    import socket

    try:
        infos = socket.getaddrinfo(address, None)
    except OSError:
        return False
    for family, _, _, _, sockaddr in infos:
        try:
            with socket.socket(family, socket.SOCK_DGRAM) as s:
                s.bind((sockaddr[0], 0))
            return not sockaddr[0].startswith("127.")
        except OSError:
            continue
    return False
