"""Step 1: where the answers start from, and where they are saved."""

from __future__ import annotations

import copy
from pathlib import Path

from textual.app import ComposeResult
from textual.widgets import RadioButton, RadioSet

from screens.base import Prose, FieldRow, StepScreen, text_input
from wizard.i18n import _


class WrappingRadioButton(RadioButton):
    """A choice whose label wraps (a RadioButton is one line tall): "Change this
    cluster (NAME, the answers applied at PATH)" is wider than 80 columns."""

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(1, len(self.render().wrap(width)))


class WelcomeScreen(StepScreen):
    NAME = "welcome"
    CSS_PATH = "welcome.tcss"

    def intro(self) -> str:
        return _("This wizard asks about your two servers, shows every file it will write, "
                 "and saves your answers so the same cluster can be built again. "
                 "Nothing is changed on any server before the install step.\n"
                 "Keys: Tab / Shift+Tab move, Enter confirms, Ctrl+N next, Ctrl+B back, "
                 "Ctrl+S save, Ctrl+Q quit.")

    def compose_form(self) -> ComposeResult:
        app = self.app
        yield Prose(_("Start from"), classes="section")
        from wizard.steps import last_saved

        resume = None if app.source else last_saved()
        # On a node of a running cluster, changing it is what the person most
        # likely came for: the default, unless answers were given on the command line.
        applied = app.applied
        with RadioSet(id="start", compact=True):
            if app.source:
                yield RadioButton(_("The answers loaded from {path}").format(path=app.source),
                                  id="start-loaded", value=True)
            if applied is not None:
                label = _("Change this cluster ({name}, the answers applied at {path})").format(
                    name=applied.name, path=applied.path)
                if applied.secrets is None:
                    label += _(" — its secrets were not read (run as root to keep them)")
                yield WrappingRadioButton(label, id="start-rerun", value=not app.source)
            if resume is not None:
                yield RadioButton(_("Resume the answers saved at {path}").format(path=resume),
                                  id="start-resume", value=applied is None)
            # The lab is offered, never the default: servers are being entered.
            lab_label = _("The local two-node lab (try the whole flow on this machine)")
            if app.lab_answers is None:
                from wizard.steps import lab_installed

                lab_label = (_("The local two-node lab — none is up (start one: zabbix-ha lab up)")
                             if lab_installed() else _("The local two-node lab — not available yet"))
            yield RadioButton(lab_label, id="start-lab", disabled=app.lab_answers is None)
            yield RadioButton(_("A new cluster (the documented example's values)"), id="start-new",
                              value=not app.source and resume is None and applied is None)
            yield RadioButton(_("An answers file…"), id="start-file")
            if applied is None:
                reason = (_("its applied answers cannot be used (see below)") if app.applied_problem
                          else _("no cluster installed on this machine"))
                yield RadioButton(_("Change this cluster — {reason}").format(reason=reason),
                                  id="start-rerun", disabled=True)
        if app.applied_problem:
            yield Prose(app.applied_problem, classes="explain", id="applied-problem")
        yield FieldRow("welcome.load", _("Answers file to load"),
                       text_input(placeholder=_("path/to/answers.yaml"), id="load-path"))
        yield FieldRow("welcome.load_secrets", _("Its secrets file"),
                       text_input(placeholder=_("optional: path/to/answers.secrets.yaml"), id="load-secrets"))
        yield Prose(_("Save to"), classes="section")
        yield FieldRow("welcome.save", _("Answers file"), text_input(str(app.answers_out), id="save-path"),
                       hint=_("secrets go beside it, mode 0600"))

    def on_mount(self) -> None:
        super().on_mount()
        self._sync_file_fields()
        self.query_one("#start", RadioSet).focus()

    def on_radio_set_changed(self) -> None:
        self._sync_file_fields()

    def _choice(self) -> str:
        pressed = self.query_one("#start", RadioSet).pressed_button
        return (pressed.id or "start-new").removeprefix("start-") if pressed else "new"

    def _sync_file_fields(self) -> None:
        loading = self._choice() == "file"
        for row in self.query(FieldRow):
            if row.path.startswith("welcome.load"):
                row.display = loading

    # The welcome step owns no spec fields: its checks are about files.
    def problems(self):
        return []

    def action_next(self) -> None:
        from wizard.steps import new_cluster_spec
        from wizard.spec import Problem, Secrets

        app = self.app
        save_path = self.query_one("#save-path").value.strip()
        problems: list[Problem] = []
        if not save_path:
            problems.append(Problem("welcome.save", "missing-path", _("no file to save the answers to"),
                                    _("give a path, e.g. ./zabbix-ha.yaml")))
        choice = self._choice()
        key, loaded = choice, None
        try:
            if choice == "file":
                path = self.query_one("#load-path").value.strip()
                secrets_path = self.query_one("#load-secrets").value.strip()
                key = f"file:{path}:{secrets_path}"
                if key != app.source_key:
                    loaded = _load_file(path, secrets_path)
            elif key != app.source_key:
                # Switching the starting point replaces the answers: the later
                # steps are rebuilt from the new ones.
                if choice == "lab":
                    loaded = _load_lab(app.lab_answers)
                elif choice == "rerun":
                    applied = app.applied
                    loaded = (copy.deepcopy(applied.spec), copy.deepcopy(applied.secrets) or Secrets(),
                              str(applied.path), applied.secrets_path)
                elif choice == "resume":
                    from wizard.steps import last_saved, secrets_beside

                    resume = last_saved()
                    beside = secrets_beside(resume)
                    loaded = _load_file(str(resume), str(beside) if beside else "", typed=False)
                elif choice == "loaded":
                    loaded = (*app.initial(), app.initial_secrets_source)
                else:
                    loaded = (new_cluster_spec(), Secrets(), "", None)
        except _PathProblem as exc:
            problems.append(exc.problem)
        self.show_problems(problems)
        if problems:
            self.app.bell()
            return
        app.answers_out = Path(save_path).expanduser()
        if loaded is not None:
            spec, secrets, source, secrets_source = loaded
            app.start_over(spec, secrets, source)
            app.secrets_source = secrets_source
            app.known_answers_text = None
        app.source_key = key
        app.next_step(self.NAME)


def _load_lab(answers: Path):
    from wizard.steps import lab_secrets

    secrets = lab_secrets()
    return _load_file(str(answers), str(secrets) if secrets else "", typed=False)


def _load_file(path: str, secrets_path: str, typed: bool = True):
    """(spec, secrets, source, secrets file) from an answers file. A problem is
    shown at the path typed, or (a file the person did not type) with the choice."""
    from wizard.answers import load_answers, load_secrets
    from wizard.applied import refuse_other_cluster
    from wizard.errors import UserError
    from wizard.spec import Secrets

    field = "welcome.load" if typed else "welcome.start"
    if not path:
        raise _PathProblem(field, _("no answers file given"), _("type the path of an answers file"))
    try:
        spec = load_answers(Path(path).expanduser())
        # On a node of another cluster these answers are refused, as on the command line.
        refuse_other_cluster(spec, path)
    except UserError as exc:
        raise _PathProblem(field, exc.message, exc.fix) from None
    # No secrets file named: the one saved beside the answers, if there is one.
    from wizard.steps import secrets_beside

    secrets_file = Path(secrets_path).expanduser() if secrets_path else secrets_beside(Path(path).expanduser())
    try:
        secrets = load_secrets(secrets_file) if secrets_file else Secrets()
    except UserError as exc:
        raise _PathProblem("welcome.load_secrets" if typed else "welcome.start", exc.message, exc.fix) from None
    return spec, secrets, path, secrets_file


class _PathProblem(Exception):
    def __init__(self, field: str, message: str, fix: str) -> None:
        from wizard.spec import Problem

        super().__init__(message)
        self.problem = Problem(field, "file", message, fix)
