"""The frozen binary, built once per session from build.spec, and ways to run it.

The `binary` fixture runs PyInstaller into a temporary directory (never into
the checkout's dist/), so the tests always exercise what build.spec makes of
the tree as it is now. Set ZHA_BINARY=/path/to/zabbix-ha to test a binary
built earlier instead (quicker while working on these tests; CI never sets it).

Tests then run only that binary: it is copied into a directory of its own,
started from a scratch working directory, with an environment that has no
virtualenv, no PYTHON* variables and no path into the checkout.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

# The build takes ~1 min on an idle 2-core machine; much longer when the
# cores are shared with VM image builds.
BUILD_TIMEOUT = 1800
RUN_TIMEOUT = 180
SIZE_GOAL_MB = 40
TERMINAL_SIZE = (100, 30)
START_TIMEOUT = 60        # unpacking + first paint on a loaded 2-core machine


@dataclass(frozen=True)
class Built:
    path: Path            # the binary, alone in its directory
    build_seconds: float | None
    size_mb: float


_REPORT: list[str] = []


def _build(base: Path) -> tuple[Path, float]:
    dist, work = base / "dist", base / "work"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(dist), "--workpath", str(work), str(ROOT / "build.spec")],
        cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    seconds = time.monotonic() - started
    if result.returncode != 0 or not (dist / "zabbix-ha").is_file():
        pytest.fail(f"PyInstaller build failed (rc {result.returncode}):\n{result.stderr[-6000:]}", pytrace=False)
    return dist / "zabbix-ha", seconds


@pytest.fixture(scope="session")
def binary(tmp_path_factory) -> Built:
    base = tmp_path_factory.mktemp("binary")
    prebuilt = os.environ.get("ZHA_BINARY")
    if prebuilt:
        built, seconds = Path(prebuilt).resolve(), None
    else:
        built, seconds = _build(base)
    # Alone in a directory of its own: nothing beside it to lean on.
    home = base / "bin"
    home.mkdir()
    path = home / "zabbix-ha"
    shutil.copy2(built, path)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    size_mb = path.stat().st_size / 2**20
    _REPORT.append(f"binary: {size_mb:.1f} MB (goal <= {SIZE_GOAL_MB} MB), "
                   + (f"built in {seconds:.0f} s" if seconds is not None else f"prebuilt {built}"))
    return Built(path, seconds, size_mb)


def binary_env(**extra: str) -> dict[str, str]:
    """The caller's environment without anything that points at Python or the checkout."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "_PYI", "PYINSTALLER", "PYTEST", "LD_LIBRARY_PATH"))}
    root = str(ROOT)
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", os.defpath).split(os.pathsep)
                                  if p and not p.startswith(root))
    env.setdefault("LANG", "C.UTF-8")
    env["COLUMNS"] = "100"          # argparse wraps --help to this
    env.update(extra)
    return env


@pytest.fixture
def workdir(tmp_path) -> Path:
    """A scratch working directory holding a copy of the example answers."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy2(ROOT / "examples" / "two-node.yaml", work / "two-node.yaml")
    return work


def run_binary(binary: Built, *args, cwd: Path, env: dict[str, str] | None = None,
               timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(binary.path), *map(str, args)], cwd=cwd, env=env or binary_env(),
                          capture_output=True, text=True, timeout=timeout)


def run_source(*args, cwd: Path = ROOT, env: dict[str, str] | None = None,
               timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """The same command from the source tree (the reference the binary must match)."""
    if env is None:
        env = dict(os.environ, COLUMNS="100")
    return subprocess.run([sys.executable, "-m", "wizard", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout)


class Tmux:
    """One tmux server of our own (own socket, no user config) with one pane."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = f"{name}-{os.getpid()}"
        self.base = ["tmux", "-L", self.name, "-f", "/dev/null"]
        self.env = env

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.base, *args], env=self.env, capture_output=True, text=True,
                              timeout=30, check=check)

    def start(self, argv: list[str], cwd: Path | None = None) -> None:
        """Run argv in the pane, then print its exit status and keep the pane."""
        cd = f"cd {shlex.quote(str(cwd))} && " if cwd else ""
        command = f"{cd}{shlex.join(argv)}; echo \"zabbix-ha exited $?\"; sleep 600"
        self.tmux("new-session", "-d", "-s", "t", "-x", str(TERMINAL_SIZE[0]), "-y", str(TERMINAL_SIZE[1]), command)

    def capture(self, colours: bool = False) -> str:
        return self.tmux("capture-pane", "-p", *(["-e"] if colours else []), "-t", "t").stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def wait_for(self, *texts: str, timeout: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            screen = self.capture()
            if all(t in screen for t in texts):
                return time.monotonic() - started
            time.sleep(0.05)
        raise AssertionError(f"{texts} not on the screen after {timeout} s; it shows:\n{self.capture()}")

    def settled(self, timeout: float = 10) -> str:
        """The coloured screen once two captures 0.3 s apart agree."""
        last = self.capture(colours=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.3)
            now = self.capture(colours=True)
            if now == last:
                return now
            last = now
        return last

    def kill(self) -> None:
        self.tmux("kill-server", check=False)
        # kill-server leaves the socket file behind.
        socket_dir = Path(self.env.get("TMUX_TMPDIR") or "/tmp") / f"tmux-{os.getuid()}"
        (socket_dir / self.name).unlink(missing_ok=True)


@pytest.fixture
def terminals():
    made: list[Tmux] = []

    def make(name: str, env: dict[str, str]) -> Tmux:
        made.append(Tmux(name, env))
        return made[-1]

    yield make
    for t in made:
        t.kill()


def report(line: str) -> None:
    """A line for the end-of-session summary (sizes and times)."""
    _REPORT.append(line)


def pytest_terminal_summary(terminalreporter):
    if _REPORT:
        terminalreporter.section("zabbix-ha binary")
        for line in _REPORT:
            terminalreporter.write_line(line)
