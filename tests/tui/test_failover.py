"""The Failover step: status and health gate, scenario choice and confirmation, live probes, abort, the report.

The app is given a FailoverBackend whose drill is a script: it asks the
screen's `confirm` before each scenario as run_drill does, posts the real
event types (wizard.failover.drill.Message, ProbeSample) and stops at hold
points the test releases, then returns a real Report. The screen's behaviour
is under test, not SSH or Zabbix.
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path

import pytest

from screens.app import WizardApp
from screens.failover import Cluster, FailoverBackend, Health
from screens.install import Login
from tests.tui.conftest import SIZE, focus, until
from tests.tui.test_fields import full_secrets

import wizard.failover.drill  # noqa: E402,F401  (the core is part of the tree: a missing one fails, never skips)

from wizard.failover.drill import Message, ProbeSample  # noqa: E402
from wizard.failover.probes import Sample, Timeline  # noqa: E402
from wizard.failover.report import Report, ScenarioResult  # noqa: E402
from wizard.failover.scenarios import SCENARIOS  # noqa: E402
from wizard.status.health import Problem  # noqa: E402

PROBES = ("frontend", "api", "api-auth", "trapper")
HEALTHY = Health("zabbix-ha status                              HEALTHY, can fail over\n\n"
                 "Nodes      zbx-node1: online, DC   zbx-node2: online\n", [], [])
LEFTOVER = Problem("leftover-constraint", "error", None,
                   "a leftover location constraint cli-ban-zabbix-on-zbx-node1 keeps resources off a node",
                   "crm_resource --clear --resource zabbix")
DRBD = Problem("drbd-disconnected", "error", "zbx-node2", "DRBD r0 on zbx-node2 is StandAlone",
               "drbdadm connect r0 (on zbx-node2)")
REFUSED = Health("zabbix-ha status                            DEGRADED, CANNOT fail over\n", [LEFTOVER, DRBD],
                 [LEFTOVER, DRBD])
SAVED = "report saved on zbx-node1: /var/lib/zabbix-ha/failover/20261128T120000Z.json and .txt"   # command.save_report


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeDrill:
    def __init__(self, on_event, stop: threading.Event, password: str) -> None:
        self.on_event, self.stop, self.password = on_event, stop, password


class Fake:
    """A cluster whose health the test sets, and a drill run by a script with hold points."""

    def __init__(self, healths: list[Health], *, holds: tuple[str, ...] = ()) -> None:
        self.healths = list(healths)
        self.clock = Clock()
        self.connected = self.closed = 0
        self.asked: list[str] = []         # scenarios the drill asked about
        self.ran: list[str] = []           # ... and ran (confirmed)
        self.restored: list[str] = []      # ... restored after an abort
        self.saved: list[Report] = []
        self.drill_obj: FakeDrill | None = None
        self.reached = {h: threading.Event() for h in holds}
        self.release = {h: threading.Event() for h in holds}

    def backend(self) -> FailoverBackend:
        return FailoverBackend(login=lambda app: Login("/key"), connect=self.connect, health=self.health,
                               drill=self.drill, run=self.run, save=self.save, clock=self.clock)

    def connect(self, spec, login) -> Cluster:
        self.connected += 1
        fake = self

        class Closing(Cluster):
            def close(self) -> None:
                fake.closed += 1
        return Closing({})

    def health(self, spec, cluster, width) -> Health:
        return self.healths.pop(0) if len(self.healths) > 1 else self.healths[0]

    def drill(self, spec, cluster, password, on_event, stop) -> FakeDrill:
        self.drill_obj = FakeDrill(on_event, stop, password)
        return self.drill_obj

    def save(self, spec, cluster, report) -> str:
        self.saved.append(report)
        return SAVED

    def hold(self, name: str, stop: threading.Event) -> None:
        """Wait here until the test releases `name` (or the drill is stopped); bounded."""
        if name not in self.reached:
            return
        self.reached[name].set()
        for _ in range(400):
            if self.release[name].wait(0.05) or stop.is_set():
                return

    def run(self, drill: FakeDrill, scenarios, confirm) -> Report:
        report = Report("zabbix", "0.1.0", "2026-11-28T12:00:00+00:00")
        drill.on_event(Message("test item zabbix-ha.drill created on Zabbix server"))
        for sc in scenarios:
            if drill.stop.is_set():
                break
            self.asked.append(sc.name)
            if not confirm(sc):
                drill.on_event(Message(f"{sc.name}: skipped"))
                continue
            self.ran.append(sc.name)
            timelines = {p: Timeline(p) for p in PROBES}

            def sample(t: float, down: tuple[str, ...] = (), detail: str = "") -> None:
                self.clock.now = 1000.0 + t
                for p in PROBES:
                    s = Sample(t, p not in down, detail if p in down else "")
                    timelines[p].samples.append(s)
                    drill.on_event(ProbeSample(p, s))

            for t in range(5):
                sample(float(t))
            drill.on_event(Message("zbx-node1 put in standby"))
            for t in range(5, 9):
                sample(float(t), ("frontend", "api"), "connection refused")
            self.hold("down", drill.stop)
            error = ""
            if drill.stop.is_set():
                drill.on_event(Message(f"{sc.name}: restoring the starting state"))
                self.hold("restoring", threading.Event())      # restoring is never cut short
                self.restored.append(sc.name)
                error = "every probe answering through the VIP again: aborted"
            else:
                for t in range(9, 15):
                    sample(float(t))
                drill.on_event(Message("every Zabbix service runs on zbx-node2"))
                self.hold("back", drill.stop)
            result = ScenarioResult(sc.name, sc.title, not error, "2026-11-28T12:00:05+00:00", 14.0, error=error,
                                    timelines={p: tl.as_dict() for p, tl in timelines.items()},
                                    checks=[("no move/ban constraint left behind", True, "")])
            report.scenarios.append(result)
            drill.on_event(Message(f"{sc.name}: {result.verdict}"))
            if result.verdict == "FAIL":
                break
        return report


@pytest.fixture
def failover_app(tmp_path, example_spec):
    def make(fake: Fake) -> WizardApp:
        return WizardApp(copy.deepcopy(example_spec), full_secrets(example_spec),
                         answers_out=tmp_path / "zabbix-ha.yaml", start_at="failover",
                         failover_backend=fake.backend())
    return make



def text(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


def shown(screen, selector: str) -> bool:
    return screen.query_one(selector).display


def log_text(screen) -> str:
    return "\n".join(str(line.text) for line in screen.query_one("#log").lines)


def probe_lines(screen) -> dict[str, str]:
    return {line.split()[0]: line for line in str(screen.query_one("#probes").render()).splitlines()}


async def check(pilot) -> None:
    await focus(pilot, "check")
    await pilot.press("enter")
    await until(pilot, lambda: pilot.app.screen.phase in ("checked", "idle") and pilot.app.screen.health)


async def answer(pilot, yes: bool = True) -> str:
    """Answer the confirmation dialog; returns its question."""
    await until(pilot, lambda: type(pilot.app.screen).__name__ == "ConfirmDialog")
    question = str(pilot.app.screen.query_one("#question").render())
    await pilot.press("tab", "enter") if yes else await pilot.press("escape")
    await pilot.pause()
    return question


async def start(pilot, only: tuple[str, ...] = ()) -> None:
    screen = pilot.app.screen
    if only:
        choices = screen.query_one("#scenarios")
        for s in SCENARIOS:
            if s.name not in only:
                choices.deselect(s.name)
        await pilot.pause()
    await focus(pilot, "start")
    await pilot.press("enter")


async def test_a_refused_gate_names_each_fix_and_start_stays_disabled(failover_app):
    fake = Fake([REFUSED, HEALTHY])
    app = failover_app(fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert screen.query_one("#start").disabled          # nothing checked yet
        await check(pilot)
        gate = text(app, "#gate")
        assert "cannot fail over now" in gate
        assert "crm_resource --clear --resource zabbix" in gate and "drbdadm connect r0 (on zbx-node2)" in gate
        assert "StandAlone" in gate
        assert screen.query_one("#start").disabled
        assert not shown(screen, "#scenarios")              # nothing to choose on a cluster that cannot fail over
        assert "CANNOT fail over" in text(app, "#status-text")
        screen.start()                                      # even called directly, nothing runs
        await pilot.pause()
        assert fake.drill_obj is None and screen.phase == "checked"
        # Fixed on the nodes: Check again lets it start.
        await focus(pilot, "check")
        assert str(screen.query_one("#check").label) == "Check again"
        await pilot.press("enter")
        await until(pilot, lambda: "can fail over:" in text(app, "#gate"))
        assert not screen.query_one("#start").disabled and shown(screen, "#scenarios")
        assert fake.connected == fake.closed == 2           # every connection closed again


async def test_the_list_ticks_every_scenario_and_explains_the_highlighted_one(failover_app):
    fake = Fake([HEALTHY])
    app = failover_app(fake)
    async with app.run_test(size=SIZE) as pilot:
        await check(pilot)
        screen = app.screen
        choices = screen.query_one("#scenarios")
        assert choices.selected == [s.name for s in SCENARIOS]
        await focus(pilot, "scenarios")
        await pilot.press("down")
        assert text(app, "#scenario-explain") == SCENARIOS[1].explain
        await pilot.press("space")                         # untick the highlighted one
        assert SCENARIOS[1].name not in choices.selected
        for s in SCENARIOS:
            choices.deselect(s.name)
        await pilot.pause()
        assert screen.query_one("#start").disabled         # nothing ticked: nothing to start


async def test_a_run_asks_before_each_scenario_and_shows_the_probes_change(failover_app):
    fake = Fake([HEALTHY], holds=("down", "back"))
    app = failover_app(fake)
    async with app.run_test(size=SIZE) as pilot:
        await check(pilot)
        await start(pilot, only=("switchover", "kill-server"))
        question = await answer(pilot, yes=True)
        assert question == f"Scenario 1 of 2: {SCENARIOS[0].title}"
        assert fake.drill_obj.password == full_secrets(app.spec).zabbix_admin_password.reveal()
        screen = app.screen
        assert screen.phase == "running" and shown(screen, "#probes") and not shown(screen, "#scenarios")
        await until(pilot, lambda: fake.reached["down"].is_set() and "DOWN" in probe_lines(screen)["api"])
        await until(pilot, lambda: "frontend DOWN at 5.0 s: connection refused" in log_text(screen))
        lines = probe_lines(screen)
        assert "DOWN since 5.0 s" in lines["frontend"] and "DOWN since 5.0 s" in lines["api"]
        assert "DOWN" not in lines["trapper"] and "up" in lines["trapper"]
        assert lines["frontend"].endswith("▮" * 9)         # seconds 0..8, one mark each
        assert "zbx-node1 put in standby" in log_text(screen)
        assert text(app, "#now") == f"Scenario 1 of 2: {SCENARIOS[0].title}"
        fake.release["down"].set()
        await until(pilot, lambda: "up (was down 4.0 s)" in probe_lines(screen)["frontend"])
        assert "frontend back at 9.0 s" in log_text(screen)
        fake.release["back"].set()
        # The second scenario is asked about; skipping it runs nothing.
        assert await answer(pilot, yes=False) == f"Scenario 2 of 2: {SCENARIOS[1].title}"
        await until(pilot, lambda: screen.phase == "finished")
        assert fake.asked == ["switchover", "kill-server"] and fake.ran == ["switchover"]


async def test_the_report_is_shown_and_saved_on_the_first_node(failover_app):
    fake = Fake([HEALTHY])
    app = failover_app(fake)
    async with app.run_test(size=SIZE) as pilot:
        await check(pilot)
        await start(pilot, only=("switchover",))
        await answer(pilot)
        screen = app.screen
        await until(pilot, lambda: screen.phase == "finished")
        report = text(app, "#report")
        assert report.startswith("Failover test of cluster zabbix")
        assert f"PASS  {SCENARIOS[0].title}" in report and "frontend   down 4.0 s  (5.0-9.0 s)" in report
        assert "Every scenario that ran passed." in report
        result = text(app, "#result")
        assert "Every scenario that ran passed (1)." in result and "R" + SAVED[1:] in result
        assert [s.name for s in fake.saved[0].scenarios] == ["switchover"]
        assert fake.connected == fake.closed == 2
        assert str(screen.query_one("#start").label) == "Run again"
        assert not shown(screen, "#gate")                 # the check before the run is old news now
        assert app.focused.id == "next"
        await pilot.press("ctrl+n")
        assert app.screen.name == "done"


async def test_abort_sets_the_stop_event_and_shows_the_scenario_restoring(failover_app):
    fake = Fake([HEALTHY], holds=("down", "restoring"))
    app = failover_app(fake)
    async with app.run_test(size=SIZE) as pilot:
        await check(pilot)
        await start(pilot)
        await answer(pilot)
        screen = app.screen
        await until(pilot, lambda: fake.reached["down"].is_set())
        await pilot.press("ctrl+n")                          # no leaving while it runs
        assert app.screen is screen and "wait for it, or abort it" in text(app, "#run-status")
        screen._tick()                                       # the running clock does not wipe the refusal at once
        assert "wait for it, or abort it" in text(app, "#run-status")
        assert app.focused.id == "abort"
        await pilot.press("a")
        assert fake.drill_obj.stop.is_set()
        assert screen.phase == "aborting"
        assert "Aborting: restoring the starting state" in text(app, "#run-status")
        assert "aborting: the scenario restores its starting state" in log_text(screen)
        await until(pilot, lambda: fake.reached["restoring"].is_set()
                    and "switchover: restoring the starting state" in log_text(screen))
        assert screen.phase == "aborting" and not fake.restored
        assert "Aborting: restoring the starting state" in text(app, "#run-status")
        fake.release["restoring"].set()
        await until(pilot, lambda: screen.phase == "finished")
        assert fake.restored == ["switchover"] and fake.asked == ["switchover"]     # no further scenario
        assert "FAIL" in text(app, "#report") and "aborted" in text(app, "#report")
        assert "Aborted as asked" in text(app, "#result")


async def test_abort_while_asked_counts_as_no(failover_app):
    fake = Fake([HEALTHY])
    app = failover_app(fake)
    async with app.run_test(size=SIZE) as pilot:
        await check(pilot)
        await start(pilot)
        await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog")
        app.get_screen("failover").action_abort()
        await until(pilot, lambda: app.get_screen("failover").phase == "finished")
        assert app.screen.name == "failover"                 # the question went away
        assert fake.ran == [] and fake.asked == ["switchover"]
        assert "No scenario ran." in text(app, "#result")


async def test_quitting_while_it_runs_aborts_first(failover_app):
    fake = Fake([HEALTHY], holds=("down",))
    app = failover_app(fake)
    async with app.run_test(size=SIZE) as pilot:
        await check(pilot)
        await start(pilot)
        await answer(pilot)
        await until(pilot, lambda: fake.reached["down"].is_set())
        await pilot.press("ctrl+q")
        assert fake.drill_obj.stop.is_set()
        await until(pilot, lambda: fake.restored == ["switchover"] and app.return_code is not None)


async def test_without_an_install_in_this_session_it_says_the_install_comes_first(failover_app):
    fake = Fake([HEALTHY])
    app = failover_app(fake)
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        note = text(app, "#not-installed")
        assert "run the Install step first" in note and shown(screen, "#not-installed")
        assert screen.query_one("#start").disabled and app.focused.id == "check"
        assert fake.connected == 0                           # nothing is read before the person asks


async def test_a_cluster_that_cannot_be_read_says_why_and_start_stays_disabled(failover_app):
    fake = Fake([HEALTHY])
    app = failover_app(fake)

    def refuse(spec, login):
        raise OSError("zbx-node1: Permission denied (publickey)")
    app.failover_backend.connect = refuse
    async with app.run_test(size=SIZE) as pilot:
        await focus(pilot, "check")
        await pilot.press("enter")
        await until(pilot, lambda: "Could not read the cluster" in text(app, "#run-status"))
        assert "Permission denied (publickey)" in text(app, "#run-status")
        assert app.screen.query_one("#start").disabled and app.screen.phase == "idle"


async def test_no_ssh_key_says_so_and_reads_nothing(failover_app):
    fake = Fake([HEALTHY])
    app = failover_app(fake)
    app.failover_backend.login = lambda app: "No SSH key of zabbix-ha yet"
    async with app.run_test(size=SIZE) as pilot:
        await focus(pilot, "check")
        await pilot.press("enter")
        assert "No SSH key" in text(app, "#run-status") and fake.connected == 0


def test_snapshot_running(snap_compare, tmp_path, example_spec, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fake = Fake([HEALTHY], holds=("down",))

    async def run(pilot):
        await check(pilot)
        await start(pilot)
        await answer(pilot)
        screen = pilot.app.screen
        await until(pilot, lambda: fake.reached["down"].is_set()
                    and "frontend DOWN at 5.0 s" in log_text(screen) and "DOWN" in probe_lines(screen)["api"])
        screen._tick()                  # the running clock as the fake left it (it only moves with the samples)
        await pilot.pause()

    app = WizardApp(copy.deepcopy(example_spec), full_secrets(example_spec), answers_out=Path("zabbix-ha.yaml"),
                    start_at="failover", failover_backend=fake.backend())
    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_the_real_health_reader_gives_the_status_text_and_the_gate(monkeypatch, example_spec):
    """The real backend's read: wizard.status's text laid out for the panel, and failover_ready's problems."""
    from screens.failover import read_health
    from tests.status.conftest import captured
    from wizard.status.model import status_from_raw

    raw = captured("local-cluster/moved")
    monkeypatch.setattr("wizard.status.gather.read_status",
                        lambda executors, expect, unreachable=None: status_from_raw(expect, raw))
    health = read_health(example_spec, Cluster({}), 72)
    assert "CANNOT fail over" in health.text and "crm_resource --clear --resource zabbix" in health.text
    assert max(len(line) for line in health.text.splitlines()) <= 72
    assert "leftover-constraint" in {p.code for p in health.blocking}
    assert all(p.blocks_failover for p in health.blocking) and set(health.blocking) <= set(health.problems)
