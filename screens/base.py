"""What every wizard step shares: layout, field rows, inline errors, back/next.

A step edits one part of the ClusterSpec. It reads it in `load_spec`, writes
it back in `to_spec`, and shows the problems `wizard.spec.validate` reports
for its own field paths (PREFIXES) next to the field they name. There is no
second copy of any rule here: a field is wrong when the core says so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import DescendantBlur
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Footer, Input, Label, Static

from wizard.i18n import _
from wizard.steps import int_or_text, step_problems, under  # noqa: F401  (shared with plain mode)
from wizard.spec import ClusterSpec, Problem, Secrets

if TYPE_CHECKING:
    from screens.app import WizardApp


class Prose(Static):
    """Text shown as written: paths like /dev/sda5[0] and typed values are not markup."""

    def __init__(self, content="", **kwargs) -> None:
        kwargs.setdefault("markup", False)
        super().__init__(content, **kwargs)


class FieldRow(Vertical):
    """A label, its input and the line where the core's problem with it shows."""

    def __init__(self, path: str, label: str, widget: Widget, hint: str = "") -> None:
        super().__init__(classes="field-row")
        self.path = path
        self.label = label
        self.widget = widget
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field-line"):
            yield Label(self.label, classes="field-label", markup=False)
            yield self.widget
        if self.hint:
            yield Prose(self.hint, classes="field-hint")
        yield Prose("", classes="field-error")

    def set_label(self, text: str) -> None:
        """Change the label (node renamed); works before and after mounting."""
        self.label = text
        for label in self.query(".field-label").results(Label):
            label.update(text)

    def show(self, problems: list[Problem]) -> None:
        found = self.query(".field-error").results(Static)
        error = next(iter(found), None)
        if error is None:       # not composed yet; the next check shows it
            return
        lines = []
        for p in problems:
            mark = "✗" if p.severity == "error" else "!"
            lines.append(f"{mark} {p.message}\n  → {p.fix}")
        error.update("\n".join(lines))
        error.display = bool(problems)
        self.set_class(any(p.severity == "error" for p in problems), "-invalid")
        self.set_class(bool(problems) and all(p.severity == "warning" for p in problems), "-warning")
        error.set_class(all(p.severity == "warning" for p in problems), "-warning")


def text_input(value: str = "", *, password: bool = False, placeholder: str = "",
               integer: bool = False, id: str | None = None) -> Input:
    # Number fields take any text: a letter typed there is shown with the
    # core's message (int_or_text keeps it), never silently dropped.
    return Input(value, placeholder=placeholder, password=password, compact=True, id=id, type="text")


class Form(VerticalScroll, can_focus=False):
    """The step's fields. Not a tab stop itself: moving focus scrolls it."""


class StepScreen(Screen):
    """One wizard step. Subclasses set NAME, TITLE, PREFIXES and the spec methods."""

    AUTO_FOCUS = "#body Input, #body Select, #body RadioSet, #body Checkbox, #body Button, #body OptionList"

    NAME: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    PREFIXES: ClassVar[tuple[str, ...]] = ()
    BINDINGS = [
        Binding("ctrl+n", "next", _("Next")),
        Binding("ctrl+b", "back", _("Back")),
    ]

    app: "WizardApp"

    def __init__(self) -> None:
        super().__init__(name=self.NAME)
        self._shown: list[Problem] = []
        self._checked = False       # after a Next: every problem is shown
        self._touched: set[str] = set()   # fields the person has left

    # -- layout ---------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Prose(self.app.title_line(self.NAME), id="title")
        with Horizontal(id="main"):
            yield Prose(self.app.step_list(self.NAME), id="steps")
            with Form(id="body"):
                intro = self.intro()
                if intro:
                    yield Prose(intro, id="intro")
                yield from self.compose_form()
                yield Prose("", id="problems")
        with Horizontal(id="nav"):
            yield Button(_("◀ Back"), id="back", compact=True)
            yield Prose("", id="status")
            yield Button(self.next_label(), id="next", compact=True, variant="primary")
        yield Footer()

    def intro(self) -> str:
        return ""

    def compose_form(self) -> ComposeResult:
        yield from ()

    def next_label(self) -> str:
        return _("Next ▶")

    # -- the spec ---------------------------------------------------------------
    def load_spec(self, spec: ClusterSpec, secrets: Secrets) -> None:
        """Fill the widgets from the spec (called once, when the step is built)."""

    def to_spec(self, spec: ClusterSpec, secrets: Secrets) -> None:
        """Write the widgets' values into the spec (on back, next and save)."""

    def on_mount(self) -> None:
        # The first step has nowhere to go back to.
        self.query_one("#back", Button).display = self.NAME != "welcome"
        self.load_spec(self.app.spec, self.app.secrets)
        # Focusing the first field may scroll the intro away; show it first.
        self.call_after_refresh(self._show_top)

    def _show_top(self) -> None:
        for body in self.query("#body"):
            body.scroll_home(animate=False)
        # The first field got focus before its value was loaded: select it
        # now, as Tab does, so typing replaces it.
        if isinstance(self.focused, Input):
            self.focused.action_select_all()

    def on_screen_resume(self) -> None:
        # Other steps may have renamed the nodes: labels follow, values stay.
        self.refresh_labels(self.app.spec)
        self.query_one("#title", Static).update(self.app.title_line(self.NAME))

    def refresh_labels(self, spec: ClusterSpec) -> None:
        """Update text that names things owned by other steps (node names)."""

    # -- problems ---------------------------------------------------------------
    def problems(self) -> list[Problem]:
        self.to_spec(self.app.spec, self.app.secrets)
        return step_problems(self.app.spec, self.app.secrets, self.PREFIXES)

    def show_problems(self, problems: list[Problem]) -> None:
        self._shown = problems
        rows = list(self.query(FieldRow))
        by_row: dict[FieldRow, list[Problem]] = {row: [] for row in rows}
        loose: list[Problem] = []
        for p in problems:
            row = _row_for(rows, p.field)
            if row is None:
                loose.append(p)
            else:
                by_row[row].append(p)
        for row, found in by_row.items():
            row.show(found)
        box = self.query_one("#problems", Static)
        box.update("\n".join(("✗ " if p.severity == "error" else "! ") + f"{p.message}\n  → {p.fix}"
                             for p in loose))
        box.display = bool(loose)
        box.set_class(all(p.severity == "warning" for p in loose), "-warning")
        n_err = sum(p.severity == "error" for p in problems)
        n_warn = len(problems) - n_err
        parts = []
        if n_err:
            parts.append(_("{n} to fix before going on").format(n=n_err))
        if n_warn:
            parts.append(_("{n} warning(s)").format(n=n_warn))
        self.query_one("#status", Static).update(" · ".join(parts))

    def check(self, everything: bool = True) -> list[Problem]:
        """Validate the step; show every problem, or (on leaving a field)
        only those of fields the person has already been through."""
        if everything:
            self._checked = True
        problems = self.problems()
        if self._checked:
            self.show_problems(problems)
        else:
            rows = list(self.query(FieldRow))
            self.show_problems([p for p in problems
                                if (row := _row_for(rows, p.field)) is not None and row.path in self._touched])
        return problems

    @on(DescendantBlur)
    def _recheck_on_blur(self, event: DescendantBlur) -> None:
        # Leaving a field shows what is wrong with it (and with the fields
        # left before); fields not reached yet and typing do not nag.
        if not (self.app.is_running and self.is_current):
            return
        row = next((a for a in event.widget.ancestors_with_self if isinstance(a, FieldRow)), None)
        if row is not None:
            self._touched.add(row.path)
        self.check(everything=False)

    @on(Input.Changed)
    def _recheck_while_fixing(self) -> None:
        # Once an error shows, it disappears as soon as the value is right.
        if self._shown:
            self.check(everything=False)

    @on(Input.Submitted)
    def _enter_moves_on(self) -> None:
        self.focus_next()

    # -- navigation ---------------------------------------------------------------
    @on(Button.Pressed, "#next")
    def _next_pressed(self) -> None:
        self.action_next()

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.action_back()

    def action_next(self) -> None:
        problems = self.check()
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            # The status line says how many; the cursor goes to the first.
            # No pop-up: at 80x24 it would cover the fields being fixed.
            self._focus_problem(errors[0])
            self.app.bell()
            return
        self.app.next_step(self.NAME)

    def action_back(self) -> None:
        self.to_spec(self.app.spec, self.app.secrets)
        self.app.previous_step(self.NAME)

    def _focus_problem(self, problem: Problem) -> None:
        # Scrolled after the refresh: the error lines just shown change the
        # row's height, and the whole row (field and message) must be in view.
        row = _row_for(list(self.query(FieldRow)), problem.field)
        if row is not None and row.widget.focusable:
            row.widget.focus(scroll_visible=False)
            self.call_after_refresh(row.scroll_visible, animate=False)
        else:
            # A problem no field owns is listed in the box under the form.
            self.call_after_refresh(self.query_one("#problems").scroll_visible, animate=False)


def _row_for(rows: list[FieldRow], field: str) -> FieldRow | None:
    """The row a problem belongs to: its own field, else the closest enclosing one."""
    best: FieldRow | None = None
    for row in rows:
        if row.path == field:
            return row
        if under(field, row.path) and (best is None or len(row.path) > len(best.path)):
            best = row
    return best
