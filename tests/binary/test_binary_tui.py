"""The wizard's TUI from the binary, in a real terminal (tmux): it starts, shows
the welcome step exactly as the source tree does (same text, same colours, so
the stylesheets were bundled and applied), and quits cleanly."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.binary.conftest import binary_env, report

pytestmark = pytest.mark.binary

SIZE = (100, 30)
START_TIMEOUT = 60        # unpacking + first paint on a loaded 2-core machine
WELCOME = ("Welcome", "step 1 of")


class Tmux:
    """One tmux server of our own (own socket, no user config) with one pane."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.base = ["tmux", "-L", f"{name}-{os.getpid()}", "-f", "/dev/null"]
        self.env = env

    def tmux(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.base, *args], env=self.env, capture_output=True, text=True,
                              timeout=30, check=check)

    def start(self, argv: list[str], cwd: Path) -> None:
        command = f"cd {shlex.quote(str(cwd))} && {shlex.join(argv)}; echo \"zabbix-ha exited $?\"; sleep 600"
        self.tmux("new-session", "-d", "-s", "t", "-x", str(SIZE[0]), "-y", str(SIZE[1]), command)

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


@pytest.fixture
def terminals():
    made: list[Tmux] = []

    def make(name: str, env: dict[str, str]) -> Tmux:
        made.append(Tmux(name, env))
        return made[-1]

    yield make
    for t in made:
        t.kill()


# "ja": the bundled catalogue is used once wizard/locale/ja/ has one (English until then).
@pytest.mark.parametrize("language", ["", "ja"], ids=["default", "LANGUAGE=ja"])
def test_tui_shows_the_welcome_step_like_the_source_tree_and_quits(binary, workdir, terminals, language):
    frozen = terminals("zha-binary", binary_env(LANGUAGE=language))
    source = terminals("zha-source", dict(os.environ, LANGUAGE=language))
    frozen.start([str(binary.path)], workdir)
    source.start([sys.executable, "-m", "wizard"], workdir)

    # Translated, the English words are gone; the equality below still proves the step.
    markers = ("zabbix-ha",) if language else WELCOME
    seconds = frozen.wait_for(*markers, timeout=START_TIMEOUT)
    report(f"TUI welcome screen in tmux{' (LANGUAGE=' + language + ')' if language else ''}: "
           f"{seconds:.2f} s (polled every 50 ms)")
    source.wait_for(*markers, timeout=START_TIMEOUT)
    assert "Traceback" not in frozen.capture()

    # Same text and colours as from the source tree: the bundled .tcss files
    # were found and applied. Compared once both screens have settled.
    deadline = time.monotonic() + 20
    while True:
        got, want = frozen.settled(), source.settled()
        if got == want or time.monotonic() > deadline:
            break
    assert got == want, f"binary:\n{frozen.capture()}\nsource tree:\n{source.capture()}"

    # Nothing changed yet: Ctrl+Q quits at once, exit status 0.
    frozen.keys("C-q")
    frozen.wait_for("zabbix-ha exited 0", timeout=30)


def test_plain_mode_asks_its_first_question_and_ctrl_c_exits_130(binary, workdir, terminals):
    """--plain (questionary/prompt_toolkit, frozen) for serial consoles."""
    plain = terminals("zha-plain", binary_env())
    plain.start([str(binary.path), "--plain"], workdir)
    plain.wait_for("Start from", "a new cluster", timeout=START_TIMEOUT)
    plain.keys("C-c")
    plain.wait_for("zabbix-ha: interrupted", "zabbix-ha exited 130", timeout=30)
    assert "Traceback" not in plain.capture()
