"""Shared pieces of the validators: the context, the verdict, running a tool.

Every validator runs a real program on a copy of the generated file inside a
temporary directory. Facts about each tool (how to call it offline, its noise,
what it misses) are in ../shared/notes/validators.md; the modules next to this
one follow them.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass, field

# Tools live in sbin directories that are not on a normal user's PATH, and the
# DRBD 8.4 helpers in /lib/drbd; look there too so a non-root test run finds them.
_EXTRA_PATH = ("/usr/local/sbin", "/usr/sbin", "/sbin", "/lib/drbd", "/usr/lib/drbd")

# A tool that hangs must not hang the wizard; the slowest legitimate call
# (zabbix_server 6.0 -R with Timeout=1) takes about 1.6 s.
DEFAULT_TIMEOUT = 30.0

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# Every program the validators call, with its Debian 12 package (a platform
# whose package differs says so in platforms.Platform.tool_packages).
REQUIRED_TOOLS: dict[str, str] = {
    "drbdadm": "drbd-utils", "corosync": "corosync", "corosync-keygen": "corosync",
    "unshare": "util-linux", "crm_verify": "pacemaker-cli-utils",
    "crm_simulate": "pacemaker-cli-utils", "crm_attribute": "pacemaker-cli-utils",
    "crm_standby": "pacemaker-cli-utils", "cibadmin": "pacemaker-cli-utils", "crm": "crmsh",
    "apache2ctl": "apache2", "mariadbd": "mariadb-server", "zabbix_server": "zabbix-server-mysql",
    "zabbix_agentd": "zabbix-agent",
    "sbd": "sbd", "fence_sbd": "fence-agents",
    "php": "php-cli",
}


@dataclass(frozen=True)
class ValidationContext:
    """What the validators need to know about the cluster; plain data.

    nodes: the two node names, as written in `on <name>` / corosync `name:`.
    preferred: where everything should run when both nodes are up.
    link_addresses: per node (same order as nodes), its address on each
        corosync link, link 0 first. Empty means "not checked".
    drbd_resource: the DRBD resource name (`resource r0 { ... }`).
    platform: the platform the files are for (wizard.platforms.PLATFORMS);
        it picks whose tools check them (tree.tools_for): the host's for the
        host's own release, the platform's cached root tree otherwise.
    """

    nodes: tuple[str, str]
    preferred: str
    link_addresses: tuple[tuple[str, ...], ...] = ()
    drbd_resource: str = "r0"
    platform: str = "debian12"

    def __post_init__(self) -> None:
        if len(self.nodes) != 2 or self.nodes[0] == self.nodes[1]:
            raise ValueError(f"ValidationContext needs two distinct nodes, got {self.nodes!r}")
        if self.preferred not in self.nodes:
            raise ValueError(f"preferred {self.preferred!r} is not one of {self.nodes!r}")
        if self.link_addresses and len(self.link_addresses) != 2:
            raise ValueError("link_addresses needs one tuple of addresses per node")

    @property
    def other_node(self) -> str:
        return self.nodes[1] if self.preferred == self.nodes[0] else self.nodes[0]

    def peer(self, node: str) -> str:
        return self.nodes[1] if node == self.nodes[0] else self.nodes[0]

    def addresses(self, node: str) -> list[str]:
        """The node's interconnect addresses, link 0 first ([] when unknown)."""
        if not self.link_addresses or node not in self.nodes:
            return []
        return list(self.link_addresses[self.nodes.index(node)])


@dataclass(frozen=True)
class Verdict:
    """One check of one file on one node by one tool.

    ok is False when the tool rejected the file, and also when the tool is not
    installed (then skipped_reason says so): an unchecked file is never "valid".
    Callers that only want to report missing tools test skipped_reason.
    """

    node: str
    path: str
    kind: str
    tool: str
    ok: bool
    messages: list[str] = field(default_factory=list)
    skipped_reason: str | None = None
    seconds: float = 0.0

    def line(self) -> str:
        """One human line: `OK   zbx-node1 /etc/corosync/corosync.conf (corosync -t)`."""
        state = "SKIP" if self.skipped_reason else ("OK" if self.ok else "FAIL")
        head = f"{state:<4} {self.node} {self.path} ({self.tool})"
        detail = self.skipped_reason or "; ".join(self.messages[:3])
        return f"{head}: {detail}" if detail and not self.ok else head


@dataclass(frozen=True)
class Target:
    """Where the file under test will live: used only to label verdicts."""

    node: str
    path: str
    kind: str

    def verdict(self, tool: str, ok: bool, messages: list[str] | None = None,
                skipped_reason: str | None = None, seconds: float = 0.0) -> Verdict:
        return Verdict(self.node, self.path, self.kind, tool, ok, list(messages or []),
                       skipped_reason, round(seconds, 3))

    def missing(self, tool: str, package: str) -> Verdict:
        return self.verdict(tool, False, [],
                            f"{tool} is not installed (Debian package {package})")


def find_tool(name: str) -> str | None:
    """Absolute path of a program, also searching the sbin directories."""
    path = os.environ.get("PATH", os.defpath) + os.pathsep + os.pathsep.join(_EXTRA_PATH)
    return shutil.which(name, path=path)


@dataclass(frozen=True)
class Result:
    rc: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run(argv: list[str], *, env: dict[str, str] | None = None, cwd: str | None = None,
        timeout: float = DEFAULT_TIMEOUT, stdin: str | None = None) -> Result:
    """Run a tool (argument list, never a shell string) and capture everything.

    env adds to the current environment. LC_ALL=C keeps messages stable for
    matching. A timeout is reported like a failing run, not raised.
    """
    full_env = dict(os.environ)
    full_env["LC_ALL"] = "C"
    full_env["PATH"] = full_env.get("PATH", os.defpath) + os.pathsep + os.pathsep.join(_EXTRA_PATH)
    if env:
        full_env.update(env)
    start = time.monotonic()
    try:
        proc = subprocess.run(argv, env=full_env, cwd=cwd, capture_output=True, text=True,
                              errors="replace", timeout=timeout, input=stdin,
                              stdin=None if stdin is not None else subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return Result(124, out, f"{argv[0]}: timed out after {timeout:.0f} s",
                      time.monotonic() - start)
    return Result(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def clean_lines(text: str, noise: tuple[str | re.Pattern[str], ...] = ()) -> list[str]:
    """Non-empty lines of a tool's output minus known noise (substring or regex)."""
    lines = []
    for raw in strip_ansi(text).splitlines():
        line = raw.strip()
        if not line:
            continue
        if any((n.search(line) if isinstance(n, re.Pattern) else n in line) for n in noise):
            continue
        lines.append(line)
    return lines


def write(directory: str, name: str, text: str, mode: int = 0o644) -> str:
    """Write a file under directory (creating parents) and return its absolute path."""
    path = os.path.join(directory, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, mode)
    return os.path.abspath(path)


# ---- Python-side checks for what the tools let through ----------------------

def single_exec(text: str, path: str) -> tuple[list[str] | None, list[str]]:
    """A wrapper script's one `exec` line as argv (the words after `exec`), or why there is none."""
    execs = [line.strip() for line in text.splitlines() if line.strip().startswith("exec ")]
    if len(execs) != 1:
        return None, [f"{path}: expected one exec line, found {len(execs)}"]
    return shlex.split(execs[0])[1:], []


# A dotted quad anywhere in a line; the tools accept 172.16.1.300 (DRBD emits
# it as is, Apache and MariaDB only warn), so every one is checked here.
_DOTTED = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?![\w.])")


def bad_ipv4_literals(text: str, filename: str) -> list[str]:
    """Messages for dotted quads that are not valid IPv4 addresses (octet > 255, leading zeros)."""
    problems = []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip()
        if stripped.startswith(("#", ";", "//")):
            continue
        for match in _DOTTED.finditer(line):
            try:
                ipaddress.IPv4Address(match.group(1))
            except ValueError:
                problems.append(f"{filename}:{number}: '{match.group(1)}' is not a valid IPv4 address")
    return problems


def valid_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


_HOSTNAME_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


def valid_hostname(name: str) -> bool:
    """RFC 1123 host name (labels of letters, digits, hyphens)."""
    if not name or len(name) > 253:
        return False
    return all(_HOSTNAME_LABEL.fullmatch(label) for label in name.rstrip(".").split("."))
