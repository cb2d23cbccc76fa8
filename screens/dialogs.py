"""Small questions asked over the wizard (modal screens with a typed answer)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input

from screens.base import Prose
from wizard.i18n import _

QuitChoice = Literal["save", "discard"] | None


class QuitDialog(ModalScreen[QuitChoice]):
    """Quitting with unsaved answers: save them, drop them, or stay."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "stay", _("Keep editing"))]

    def __init__(self, answers_out: Path) -> None:
        super().__init__()
        self.answers_out = answers_out

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Prose(_("Quit the wizard?"), id="question")
            yield Prose(_("Your answers are not saved. Save them to {path} first, "
                           "or quit and lose them.").format(path=self.answers_out), id="explain")
            with Horizontal(id="buttons"):
                yield Button(_("Keep editing"), id="stay", compact=True)
                yield Button(_("Save and quit"), id="save", compact=True, variant="primary")
                yield Button(_("Quit without saving"), id="discard", compact=True, variant="error")

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    def action_stay(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed)
    def _answer(self, event: Button.Pressed) -> None:
        self.dismiss({"save": "save", "discard": "discard"}.get(event.button.id or ""))


class TrustHostKeyDialog(ModalScreen[bool]):
    """First contact with a node: trust its SSH host key only after comparing it."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "refuse", _("Do not trust"))]

    def __init__(self, node: str, key_type: str, fingerprint: str) -> None:
        super().__init__()
        self.node, self.key_type, self.fingerprint = node, key_type, fingerprint

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Prose(_("First contact with {node}").format(node=self.node), id="question")
            yield Prose(_("Its SSH host key is {type} {fingerprint}.\nCompare it with the output of "
                          "`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub` on the node's console. "
                          "Trust it only if they match.").format(type=self.key_type, fingerprint=self.fingerprint),
                        id="explain")
            with Horizontal(id="buttons"):
                yield Button(_("Do not trust"), id="refuse", compact=True)
                yield Button(_("They match: trust it"), id="trust", compact=True, variant="warning")

    def on_mount(self) -> None:
        self.query_one("#refuse", Button).focus()

    def action_refuse(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed)
    def _answer(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "trust")


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question about something that cannot be undone; No has the focus."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "no", _("Cancel"))]

    def __init__(self, question: str, explain: str, yes: str, no: str | None = None) -> None:
        super().__init__()
        self.question, self.explain, self.yes = question, explain, yes
        self.no = no or _("Cancel")

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Prose(self.question, id="question")
            yield Prose(self.explain, id="explain")
            with Horizontal(id="buttons"):
                yield Button(self.no, id="no", compact=True)
                yield Button(self.yes, id="yes", compact=True, variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def action_no(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed)
    def _answer(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class TypedConfirmDialog(ModalScreen[bool]):
    """Confirm something destructive by typing its name (like a device path):
    the Accept button stays disabled until the typed text matches exactly, so
    no reflexive Enter can accept it."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "no", _("Cancel"))]

    def __init__(self, question: str, explain: str, yes: str, expected: str) -> None:
        super().__init__()
        self.question, self.explain, self.yes, self.expected = question, explain, yes, expected

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Prose(self.question, id="question")
            yield Prose(self.explain, id="explain")
            yield Prose(_("Type {expected} to confirm:").format(expected=self.expected), id="type-prompt")
            yield Input(id="typed", compact=True)
            with Horizontal(id="buttons"):
                yield Button(_("Cancel"), id="no", compact=True)
                yield Button(self.yes, id="yes", compact=True, variant="error", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#typed", Input).focus()

    @on(Input.Changed, "#typed")
    def _typed(self, event: Input.Changed) -> None:
        self.query_one("#yes", Button).disabled = event.value != self.expected

    @on(Input.Submitted, "#typed")
    def _submitted(self, event: Input.Submitted) -> None:
        if event.value == self.expected:
            self.dismiss(True)
        else:
            self.app.bell()

    def action_no(self) -> None:
        self.dismiss(False)

    @on(Button.Pressed)
    def _answer(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes" and self.query_one("#typed", Input).value == self.expected)
