"""The journal: one entry per command run on a node, secrets masked.

Every Executor call lands here (node, argv, rc, duration), so an install can
be reviewed and resumed. Masking happens when the entry is recorded, not
when it is printed: a secret never reaches memory that outlives the call,
a log file or a bug report.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

MASK = "********"
# Output kept per entry: enough to diagnose a failure, not a copy of the node.
STDERR_TAIL = 400


@dataclass(frozen=True)
class JournalEntry:
    node: str
    argv: tuple[str, ...]        # already masked
    rc: int | None               # None: the command did not finish (timeout, lost connection)
    duration: float
    started: float               # epoch seconds
    note: str = ""               # masked stderr tail or why it did not finish


class Journal:
    """Thread-safe record of commands; masks every known secret.

    `secrets` are the clear values (e.g. `Secrets.values()`); `add_secret`
    adds more later (a sudo password typed at the prompt). With `path` every
    entry is also appended to a JSON-lines file created 0600.
    """

    def __init__(self, secrets: list[str] | tuple[str, ...] = (), path: str | os.PathLike | None = None) -> None:
        self._secrets: list[str] = []
        self._lock = threading.Lock()
        self.entries: list[JournalEntry] = []
        self.path = Path(path) if path else None
        for s in secrets:
            self.add_secret(s)

    def add_secret(self, value: str | None) -> None:
        if not value:
            return
        with self._lock:
            if value not in self._secrets:
                self._secrets.append(value)
                # Longest first, so a secret that contains another is masked whole.
                self._secrets.sort(key=len, reverse=True)

    def mask(self, text: str) -> str:
        for s in self._secrets:
            if s in text:
                text = text.replace(s, MASK)
        return text

    def record(self, node: str, argv: list[str] | tuple[str, ...], rc: int | None, duration: float,
               started: float | None = None, note: str = "") -> JournalEntry:
        entry = JournalEntry(
            node=node,
            argv=tuple(self.mask(str(a)) for a in argv),
            rc=rc,
            duration=round(duration, 4),
            started=started if started is not None else time.time() - duration,
            note=self.mask(note[-STDERR_TAIL:]) if note else "",
        )
        with self._lock:
            self.entries.append(entry)
            if self.path is not None:
                self._append(entry)
        return entry

    def _append(self, entry: JournalEntry) -> None:
        # O_CREAT with 0600: the file is never readable by others, not even briefly.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(asdict(entry)) + "\n")

    def lines(self) -> list[str]:
        """Human-readable lines, e.g. for a report."""
        with self._lock:
            entries = list(self.entries)
        return [f"{e.node}: rc={e.rc} {e.duration:.3f}s {' '.join(e.argv)}" for e in entries]
