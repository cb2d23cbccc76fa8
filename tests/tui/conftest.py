"""Shared helpers for driving the wizard by keys, as a person would."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from screens.app import build_app
from wizard.steps import default_spec
from wizard.spec import Secrets

SIZE = (80, 24)


@pytest.fixture
def example_spec():
    return copy.deepcopy(default_spec())


@pytest.fixture
def make_app(tmp_path, example_spec):
    """An app starting from the example answers, saving into tmp_path, no lab, on
    a machine that belongs to no cluster (unless `applied` is given)."""

    def make(start_at: str = "welcome", spec=None, secrets=None, lab=None, answers_out: Path | None = None,
             applied=None):
        return build_app(spec=spec or example_spec, secrets=secrets or Secrets(), lab=lab,
                         answers_out=answers_out or tmp_path / "zabbix-ha.yaml", start_at=start_at,
                         applied=applied)

    return make


async def focus(pilot, widget_id: str, limit: int = 80) -> None:
    """Press Tab until the widget with this id has focus (keyboard only)."""
    for _ in range(limit):
        focused = pilot.app.focused
        if focused is not None and focused.id == widget_id:
            return
        await pilot.press("tab")
    raise AssertionError(f"Tab never reached #{widget_id}; focus is on {pilot.app.focused!r}")


async def fill(pilot, widget_id: str, text: str) -> None:
    """Tab to an input and type over its value (focus selects all of it)."""
    await focus(pilot, widget_id)
    await pilot.press("ctrl+a", "ctrl+k")       # start of line, delete to the end
    if text:
        await pilot.press(*[_key(c) for c in text])
    await pilot.pause()


def _key(char: str) -> str:
    names = {" ": "space", ".": "full_stop", "/": "slash", "-": "minus", "_": "underscore", ":": "colon",
             "'": "apostrophe", "[": "left_square_bracket", "]": "right_square_bracket"}
    return names.get(char, char)


async def choose(pilot, radioset_id: str, button_id: str) -> None:
    """Select a radio button with the arrow keys and Enter.

    On focus the set highlights its pressed button; arrows move over the
    enabled buttons and wrap around.
    """
    await focus(pilot, radioset_id)
    radioset = pilot.app.screen.query_one(f"#{radioset_id}")
    enabled = [b for b in radioset.query("RadioButton") if not b.disabled]
    ids = [b.id for b in enabled]
    start = next((i for i, b in enumerate(enabled) if b.value), 0)
    steps = (ids.index(button_id) - start) % len(ids)
    await pilot.press(*["down"] * steps, "enter")
    await pilot.pause()


@pytest.fixture
def snap_compare(snap_compare):
    """pytest-textual-snapshot's snap_compare with a steady text cursor.

    An Input's cursor blinks every 0.5 s, so a picture taken a little later
    on a loaded machine showed it off (the flaky 120x40 snapshots). Before
    every picture the cursor stops blinking, which leaves it shown: the
    picture no longer depends on when it was taken.
    """
    import inspect

    from textual.widgets import Input

    def compare(app, *, run_before=None, **kwargs):
        async def steady(pilot):
            if run_before is not None:
                result = run_before(pilot)
                if inspect.isawaitable(result):
                    await result
            await pilot.pause()
            for screen in pilot.app.screen_stack:
                for widget in screen.query(Input):
                    widget.cursor_blink = False
            await pilot.pause()

        return snap_compare(app, run_before=steady, **kwargs)

    return compare


async def until(pilot, condition, limit: int = 3000) -> None:
    """Let the app work until `condition()` holds: bounded by a count of 10 ms pauses (at least
    30 s), generous because CI runs these on 2 busy cores (an install screen's run to "finished"
    in a 4 s bound is the likeliest cause of a snapshot test that failed there once)."""
    for _ in range(limit):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError("the screen never reached the expected state")
