"""The Step model: one idempotent piece of the install on one node.

A step reads the node's state (`check`, read-only) and changes only what
differs (`apply`), then proves the result (`verify`). A step without a check
is a pure verification: it passes or fails and never changes anything. A
step names what it destroys (`destructive`), so the confirmation can list
every device before anything is written, and what it waits for (`after`),
including steps on the other node.

The Context is the one way a step touches the world: the executors of both
nodes, the rendered files, the secrets, the node's install state, and the
event callback the runner reports through.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from wizard.errors import UserError
from wizard.install.events import Event, StepCommand, StepOutput
from wizard.platforms import Platform, platform
from wizard.remote import Executor, Result
from wizard.spec import ClusterSpec, Secrets

# Where the first node keeps what the install learned once and must not
# guess again on a resume (e.g. whether the disks were fresh at create-md).
STATE_FILE = "install-state.json"
# Bounds for commands on the nodes. Generous: on a loaded emulated node a
# `systemctl enable` of a SysV-compatible unit took over 60 s.
DEFAULT_TIMEOUT = 180
SYSTEMCTL_TIMEOUT = 300


class StepFailed(UserError):
    """A step could not do its work: the message names what, the fix says how."""

    exit_code = 1

    def __init__(self, message: str, fix: str = "", output: str = "") -> None:
        super().__init__(message, fix)
        self.output = output


@dataclass(frozen=True)
class Step:
    node: str
    id: str                                   # unique per node, e.g. "drbd.metadata"
    title: str
    apply: Callable[["Context"], str | None] | None = None   # returns what it changed (for the report)
    check: Callable[["Context"], bool] | None = None         # True: already in place
    verify: Callable[["Context"], None] | None = None        # raises StepFailed
    destructive: Callable[["Context"], str] | None = None    # what it would destroy, "" when nothing now
    after: tuple[str, ...] = ()               # "step-id" (same node) or "node:step-id"
    restarts: tuple[str, ...] = ()            # services its apply may restart

    @property
    def key(self) -> str:
        return f"{self.node}:{self.id}"

    @property
    def is_verification(self) -> bool:
        return self.check is None and self.apply is None


@dataclass
class Context:
    """Everything a step may use. One per node; `shared` is common to both."""

    spec: ClusterSpec
    secrets: Secrets
    node: str
    executors: dict[str, Executor]
    tree: dict                                 # render(spec, secrets): node -> {path: RenderedFile}
    shared: "Shared"
    on_event: Callable[[Event], None] = lambda _e: None
    step: str = ""                             # the running step's id, for events

    @property
    def profile(self) -> Platform:
        return platform(self.spec.platform)

    @property
    def ex(self) -> Executor:
        return self.executors[self.node]

    @property
    def index(self) -> int:
        return self.spec.hostnames.index(self.node)

    @property
    def peer(self) -> str:
        return self.spec.hostnames[1 - self.index]

    @property
    def first(self) -> str:
        return self.spec.hostnames[0]

    def on(self, node: str) -> "Context":
        """The same context, for a command on another node (e.g. copy a key there)."""
        return Context(self.spec, self.secrets, node, self.executors, self.tree, self.shared,
                       self.on_event, self.step)

    def run(self, argv: list[str], *, check: bool = True, input: str | None = None,
            timeout: float = DEFAULT_TIMEOUT) -> Result:
        self.on_event(StepCommand(self.node, self.step, self.ex.journal.mask(" ".join(argv))[:300]))
        return self.ex.run(argv, check=check, input=input, timeout=timeout)

    def sh(self, script: str, *args: str, check: bool = True, input: str | None = None,
           timeout: float = DEFAULT_TIMEOUT) -> Result:
        """A shell snippet; values only as positional parameters ($1, $2 ...), never pasted in."""
        return self.run(["sh", "-c", script, "zabbix-ha", *args], check=check, input=input, timeout=timeout)

    def ok(self, argv: list[str], timeout: float = DEFAULT_TIMEOUT) -> bool:
        return self.run(argv, check=False, timeout=timeout).ok

    def say(self, line: str) -> None:
        self.on_event(StepOutput(self.node, self.step, self.ex.journal.mask(line)))

    def file(self, kind: str):
        """This node's rendered file of `kind` (None when not rendered for this spec)."""
        for rendered in self.tree[self.node].values():
            if rendered.kind == kind:
                return rendered
        return None


@dataclass
class Shared:
    """State both nodes' threads share during one run, and the first node's
    persistent install state (read once, written through `remember`)."""

    state: dict = field(default_factory=dict)      # persisted on the first node
    runtime: dict = field(default_factory=dict)    # this run only (e.g. which files changed)
    accept_wipe: frozenset[str] = frozenset()     # "wipe-disk:NODE:/dev/DEV" codes accepted for this run
    lock: threading.Lock = field(default_factory=threading.Lock)

    def remember(self, ctx: Context, key: str, value) -> None:
        """Persist a fact on the first node (atomic write), e.g. drbd_fresh."""
        with self.lock:
            self.state[key] = value
            self.state["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            text = json.dumps(self.state, indent=2, sort_keys=True) + "\n"
        first = ctx.on(ctx.first)
        first.run(["mkdir", "-p", "-m", "0700", ctx.profile.paths.journal_dir])
        first.ex.put(f"{ctx.profile.paths.journal_dir}/{STATE_FILE}", text, 0o600)


def load_state(ex: Executor, profile: Platform) -> dict:
    path = f"{profile.paths.journal_dir}/{STATE_FILE}"
    res = ex.run(["cat", "--", path], check=False)
    if not res.ok:
        return {}
    try:
        data = json.loads(res.stdout)
    except ValueError:
        raise StepFailed(f"{path} on {ex.node} is not valid JSON", f"move it away and run the install again") from None
    return data if isinstance(data, dict) else {}


class watching:
    """While a long command runs, show the last line of a progress file the
    command writes on the node (read every few seconds, on its own channel)."""

    def __init__(self, ctx: Context, path: str, parse: Callable[[str], str], interval: float = 5.0) -> None:
        self.ctx, self.path, self.parse, self.interval = ctx, path, parse, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> "watching":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(self.interval + 30)

    def _loop(self) -> None:
        last = ""
        while not self._stop.wait(self.interval):
            try:
                res = self.ctx.ex.run(["tail", "-n", "1", "--", self.path], check=False, timeout=20, log=False)
            except Exception:      # progress is a nicety: a missed read is no failure
                continue
            line = self.parse(res.stdout.strip()) if res.ok else ""
            if line and line != last:
                self.ctx.say(line)
                last = line


def wait_for(ctx: Context, what: str, probe: Callable[[], bool | str], *, timeout: float, interval: float = 2.0,
             fix: str = "") -> None:
    """Poll `probe` (bounded); a str result is progress to show. Raises StepFailed on timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        result = probe()
        if result is True:
            return
        if isinstance(result, str) and result and result != last:
            ctx.say(result)
            last = result
        if time.monotonic() >= deadline:
            raise StepFailed(f"on {ctx.node}: {what} did not happen within {timeout:.0f} s"
                             + (f" (last seen: {last})" if last else ""), fix or "see the journal for the commands run")
        time.sleep(interval)
