"""A recording executor for install steps: canned answers per command (matched on argv and stdin), every call kept.

Used where a step's decisions and its command lines are under test (what
goes in argv, what on stdin); the end-to-end tests run the real thing on
the lab.
"""

from __future__ import annotations

import re
from typing import Callable

from wizard.journal import Journal
from wizard.remote import Executor


class RecordingExecutor(Executor):
    def __init__(self, node: str, answers: list[tuple[str, Callable | tuple]] | None = None,
                 journal: Journal | None = None) -> None:
        super().__init__(node, journal=journal)
        self.calls: list[tuple[tuple[str, ...], str | None]] = []
        self.answers = answers or []

    def _exec(self, argv, stdin, timeout):
        self.calls.append((tuple(argv), stdin))
        line = " ".join(argv) + "\n" + (stdin or "")
        for pattern, answer in self.answers:
            if re.search(pattern, line):
                return answer(argv, stdin) if callable(answer) else answer
        return 0, "", ""
