"""What an install run reports while it works: plain dataclasses, no UI.

The runner calls `on_event(event)` from its worker threads; the CLI prints a
line per event, the TUI posts them to its screen. Events never carry a
secret: output lines are masked by the journal before they are sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

StepStatus = Literal["done", "changed", "failed", "skipped"]
# done: the check found it already in place, nothing was changed;
# changed: apply ran and verify passed; failed: apply or verify failed;
# skipped: not run because a step it waits for failed.


@dataclass(frozen=True)
class PlanReady:
    """The plan about to run: (node, step id, title) in order, per node."""
    steps: dict[str, list[tuple[str, str]]]      # node -> [(step id, title)]


@dataclass(frozen=True)
class StepStarted:
    node: str
    step: str
    title: str
    started: float                                # epoch seconds


@dataclass(frozen=True)
class StepCommand:
    """A command the step is running now (argv masked), for a 'current command' line."""
    node: str
    step: str
    command: str


@dataclass(frozen=True)
class StepOutput:
    """Progress text worth showing (e.g. DRBD sync 43 %), masked."""
    node: str
    step: str
    line: str


@dataclass(frozen=True)
class StepFinished:
    node: str
    step: str
    title: str
    status: StepStatus
    seconds: float
    message: str = ""                             # why it failed, or what changed
    fix: str = ""                                 # the fix hint on failure
    output: str = ""                              # the failing command's output tail (masked)


@dataclass(frozen=True)
class InstallFinished:
    ok: bool
    seconds: float
    changed: int                                  # steps that changed something
    failed: list[tuple[str, str]] = field(default_factory=list)   # (node, step)
    journal_path: str = ""


Event = PlanReady | StepStarted | StepCommand | StepOutput | StepFinished | InstallFinished
