"""The wizard application: one ClusterSpec, the steps that edit it, save and quit.

Each step is built once and kept (installed), so going back and forth keeps
exactly what was typed; every step also writes its values into the one
ClusterSpec when it is left, so saving at any step saves everything.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

from textual.app import App
from textual.binding import Binding

from screens.dialogs import ConfirmDialog, QuitDialog
from wizard.i18n import _
from wizard.steps import step_titles
from wizard.spec import ClusterSpec, Secrets

# Step order; names are stable ids (tests and start_at use them).
STEPS: tuple[tuple[str, str], ...] = (
    ("welcome", "screens.welcome:WelcomeScreen"),
    ("nodes", "screens.nodes:NodesScreen"),
    ("disks", "screens.disks:DisksScreen"),
    ("interconnect", "screens.interconnect:InterconnectScreen"),
    ("services", "screens.services:ServicesScreen"),
    ("zabbix", "screens.zabbix:ZabbixScreen"),
    ("fencing", "screens.fencing:FencingScreen"),
    ("review", "screens.review:ReviewScreen"),
    ("preflight", "screens.preflight:PreflightScreen"),
    ("install", "screens.install:InstallScreen"),
    ("failover", "screens.failover:FailoverScreen"),
    ("done", "screens.done:DoneScreen"),
)
STEP_NAMES = [name for name, _target in STEPS]


def _screen_class(target: str):
    import importlib

    module, _sep, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)


class WizardApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "zabbix-ha"
    # No command palette: every action is a key in the footer, and a calm
    # installer has one way to do each thing.
    ENABLE_COMMAND_PALETTE = False
    # The step list beside the form only where there is room for it.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    BINDINGS = [
        Binding("ctrl+s", "save", _("Save"), priority=True),
        Binding("ctrl+q", "request_quit", _("Quit"), priority=True),
    ]

    def __init__(self, spec: ClusterSpec, secrets: Secrets | None = None, *,
                 answers_out: Path, source: str = "", lab_answers: Path | None = None,
                 start_at: str = "welcome", install_backend=None, secrets_source: Path | None = None,
                 failover_backend=None, applied=None, applied_problem: str = "") -> None:
        super().__init__()
        self.install_backend = install_backend   # screens.install.InstallBackend; None: the real one
        self.failover_backend = failover_backend   # screens.failover.FailoverBackend; None: the real one
        self.spec = spec
        self.secrets = secrets or Secrets()
        self.answers_out = Path(answers_out)
        self.source = source                   # where the answers came from, for the welcome text
        self.lab_answers = lab_answers
        self.applied = applied                 # wizard.applied.Applied: the cluster this machine belongs to
        self.applied_problem = applied_problem   # why its applied answers cannot be used ("" when they can)
        self.start_at = start_at
        self.saved_text: str | None = None     # what is on disk, to know if quitting loses anything
        self.source_key = "loaded" if source else "new"   # which welcome choice the answers came from
        self._initial = (copy.deepcopy(spec), copy.deepcopy(self.secrets), source)
        self.saved_to: list[Path] = []
        self.secrets_source: Path | None = secrets_source   # the secrets file these secrets came from
        self.initial_secrets_source = secrets_source
        self.known_answers_text: str | None = None        # what this session saved or loaded at answers_out
        self.accepted_host_keys: list[str] = []   # SSH host keys the person confirmed this session
        self.forced: set[str] = set()             # preflight force codes the person accepted this session

    # -- steps -------------------------------------------------------------------
    def on_mount(self) -> None:
        # Quitting before changing anything loses nothing: no question then.
        self.saved_text = self.current_text()
        self.goto(self.start_at)

    def title_line(self, name: str) -> str:
        index = STEP_NAMES.index(name) + 1
        return _("zabbix-ha · {title} · step {n} of {total}").format(
            title=step_titles()[name], n=index, total=len(STEP_NAMES))

    def step_list(self, current: str) -> str:
        titles = step_titles()
        here = STEP_NAMES.index(current)
        lines = []
        for i, name in enumerate(STEP_NAMES):
            mark = "▶" if i == here else ("✓" if i < here else " ")
            lines.append(f"{mark} {titles[name]}")
        return "\n".join(lines)

    def goto(self, name: str) -> None:
        if not self.is_screen_installed(name):
            target = dict(STEPS)[name]
            self.install_screen(_screen_class(target)(), name)
        if len(self.screen_stack) > 1:
            self.switch_screen(name)
        else:
            self.push_screen(name)

    def next_step(self, name: str) -> None:
        index = STEP_NAMES.index(name)
        if index + 1 < len(STEP_NAMES):
            self.goto(STEP_NAMES[index + 1])

    def previous_step(self, name: str) -> None:
        index = STEP_NAMES.index(name)
        if index > 0:
            self.goto(STEP_NAMES[index - 1])

    def initial(self):
        """The answers the wizard was started with (for going back to them)."""
        return copy.deepcopy(self._initial)

    def start_over(self, spec: ClusterSpec, secrets: Secrets, source: str) -> None:
        """A new set of answers (welcome step): later steps are rebuilt from it."""
        self.spec = spec
        self.secrets = secrets
        self.source = source
        self.saved_text = self.current_text()
        for name in STEP_NAMES[1:]:
            if self.is_screen_installed(name) and not any(
                    s.name == name for s in self.screen_stack):
                self.uninstall_screen(name)

    # -- save and quit -----------------------------------------------------------------
    def collect(self) -> None:
        """Take the values of the step on screen into the spec."""
        to_spec = getattr(self.screen, "to_spec", None)
        if to_spec is not None:
            to_spec(self.spec, self.secrets)

    @property
    def secrets_out(self) -> Path:
        from wizard.steps import secrets_path_for

        return secrets_path_for(self.answers_out)

    def current_text(self) -> str:
        from wizard.answers import dump_answers, dump_secrets

        return dump_answers(self.spec) + dump_secrets(self.secrets)

    def save(self, overwrite: bool = False) -> list[Path]:
        """Save answers (and secrets, 0600) where the welcome step says.

        Raises OSError, UserError, and WouldOverwrite when the file holds
        other answers (the caller asks before replacing them)."""
        from wizard.answers import dump_answers
        from wizard.steps import save_all

        self.collect()
        self.saved_to = save_all(self.spec, self.secrets, self.answers_out, overwrite=overwrite,
                                 secrets_loaded_from=self.secrets_source, known_text=self.known_answers_text)
        self.known_answers_text = dump_answers(self.spec)
        self.secrets_source = self.saved_to[1] if len(self.saved_to) > 1 else self.secrets_source
        self.saved_text = self.current_text()
        return self.saved_to

    def save_or_ask(self, then=None) -> None:
        """Save; if that would replace other answers, ask first. `then()` runs after a save."""
        from wizard.errors import UserError
        from wizard.steps import WouldOverwrite

        def attempt(overwrite: bool) -> None:
            try:
                self.save(overwrite=overwrite)
            except WouldOverwrite:
                self.push_screen(ConfirmDialog(
                    _("Replace the answers in {path}?").format(path=self.answers_out),
                    _("That file holds other answers than these; replacing them loses those. "
                      "Cancel keeps them: choose another file on the first step."),
                    _("Replace")), lambda yes: attempt(True) if yes else None)
                return
            except OSError as exc:
                self.notify(_("Could not save to {path}: {error}").format(path=self.answers_out,
                                                                          error=exc.strerror),
                            severity="error", timeout=8)
                return
            except UserError as exc:
                self.notify(str(exc), severity="error", timeout=8)
                return
            (then or self._saved_note)()

        attempt(False)

    def action_save(self) -> None:
        self.save_or_ask()

    def _saved_note(self) -> None:
        from wizard.spec import errors, validate

        left = len(errors(validate(self.spec)))
        message = _("Saved answers to {path}").format(path=self.answers_out)
        if len(self.saved_to) > 1:
            message += "\n" + _("and secrets (mode 0600) to {path}").format(path=self.saved_to[1])
        if left:
            message += "\n" + _("{n} answers still need fixing.").format(n=left)
        self.notify(message, title=_("Saved"), timeout=4)

    def unsaved(self) -> bool:
        self.collect()
        return self.current_text() != self.saved_text

    def action_request_quit(self) -> None:
        if isinstance(self.screen, QuitDialog):      # already asking
            return
        for name in ("install", "failover"):
            step = self.get_screen(name) if self.is_screen_installed(name) else None
            if getattr(step, "running", False):
                # Stop it first (the install after its running step; a failover scenario restores
                # its starting state), then quit as usual.
                step.action_abort(then=self.action_request_quit)
                return
        if not self.unsaved():
            self.exit(0)
            return

        def decided(choice: str | None) -> None:
            if choice == "save":
                self.save_or_ask(then=lambda: self.exit(0))
            elif choice == "discard":
                self.exit(0)

        self.push_screen(QuitDialog(self.answers_out), decided)


# ---------------------------------------------------------------------------
# the TUI view: built here, picked by wizard.interactive

_FIND = object()


def build_app(args: argparse.Namespace | None = None, *, answers_out: Path | None = None,
              start_at: str = "welcome", spec=None, secrets=None, lab=_FIND, applied=_FIND):
    """The Textual app for these arguments (tests and the benchmark build it here).

    `applied`: the cluster this machine belongs to (wizard.applied.Applied or
    None); looked up in /etc/zabbix-ha unless given."""
    from wizard import steps
    from wizard.errors import UserError

    applied_problem = ""
    if applied is _FIND:
        from wizard.applied import applied_cluster

        try:
            applied = applied_cluster()
        except UserError as exc:      # shown on the welcome step, where the choice would be
            applied, applied_problem = None, str(exc)

    source = ""
    secrets_source = None
    if spec is None:
        args = args or argparse.Namespace(answers=None, secrets=None)
        spec, loaded_secrets, source = steps.load_start(args)
        secrets = secrets if secrets is not None else loaded_secrets
        secrets_source = getattr(args, "secrets", None) or steps.secrets_beside(getattr(args, "answers", None))
    return WizardApp(copy.deepcopy(spec), secrets, answers_out=answers_out or steps.default_answers_out(),
                     source=source, lab_answers=steps.lab_answers() if lab is _FIND else lab, start_at=start_at,
                     secrets_source=Path(secrets_source) if secrets_source else None, applied=applied,
                     applied_problem=applied_problem)


def run_tui(args: argparse.Namespace) -> int:
    from wizard.steps import next_steps

    app = build_app(args)
    result = app.run()
    # On exit: what was saved where, and what to run next.
    if app.saved_to:
        print("\n".join(next_steps(app.saved_to)))
    else:
        print(_("zabbix-ha: nothing was saved"))
    return result if isinstance(result, int) else 0
