"""Where the keys go, and what is chosen, shows at 80x24 — also without colour.

Each test Tabs to a widget on a real step, takes a picture of the cells the
widget covers (its own lines and everything inside it, as the screen paints
them), leaves it, and takes the same picture again. "Without colour" compares
the characters and their bold/reverse/underline/italic only, which is what a
monochrome terminal (or a person who cannot tell the colours apart) sees.
"""

from __future__ import annotations

import copy

import pytest
from rich.cells import cell_len
from rich.style import Style
from textual.geometry import Region
from textual.widget import Widget

from tests.tui.conftest import SIZE, focus
from tests.tui.test_disks import fake_discovery  # noqa: F401  (fixture)
from tests.tui.test_failover import HEALTHY, Fake as FailoverFake, check
from tests.tui.test_fields import full_secrets
from tests.tui.test_install import Fake as InstallFake, type_yes, until
from tests.tui.test_preflight import disk_error, fake_core, run_preflight  # noqa: F401  (fixture)

Cell = tuple[str, Style]


def picture(widget: Widget) -> list[list[Cell]]:
    """The cells of the widget's area: the widget, then what it holds, painted in order."""
    area = widget.region
    cells: list[list[Cell]] = [[(" ", Style())] * area.width for _ in range(area.height)]
    for w in (widget, *widget.walk_children(Widget)):
        region = w.region
        if not w.display or not region or not region.overlaps(area):
            continue
        for y, strip in enumerate(w.render_lines(Region(0, 0, region.width, region.height))):
            row = region.y + y - area.y
            if not 0 <= row < area.height:
                continue
            x = region.x - area.x
            for segment in strip:
                for char in segment.text:
                    if 0 <= x < area.width:
                        cells[row][x] = (char, segment.style or Style())
                    x += max(cell_len(char), 1)
    return cells


def mono(cells: list[list[Cell]]) -> list[list[tuple]]:
    """What shows without colour: each character and its text attributes."""
    return [[(c, bool(s.bold), bool(s.reverse), bool(s.underline), bool(s.italic)) for c, s in row] for row in cells]


def text(cells: list[list[Cell]]) -> str:
    return "\n".join("".join(c for c, _s in row) for row in cells)


async def focus_on(pilot, selector: str, limit: int = 80) -> Widget:
    """Tab until the widget matching selector has focus (for widgets without an id)."""
    target = pilot.app.screen.query_one(selector)
    for _ in range(limit):
        if pilot.app.focused is target:
            return target
        await pilot.press("tab")
    raise AssertionError(f"Tab never reached {selector}; focus is on {pilot.app.focused!r}")


async def focused_then_left(pilot, selector: str) -> tuple[Widget, list, list]:
    """Tab to the widget, picture it; leave it (Shift+Tab: back, never into it), picture it again."""
    widget = await focus_on(pilot, selector)
    await pilot.pause()
    focused = picture(widget)
    await pilot.press("shift+tab")
    await pilot.pause()
    assert pilot.app.focused is not widget
    return widget, focused, picture(widget)


# -- every focusable widget type the steps use ---------------------------------------------

async def _review_node_tab(pilot) -> None:
    await focus_on(pilot, "ContentTabs")
    await pilot.press("right")             # the first node's files
    await pilot.pause()


async def _discovered(pilot) -> None:
    await focus(pilot, "discover")
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def _installed(pilot) -> None:
    await focus(pilot, "start")
    await pilot.press("enter")
    await until(pilot, lambda: type(pilot.app.screen).__name__ == "TypedConfirmDialog")
    await type_yes(pilot)
    await until(pilot, lambda: pilot.app.screen.phase == "finished")


async def _asked_to_install(pilot) -> None:
    await focus(pilot, "start")
    await pilot.press("enter")
    await until(pilot, lambda: type(pilot.app.screen).__name__ == "TypedConfirmDialog")


async def _nothing(pilot) -> None:
    pass


WIDGETS = [
    # step, what it is, selector, how to get there
    ("nodes", "Input", "#name", _nothing),
    ("nodes", "Select", "#platform", _nothing),
    ("nodes", "Button", "#ssh-setup", _nothing),
    ("nodes", "Button (primary)", "#next", _nothing),
    ("disks", "RadioSet", "#meta-mode", _nothing),
    ("disks", "DataTable", "#devices", _discovered),
    ("zabbix", "Select", "#db-engine", _nothing),
    ("zabbix", "RadioSet", "#sizing", _nothing),
    ("fencing", "RadioSet", "#method", _nothing),
    ("fencing", "Checkbox", "#bmc-lanplus-0", _nothing),
    ("review", "Tabs", "ContentTabs", _nothing),
    ("review", "VerticalScroll", "#summary-scroll", _nothing),
    ("review", "OptionList", "#files-0", _review_node_tab),
    ("preflight", "DataTable", "#findings", run_preflight),
    ("install", "VerticalScroll", "#list-0", _nothing),
    ("install", "RichLog", "#log", _installed),
    ("install", "Input in a dialog", "#typed", _asked_to_install),
    ("failover", "SelectionList", "#scenarios", check),
]


@pytest.fixture
def step_app(make_app, example_spec, fake_discovery, fake_core, tmp_path):  # noqa: F811
    from screens.app import WizardApp

    _calls, results = fake_core
    results.append([disk_error()])

    def make(step: str):
        spec = copy.deepcopy(example_spec)
        if step == "install":
            return WizardApp(spec, full_secrets(spec), answers_out=tmp_path / "a.yaml",
                             start_at=step, install_backend=InstallFake(spec).backend())
        if step == "failover":
            return WizardApp(spec, full_secrets(spec), answers_out=tmp_path / "a.yaml",
                             start_at=step, failover_backend=FailoverFake([HEALTHY]).backend())
        return make_app(start_at=step, spec=spec, secrets=full_secrets(spec))

    return make


@pytest.mark.parametrize("step,kind,selector,setup", WIDGETS, ids=[f"{w[0]}-{w[1]}" for w in WIDGETS])
async def test_the_focused_widget_looks_different_without_colour(step_app, step, kind, selector, setup):
    app = step_app(step)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await setup(pilot)
        widget, focused, left = await focused_then_left(pilot, selector)
        assert widget.region.width and widget.region.height
        assert mono(focused) != mono(left), f"{kind} {selector} on {step}: focus shows by colour only\n{text(left)}"


# -- a compact field or list shows a bar in its left column when focused -------------------------

BAR = "█"


@pytest.mark.parametrize("step,selector", [("nodes", "#name"), ("nodes", "#platform"), ("fencing", "#method"),
                                           ("fencing", "#bmc-lanplus-0"), ("review", "#summary-scroll")])
async def test_a_focused_field_has_a_bar_beside_it_and_nothing_moves(step_app, step, selector):
    app = step_app(step)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        widget, focused, left = await focused_then_left(pilot, selector)
        assert {row[0][0] for row in focused} == {BAR}
        assert {row[0][0] for row in left} == {" "}
        assert text([row[1:] for row in focused]) == text([row[1:] for row in left])   # the text stays put


async def test_a_focused_field_is_brighter_than_the_others(step_app):
    """The field's background changes by more than Textual's 5% tint."""
    app = step_app("nodes")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        widget, focused, left = await focused_then_left(pilot, "#platform")

        def brightness(cells) -> float:
            r, g, b = cells[0][2][1].bgcolor.get_truecolor()
            return (r + g + b) / 3

        assert brightness(focused) - brightness(left) > 20


# -- radio buttons and check boxes: what is chosen shows, focused or not ---------------------------

def _mark(cells: list[list[Cell]], glyph: str) -> Style:
    row = cells[0]
    return next(s for c, s in row if c == glyph)


def _shows(style: Style) -> bool:
    """A mark shows when it is drawn in a colour other than its background's."""
    return style.color is not None and style.color.get_truecolor() != style.bgcolor.get_truecolor()


def _label(cells: list[list[Cell]]) -> list[Style]:
    """The styles of the label's letters (after the box ▐●▌ and a space)."""
    row = cells[0]
    start = next(i for i, (c, _s) in enumerate(row) if c == "▌") + 2
    return [s for c, s in row[start:] if c.strip()]


def _label_bold(cells: list[list[Cell]]) -> bool:
    letters = _label(cells)
    return bool(letters) and all(s.bold for s in letters)


@pytest.mark.parametrize("step,radioset", [("fencing", "#method"), ("zabbix", "#sizing"), ("disks", "#meta-mode")])
async def test_the_pressed_radio_button_shows_apart_from_the_highlighted_one(step_app, step, radioset):
    app = step_app(step)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        rs = await focus_on(pilot, radioset)
        buttons = list(rs.query("RadioButton"))
        pressed = next(b for b in buttons if b.value)
        await pilot.press("down")          # the highlight moves; nothing is pressed
        await pilot.pause()
        highlighted = next(b for b in buttons if b.has_class("-selected"))
        assert highlighted is not pressed and pressed.value and not highlighted.value
        # At 80x24 the whole set, the pressed button with it, is on the screen and not scrolled away.
        body = app.screen.query_one("#body")
        assert body.region.contains_region(pressed.region) and body.region.contains_region(highlighted.region)

        def look(set_has_focus: bool) -> None:
            p, h = picture(pressed), picture(highlighted)
            others = [picture(b) for b in buttons if b not in (pressed, highlighted) and not b.disabled]
            where = "focused" if set_has_focus else "left"
            assert _shows(_mark(p, "●")), f"{where}: the pressed button's mark is not drawn"
            assert not _shows(_mark(h, "●")), f"{where}: the highlighted button looks pressed"
            assert all(not _shows(_mark(o, "●")) for o in others)
            # Without colour: the pressed one is bold, the others are not.
            assert _mark(p, "●").bold and _label_bold(p)
            assert not any(_label_bold(o) for o in others)
            if set_has_focus:
                # Where Enter would act stands out from the pressed one and the rest.
                assert _label(h)[0].bgcolor != _label(p)[0].bgcolor
            else:
                # A set left behind shows no highlight: it would read as a choice.
                assert not _label_bold(h)
                if others:
                    assert _label(h)[0].bgcolor == _label(others[0])[0].bgcolor

        look(set_has_focus=True)
        await pilot.press("tab")
        await pilot.pause()
        assert not rs.has_focus
        look(set_has_focus=False)


async def test_a_check_box_shows_its_mark_only_when_ticked(step_app):
    app = step_app("fencing")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        box = await focus_on(pilot, "#bmc-lanplus-0")
        assert box.value
        await pilot.press("tab")
        await pilot.pause()
        on = picture(box)
        box.value = False
        await pilot.pause()
        off = picture(box)
        assert _shows(_mark(on, "X")) and not _shows(_mark(off, "X"))
        assert mono(on) != mono(off)                    # bold when ticked


async def test_a_scenario_shows_its_tick_only_when_ticked(step_app):
    app = step_app("failover")
    async with app.run_test(size=SIZE) as pilot:
        await check(pilot)
        choices = app.screen.query_one("#scenarios")
        first, second = choices.get_option_at_index(0).value, choices.get_option_at_index(1).value
        choices.deselect(second)
        await pilot.pause()
        cells = picture(choices)
        rows = [row for row in cells if any(c == "X" for c, _s in row)]
        assert _shows(_mark(rows[0:1], "X")) and not _shows(_mark(rows[1:2], "X"))
        assert first in choices.selected and second not in choices.selected
