"""Step 12: what was done and where everything was saved."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from screens.base import Prose, StepScreen
from wizard.i18n import _
from wizard.spec import errors, validate


class DoneScreen(StepScreen):
    NAME = "done"

    def intro(self) -> str:
        return _("This is as far as the wizard goes for now.")

    def next_label(self) -> str:
        return _("Quit")

    def compose_form(self) -> ComposeResult:
        yield Prose("", id="saved")
        yield Prose(_("Not done, because those steps are not available yet: preflight, install, "
                       "failover test. No server was changed. The configuration bundle and the "
                       "recovery runbook are not available yet either."), classes="unavailable")
        yield Prose(_("To render the files yourself:\n  zabbix-ha render --answers {path} --out DIR"),
                     id="next-steps")

    def on_screen_resume(self) -> None:
        # Shown on every arrival (also the first): reaching the end saves the
        # answers, so nobody loses them by forgetting Ctrl+S.
        super().on_screen_resume()
        self._save()

    def _save(self) -> None:
        app = self.app
        try:
            app.save()
        except OSError as exc:
            self.query_one("#saved", Prose).update(
                _("Could not save the answers to {path}: {error}. Go back and choose another file "
                  "on the first step.").format(path=app.answers_out, error=exc.strerror))
            return
        lines = [_("Answers saved to {path}").format(path=app.answers_out)]
        if len(app.saved_to) > 1:
            lines.append(_("Secrets saved to {path} (mode 0600)").format(path=app.saved_to[1]))
        else:
            lines.append(_("No passwords were given, so no secrets file was written."))
        left = errors(validate(app.spec))
        if left:
            lines.append(_("{n} answers still need fixing before an install.").format(n=len(left)))
        self.query_one("#saved", Static).update("\n".join(lines))
        self.query_one("#next-steps", Static).update(
            _("To render the files yourself:\n  zabbix-ha render --answers {path} --out DIR").format(
                path=app.answers_out))

    def problems(self):
        return []

    def action_next(self) -> None:
        self.app.exit(0)
