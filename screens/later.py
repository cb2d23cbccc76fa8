"""Steps whose core is built by other issues: the failover test.

Until their core module exists each says so plainly and shows no made-up
results; the person can still look ahead and go back to save the answers.
"""

from __future__ import annotations

import importlib.util

from textual.app import ComposeResult

from screens.base import Prose, StepScreen
from wizard.i18n import _


def available(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


class LaterStep(StepScreen):
    """A step that shows what it will do, and that it cannot do it yet."""

    MODULES: tuple[str, ...] = ()

    def what(self) -> str:
        return ""

    def unavailable(self) -> str:
        return ""

    def compose_form(self) -> ComposeResult:
        yield Prose(self.what(), classes="explain")
        missing = [m for m in self.MODULES if not available(m)]
        if missing:
            yield Prose(self.unavailable() + "\n" + _("(missing: {modules})").format(modules=", ".join(missing)),
                         classes="unavailable", id="unavailable")
        else:
            yield Prose(_("The core for this step is installed, but this wizard does not run it yet. "
                           "Use the command line for it."), classes="unavailable", id="unavailable")

    def problems(self):
        return []


class FailoverScreen(LaterStep):
    NAME = "failover"
    MODULES = ("wizard.failover",)

    def intro(self) -> str:
        return _("The failover test proves the cluster works before the wizard says done.")

    def what(self) -> str:
        return _("It moves the services to the other node and back, checks the VIP, the database "
                 "and the Zabbix server through it, measures the time taken, and cleans up after itself.")

    def unavailable(self) -> str:
        return _("The failover test is not available yet: the cluster has not been tested.")
