"""Step 9: preflight — both servers checked against the answers, nothing changed.

Runs the same collection as `zabbix-ha preflight` (wizard.preflight.command)
in a worker thread and lists every finding with its fix. Errors block going
on. The wizard never prompts on the terminal from the thread: it logs in
with a key only (zabbix-ha's own, or the lab's), and a node's unknown host
key is shown for the person to confirm before the next run.
"""

from __future__ import annotations

import argparse

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable

from screens.base import Prose, StepScreen
from screens.dialogs import TrustHostKeyDialog
from wizard.i18n import _

MARK = {"error": "✗", "warning": "!", "info": "·"}
STYLE = {"error": "bold red", "warning": "yellow", "info": "dim"}


def ssh_login(app) -> tuple[str | None, list[str]]:
    """(private key to log in with, extra known_hosts files), or (None, []) when
    there is no key yet. Only keys: a password prompt from the worker thread
    would fight the TUI for the terminal."""
    from wizard.sshtrust import KEY_NAME, default_dir

    lab_answers = getattr(app, "lab_answers", None)
    if lab_answers is not None and app.source == str(lab_answers):
        from wizard.lab import paths

        if paths.SSH_KEY.exists():
            return str(paths.SSH_KEY), [str(paths.KNOWN_HOSTS)] if paths.KNOWN_HOSTS.exists() else []
    key = default_dir() / KEY_NAME
    return (str(key), []) if key.exists() else (None, [])


def run_collect(spec, secrets, ssh_key: str, known_hosts: list[str], accepted: list[str], forced=()):
    """The preflight command's collection, with arguments that never prompt."""
    from wizard.preflight.command import collect

    args = argparse.Namespace(trust_dir=None, known_hosts=known_hosts, ssh_key=ssh_key, all_ssh=False,
                              no_probe=False, skip_source_probe=False, force=sorted(forced), journal=None,
                              accept_host_key=list(accepted), json=True)
    findings, _facts, journal, timings = collect(spec, secrets, args)
    return findings, len(journal.entries), timings.get("total", 0.0)


class PreflightScreen(StepScreen):
    NAME = "preflight"
    CSS_PATH = "preflight.tcss"
    BINDINGS = [*StepScreen.BINDINGS, Binding("f", "force", _("Accept finding"), show=False)]

    def __init__(self) -> None:
        super().__init__()
        self.findings: list | None = None      # None: not run yet
        self.running = False

    def intro(self) -> str:
        return _("Preflight checks both servers and the network between them against the answers. "
                 "It only reads: nothing is changed on the servers.")

    def compose_form(self) -> ComposeResult:
        with Horizontal(id="run-bar"):
            yield Button(_("Run preflight"), id="run", compact=True, variant="primary")
            yield Prose("", id="run-status")
        yield DataTable(id="findings", cursor_type="row", zebra_stripes=True)
        yield Prose("", id="detail")

    def on_mount(self) -> None:
        super().on_mount()
        if self.query("#findings"):
            table = self.query_one("#findings", DataTable)
            table.add_columns(" ", _("Node"), _("Finding"))
            self._show_login_state()

    def _show_login_state(self) -> None:
        key, _hosts = ssh_login(self.app)
        if key is None:
            self.query_one("#run-status", Prose).update(
                _("No SSH key of zabbix-ha yet, so the wizard cannot log in to the nodes. Set it up on the "
                  "Nodes step (Set up SSH login…), or once in a shell: zabbix-ha preflight --answers {path}"
                  ).format(path=self.app.answers_out))
        else:
            self.query_one("#run-status", Prose).update(_("Not run yet. Logs in with {key}.").format(key=key))

    def problems(self):
        return []

    def check(self, everything: bool = True):
        # The answers were checked on the earlier steps; here the status line
        # belongs to the findings and leaving a widget must not clear it.
        return []

    @on(Button.Pressed, "#run")
    def _run_pressed(self) -> None:
        self.start()

    def start(self) -> None:
        from wizard.spec import errors, validate, validate_secrets

        if self.running:
            return
        key, known_hosts = ssh_login(self.app)
        if key is None:
            self._show_login_state()
            self.app.bell()
            return
        if errors(validate(self.app.spec)):
            self.query_one("#run-status", Prose).update(_("The answers have errors: fix them first (see Review)."))
            return
        secrets = self.app.secrets
        secrets = secrets if not errors(validate_secrets(self.app.spec, secrets)) else None
        self.running = True
        self.query_one("#run", Button).disabled = True
        self.query_one("#run-status", Prose).update(_("Connecting to both nodes and checking…"))
        self.query_one("#findings", DataTable).clear()
        self.query_one("#detail", Prose).update("")
        self._collect(self.app.spec, secrets, key, known_hosts, list(self.app.accepted_host_keys),
                      set(self.app.forced))

    @work(thread=True, exclusive=True, group="preflight")
    def _collect(self, spec, secrets, key, known_hosts, accepted, forced) -> None:
        # Blocking SSH and discovery: off the UI thread; results go back by call_from_thread.
        from wizard.errors import UserError

        try:
            findings, commands, seconds = run_collect(spec, secrets, key, known_hosts, accepted, forced)
        except UserError as exc:
            self.app.call_from_thread(self._failed, str(exc))
            return
        self.app.call_from_thread(self._show, findings, commands, seconds)

    def _failed(self, message: str) -> None:
        self.running = False
        self.findings = None
        self.query_one("#run", Button).disabled = False
        self.query_one("#run-status", Prose).update(_("Preflight could not run: {error}").format(error=message))

    def _show(self, findings, commands: int, seconds: float) -> None:
        self.running = False
        self.findings = findings
        self.query_one("#run", Button).disabled = False
        self.query_one("#run", Button).label = _("Run again")
        table = self.query_one("#findings", DataTable)
        table.clear()
        for i, f in enumerate(findings):
            mark = Text(MARK.get(f.severity, "?"), style=STYLE.get(f.severity, ""))
            table.add_row(mark, f.node or _("both"), f.beside_node(), key=str(i))
        n_err = sum(f.severity == "error" for f in findings)
        n_warn = sum(f.severity == "warning" for f in findings)
        self.query_one("#run-status", Prose).update(
            _("{e} error(s), {w} warning(s), {n} finding(s) in all; {c} commands in {s:.1f} s").format(
                e=n_err, w=n_warn, n=len(findings), c=commands, s=seconds))
        self.query_one("#status", Prose).update(
            _("{n} to fix before going on").format(n=n_err) if n_err else "")
        if findings:
            table.move_cursor(row=0)
            self._detail(0)
            table.focus()
        unknown = [f for f in findings if f.code == "host-key-unknown" and f.payload.get("fingerprint")]
        if unknown:
            self._ask_trust(unknown)

    def _ask_trust(self, unknown: list) -> None:
        finding = unknown[0]

        def decided(trust: bool | None) -> None:
            if trust:
                self.app.accepted_host_keys.append(finding.payload["fingerprint"])
                if len(unknown) > 1:
                    self._ask_trust(unknown[1:])
                else:
                    self.start()

        self.app.push_screen(TrustHostKeyDialog(finding.node or "", finding.payload.get("key_type", ""),
                                                finding.payload["fingerprint"]), decided)

    @on(DataTable.RowHighlighted, "#findings")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is not None and event.row_key.value is not None:
            self._detail(int(event.row_key.value))

    def _detail(self, index: int) -> None:
        f = self.findings[index]
        text = f"{MARK.get(f.severity, '?')} [{f.code}] {f.message}"
        if f.fix:
            text += "\n  → " + f.fix
        if f.force_code and f.severity == "error":
            text += "\n" + _("Press f to accept this ({code}) after checking it.").format(code=f.force_code)
        self.query_one("#detail", Prose).update(text)

    def action_force(self) -> None:
        """Accept a finding the core marks as forceable (e.g. wipe-disk:NODE:DEVICE), after asking.

        A wipe is confirmed by typing the device's path: accepting it erases
        whatever that device holds."""
        from screens.dialogs import ConfirmDialog, TypedConfirmDialog

        table = self.query("#findings")
        if not table or not self.findings or self.running:
            return
        row = table.first().cursor_row
        if not 0 <= row < len(self.findings):
            return
        finding = self.findings[row]
        if not finding.force_code or finding.severity != "error":
            return

        def decided(yes: bool | None) -> None:
            if yes:
                self.app.forced.add(finding.force_code)
                self.start()

        question = _("Accept: {code}?").format(code=finding.force_code)
        device = finding.payload.get("device")
        if finding.force_code.startswith("wipe-disk:") and device:
            self.app.push_screen(TypedConfirmDialog(
                question, finding.message + "\n\n" + _("The install will erase every signature on {device} "
                                                        "on {node}, and with them whatever it holds.").format(
                    device=device, node=finding.node),
                _("Wipe it"), device), decided)
            return
        self.app.push_screen(ConfirmDialog(
            question, finding.message + "\n\n" + _("The install will act on this. Accept only after checking the "
                                                    "fix above."),
            _("Accept")), decided)

    def action_next(self) -> None:
        if not self.query("#findings"):        # no preflight here: nothing to wait for
            self.app.next_step(self.NAME)
            return
        key, _hosts = ssh_login(self.app)
        if self.findings is None and key is not None:
            self.query_one("#status", Prose).update(_("run preflight first"))
            self.app.bell()
            return
        if self.findings and any(f.severity == "error" for f in self.findings):
            self.app.bell()
            return
        self.app.next_step(self.NAME)


__all__ = ["PreflightScreen"]
