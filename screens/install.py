"""Step 10: install — the plan per node, a typed confirmation for every device written, live progress.

The screen only shows: the plan comes from `wizard.install.plan.build_plan`,
the run from a `wizard.install.session.Session` (the same one `zabbix-ha
install` uses), in worker threads. The runner reports from its own threads;
each event is posted to this screen as a message and shown on the UI thread.
Tests give the app an InstallBackend with a plan of their own.
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
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, RichLog

from screens.base import Prose, StepScreen
from screens.dialogs import ConfirmDialog, TypedConfirmDialog
from wizard.i18n import _

# Marks per step status; the legend under the lists says what they mean.
MARK = {"pending": "·", "running": "▶", "done": "=", "changed": "✓", "failed": "✗", "skipped": "-"}
STYLE = {"pending": "dim", "running": "bold yellow", "done": "green", "changed": "bold green",
         "failed": "bold red", "skipped": "dim"}


@dataclass
class Login:
    """How the wizard logs in (read on the UI thread, used by the worker)."""

    key: str | None
    known_hosts: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    forced: list[str] = field(default_factory=list)


def open_real_session(spec, secrets, plan, on_event, login: Login):
    """Connect both nodes as preflight did: a key only, never a prompt from the thread."""
    from wizard.install.session import open_session

    args = argparse.Namespace(trust_dir=None, known_hosts=login.known_hosts, ssh_key=login.key, all_ssh=False,
                              accept_host_key=login.accepted, json=True)
    return open_session(spec, secrets, args, on_event, plan=plan, accept_wipe=login.forced)


def preflight_passed(app) -> str:
    """"" when preflight ran in this session without errors, else why the install cannot start."""
    from screens.preflight import ssh_login

    if ssh_login(app)[0] is None:
        return _("No SSH key of zabbix-ha yet, so the wizard cannot log in to the nodes: set it up on the "
                 "Nodes step, then run preflight.")
    findings = app.get_screen("preflight").findings if app.is_screen_installed("preflight") else None
    if findings is None:
        return _("Run preflight first (◀ Back): the install starts only after a preflight without errors.")
    if any(f.severity == "error" for f in findings):
        return _("Preflight found errors: fix them first (◀ Back).")
    return ""


def build_real_plan(spec):
    from wizard.install.plan import build_plan

    return build_plan(spec)


@dataclass
class InstallBackend:
    """Where the Install step gets its plan, its session and its clock from."""

    plan: Callable = build_real_plan                 # spec -> Plan
    open: Callable = open_real_session               # (spec, secrets, plan, on_event, Login) -> Session
    ready: Callable = preflight_passed               # app -> "" or why not now
    clock: Callable[[], float] = time.monotonic


@dataclass
class Row:
    step: str
    title: str
    status: str = "pending"
    started: float = 0.0
    seconds: float | None = None


def clock_text(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


# The shell commands the success text names.
SHELL_NEXT = ("status", "failover-test")


def shell_next() -> list[str]:
    return list(SHELL_NEXT)


class InstallScreen(StepScreen):
    NAME = "install"
    CSS_PATH = "install.tcss"
    BINDINGS = [*StepScreen.BINDINGS, Binding("a", "abort", _("Abort install"))]

    class Progress(Message):
        """One runner event, posted from a worker thread."""

        def __init__(self, event) -> None:
            super().__init__()
            self.event = event

    class Closed(Message):
        """The run is over and its session closed (lock released); what is left to say."""

        def __init__(self, note: str, error: str, journal: str) -> None:
            super().__init__()
            self.note, self.error, self.journal = note, error, journal

    def __init__(self) -> None:
        super().__init__()
        self.phase = "idle"              # idle, connecting, confirming, running, stopping, finished
        self.stop = threading.Event()
        self.nodes: list[str] = []
        self.rows: dict[str, list[Row]] = {}
        self.commands: dict[str, str] = {}
        self.started = 0.0
        self.failure = None              # the first StepFinished that failed
        self.summary = None              # InstallFinished
        self.after_run: list[Callable[[], None]] = []
        self.asking = False
        self._previewed = ""             # the answers the preview was built from

    @property
    def backend(self) -> InstallBackend:
        return getattr(self.app, "install_backend", None) or InstallBackend()

    @property
    def running(self) -> bool:
        return self.phase in ("connecting", "confirming", "running", "stopping")

    # -- layout ---------------------------------------------------------------
    def intro(self) -> str:
        return _("Install sets up both nodes from the reviewed answers, side by side where the steps allow. "
                 "Every step checks first and changes only what differs, so running it again resumes "
                 "an interrupted install.")

    def compose_form(self) -> ComposeResult:
        with Horizontal(id="run-bar"):
            yield Button(_("Start install"), id="start", compact=True, variant="primary")
            yield Button(_("Abort"), id="abort", compact=True, variant="error")
            yield Prose("", id="run-status")
        yield Prose("", id="result")
        with Horizontal(id="nodes"):
            for i in range(2):
                with Vertical(classes="node", id=f"node-{i}"):
                    yield Prose("", classes="node-head", id=f"head-{i}")
                    yield Prose("", classes="node-cmd", id=f"cmd-{i}")
                    with VerticalScroll(classes="node-list", id=f"list-{i}"):
                        yield Prose("", id=f"steps-{i}")
        yield Prose(_("▶ running  ✓ changed  = already in place  ✗ failed  - not run"), id="legend")
        yield RichLog(id="log", max_lines=2000, wrap=True, min_width=20)     # wrap to the pane, even at 80x24

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#abort", Button).display = False
        self.set_interval(1.0, self._tick)
        self._preview()

    def on_unmount(self) -> None:
        self.stop.set()              # the app is closing: start no further step

    def on_screen_resume(self) -> None:
        super().on_screen_resume()
        if self.phase == "idle" and repr(self.app.spec) != self._previewed:
            self._preview()          # the answers changed on another step

    def problems(self):
        return []

    def check(self, everything: bool = True):
        return []

    # -- the plan, before anything runs -----------------------------------------------
    def _preview(self) -> None:
        self._previewed = repr(self.app.spec)
        try:
            plan = self.backend.plan(self.app.spec)
        except Exception as exc:        # an incomplete answer the earlier steps flag
            self._set_rows({})
            self._status(_("No plan yet: {error}").format(error=getattr(exc, "message", exc)))
            return
        nodes = list(dict.fromkeys(s.node for s in plan.steps))
        self._set_rows({n: [(s.id, s.title) for s in plan.for_node(n)] for n in nodes})
        destructive = sum(1 for s in plan.steps if s.destructive is not None)
        self._status(_("{n} steps; {d} of them may write to disks, which you confirm by typing YES. "
                       "Nothing has been changed yet.").format(n=len(plan.steps), d=destructive))

    def _set_rows(self, steps: dict[str, list[tuple[str, str]]]) -> None:
        self.nodes = list(steps)
        self.rows = {n: [Row(sid, title) for sid, title in pairs] for n, pairs in steps.items()}
        self.commands = {}
        for i in range(2):
            self.query_one(f"#node-{i}").display = i < len(self.nodes)
        self.refresh_progress()

    # -- start ------------------------------------------------------------------
    @on(Button.Pressed, "#start")
    def _start_pressed(self) -> None:
        self.start()

    def start(self) -> None:
        from wizard.spec import errors, validate, validate_secrets

        if self.running:
            return
        app = self.app
        reason = ""
        if errors(validate(app.spec)):
            reason = _("The answers have errors: fix them first (see Review).")
        elif errors(validate_secrets(app.spec, app.secrets)):
            reason = _("The install needs every password (database, cluster, Zabbix Admin): "
                       "enter them on the earlier steps.")
        else:
            reason = self.backend.ready(app)
        if reason:
            self._status(reason)
            app.bell()
            return
        try:
            plan = self.backend.plan(app.spec)
        except Exception as exc:
            self._status(_("No plan: {error}").format(error=getattr(exc, "message", exc)))
            return
        from screens.preflight import ssh_login

        key, known_hosts = ssh_login(app)
        login = Login(key, known_hosts, list(app.accepted_host_keys), sorted(app.forced))
        self.stop = threading.Event()
        self.failure = self.summary = None
        self._set_rows({n: [(s.id, s.title) for s in plan.for_node(n)]
                        for n in dict.fromkeys(s.node for s in plan.steps)})
        self.query_one("#result", Prose).display = False
        self._phase("connecting")
        self._status(_("Connecting to both nodes and reading what is already in place…"))
        self._prepare(self.backend, app.spec, app.secrets, plan, login)

    @work(thread=True, exclusive=True, group="install")
    def _prepare(self, backend: InstallBackend, spec, secrets, plan, login: Login) -> None:
        try:
            session = backend.open(spec, secrets, plan, self._on_event, login)
        except Exception as exc:        # unreachable node, refused key, no permission for the journal
            self.app.call_from_thread(self._not_started, getattr(exc, "message", None) or str(exc))
            return
        try:
            destruction = session.destruction()
        except Exception as exc:
            session.close()
            self.app.call_from_thread(self._not_started, getattr(exc, "message", None) or str(exc))
            return
        self.app.call_from_thread(self._confirm, session, destruction)

    def _on_event(self, event) -> None:
        # Called from the runner's threads: hand over, never touch widgets here.
        self.post_message(self.Progress(event))

    def _not_started(self, message: str) -> None:
        self._phase("idle")
        self._status(_("Not started: {error}").format(error=message))
        self._run_after()

    def _confirm(self, session, destruction: list[str]) -> None:
        if self.stop.is_set():
            session.close()
            self._not_started(_("stopped before anything ran; nothing was changed."))
            return
        if not destruction:
            self._go(session)
            return
        self._phase("confirming")
        self._status(_("Waiting for your confirmation…"))
        devices = "\n".join(f"• {d[:1].upper()}{d[1:]}" for d in destruction)

        def decided(yes: bool | None) -> None:
            if yes and not self.stop.is_set():
                self._go(session)
            else:
                session.close()
                self._not_started(_("not confirmed; nothing was changed."))

        self.app.push_screen(TypedConfirmDialog(
            _("Write to these devices?"),
            devices + "\n\n" + _("Whatever they hold now is lost."), _("Install"), "YES"), decided)

    def _go(self, session) -> None:
        self.started = self.backend.clock()
        self._phase("running")
        self._status(_("Running…"))
        log = self.query_one("#log", RichLog)
        log.clear()
        log.border_title = _("Log")
        log.display = True
        self._run(session)

    @work(thread=True, exclusive=True, group="install")
    def _run(self, session) -> None:
        note = error = ""
        try:
            _summary, _record, note = session.run(stop=self.stop)
        except Exception as exc:       # the runner reports step failures itself; this is a bug
            error = str(exc)
        finally:
            session.close()            # releases the nodes and the single-install lock
        journal = session.journal.path if session.journal is not None else None
        # Posted after the runner's last event from this same thread, so it is handled after it.
        self.post_message(self.Closed(note, error, str(journal) if journal else ""))

    @on(Closed)
    def _closed(self, message: Closed) -> None:
        if message.error:
            self._broken(message.error)
            return
        if message.note:
            self._log(Text(message.note, style="yellow"))
        if message.journal:
            self._log(Text(_("Journal of every command (secrets masked): {path}").format(path=message.journal),
                           style="dim"))
        self._run_after()

    def _broken(self, error: str) -> None:
        self._phase("idle")
        self.query_one("#start", Button).label = _("Retry")
        self._status(_("The install stopped with an internal error: {error}. Run it again to resume; "
                       "report the error with the journal.").format(error=error))
        self._run_after()

    # -- progress ----------------------------------------------------------------
    @on(Progress)
    def _progress(self, message: Progress) -> None:
        from wizard.install import events as ev

        event = message.event
        if isinstance(event, ev.PlanReady):
            self._set_rows(event.steps)
        elif isinstance(event, ev.StepStarted):
            row = self._row(event.node, event.step)
            if row is not None:
                row.status, row.started = "running", self.backend.clock()
                self.commands[event.node] = ""
        elif isinstance(event, ev.StepCommand):
            if self.phase in ("running", "stopping"):
                self.commands[event.node] = event.command
        elif isinstance(event, ev.StepOutput):
            self._log(Text(f"{event.node}: {event.line}"))
        elif isinstance(event, ev.StepFinished):
            self._finished_step(event)
        elif isinstance(event, ev.InstallFinished):
            self._finished(event)
            return
        self.refresh_progress()

    def _finished_step(self, event) -> None:
        row = self._row(event.node, event.step)
        if row is not None:
            row.status, row.seconds = event.status, event.seconds
        self.commands[event.node] = ""
        if event.status == "changed" and event.message:
            self._log(Text(f"✓ {event.node}: {event.title}: {event.message}", style="green"))
        if event.status == "failed":
            self.failure = self.failure or event
            self._log(Text(f"✗ {event.node}: {event.title}: {event.message}", style="bold red"))
            for line in event.output.strip().splitlines()[-15:]:
                self._log(Text(f"  | {line}", style="dim"))
            if event.fix:
                self._log(Text("  → " + event.fix, style="yellow"))

    def _finished(self, summary) -> None:
        self.summary = summary
        for rows in self.rows.values():
            for row in rows:
                if row.status in ("pending", "running"):
                    row.status = "skipped"
        self.commands = {}
        self._phase("finished")
        self.refresh_progress()
        self._show_result()

    def _show_result(self) -> None:
        summary = self.summary
        rows = [r for rows in self.rows.values() for r in rows]
        done = sum(r.status == "done" for r in rows)
        skipped = sum(r.status == "skipped" for r in rows)
        took = clock_text(summary.seconds)
        result = self.query_one("#result", Prose)
        if summary.ok:
            lines = [_("Installed in {time}: {changed} step(s) changed something, {done} were already "
                       "in place.").format(time=took, changed=summary.changed, done=done),
                     _("Next: the failover test (Next ▶) moves the services to the other node and back.")]
            shell = shell_next()
            if shell:
                lines.append(_("From a shell: {commands}").format(
                    commands="; ".join(f"zabbix-ha {c} --answers {self.app.answers_out}" for c in shell)))
            self._status(_("Installed."))
        elif self.failure is not None:
            f = self.failure
            lines = [_("The install stopped: {node} · {title} failed.").format(node=f.node, title=f.title),
                     f.message]
            if f.fix:
                lines.append(_("Fix: {fix}").format(fix=f.fix))
            lines.append(_("Then run Install again (Retry) to resume: every step checks first and keeps "
                           "what is in place. {n} step(s) were not run.").format(n=skipped))
            self._status(_("Failed after {time}.").format(time=took))
        else:
            lines = [_("Stopped after {time} as asked: {n} step(s) were not run.").format(time=took, n=skipped),
                     _("Run Install again (Retry) to resume: every step checks first and keeps what is "
                       "in place.")]
            self._status(_("Stopped."))
        result.update("\n".join(lines))
        result.set_class(not summary.ok, "-failed")
        result.display = True
        start = self.query_one("#start", Button)
        start.label = _("Retry") if not summary.ok else _("Run again")
        self.query_one("#body").scroll_home(animate=False)
        # After the refresh: showing the result shrinks the log, and its end moves with it.
        log = self.query_one("#log", RichLog)
        self.call_after_refresh(log.scroll_end, animate=False)
        (self.query_one("#next", Button) if summary.ok else start).focus()

    def _row(self, node: str, step: str) -> Row | None:
        return next((r for r in self.rows.get(node, []) if r.step == step), None)

    def _log(self, text: Text) -> None:
        self.query_one("#log", RichLog).write(text)

    # -- drawing -----------------------------------------------------------------
    def _tick(self) -> None:
        if self.phase in ("running", "stopping"):
            self.refresh_progress()

    def refresh_progress(self) -> None:
        """Draw the lists, the current commands and the times (every second while running)."""
        now = self.backend.clock()
        for i, node in enumerate(self.nodes[:2]):
            rows = self.rows[node]
            finished = sum(r.status in ("done", "changed", "failed") for r in rows)
            head = f"{node} · {finished}/{len(rows)}"
            self.query_one(f"#head-{i}", Prose).update(head)
            command = self.commands.get(node, "")
            cmd = Text("$ " + command if command else "", no_wrap=True, overflow="ellipsis")
            self.query_one(f"#cmd-{i}", Prose).update(cmd)
            lines = Text(no_wrap=True, overflow="ellipsis")
            timed = self.phase != "idle" or any(r.seconds is not None for r in rows)   # not in the preview
            running_at = None                # the row to keep in view: running, else failed
            for n, row in enumerate(rows):
                if row.status in ("running", "failed") and running_at is None:
                    running_at = n
                if row.status == "running":
                    elapsed = clock_text(now - row.started)
                elif row.seconds is not None and row.status != "skipped":
                    elapsed = clock_text(row.seconds)
                else:
                    elapsed = ""
                if n:
                    lines.append("\n")
                lines.append(f"{MARK[row.status]} {elapsed:>5} " if timed else f"{MARK[row.status]} ",
                             style=STYLE[row.status])
                lines.append(row.title, style="bold" if row.status in ("running", "failed") else "")
            self.query_one(f"#steps-{i}", Prose).update(lines)
            if running_at is not None:
                self.query_one(f"#list-{i}").scroll_to(y=max(0, running_at - 2), animate=False)
        if self.phase in ("running", "stopping"):
            rows = [r for rows in self.rows.values() for r in rows]
            finished = sum(r.status in ("done", "changed", "failed") for r in rows)
            what = _("Stopping after the running step…") if self.phase == "stopping" else _("Running")
            self._status(_("{what} · {time} · {n}/{total} steps done").format(
                what=what, time=clock_text(now - self.started), n=finished, total=len(rows)))

    def _status(self, text: str) -> None:
        self.query_one("#run-status", Prose).update(text)

    def _phase(self, phase: str) -> None:
        self.phase = phase
        self.set_class(phase == "finished", "-finished")
        busy = self.running
        start = self.query_one("#start", Button)
        start.display = not busy
        abort = self.query_one("#abort", Button)
        abort.display = busy
        abort.disabled = phase == "stopping"
        if busy:
            for widget in self.query("#intro, .explain"):
                widget.display = False
            if self.focused is start or self.focused is None:
                abort.focus()
        self.refresh_bindings()

    # -- abort, and leaving while it runs -------------------------------------------
    def check_action(self, action: str, parameters) -> bool | None:
        if action == "abort":
            return self.running
        return True

    @on(Button.Pressed, "#abort")
    def _abort_pressed(self) -> None:
        self.action_abort()

    def action_abort(self, then: Callable[[], None] | None = None) -> None:
        """Ask, then stop after the running step; `then` runs once the install has stopped."""
        if not self.running:
            if then is not None:
                then()
            return
        if self.stop.is_set():             # already stopping: only wait
            if then is not None:
                self.after_run.append(then)
            return
        if self.asking:
            return

        def decided(yes: bool | None) -> None:
            self.asking = False
            if not yes:
                return
            if then is not None:
                self.after_run.append(then)
            self.stop.set()
            if self.phase == "running":
                self._phase("stopping")
                self.refresh_progress()
            elif self.phase == "connecting":
                self._status(_("Stopping: nothing will run."))

        self.asking = True
        self.app.push_screen(ConfirmDialog(
            _("Abort the install?"),
            _("It stops after the running step; nothing is undone. Running the install again resumes "
              "where it stopped."), _("Abort")), decided)

    def _run_after(self) -> None:
        waiting, self.after_run = self.after_run, []
        for then in waiting:
            then()

    def action_next(self) -> None:
        if self.running:
            self._status(_("The install is running: wait for it, or abort it first (a)."))
            self.app.bell()
            return
        self.app.next_step(self.NAME)

    def action_back(self) -> None:
        if self.running:
            self._status(_("The install is running: wait for it, or abort it first (a)."))
            self.app.bell()
            return
        super().action_back()


__all__ = ["InstallScreen", "InstallBackend", "Login"]
