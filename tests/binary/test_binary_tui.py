"""The wizard's TUI from the binary, in a real terminal (tmux): it starts, shows
the welcome step exactly as the source tree does (same text, same colours, so
the stylesheets were bundled and applied), and quits cleanly."""

from __future__ import annotations

import os
import sys
import time

import pytest

from tests.binary.conftest import START_TIMEOUT, binary_env, report

pytestmark = pytest.mark.binary

WELCOME = ("Welcome", "step 1 of")


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
