"""Exclusive locks, so two runs on one machine wait for each other instead
of clobbering the one lab (or a half-built image). Waits are bounded."""

from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path

from wizard.lab.proc import LabError


@contextmanager
def locked(path: Path, *, timeout: float, what: str):
    fd = acquire(path, timeout=timeout, what=what)
    try:
        yield
    finally:
        os.close(fd)


def acquire(path: Path, *, timeout: float, what: str) -> int:
    """Hold the lock until the returned fd is closed (or the process ends)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + timeout
    announced = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() >= deadline:
                os.close(fd)
                raise LabError(f"{what} is busy: another zabbix-ha lab run holds {path} for more than {timeout:.0f} s",
                               "wait for it to finish, or end it; then retry")
            if not announced:
                print(f"zabbix-ha lab: waiting for another run ({what})", flush=True)
                announced = True
            time.sleep(1)
