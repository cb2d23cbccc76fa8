"""Size and start-up time of the one-file binary, beside the source tree's.

    .venv/bin/python benchmarks/binary.py            # reuses dist/zabbix-ha, builds it if absent
    .venv/bin/python benchmarks/binary.py --build    # builds dist/zabbix-ha first (timed)
    .venv/bin/python benchmarks/binary.py --binary /path/to/zabbix-ha --runs 10

Time to first screen: the wizard is started in a pseudo-terminal (100x30,
TERM=xterm-256color) and timed until the welcome step's text has been drawn;
then Ctrl+Q quits it. `--version` is timed to exit. Each is run once to warm
the page cache, then --runs times; min and median are printed. Goals (issue 7):
binary <= 40 MB, first screen < 2 s.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist" / "zabbix-ha"
SIZE_GOAL_MB = 40
FIRST_SCREEN_GOAL_S = 2.0
COLS, ROWS = 100, 30
# Both on the welcome step: its title line and its first form section.
MARKERS = ("step 1 of", "Start from")
ANSI = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78DEHM]")


def build() -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
                    str(ROOT / "build.spec")], cwd=ROOT, check=True)
    return time.monotonic() - started


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "_PYI"))}
    env.update(TERM="xterm-256color", LANG=env.get("LANG", "C.UTF-8"), COLUMNS=str(COLS), LINES=str(ROWS))
    return env


def first_screen(argv: list[str], cwd: Path, timeout: float = 60) -> float:
    """Seconds from spawn until every marker is on the screen (escape sequences stripped)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, env=clean_env(), stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True, close_fds=True)
    os.close(slave)
    seen = b""
    found_at = None
    try:
        while time.monotonic() - started < timeout:
            ready, _w, _x = select.select([master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:
                    break           # the child closed the terminal
                if not chunk:
                    break
                seen += chunk
                text = ANSI.sub(b"", seen).decode("utf-8", "replace")
                if all(m in text for m in MARKERS):
                    found_at = time.monotonic() - started
                    break
            if proc.poll() is not None:
                break
        if found_at is None:
            tail = ANSI.sub(b"", seen).decode("utf-8", "replace")[-2000:]
            raise RuntimeError(f"{argv[0]}: the welcome step never appeared (exit {proc.poll()}); "
                               f"the screen showed:\n{tail}")
        os.write(master, b"\x11")   # Ctrl+Q: nothing was changed, so it quits at once
        _drain_until_exit(master, proc, 15)
        return found_at
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        os.close(master)


def _drain_until_exit(master: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        ready, _w, _x = select.select([master], [], [], 0.05)
        if ready:
            try:
                os.read(master, 65536)
            except OSError:
                pass
    proc.wait(max(0.1, deadline - time.monotonic()))


def version_time(argv: list[str], cwd: Path) -> float:
    started = time.monotonic()
    subprocess.run([*argv, "--version"], cwd=cwd, env=clean_env(), check=True, capture_output=True, timeout=60)
    return time.monotonic() - started


def measure(argv: list[str], runs: int, cwd: Path) -> dict[str, list[float]]:
    first_screen(argv, cwd)           # warm the page cache
    version_time(argv, cwd)
    return {"screen": [first_screen(argv, cwd) for _ in range(runs)],
            "version": [version_time(argv, cwd) for _ in range(runs)]}


def fmt(values: list[float]) -> str:
    return f"{min(values):5.2f} s min  {statistics.median(values):5.2f} s median"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", type=Path, default=DIST, help=f"the binary to measure (default {DIST})")
    parser.add_argument("--build", action="store_true", help="build dist/zabbix-ha first, timed")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    build_s = None
    if args.build or (args.binary == DIST and not DIST.exists()):
        print("building dist/zabbix-ha ...", flush=True)
        build_s = build()
    binary = args.binary.resolve()
    size_mb = binary.stat().st_size / 2**20
    source = [sys.executable, "-m", "wizard"]

    with tempfile.TemporaryDirectory(prefix="zha-bench-") as tmp:
        cwd = Path(tmp)
        frozen = measure([str(binary)], args.runs, cwd)
        src = measure(source, args.runs, cwd)

    print()
    print(f"{'':26}{'binary':>30}    {'source tree':>30}")
    print(f"{'size':26}{size_mb:>27.1f} MB    {'(needs .venv: Python + deps)':>30}")
    print(f"{'time to first screen':26}{fmt(frozen['screen']):>30}    {fmt(src['screen']):>30}")
    print(f"{'--version':26}{fmt(frozen['version']):>30}    {fmt(src['version']):>30}")
    if build_s is not None:
        print(f"{'build':26}{build_s:>29.0f} s")
    print()
    print(f"binary: {binary}; {args.runs} runs after one warm-up; first screen = welcome step drawn "
          f"in a {COLS}x{ROWS} pty")
    size_ok = size_mb <= SIZE_GOAL_MB
    start_ok = statistics.median(frozen["screen"]) < FIRST_SCREEN_GOAL_S
    print(f"goal size <= {SIZE_GOAL_MB} MB: {'met' if size_ok else 'MISSED'}; "
          f"goal first screen < {FIRST_SCREEN_GOAL_S:.0f} s (median): {'met' if start_ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
