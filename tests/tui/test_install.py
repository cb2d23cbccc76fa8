"""The Install step: plan preview, typed confirmation, live progress, failure, abort.

The app is given an InstallBackend whose sessions hold a small plan of real
Steps (check/apply/verify are little functions) over recording executors,
run by the real runner: the screen's behaviour is under test, not SSH.
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path

import pytest

from screens.app import WizardApp
from screens.install import InstallBackend
from tests.install.fake import RecordingExecutor
from tests.tui.conftest import SIZE, focus, until
from tests.tui.test_fields import full_secrets
from wizard.install.plan import Plan
from wizard.install.session import Session
from wizard.install.step import Context, Shared, Step, StepFailed
from wizard.journal import Journal

N1, N2 = "zbx-node1", "zbx-node2"


class Clock:
    """A clock the test sets: elapsed times on screen do not depend on the machine."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Fake:
    """Builds the plan and the sessions; records what ran."""

    def __init__(self, spec, *, fail_once: bool = False, gate: threading.Event | None = None,
                 journal: Path | None = None) -> None:
        self.spec = spec
        self.journal = journal
        self.applied: list[str] = []
        self.opened = 0
        self.fail_once = fail_once
        self.gate = gate
        self.clock = Clock()

    def backend(self) -> InstallBackend:
        return InstallBackend(plan=lambda spec: self.plan(), open=self.open, ready=lambda app: "", clock=self.clock)

    def _apply(self, name: str, output: str = ""):
        def apply(ctx):
            ctx.run(["apt-get", "install", "-y", name])
            if output:
                ctx.say(output)
            self.applied.append(f"{ctx.node}:{name}")
            return f"{name} installed"
        return apply

    def _slow(self, ctx):
        ctx.run(["drbdadm", "create-md", "zabbix"])
        if self.gate is not None:
            self.gate.wait(30)                   # the test releases it
        self.applied.append(f"{ctx.node}:drbd")

    def _vip(self, ctx):
        if self.fail_once:
            self.fail_once = False
            raise StepFailed("the frontend did not answer through the VIP 192.168.10.50",
                             "check that apache2 runs on zbx-node1: crm_mon -1",
                             "curl: (7) Failed to connect to 192.168.10.50 port 80")

    def plan(self) -> Plan:
        # The waits across nodes make the order of the log lines fixed (the pictures depend on it).
        return Plan([
            Step(N1, "packages", "Install the packages", check=lambda c: False,
                 apply=self._apply("zabbix-server-mysql", "Setting up zabbix-server-mysql")),
            Step(N2, "packages", "Install the packages", check=lambda c: False,
                 apply=self._apply("zabbix-server-mysql"), after=(f"{N1}:packages",)),
            Step(N1, "hosts", "Node names in /etc/hosts", check=lambda c: True, apply=self._apply("hosts")),
            Step(N2, "hosts", "Node names in /etc/hosts", check=lambda c: True, apply=self._apply("hosts")),
            Step(N2, "drbd.metadata", "DRBD metadata", check=lambda c: False, apply=self._apply("drbd"),
                 destructive=lambda c: f"write DRBD metadata to /dev/vdc[0] on {c.node}"),
            Step(N1, "drbd.metadata", "DRBD metadata", check=lambda c: False, apply=self._slow,
                 destructive=lambda c: f"write DRBD metadata to /dev/vdc[0] on {c.node}",
                 after=(f"{N2}:drbd.metadata",)),
            Step(N1, "final.frontend", "Frontend login page through the VIP", verify=self._vip),
            Step(N1, "final.api", "Zabbix API login as Admin through the VIP", check=lambda c: False,
                 apply=self._apply("api")),
        ])

    def open(self, spec, secrets, plan, on_event, login) -> Session:
        self.opened += 1
        journal = Journal(secrets.values(), path=self.journal)
        executors = {n: RecordingExecutor(n, journal=journal) for n in (N1, N2)}
        shared = Shared()
        contexts = {n: Context(spec, secrets, n, executors, {}, shared, on_event) for n in (N1, N2)}
        return Session(plan, contexts, executors, journal, save_report=False)


@pytest.fixture
def install_app(tmp_path, example_spec):
    def make(fake: Fake, answers_out: Path | None = None) -> WizardApp:
        return WizardApp(copy.deepcopy(example_spec), full_secrets(example_spec),
                         answers_out=answers_out or tmp_path / "zabbix-ha.yaml", start_at="install",
                         install_backend=fake.backend())
    return make



def text(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def log_text(screen) -> str:
    return "\n".join(str(line.text) for line in screen.query_one("#log").lines)


def statuses(screen) -> dict[str, str]:
    return {f"{node}:{row.step}": row.status for node, rows in screen.rows.items() for row in rows}


async def start(pilot) -> None:
    await focus(pilot, "start")
    await pilot.press("enter")
    await until(pilot, lambda: type(pilot.app.screen).__name__ == "TypedConfirmDialog")


async def type_yes(pilot, word: str = "YES") -> None:
    await pilot.press(*word, "enter")
    await pilot.pause()


async def test_the_step_shows_the_plan_per_node_before_anything_runs(install_app, example_spec):
    fake = Fake(example_spec)
    app = install_app(fake)
    async with app.run_test(size=SIZE):
        screen = app.screen
        assert screen.name == "install"
        assert text(app, "#head-0").startswith(N1) and text(app, "#head-1").startswith(N2)
        assert "DRBD metadata" in text(app, "#steps-0") and "Install the packages" in text(app, "#steps-1")
        assert "8 steps; 2 of them may write to disks" in text(app, "#run-status")
        assert app.focused.id == "start"
        assert fake.opened == 0 and fake.applied == []


async def test_the_real_plan_is_shown_without_contacting_the_nodes(tmp_path, example_spec):
    from wizard.install.plan import build_plan

    plan = build_plan(example_spec)
    app = WizardApp(copy.deepcopy(example_spec), full_secrets(example_spec), answers_out=tmp_path / "a.yaml",
                    start_at="install")
    async with app.run_test(size=SIZE):
        shown = {node: [r.title for r in rows] for node, rows in app.screen.rows.items()}
        assert shown == {n: [s.title for s in plan.for_node(n)] for n in example_spec.hostnames}
        assert f"{len(plan.steps)} steps" in text(app, "#run-status")
        assert app.screen.phase == "idle"


async def test_without_a_clean_preflight_in_this_session_nothing_starts(tmp_path, example_spec):
    fake = Fake(example_spec)
    backend = fake.backend()
    backend.ready = InstallBackend().ready             # the real gate: preflight must have passed
    app = WizardApp(copy.deepcopy(example_spec), full_secrets(example_spec), answers_out=tmp_path / "a.yaml",
                    start_at="install", install_backend=backend)
    async with app.run_test(size=SIZE) as pilot:
        await focus(pilot, "start")
        await pilot.press("enter")
        await pilot.pause()
        assert "preflight" in text(app, "#run-status")  # "run preflight first", or no SSH key to run it with
        assert fake.opened == 0 and app.screen.phase == "idle"


async def test_missing_passwords_stop_it_before_connecting(tmp_path, example_spec):
    from wizard.spec import Secrets

    fake = Fake(example_spec)
    app = WizardApp(copy.deepcopy(example_spec), Secrets(), answers_out=tmp_path / "a.yaml",
                    start_at="install", install_backend=fake.backend())
    async with app.run_test(size=SIZE) as pilot:
        await focus(pilot, "start")
        await pilot.press("enter")
        await pilot.pause()
        assert "needs every password" in text(app, "#run-status")
        assert fake.opened == 0


async def test_a_wrong_word_or_escape_runs_nothing(install_app, example_spec):
    fake = Fake(example_spec)
    app = install_app(fake)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        dialog = app.screen
        explain = text(app, "#explain")
        assert f"/dev/vdc[0] on {N1}" in explain and f"/dev/vdc[0] on {N2}" in explain
        await pilot.press(*"yes")
        assert dialog.query_one("#yes").disabled
        await pilot.press("enter")                      # the wrong word: the dialog stays
        assert app.screen is dialog
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.name == "install"
        assert "not confirmed; nothing was changed" in text(app, "#run-status")
        assert fake.applied == [] and app.screen.phase == "idle"
        assert not app.screen.query_one("#start").disabled and app.screen.query_one("#start").display


async def test_yes_runs_both_nodes_and_ends_with_a_summary(install_app, example_spec, tmp_path):
    fake = Fake(example_spec, journal=tmp_path / "journal.jsonl")
    app = install_app(fake)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        assert app.screen.query_one("#yes").disabled
        await type_yes(pilot)
        screen = app.screen
        await until(pilot, lambda: screen.phase == "finished")
        assert set(fake.applied) == {f"{N1}:zabbix-server-mysql", f"{N2}:zabbix-server-mysql", f"{N1}:drbd",
                                     f"{N2}:drbd", f"{N1}:api"}
        assert statuses(screen) == {f"{N1}:packages": "changed", f"{N2}:packages": "changed",
                                    f"{N1}:hosts": "done", f"{N2}:hosts": "done",
                                    f"{N1}:drbd.metadata": "changed", f"{N2}:drbd.metadata": "changed",
                                    f"{N1}:final.frontend": "done", f"{N1}:final.api": "changed"}
        result = text(app, "#result")
        assert "5 step(s) changed something, 3 were already in place" in result
        assert "failover test" in result and "zabbix-ha status --answers" in result
        await until(pilot, lambda: "Journal of every command" in log_text(screen))
        assert "Setting up zabbix-server-mysql" in log_text(screen)
        assert str(tmp_path / "journal.jsonl") in log_text(screen).replace("\n", "")
        assert app.focused.id == "next"
        await pilot.press("ctrl+n")
        assert app.screen.name == "failover"


async def test_nothing_destructive_pending_runs_without_asking(install_app, example_spec):
    fake = Fake(example_spec)
    app = install_app(fake)
    plain = Plan([s for s in fake.plan().steps if s.destructive is None and not s.after])
    app.install_backend.plan = lambda spec: plain
    async with app.run_test(size=SIZE) as pilot:
        await focus(pilot, "start")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.phase == "finished")
        assert app.screen.summary.ok and f"{N1}:api" in fake.applied


async def test_a_failing_step_shows_its_message_and_fix_and_later_steps_are_not_run(install_app, example_spec):
    fake = Fake(example_spec, fail_once=True)
    app = install_app(fake)
    async with app.run_test(size=SIZE) as pilot:
        await start(pilot)
        await type_yes(pilot)
        screen = app.screen
        await until(pilot, lambda: screen.phase == "finished")
        result = text(app, "#result")
        assert f"{N1} · Frontend login page through the VIP failed" in result
        assert "did not answer through the VIP" in result and "Fix: check that apache2 runs" in result
        assert "run Install again (Retry) to resume" in result
        assert statuses(screen)[f"{N1}:final.api"] == "skipped" and f"{N1}:api" not in fake.applied
        assert "curl: (7) Failed to connect" in log_text(screen)
        assert str(screen.query_one("#start").label) == "Retry"
        # Retry (it has the focus) runs the whole plan again: every step checks first.
        assert app.focused.id == "start"
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "TypedConfirmDialog")
        await type_yes(pilot)
        await until(pilot, lambda: screen.phase == "finished")
        assert fake.opened == 2 and screen.summary.ok and f"{N1}:api" in fake.applied


async def test_abort_sets_the_stop_event_and_the_screen_says_so(install_app, example_spec):
    gate = threading.Event()
    fake = Fake(example_spec, gate=gate)
    app = install_app(fake)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await start(pilot)
            await type_yes(pilot)
            screen = app.screen
            await until(pilot, lambda: statuses(screen).get(f"{N1}:drbd.metadata") == "running")
            assert "drbdadm create-md zabbix" in text(app, "#cmd-0")
            await pilot.press("ctrl+b")                  # cannot leave while it runs
            assert app.screen is screen and "abort it first" in text(app, "#run-status")
            await pilot.press("a")
            assert type(app.screen).__name__ == "ConfirmDialog"
            assert "stops after the running step" in text(app, "#explain")
            await focus(pilot, "yes")
            await pilot.press("enter")
            await pilot.pause()
            assert screen.stop.is_set()
            assert "Stopping after the running step" in text(app, "#run-status")
            gate.set()
            await until(pilot, lambda: screen.phase == "finished")
            assert "Stopped after" in text(app, "#result") and "Run Install again (Retry) to resume" in text(app, "#result")
            assert statuses(screen)[f"{N1}:final.api"] == "skipped" and f"{N1}:api" not in fake.applied
    finally:
        gate.set()


async def test_quitting_while_it_runs_asks_to_abort_first(install_app, example_spec):
    gate = threading.Event()
    fake = Fake(example_spec, gate=gate)
    app = install_app(fake)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await start(pilot)
            await type_yes(pilot)
            screen = app.screen
            await until(pilot, lambda: statuses(screen).get(f"{N1}:drbd.metadata") == "running")
            await pilot.press("ctrl+q")
            assert type(app.screen).__name__ == "ConfirmDialog"
            await pilot.press("escape")                  # keep it running
            await pilot.pause()
            assert not screen.stop.is_set() and app.is_running
            await pilot.press("ctrl+q")
            await focus(pilot, "yes")
            await pilot.press("enter")
            await pilot.pause()
            assert screen.stop.is_set() and app.is_running      # quits once the step has finished
            gate.set()
            await until(pilot, lambda: not app.is_running)
            assert f"{N1}:api" not in fake.applied
    finally:
        gate.set()


# -- pictures (review the SVGs before accepting them) -----------------------------------

def test_snapshot_running(snap_compare, install_app, example_spec, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    gate = threading.Event()
    fake = Fake(example_spec, gate=gate)
    app = install_app(fake, answers_out=Path("zabbix-ha.yaml"))

    async def run_before(pilot):
        await start(pilot)
        await type_yes(pilot)
        screen = app.screen
        await until(pilot, lambda: statuses(screen).get(f"{N1}:drbd.metadata") == "running"
                    and statuses(screen).get(f"{N2}:drbd.metadata") == "changed")
        fake.clock.now += 83                       # 1:23 into the install and into the running step
        screen.refresh_progress()
        await pilot.pause()

    try:
        assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
    finally:
        gate.set()


def test_snapshot_failed(snap_compare, install_app, example_spec, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    fake = Fake(example_spec, fail_once=True)
    app = install_app(fake, answers_out=Path("zabbix-ha.yaml"))

    async def run_before(pilot):
        await start(pilot)
        await type_yes(pilot)
        await until(pilot, lambda: app.screen.phase == "finished")
        log = app.screen.query_one("#log")
        await until(pilot, lambda: log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_snapshot_confirmation(snap_compare, install_app, example_spec, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    fake = Fake(example_spec)
    app = install_app(fake, answers_out=Path("zabbix-ha.yaml"))

    async def run_before(pilot):
        await start(pilot)
        await pilot.press(*"YE")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
