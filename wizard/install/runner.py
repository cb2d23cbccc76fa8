"""Run a plan: both nodes side by side, each step check -> apply -> verify, stop at the first failure.

One thread per node works through that node's steps in plan order; a step
that names a step of the other node waits for it (bounded). `serial=True`
runs every step in plan order on one thread (for comparison and for slow
links). The first failure stops both nodes after their current step; what
was not run is reported as not run. Nothing is undone: every step checks
before it acts, so running the install again resumes where it stopped.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field

from wizard.errors import UserError
from wizard.install.events import InstallFinished, PlanReady, StepFinished, StepOutput, StepStarted
from wizard.install.plan import Plan, dependency_keys
from wizard.install.step import Context, Step, StepFailed

# A step waits at most this long for a step of the other node.
DEPENDENCY_WAIT = 4 * 3600


@dataclass
class RunRecord:
    """What happened to each step, for the report and the journal on the first node."""

    status: dict[str, str] = field(default_factory=dict)         # step key -> done/changed/failed/skipped
    seconds: dict[str, float] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)
    finished: dict[str, threading.Event] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def event(self, key: str) -> threading.Event:
        with self.lock:
            return self.finished.setdefault(key, threading.Event())

    def set(self, key: str, status: str, seconds: float = 0.0, message: str = "") -> None:
        with self.lock:
            self.status[key] = status
            self.seconds[key] = round(seconds, 2)
            self.messages[key] = message
        self.event(key).set()


def run_step(step: Step, ctx: Context, record: RunRecord) -> bool:
    """Check, apply, verify one step; report it. True if the install may go on."""
    ctx.step = step.id
    ctx.on_event(StepStarted(step.node, step.id, step.title, time.time()))
    t0 = time.monotonic()
    status, message, fix, output = "done", "", "", ""
    try:
        if step.check is None and step.apply is None:
            step.verify(ctx)
        elif step.check is not None and step.check(ctx):
            status, message = "done", "already in place"
        else:
            message = (step.apply(ctx) if step.apply else "") or ""
            if step.verify is not None:
                step.verify(ctx)
            status = "changed"
    except StepFailed as exc:
        status, message, fix, output = "failed", exc.message, exc.fix, exc.output
    except UserError as exc:       # a command failed or timed out, a connection was lost
        result = getattr(exc, "result", None)
        status, message, fix = "failed", exc.message, exc.fix
        output = (result.stderr or result.stdout)[-1500:] if result is not None else ""
    except Exception as exc:       # a bug: say so, keep the traceback for the report
        status, message = "failed", f"internal error in step {step.id}: {exc!r}"
        fix = "this is a bug in zabbix-ha; report it with the journal"
        output = _masked(ctx, traceback.format_exc()[-1500:])
    seconds = time.monotonic() - t0
    record.set(step.key, status, seconds, message)
    ctx.on_event(StepFinished(step.node, step.id, step.title, status, seconds, message, fix, output))
    return status != "failed"


def _masked(ctx: Context, text: str) -> str:
    executor = ctx.executors.get(ctx.node)
    return executor.journal.mask(text) if executor is not None else text


def _wait_for_dependencies(step: Step, record: RunRecord, stop: threading.Event) -> bool:
    deadline = time.monotonic() + DEPENDENCY_WAIT
    for dep in dependency_keys(step):
        event = record.event(dep)
        while not event.wait(0.5):
            if stop.is_set() or time.monotonic() > deadline:
                return False
        if record.status.get(dep) not in ("done", "changed"):
            return False
    return True


def _node_worker(steps: list[Step], ctx: Context, record: RunRecord, stop: threading.Event) -> None:
    for step in steps:
        if stop.is_set() or not _wait_for_dependencies(step, record, stop):
            record.set(step.key, "skipped")
            continue
        if not run_step(step, ctx, record):
            stop.set()


def run_plan(plan: Plan, contexts: dict[str, Context], *, serial: bool = False,
             stop: threading.Event | None = None) -> tuple[InstallFinished, RunRecord]:
    """Run every step; returns the summary event (also sent) and the record."""
    stop = stop or threading.Event()
    record = RunRecord()
    on_event = next(iter(contexts.values())).on_event
    nodes = list(contexts)
    on_event(PlanReady({n: [(s.id, s.title) for s in plan.for_node(n)] for n in nodes}))
    started = time.monotonic()
    if serial:
        workers = [threading.Thread(target=_serial_worker, args=(plan, contexts, record, stop), daemon=True)]
    else:
        workers = [threading.Thread(target=_node_worker, args=(plan.for_node(n), contexts[n], record, stop),
                                    name=f"install-{n}", daemon=True) for n in nodes]
    for w in workers:
        w.start()
    try:
        _join(workers)
    except KeyboardInterrupt:
        # First Ctrl-C: finish the running steps (a half-run apt or mkfs is
        # worse than waiting), start no new one. A second Ctrl-C abandons them.
        stop.set()
        on_event(StepOutput("", "", "interrupted: stopping after the running step(s); "
                                    "press Ctrl-C again to abandon them. Running the install again resumes."))
        _join(workers)
    failed = [tuple(k.split(":", 1)) for k, v in record.status.items() if v == "failed"]
    changed = sum(1 for v in record.status.values() if v == "changed")
    ok = not failed and all(record.status.get(s.key) in ("done", "changed") for s in plan.steps)
    summary = InstallFinished(ok, time.monotonic() - started, changed, failed)
    on_event(summary)
    return summary, record


def _join(workers: list[threading.Thread]) -> None:
    for w in workers:
        while w.is_alive():
            w.join(0.5)


def _serial_worker(plan: Plan, contexts: dict[str, Context], record: RunRecord, stop: threading.Event) -> None:
    for step in plan.steps:
        if stop.is_set() or any(record.status.get(d) not in ("done", "changed") for d in dependency_keys(step)):
            record.set(step.key, "skipped")
            continue
        if not run_step(step, contexts[step.node], record):
            stop.set()
