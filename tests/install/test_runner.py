"""The runner: both nodes side by side, waits across nodes, stops at the first failure."""

import threading
import time

from wizard.install.events import InstallFinished, StepFinished
from wizard.install.plan import Plan
from wizard.install.runner import run_plan
from wizard.install.step import Context, Shared, Step, StepFailed

NODES = ["a", "b"]


def _contexts(spec, events):
    spec.nodes[0].hostname, spec.nodes[1].hostname = NODES
    shared = Shared()
    return {n: Context(spec, None, n, {}, {}, shared, events.append) for n in NODES}


def _statuses(events):
    return {(e.node, e.step): e.status for e in events if isinstance(e, StepFinished)}


def test_done_steps_do_not_apply_and_changed_steps_verify(spec):
    events, applied, verified = [], [], []
    plan = Plan([
        Step("a", "in-place", "x", check=lambda c: True, apply=lambda c: applied.append("in-place")),
        Step("a", "missing", "y", check=lambda c: False, apply=lambda c: applied.append("missing") or "made it",
             verify=lambda c: verified.append("missing")),
        Step("b", "proof", "z", verify=lambda c: verified.append("proof")),
    ])
    summary, record = run_plan(plan, _contexts(spec, events))
    assert applied == ["missing"] and sorted(verified) == ["missing", "proof"]
    assert _statuses(events) == {("a", "in-place"): "done", ("a", "missing"): "changed", ("b", "proof"): "done"}
    assert summary.ok and summary.changed == 1
    assert isinstance(events[-1], InstallFinished)


def test_nodes_run_side_by_side_and_a_step_waits_for_the_other_node(spec):
    events, order = [], []
    both_running = threading.Barrier(2, timeout=5)

    def slow(name):
        def apply(ctx):
            both_running.wait()          # only passes if the two nodes really run at once
            time.sleep(0.2)
            order.append(name)
        return apply

    plan = Plan([
        Step("a", "one", "a1", check=lambda c: False, apply=slow("a1")),
        Step("b", "one", "b1", check=lambda c: False, apply=slow("b1")),
        Step("a", "two", "a2", check=lambda c: False, apply=lambda c: order.append("a2"), after=("b:two",)),
        Step("b", "two", "b2", check=lambda c: False, apply=lambda c: (time.sleep(0.3), order.append("b2"))),
    ])
    summary, _ = run_plan(plan, _contexts(spec, events))
    assert summary.ok
    assert order.index("a2") > order.index("b2")


def test_a_failure_stops_both_nodes_and_later_steps_are_skipped(spec):
    events, ran = [], []
    plan = Plan([
        Step("a", "breaks", "x", check=lambda c: False,
             apply=lambda c: (_ for _ in ()).throw(StepFailed("disk on fire", "replace the disk", "smoke"))),
        Step("b", "slow", "y", check=lambda c: False, apply=lambda c: (time.sleep(0.3), ran.append("b-slow"))),
        Step("b", "after", "z", check=lambda c: False, apply=lambda c: ran.append("b-after")),
        Step("a", "later", "w", check=lambda c: False, apply=lambda c: ran.append("a-later")),
    ])
    summary, record = run_plan(plan, _contexts(spec, events))
    assert not summary.ok and summary.failed == [("a", "breaks")]
    failed = [e for e in events if isinstance(e, StepFinished) and e.status == "failed"][0]
    assert (failed.message, failed.fix, failed.output) == ("disk on fire", "replace the disk", "smoke")
    assert "a-later" not in ran and "b-after" not in ran
    assert record.status["a:later"] == "skipped" and record.status["b:after"] == "skipped"


def test_a_step_whose_dependency_failed_does_not_run(spec):
    events, ran = [], []
    plan = Plan([
        Step("b", "base", "x", verify=lambda c: (_ for _ in ()).throw(StepFailed("nope"))),
        Step("a", "needs-b", "y", check=lambda c: False, apply=lambda c: ran.append("needs-b"), after=("b:base",)),
    ])
    summary, record = run_plan(plan, _contexts(spec, events))
    assert ran == [] and record.status["a:needs-b"] == "skipped"


def test_serial_runs_in_plan_order_on_one_thread(spec):
    events, seen = [], []
    plan = Plan([Step(n, f"s{i}", "t", check=lambda c: False,
                      apply=lambda c, i=i: seen.append((i, threading.current_thread().name)))
                 for i, n in enumerate(["a", "b", "a", "b"])])
    summary, _ = run_plan(plan, _contexts(spec, events), serial=True)
    assert summary.ok and [i for i, _ in seen] == [0, 1, 2, 3]
    assert len({t for _, t in seen}) == 1


def test_a_bug_in_a_step_is_a_failure_with_the_step_named_not_a_crash(spec):
    events = []
    plan = Plan([Step("a", "buggy", "x", check=lambda c: 1 / 0)])
    summary, _ = run_plan(plan, _contexts(spec, events))
    failed = [e for e in events if isinstance(e, StepFinished)][0]
    assert not summary.ok and "internal error in step buggy" in failed.message
