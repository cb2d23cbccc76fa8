"""Step 8: the answers as a summary, and every file the install will write."""

from __future__ import annotations

from rich.syntax import Syntax
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from screens.base import Prose, StepScreen
from wizard.i18n import _
from wizard.steps import summary
from wizard.spec import errors, validate, validate_secrets

# Pygments lexers per rendered file kind. DRBD and Corosync have no lexer of
# their own; nginx's brace-and-semicolon grammar highlights them sensibly.
LEXERS = {
    "drbd-global": "nginx", "drbd-resource": "nginx", "corosync": "nginx", "cib": "xml",
    "mariadb": "ini", "apache": "apacheconf", "zabbix-server": "ini", "zabbix-server-secrets": "ini",
    "zabbix-frontend": "php", "hosts": "text", "ipmi-password": "text", "drbd-fence-peer": "bash",
}
MASK = "********"


class ReviewScreen(StepScreen):
    NAME = "review"
    CSS_PATH = "review.tcss"
    AUTO_FOCUS = "#tabs Tabs"

    def compose(self) -> ComposeResult:
        # The review needs the whole height for the file viewer: no intro scroll area.
        yield Prose(self.app.title_line(self.NAME), id="title")
        with TabbedContent(id="tabs"):
            with TabPane(_("Summary"), id="summary"):
                with VerticalScroll(id="summary-scroll"):
                    yield Prose("", id="problems")
                    yield Prose("", id="summary-text")
                    yield Prose(_("Rerun: a diff against the installed files is not available yet."),
                                 classes="explain", id="rerun-note")
                    yield Button(_("Export a review bundle (no secrets)"), id="export", compact=True)
            for i in range(2):
                with TabPane(_("node {n}").format(n=i + 1), id=f"node-{i}"):
                    with Horizontal(classes="files"):
                        yield OptionList(id=f"files-{i}", classes="file-list", compact=True)
                        with VerticalScroll(id=f"viewer-{i}", classes="viewer"):
                            yield Prose("", id=f"file-head-{i}", classes="file-head")
                            yield Prose("", id=f"file-{i}", classes="file-text")
        from textual.widgets import Footer

        with Horizontal(id="nav"):
            yield Button(_("◀ Back"), id="back", compact=True)
            yield Prose("", id="status")
            yield Button(self.next_label(), id="next", compact=True, variant="primary")
        yield Footer()

    def on_mount(self) -> None:
        self._tree: dict = {}
        self.refresh_review()

    def on_screen_resume(self) -> None:
        self.refresh_review()

    def all_problems(self):
        spec, secrets = self.app.spec, self.app.secrets
        return validate(spec) + validate_secrets(spec, secrets)

    def problems(self):
        return self.all_problems()

    def show_problems(self, problems) -> None:
        """Every problem of the answers, each with the step to go back to."""
        from wizard.steps import STEP_FIELDS, field_label, step_titles, under

        titles = step_titles()
        lines = []
        for p in problems:
            step = next((titles[name] for name, prefixes in STEP_FIELDS.items()
                         if any(under(p.field, pre) for pre in prefixes)), "")
            mark = "✗" if p.severity == "error" else "!"
            lines.append(f"{mark} {step} · {field_label(p.field, self.app.spec)}: {p.message}\n  → {p.fix}")
        box = self.query_one("#problems", Prose)
        box.update("\n".join(lines))
        box.display = bool(lines)
        box.set_class(all(p.severity == "warning" for p in problems), "-warning")
        n_err = sum(p.severity == "error" for p in problems)
        self.query_one("#status", Prose).update(
            _("{n} to fix before going on").format(n=n_err) if n_err else "")

    def check(self, everything: bool = True):
        return self.all_problems()

    def refresh_review(self) -> None:
        spec, secrets = self.app.spec, self.app.secrets
        problems = self.all_problems()
        self.query_one("#summary-text", Static).update(
            summary(spec) + "\n\n" + _("Answers are saved to {path} (Ctrl+S)").format(path=self.app.answers_out))
        self.show_problems(problems)
        try:
            from wizard.render import render
        except ImportError:
            self._tree = {}
            self._show_unavailable(_("Rendering is not available yet (wizard.render): the files cannot be shown."))
            return
        if errors(validate(spec)):
            self._tree = {}
            self._show_unavailable(_("The files are shown once the answers have no errors: see Summary."))
            return
        # Secret files are shown (masked) only when the secrets are complete.
        with_secrets = not errors(validate_secrets(spec, secrets))
        self._tree = render(spec, secrets if with_secrets else None)
        self._masks = secrets.values() if with_secrets else []
        for i, (node, files) in enumerate(list(self._tree.items())[:2]):
            self.query_one(TabbedContent).get_tab(f"node-{i}").label = node
            options = self.query_one(f"#files-{i}", OptionList)
            options.clear_options()
            options.add_options([Option(path.rsplit("/", 1)[-1], id=path) for path in files])
            options.highlighted = 0
            self._show_file(i, next(iter(files)))
        if not with_secrets:
            self.query_one("#rerun-note", Static).update(
                _("Files holding passwords are left out until the passwords are set.") + "\n" +
                _("Rerun: a diff against the installed files is not available yet."))

    def _show_unavailable(self, text: str) -> None:
        for i in range(2):
            self.query_one(f"#files-{i}", OptionList).clear_options()
            self.query_one(f"#file-head-{i}", Static).update("")
            self.query_one(f"#file-{i}", Static).update(text)

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        index = int((event.option_list.id or "files-0").split("-")[1])
        if event.option.id:
            self._show_file(index, event.option.id)

    def _show_file(self, index: int, path: str) -> None:
        node = list(self._tree)[index]
        rendered = self._tree[node][path]
        text = rendered.text
        if rendered.secret:
            for value in self._masks:
                text = text.replace(value, MASK)
        head = Text(f"{rendered.path}  {rendered.mode:04o} {rendered.owner}:{rendered.group}", style="bold")
        if rendered.secret:
            head.append("  " + _("(holds secrets: shown masked)"), style="italic")
        self.query_one(f"#file-head-{index}", Static).update(head)
        self.query_one(f"#file-{index}", Static).update(
            Syntax(text, LEXERS.get(rendered.kind, "text"), theme="ansi_dark", line_numbers=True,
                   word_wrap=True, background_color="default"))

    def bundle_path(self):
        return self.app.answers_out.parent / f"{self.app.spec.name}-review.tar.gz"

    @on(Button.Pressed, "#export")
    def export_bundle(self) -> None:
        """Every rendered file, the plan and the redacted answers in one archive to hand to a reviewer."""
        from wizard.bundle import build_bundle, write_bundle
        from wizard.errors import UserError

        if errors(validate(self.app.spec)):
            self.notify(_("Fix the answers listed in Summary first: the bundle holds the files they render."),
                        severity="warning")
            return
        out = self.bundle_path()
        try:
            write_bundle(build_bundle(self.app.spec), out, option=_("the bundle"))
        except UserError as exc:
            self.notify(f"{exc.message}\n{exc.fix}", severity="error")
            return
        self.notify(_("Review bundle written to {path} (no passwords in it)").format(path=out))

    def action_next(self) -> None:
        problems = self.all_problems()
        self.show_problems(problems)
        if errors(problems):
            self.query_one(TabbedContent).active = "summary"
            self.app.bell()
            self.notify(_("Go back and fix the answers listed in Summary first."), severity="warning")
            return
        self.app.next_step(self.NAME)
