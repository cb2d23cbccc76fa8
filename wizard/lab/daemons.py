"""Host-side helper processes the lab starts (HTTP repo server, BMC
simulators, container supervisors), each tracked by a pid file under
WORK_DIR/pids that also records a marker from its command line, so `down`
ends exactly these processes — also after a crash — and never a recycled pid."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from wizard.lab.paths import WORK_DIR
from wizard.lab.proc import LabError, pid_alive, stop_pid

PID_DIR = WORK_DIR / "pids"


def start(name: str, argv: list[str], marker: str, log: Path, **popen) -> int:
    if marker not in " ".join(argv) and "cwd" not in popen:
        raise ValueError(f"marker {marker!r} must appear in the command line")
    PID_DIR.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, **popen)
        except FileNotFoundError:
            raise LabError(f"{argv[0]} is not installed", "install the packages in .ci/packages/lab.txt")
    (PID_DIR / f"{name}.json").write_text(json.dumps({"pid": proc.pid, "marker": marker}))
    return proc.pid


def pid(name: str) -> int | None:
    try:
        info = json.loads((PID_DIR / f"{name}.json").read_text())
    except (OSError, ValueError):
        return None
    return info["pid"] if pid_alive(info["pid"]) else None


def stop(name: str, term_wait: float = 5) -> None:
    path = PID_DIR / f"{name}.json"
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    stop_pid(info["pid"], info["marker"], term_wait=term_wait)
    path.unlink(missing_ok=True)
    _reap(info["pid"])


def stop_all() -> list[str]:
    stopped = []
    if PID_DIR.exists():
        for path in sorted(PID_DIR.glob("*.json")):
            stop(path.stem)
            stopped.append(path.stem)
    return stopped


def _reap(pid: int) -> None:
    """Collect our exited child so it does not linger as a zombie (only that
    pid: other children of this process belong to other code)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass   # not our child (started by an earlier run) or already collected
