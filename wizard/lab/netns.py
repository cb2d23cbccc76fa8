"""The lab's own network namespace, `zha-lab`: the whole host side of the lab.

Bridges, taps and veths, the host's lab addresses (.1, the BMCs' .21/.22),
the mirror's HTTP server, the simulated BMCs and the qemu/nspawn network ends
all live in it; the machine's main namespace gets no lab link, address or
route. `lab down` deletes it. A new namespace forwards nothing (ip_forward 0)
and has no way out, so the nodes' default route ends at the lab host.

A lab brought up before the namespace existed (an older zabbix-ha) keeps
working until its `lab down`: with no namespace, host_argv and call_in run
in the current one, where that lab's links are.

How things reach it:
- commands: `host_argv(argv)` prefixes `nsenter --net=/run/netns/zha-lab --`
  (`zabbix-ha lab exec -- CMD`, `zabbix-ha lab shell`, `run(argv)` for tests);
- this process: `call_in(fn)` runs fn in a short-lived thread that joined the
  namespace (setns is per thread), so only what fn creates (a socket, a
  /proc/sys write) belongs to the lab; the rest of the process stays put;
- the product: `connect(host, port, timeout)` opens a TCP connection to a lab
  address inside the namespace (zabbix-ha's SSH executor uses it, so
  `zabbix-ha preflight --answers "$(zabbix-ha lab answers)"` and the wizard
  reach the lab from the main namespace without any route to it).
"""

from __future__ import annotations

import ctypes
import ipaddress
import json
import os
import socket
import subprocess
import threading
from pathlib import Path
from typing import Callable, TypeVar

from wizard.lab.paths import PREFIX, STATE_FILE

NAME = f"{PREFIX}-lab"
PATH = Path("/run/netns") / NAME
CLONE_NEWNET = 0x40000000
T = TypeVar("T")


def exists() -> bool:
    return PATH.exists()


def host_argv(argv: list[str]) -> list[str]:
    """`argv` run on the lab's host side (inside the namespace)."""
    if not exists():
        return list(argv)            # a lab from before the namespace
    return ["nsenter", f"--net={PATH}", "--", *argv]


def run(argv: list[str], *, timeout: float = 60, check: bool = False, input: str | None = None,
        ) -> subprocess.CompletedProcess[str]:
    """Run a command inside the lab's namespace (for tests and scripts: curl the VIP, ...)."""
    if not exists():
        from wizard.lab.proc import LabError
        raise LabError(f"the lab's network namespace {NAME} does not exist", "run `zabbix-ha lab up` first")
    return subprocess.run(host_argv(argv), capture_output=True, text=True, timeout=timeout, check=check,
                          input=input, stdin=None if input is not None else subprocess.DEVNULL)


def _setns(fd: int) -> None:
    if hasattr(os, "setns"):                     # Python 3.12+
        os.setns(fd, CLONE_NEWNET)
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns({NAME}): {os.strerror(err)}")


def call_in(fn: Callable[[], T], *, timeout: float = 60) -> T:
    """fn() in a thread that joined the lab's namespace; its result or exception."""
    if not exists():
        return fn()                  # a lab from before the namespace
    box: dict[str, object] = {}

    def target() -> None:
        try:
            fd = os.open(PATH, os.O_RDONLY | os.O_CLOEXEC)
            try:
                _setns(fd)
            finally:
                os.close(fd)
            box["value"] = fn()
        except BaseException as exc:             # handed to the caller
            box["error"] = exc

    thread = threading.Thread(target=target, name=f"{NAME}-netns", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {timeout:.0f} s inside the lab's namespace")
    if "error" in box:
        raise box["error"]                       # type: ignore[misc]
    return box["value"]                          # type: ignore[return-value]


def create() -> None:
    """The namespace with loopback up, no IPv6 on anything made in it, no forwarding."""
    from wizard.lab.proc import run as prun

    if not exists():
        prun(["ip", "netns", "add", NAME])
    prun(["ip", "-n", NAME, "link", "set", "lo", "up"])

    def sysctls() -> None:
        for key, value in (("ipv6/conf/default/disable_ipv6", "1"), ("ipv6/conf/all/disable_ipv6", "1"),
                           ("ipv4/ip_forward", "0")):
            try:
                with open(f"/proc/sys/net/{key}", "w") as f:
                    f.write(value)
            except FileNotFoundError:
                pass                             # no IPv6 in this kernel: nothing to disable
    call_in(sysctls)


def delete() -> bool:
    """Remove the namespace (its links go with it). True if there was one."""
    from wizard.lab.proc import run as prun

    if not exists():
        return False
    prun(["ip", "netns", "del", NAME], check=False)
    return True


def forwarding() -> bool:
    """Does the lab's host side forward IPv4 (it must not)?"""
    def read() -> str:
        with open("/proc/sys/net/ipv4/ip_forward") as f:
            return f.read().strip()
    return call_in(read) != "0"


def lab_block() -> ipaddress.IPv4Network | None:
    """The running lab's /22, from its state file (None: no lab, or not ours to read)."""
    try:
        return ipaddress.ip_network(json.loads(STATE_FILE.read_text())["block"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_lab_address(host: str) -> bool:
    block = lab_block()
    if block is None or not exists():
        return False
    try:
        return ipaddress.ip_address(host) in block
    except ValueError:
        return False


def connect(host: str, port: int, timeout: float) -> socket.socket | None:
    """A TCP connection to `host` opened inside the lab's namespace when `host`
    is an address of the running lab; None for any other host."""
    if not is_lab_address(host):
        return None
    return call_in(lambda: socket.create_connection((host, port), timeout=timeout), timeout=timeout + 5)


def links() -> list[dict]:
    """The namespace's links (`ip -j -d link`), [] without a namespace."""
    if not exists():
        return []
    out = subprocess.run(["ip", "-n", NAME, "-j", "-d", "link", "show"], capture_output=True, text=True,
                         timeout=30).stdout
    return json.loads(out or "[]")


def http_get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    """(status, body) of a GET from inside the lab's namespace: how a test or
    a script on this machine reaches the VIP or the mirror. HTTP errors are
    returned as their status, connection errors raised (OSError)."""
    import urllib.error
    import urllib.request

    def get() -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:     # noqa: S310 (lab URLs only)
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
    return call_in(get, timeout=timeout + 5)
