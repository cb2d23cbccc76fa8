"""Running host commands and waiting, always bounded.

Commands are argument lists, never shell strings. Every wait has a
deadline and says what it was waiting for when it gives up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, TypeVar

from wizard.errors import EnvironmentProblem

T = TypeVar("T")


class LabError(EnvironmentProblem):
    """Something on the host or in a node did not do what the lab needs."""


def run(argv: list[str], *, timeout: float = 60, check: bool = True, input: str | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, input=input, cwd=cwd,
                              stdin=None if input is not None else subprocess.DEVNULL)
    except FileNotFoundError:
        raise LabError(f"{argv[0]} is not installed",
                       "install the packages in .ci/packages/lab.txt (apt-get install --no-install-recommends ...)")
    except subprocess.TimeoutExpired:
        raise LabError(f"{' '.join(argv[:4])} ... did not finish within {timeout:.0f} s", "see the lab log; run `zabbix-ha lab down` and retry")
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise LabError(f"{' '.join(argv[:6])} failed (exit {proc.returncode}): " + " | ".join(detail),
                       "see the message above; `zabbix-ha lab down` cleans up")
    return proc


def wait_until(check: Callable[[], T], *, timeout: float, interval: float = 1.0, what: str) -> T:
    """Call `check` until it returns something truthy; give up after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise LabError(f"timed out after {timeout:.0f} s waiting for {what}",
                           "see the node's console log under /var/lib/zabbix-ha-lab/nodes/; `zabbix-ha lab down` cleans up")
        time.sleep(interval)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes (its parent has not reaped it yet).
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def pid_cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def read_pidfile(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def stop_pid(pid: int, marker: str, *, term_wait: float = 5.0, sig: int = signal.SIGTERM) -> None:
    """End one process we started, identified by pid AND by a marker in its
    command line, so a recycled pid is never hit."""
    if not pid_alive(pid) or not any(marker in arg for arg in pid_cmdline(pid)):
        return
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + term_wait
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
