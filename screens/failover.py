"""Step 11: failover test — the cluster's status and health gate, the scenarios, live probe timelines, the report.

The screen only shows and asks: the status is wizard.status's (the same
text and problems as `zabbix-ha status`), the drill is wizard.failover's
(the same one `zabbix-ha failover-test` runs), both in worker threads. The
drill reports from its own threads; each event is posted to this screen as
a message. Before each scenario the drill's `confirm` asks here and waits
for the answer. Tests give the app a FailoverBackend of their own.
"""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Button, RichLog, SelectionList
from textual.widgets.selection_list import Selection

from screens.base import Prose, StepScreen
from screens.dialogs import ConfirmDialog
from screens.install import Login, clock_text
from screens.timeline import ProbePanel
from wizard.i18n import _

CONFIRM_TIMEOUT = 1800       # an unanswered question counts as "no" after this (the drill must not hang forever)
STATUS_WIDTH = (60, 80)      # the status text is laid out for the panel's width, within these bounds
NOTICE_SECONDS = 5           # a refusal on the status line stays this long before the running clock returns


# -- the real backend ------------------------------------------------------------------

@dataclass
class Cluster:
    """Connections to the nodes that answered, and why the others did not."""

    executors: dict
    unreachable: dict[str, str] = field(default_factory=dict)

    @property
    def local(self) -> str | None:
        from wizard.remote import LocalExecutor

        return next((n for n, ex in self.executors.items() if isinstance(ex, LocalExecutor)), None)

    def close(self) -> None:
        for ex in self.executors.values():
            ex.close()


@dataclass
class Health:
    """What `zabbix-ha status` shows, and what keeps the cluster from failing over now."""

    text: str
    problems: list            # wizard.status.health.Problem, every one
    blocking: list            # failover_ready(): empty when a scenario may run


def ssh_ready(app) -> Login | str:
    """How to log in to the nodes, or why the wizard cannot (only keys: never a prompt from a thread)."""
    from screens.preflight import ssh_login

    key, known_hosts = ssh_login(app)
    if key is None:
        return _("No SSH key of zabbix-ha yet, so the wizard cannot log in to the nodes: set it up on the "
                 "Nodes step.")
    return Login(key, known_hosts, list(app.accepted_host_keys))


def connect_cluster(spec, login: Login) -> Cluster:
    from wizard.journal import Journal
    from wizard.status.command import connect

    args = argparse.Namespace(trust_dir=None, known_hosts=login.known_hosts, ssh_key=login.key, all_ssh=False,
                              accept_host_key=login.accepted, json=True)
    executors, unreachable = connect(spec, args, Journal())
    return Cluster(executors, unreachable)


def read_health(spec, cluster: Cluster, width: int) -> Health:
    from wizard.status.gather import read_status
    from wizard.status.health import failover_ready, problems
    from wizard.status.model import Expect
    from wizard.status.view import format_screen

    status = read_status(cluster.executors, Expect.from_spec(spec), unreachable=cluster.unreachable)
    found = problems(status)
    return Health(format_screen(status, found, width=width), found, failover_ready(status))


def make_drill(spec, cluster: Cluster, password: str, on_event, stop: threading.Event):
    from wizard.failover.cluster import ClusterOps
    from wizard.failover.drill import Drill, Message as DrillMessage

    ops = ClusterOps(spec, cluster.executors, cluster.local, log=lambda text: on_event(DrillMessage(text)))
    return Drill(ops, password, on_event=on_event, stop=stop)


def run_drill(drill, scenarios: list, confirm: Callable) -> object:
    from wizard import __version__
    from wizard.failover.drill import run_drill as run

    return run(drill, scenarios, confirm=confirm, version=__version__)


def save_report(spec, cluster: Cluster, report) -> str:
    from wizard.failover.command import save_report as save

    return save(cluster.executors, spec.hostnames, report)


def all_scenarios() -> list:
    from wizard.failover.scenarios import SCENARIOS

    return list(SCENARIOS)


def format_report(report) -> str:
    from wizard.failover.report import format_text

    return format_text(report)


def install_finished(app) -> bool:
    """The Install step ran to success in this session."""
    if not app.is_screen_installed("install"):
        return False
    summary = getattr(app.get_screen("install"), "summary", None)
    return bool(summary is not None and summary.ok)


@dataclass
class FailoverBackend:
    """Where the Failover step gets its connections, status, drill and clock from."""

    login: Callable = ssh_ready                   # app -> Login, or why the wizard cannot log in
    connect: Callable = connect_cluster           # (spec, Login) -> Cluster (has close())
    health: Callable = read_health                # (spec, cluster, width) -> Health
    drill: Callable = make_drill                  # (spec, cluster, password, on_event, stop) -> drill with .stop
    run: Callable = run_drill                     # (drill, scenarios, confirm) -> Report
    save: Callable = save_report                  # (spec, cluster, report) -> where it was saved
    scenarios: Callable = all_scenarios           # () -> [Scenario]
    clock: Callable[[], float] = time.monotonic


# -- the screen ------------------------------------------------------------------------

@dataclass
class Reply:
    """The answer to one question the drill's thread asked."""

    done: threading.Event = field(default_factory=threading.Event)
    yes: bool = False


class FailoverScreen(StepScreen):
    NAME = "failover"
    CSS_PATH = "failover.tcss"
    BINDINGS = [*StepScreen.BINDINGS, Binding("a", "abort", _("Abort scenario"))]

    class Checked(Message):
        def __init__(self, health: Health | None, error: str = "") -> None:
            super().__init__()
            self.health, self.error = health, error

    class DrillEvent(Message):
        """A drill event (wizard.failover.drill.Message or ProbeSample), posted from a worker thread."""

        def __init__(self, event, at: float) -> None:
            super().__init__()
            self.event, self.at = event, at     # at: the backend's clock when it happened

    class Ask(Message):
        def __init__(self, scenario, reply: Reply) -> None:
            super().__init__()
            self.scenario, self.reply = scenario, reply

    class Unask(Message):
        """The drill stopped waiting for an answer (aborted, or nobody answered)."""

    class Finished(Message):
        def __init__(self, report, text: str, note: str, error: str) -> None:
            super().__init__()
            self.report, self.text, self.note, self.error = report, text, note, error

    def __init__(self) -> None:
        super().__init__()
        self.phase = "idle"            # idle, checking, checked, running, aborting, finished
        self.stop = threading.Event()
        self.health: Health | None = None
        self.report = None
        self.current = ""              # the scenario running now (its title)
        self.notice_until = 0.0        # the status line holds a notice until then (backend clock)
        self.counter = (0, 0)          # (n, of)
        self.started = 0.0
        self.after_run: list[Callable[[], None]] = []
        self.dialog: ConfirmDialog | None = None
        self.scenarios: list = []

    @property
    def backend(self) -> FailoverBackend:
        return getattr(self.app, "failover_backend", None) or FailoverBackend()

    @property
    def running(self) -> bool:
        return self.phase in ("running", "aborting")

    # -- layout -------------------------------------------------------------------
    def intro(self) -> str:
        return _("The failover test proves the cluster works before the wizard says done.")

    def what(self) -> str:
        return _("It moves the services to the other node and back, checks the VIP, the database "
                 "and the Zabbix server through it, measures the time taken, and cleans up after itself.")

    def compose_form(self) -> ComposeResult:
        self.scenarios = self.backend.scenarios()
        yield Prose(self.what(), classes="explain")
        yield Prose("", id="not-installed", classes="note")
        with Horizontal(id="run-bar"):
            yield Button(_("Check the cluster"), id="check", compact=True)
            yield Button(_("Start test"), id="start", compact=True, variant="primary", disabled=True)
            yield Button(_("Abort"), id="abort", compact=True, variant="error")
            yield Prose("", id="run-status")
        yield Prose("", id="result")
        yield Prose("", id="report")
        yield Prose("", id="gate")
        yield Prose("", id="now")
        panel = ProbePanel(id="probes")
        panel.border_title = _("Probes through the VIP")
        panel.border_subtitle = "[green]▮[/] " + _("answered") + "  [red]▮[/] " + _("failed") + "  · " + _("no answer")
        yield panel
        yield RichLog(id="log", max_lines=2000, wrap=True, min_width=20)
        choices = SelectionList[str](*[Selection(s.title, s.name, True) for s in self.scenarios], id="scenarios",
                                     compact=True)
        choices.border_title = _("Scenarios (Space ticks, Start runs the ticked ones in this order)")
        yield choices
        yield Prose("", id="scenario-explain")
        yield Prose(_("Cluster status, as `zabbix-ha status` shows it"), id="status-head", classes="section")
        yield Prose("", id="status-text")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#abort", Button).display = False
        self.set_interval(1.0, self._tick)
        if self.scenarios:
            self._explain(self.scenarios[0].name)
        self._phase("idle")
        self._status(_("Reads both nodes; changes nothing."))

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        self._show_installed()

    def on_unmount(self) -> None:
        self.stop.set()                # the app is closing: no further scenario, restore the running one

    def _show_installed(self) -> None:
        note = self.query_one("#not-installed", Prose)
        if install_finished(self.app):
            note.display = False
            return
        note.update(_("The install has not finished in this session. The failover test needs the installed "
                      "cluster: run the Install step first (◀ Back). If the cluster was installed before, "
                      "Check the cluster reads it."))
        # Once the cluster was read and can fail over, the note has nothing left to say.
        settled = self.health is not None and not self.health.blocking
        note.display = not self.running and not settled

    def problems(self):
        return []

    def check(self, everything: bool = True):
        return []

    # -- the status and the health gate ----------------------------------------------
    @on(Button.Pressed, "#check")
    def _check_pressed(self) -> None:
        self.check_cluster()

    def _login(self):
        """The backend's login, or None after saying why there is none."""
        login = self.backend.login(self.app)
        if isinstance(login, str):
            self._status(login)
            self.app.bell()
            return None
        return login

    def check_cluster(self) -> None:
        if self.running or self.phase == "checking":
            return
        login = self._login()
        if login is None:
            return
        self._phase("checking")
        self._status(_("Reading both nodes…"))
        self._check(self.backend, self.app.spec, login, self._status_width())

    def _status_width(self) -> int:
        body = self.query_one("#body")
        low, high = STATUS_WIDTH
        return max(low, min(high, body.content_region.width - 4))

    @work(thread=True, exclusive=True, group="failover")
    def _check(self, backend: FailoverBackend, spec, login: Login, width: int) -> None:
        try:
            cluster = backend.connect(spec, login)
        except Exception as exc:       # no key accepted, unknown host key, no route
            self.post_message(self.Checked(None, getattr(exc, "message", None) or str(exc)))
            return
        try:
            health = backend.health(spec, cluster, width)
        except Exception as exc:
            self.post_message(self.Checked(None, getattr(exc, "message", None) or str(exc)))
            return
        finally:
            cluster.close()
        self.post_message(self.Checked(health))

    @on(Checked)
    def _checked(self, message: Checked) -> None:
        self.query_one("#check", Button).label = _("Check again")
        if message.error:
            self.health = None
            self._phase("idle")
            self._status(_("Could not read the cluster: {error}").format(error=message.error))
            return
        self.health = health = message.health
        self._phase("checked")
        self.query_one("#status-text", Prose).update(health.text.rstrip("\n"))
        gate = self.query_one("#gate", Prose)
        if health.blocking:
            lines = [_("The cluster cannot fail over now, so no scenario may run. Fix these, then Check again:")]
            lines += [f"✗ {p.message}\n  → {p.fix}" for p in health.blocking]
            self._status(_("Refused: {n} to fix first.").format(n=len(health.blocking)))
        else:
            lines = [_("✓ The cluster can fail over: both nodes online, quorum, DRBD UpToDate on both, "
                       "no failed actions, no leftover move/ban constraints, fencing ready.")]
            self._status(_("Ready: choose the scenarios."))
        gate.update("\n".join(lines))
        gate.set_class(bool(health.blocking), "-refused")
        self._enable_start()
        self.query_one("#body").scroll_home(animate=False)
        self.query_one("#check" if health.blocking else "#start", Button).focus()

    def _enable_start(self) -> None:
        ticked = self.query_one("#scenarios", SelectionList).selected
        ready = self.phase in ("checked", "finished") and self.health is not None and not self.health.blocking
        self.query_one("#start", Button).disabled = not (ready and ticked)

    # -- the scenario list -------------------------------------------------------------
    @on(SelectionList.SelectionHighlighted, "#scenarios")
    def _highlighted(self, event: SelectionList.SelectionHighlighted) -> None:
        self._explain(event.selection.value)

    @on(SelectionList.SelectedChanged, "#scenarios")
    def _ticked(self) -> None:
        self._enable_start()

    def _explain(self, name: str) -> None:
        sc = next((s for s in self.scenarios if s.name == name), None)
        if sc is not None:
            self.query_one("#scenario-explain", Prose).update(sc.explain)

    # -- running ---------------------------------------------------------------------------
    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.start()

    def start(self) -> None:
        if self.running or self.health is None or self.health.blocking:
            return
        chosen = set(self.query_one("#scenarios", SelectionList).selected)
        scenarios = [s for s in self.scenarios if s.name in chosen]
        if not scenarios:
            self._status(_("No scenario ticked."))
            self.app.bell()
            return
        password = self.app.secrets.zabbix_admin_password
        if not password:
            self._status(_("The test logs in to Zabbix as Admin: enter that password on the Zabbix step (◀ Back)."))
            self.app.bell()
            return
        login = self._login()
        if login is None:
            return
        self.stop = threading.Event()
        self.report = None
        self.current, self.counter = "", (0, len(scenarios))
        self.started = self.backend.clock()
        self.query_one(ProbePanel).reset()
        log = self.query_one("#log", RichLog)
        log.clear()
        log.border_title = _("Drill log")
        self._phase("running")
        self._status(_("Connecting; preparing the test item in Zabbix…"))
        self._drill(self.backend, self.app.spec, password.reveal(), scenarios, login)

    @work(thread=True, exclusive=True, group="failover")
    def _drill(self, backend: FailoverBackend, spec, password: str, scenarios: list, login: Login) -> None:
        report, text, note, error = None, "", "", ""
        try:
            cluster = backend.connect(spec, login)
        except Exception as exc:
            self.post_message(self.Finished(None, "", "", getattr(exc, "message", None) or str(exc)))
            return
        try:
            if cluster.unreachable:
                error = "; ".join(f"{node}: {why}" for node, why in cluster.unreachable.items())
            else:
                drill = backend.drill(spec, cluster, password, self._on_event, self.stop)
                report = backend.run(drill, scenarios, self._confirm)
                text = format_report(report)
                if report.scenarios or report.refused:
                    note = backend.save(spec, cluster, report)
        except Exception as exc:       # DrillFailed while preparing, a lost connection: said, nothing hidden
            error = getattr(exc, "message", None) or str(exc)
        finally:
            cluster.close()
        # Posted after the drill's last event from this same thread, so it is handled after it.
        self.post_message(self.Finished(report, text, note, error))

    def _on_event(self, event) -> None:
        # Called from the drill's and the probes' threads: hand over, never touch widgets here.
        self.post_message(self.DrillEvent(event, self.backend.clock()))

    def _confirm(self, scenario) -> bool:
        """The drill's `confirm`, in its thread: ask on the UI thread, wait (bounded); abort means no."""
        if self.stop.is_set():
            return False
        reply = Reply()
        self.post_message(self.Ask(scenario, reply))
        deadline = time.monotonic() + CONFIRM_TIMEOUT
        while not reply.done.wait(0.2):
            if self.stop.is_set() or time.monotonic() > deadline:
                self.post_message(self.Unask())
                return False
        return reply.yes and not self.stop.is_set()

    @on(Ask)
    def _ask(self, message: Ask) -> None:
        sc, reply = message.scenario, message.reply
        n = self.counter[0] + 1

        def decided(yes: bool | None) -> None:
            self.dialog = None
            reply.yes = bool(yes)
            if yes:
                self.counter = (n, self.counter[1])
                self.current = sc.title
                self.query_one(ProbePanel).reset()
                self._log(Text(f"── {sc.title} ──", style="bold"))
            else:
                self.counter = (n, self.counter[1])
            reply.done.set()
            self._tick()

        self.dialog = ConfirmDialog(
            _("Scenario {n} of {total}: {title}").format(n=n, total=self.counter[1], title=sc.title),
            sc.explain + "\n\n" + _("The probes watch the service through the VIP meanwhile; at the end the "
                                    "starting state is restored. Abort (a) stops it and restores."),
            _("Run it"), _("Skip it"))
        self.app.push_screen(self.dialog, decided)
        self._status(_("Waiting for your answer…"))

    @on(Unask)
    def _unask(self) -> None:
        if self.dialog is not None and self.dialog.is_attached:
            self.dialog.dismiss(False)
        self.dialog = None

    @on(DrillEvent)
    def _event(self, message: DrillEvent) -> None:
        from wizard.failover.drill import Message as DrillMessage, ProbeSample

        event = message.event
        at = self._elapsed(message.at)
        if isinstance(event, DrillMessage):
            self._log(Text(f"{at} {event.text}"))
            self._tick()
        elif isinstance(event, ProbeSample):
            s = event.sample
            change = self.query_one(ProbePanel).add(event.probe, s.t, s.ok)
            if change == "down":
                said = _("{probe} DOWN at {t:.1f} s").format(probe=event.probe, t=s.t)
                self._log(Text(f"{at}   {said}" + (f": {s.detail}" if s.detail else ""), style="red"))
            elif change == "back":
                said = _("{probe} back at {t:.1f} s").format(probe=event.probe, t=s.t)
                self._log(Text(f"{at}   {said}", style="green"))

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        self.report = message.report
        self.current = ""
        self._phase("finished")
        result = self.query_one("#result", Prose)
        report = message.report
        if message.error:
            lines = [_("The failover test stopped: {error}").format(error=message.error),
                     _("Every scenario restores its starting state; check the cluster again before a new run.")]
            failed = True
        elif report.refused:
            lines = [_("Refused: the cluster could not fail over when the test began; nothing was tested.")]
            failed = True
        else:
            ran = [s for s in report.scenarios if not s.skipped]
            if not ran:
                lines = [_("No scenario ran.")]
            elif report.ok:
                lines = [_("Every scenario that ran passed ({n}).").format(n=len(ran))]
            else:
                lines = [_("Failed: {names}.").format(names=", ".join(s.title for s in ran if not s.ok))]
            failed = not (ran and report.ok)
            if self.stop.is_set():
                lines.append(_("Aborted as asked; the starting state was restored."))
        if message.note:
            lines.append(message.note[:1].upper() + message.note[1:])
        result.update("\n".join(lines))
        result.set_class(failed, "-failed")
        self.query_one("#report", Prose).update(message.text.rstrip("\n"))
        self._status(_("Finished in {time}.").format(time=self._elapsed()))
        self.query_one("#start", Button).label = _("Run again")
        self.query_one("#body").scroll_home(animate=False)
        self.query_one("#next" if not failed else "#check", Button).focus()
        waiting, self.after_run = self.after_run, []
        for then in waiting:
            then()

    # -- abort, and leaving while it runs ------------------------------------------------
    def check_action(self, action: str, parameters) -> bool | None:
        if action == "abort":
            return self.running
        return True

    @on(Button.Pressed, "#abort")
    def _abort_pressed(self) -> None:
        self.action_abort()

    def action_abort(self, then: Callable[[], None] | None = None) -> None:
        """Stop now: the running scenario restores its starting state; `then` runs once the drill ended."""
        if not self.running:
            if then is not None:
                then()
            return
        if then is not None:
            self.after_run.append(then)
        if self.stop.is_set():
            return
        self.stop.set()
        self._unask()
        self._phase("aborting")
        self._log(Text(f"{self._elapsed()} " + _("aborting: the scenario restores its starting state"),
                       style="bold yellow"))
        self._tick()

    def action_next(self) -> None:
        if self.running:
            self._refuse_to_leave()
            return
        self.app.next_step(self.NAME)

    def action_back(self) -> None:
        if self.running:
            self._refuse_to_leave()
            return
        super().action_back()

    def _refuse_to_leave(self) -> None:
        # Kept on screen for a while: the once-a-second "Running · time" would replace it at once.
        self.notice_until = self.backend.clock() + NOTICE_SECONDS
        self._status(_("The failover test is running: wait for it, or abort it first (a)."))
        self.app.bell()

    # -- drawing ----------------------------------------------------------------------------
    def _elapsed(self, at: float | None = None) -> str:
        return clock_text((self.backend.clock() if at is None else at) - self.started)

    def _tick(self) -> None:
        if self.phase == "aborting":
            self._status(_("Aborting: restoring the starting state… · {time}").format(time=self._elapsed()))
        elif self.phase == "running" and self.dialog is None and self.backend.clock() >= self.notice_until:
            self._status(_("Running · {time}").format(time=self._elapsed()))
        if self.running:
            n, total = self.counter
            now = (_("Scenario {n} of {total}: {title}").format(n=n, total=total, title=self.current)
                   if self.current else _("Preparing…"))
            self.query_one("#now", Prose).update(now)

    def _status(self, text: str) -> None:
        self.query_one("#run-status", Prose).update(text)

    def _log(self, text: Text) -> None:
        self.query_one("#log", RichLog).write(text)

    def _phase(self, phase: str) -> None:
        """Show what belongs to this phase: before a run the gate and the choices, during it the probes."""
        self.phase = phase
        busy = self.running
        checked = self.health is not None
        refused = checked and bool(self.health.blocking)
        for cls in ("-idle", "-checking", "-checked", "-running", "-aborting", "-finished"):
            self.set_class(cls == f"-{phase}", cls)
        self.set_class(refused, "-refused")
        shown = {
            "#check": not busy, "#start": not busy, "#abort": busy,
            # After a run the last check is old news: the report says how the cluster is now.
            "#gate": checked and phase in ("checking", "checked"),
            "#status-head": checked and phase in ("checking", "checked"),
            "#status-text": checked and phase in ("checking", "checked"),
            "#scenarios": not busy and not refused, "#scenario-explain": not busy and not refused,
            "#now": busy, "#probes": busy or phase == "finished", "#log": busy or phase == "finished",
            "#result": phase == "finished", "#report": phase == "finished",
            "#intro": not busy, ".explain": not busy and not checked,
        }
        for selector, show in shown.items():
            for widget in self.query(selector):
                widget.display = show
        self._show_installed()
        self.query_one("#abort", Button).disabled = phase == "aborting"
        self._enable_start()
        if busy and (self.focused is None or not self.focused.display or self.focused.id in ("start", "check")):
            self.query_one("#abort", Button).focus()
        self.refresh_bindings()
        self._tick()


__all__ = ["FailoverScreen", "FailoverBackend", "Cluster", "Health"]
