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
        return _("What this session did, where the answers are, and what to run next.")

    def next_label(self) -> str:
        return _("Quit")

    def compose_form(self) -> ComposeResult:
        yield Prose("", id="saved")
        yield Prose("", id="outcome")
        yield Prose("", id="next-steps")

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
        self.query_one("#outcome", Static).update(self._outcome())
        self.query_one("#next-steps", Static).update(
            _("Next, on the first node:\n"
              "  zabbix-ha status            the cluster's health, each problem with its fix\n"
              "  zabbix-ha failover-test     prove it again (e.g. monthly, --yes from cron)\n"
              "  zabbix-ha export --answers {path} --out review.tar.gz\n"
              "                              every file and the plan, secrets redacted").format(
                path=app.answers_out))

    def _outcome(self) -> str:
        """The install's and the failover test's results in this session, from their steps."""
        app = self.app
        install = app.get_screen("install") if app.is_screen_installed("install") else None
        summary = getattr(install, "summary", None)
        if summary is None:
            lines = [_("Install: not run in this session; no server was changed by it.")]
        elif summary.ok:
            lines = [_("Install: finished; {changed} step(s) changed something.").format(changed=summary.changed)]
        else:
            lines = [_("Install: STOPPED; run it again to resume where it stopped.")]
        failover = app.get_screen("failover") if app.is_screen_installed("failover") else None
        report = getattr(failover, "report", None)
        if report is None:
            lines.append(_("Failover test: not run in this session."))
        elif report.refused:
            lines.append(_("Failover test: refused, the cluster could not fail over (see zabbix-ha status)."))
        else:
            ran = [r for r in report.scenarios if not r.skipped]
            worst = max((r.worst_outage or 0 for r in ran), default=0)
            lines.append((_("Failover test: {n} scenario(s) passed; longest outage {s:.0f} s.") if report.ok
                          else _("Failover test: FAILED; see its report.")).format(n=len(ran), s=worst))
        return "\n".join(lines)

    def problems(self):
        return []

    def action_next(self) -> None:
        self.app.exit(0)
