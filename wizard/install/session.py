"""One install run as every front end drives it: connect, say what would be destroyed, run, report, close.

`zabbix-ha install` and the wizard's Install step both go through a Session,
so neither holds install logic of its own. Nothing here prints or prompts:
confirming the destruction and showing the events is the caller's part.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from wizard.install.events import Event, InstallFinished
from wizard.install.plan import Plan, build_plan, pending_destruction
from wizard.install.runner import RunRecord, run_plan
from wizard.install.step import Context

REPORT_FILE = "install-report.json"


@dataclass
class Session:
    """A plan and the contexts it runs in; `executors` are closed by `close()`."""

    plan: Plan
    contexts: dict[str, Context]
    executors: dict = field(default_factory=dict)
    journal: object | None = None                 # wizard.journal.Journal; its path, when it writes one
    save_report: bool = True
    lock: int | None = None                       # the single-install lock's descriptor, when held here

    def destruction(self) -> list[str]:
        """What the destructive steps still to do would destroy (read-only checks on the nodes)."""
        return pending_destruction(self.plan, self.contexts)

    def run(self, *, serial: bool = False, stop: threading.Event | None = None
            ) -> tuple[InstallFinished, RunRecord, str]:
        """Run the plan; (summary, record, a note when the report could not be saved)."""
        summary, record = run_plan(self.plan, self.contexts, serial=serial, stop=stop)
        note = save_report(self.contexts[self.plan.steps[0].node] if self.plan.steps else None,
                           summary, record) if self.save_report else ""
        return summary, record, note

    def close(self) -> None:
        for ex in self.executors.values():
            ex.close()
        if self.lock is not None:
            os.close(self.lock)
            self.lock = None


def open_session(spec, secrets, args, on_event: Callable[[Event], None], *, plan: Plan | None = None,
                 accept_wipe=(), journal_path: str | None = None) -> Session:
    """Connect to both nodes (`args` as `connect_nodes` takes them) and read the install state.

    The journal goes to `journal_path`, else to the journal directory when this
    machine is the first node, else nowhere. When this machine is the first node
    the session holds its single-install lock until `close()`. Raises UserError
    naming the node, or saying another install holds the lock."""
    from wizard.install.command import connect_nodes, contexts_for
    from wizard.journal import Journal
    from wizard.platforms import platform
    from wizard.remote import LocalExecutor

    plan = plan or build_plan(spec)
    journal = Journal(secrets.values() if secrets else ())
    executors = connect_nodes(spec, args, journal)
    session = Session(plan, {}, executors, journal)
    first_local = isinstance(executors[spec.hostnames[0]], LocalExecutor)
    try:
        if first_local:
            session.lock = single_install_lock(spec)
        if journal_path is None and first_local:
            journal_dir = Path(platform(spec.platform).paths.journal_dir)
            journal_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            journal_path = str(journal_dir / "journal.jsonl")
        journal.path = Path(journal_path) if journal_path else None
        session.contexts = contexts_for(spec, secrets, executors, on_event, accept_wipe=accept_wipe)
    except BaseException:
        session.close()
        raise
    return session


def single_install_lock(spec) -> int:
    """One install at a time on the first node (a second one would race the first)."""
    import fcntl

    from wizard.errors import EnvironmentProblem
    from wizard.platforms import platform

    directory = platform(spec.platform).paths.journal_dir
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = f"{directory}/install.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise EnvironmentProblem(f"another zabbix-ha install is running on this node (it holds {path})",
                                 "wait for it to finish, or stop it; then run install again") from None
    return fd


def save_report(ctx: Context | None, summary: InstallFinished, record: RunRecord) -> str:
    """Keep what happened to every step on the first node; "" or why it could not be saved."""
    if ctx is None:
        return ""
    report = {"finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "ok": summary.ok,
              "seconds": round(summary.seconds, 1), "changed": summary.changed,
              "steps": {k: {"status": v, "seconds": record.seconds.get(k), "message": record.messages.get(k, "")}
                        for k, v in record.status.items()}}
    try:
        first = ctx.on(ctx.first)
        d = first.profile.paths.journal_dir
        first.ex.run(["mkdir", "-p", "-m", "0700", d])   # not an event: the run is over
        first.ex.put(f"{d}/{REPORT_FILE}", json.dumps(report, indent=2) + "\n", 0o600)
    except Exception as exc:      # the report is a convenience; the install result stands
        return f"note: could not save the install report on {ctx.first}: {getattr(exc, 'message', exc)}"
    return ""
