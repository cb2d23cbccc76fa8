"""SSH login set-up from the nodes step: one password, then zabbix-ha's own key.

The password is asked in a dialog, used once to install zabbix-ha's key on
each node (wizard.sshtrust.connect), and then forgotten: it is never saved.
An unknown host key is shown for the person to compare before it is trusted.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input

from screens.base import Prose
from wizard.i18n import _


@dataclass(frozen=True)
class LoginResult:
    node: str
    ok: bool
    message: str
    host_key: object | None = None      # sshtrust.HostKeyInfo when the key is unknown


def setup_login(spec, password: str, accepted: list[str]) -> list[LoginResult]:
    """Install zabbix-ha's key on the nodes reached by SSH; blocking (network)."""
    from concurrent.futures import ThreadPoolExecutor

    from wizard.errors import UserError
    from wizard.remote import is_local_address
    from wizard.spec import Secret
    from wizard.sshtrust import HostKeyUnknown, TrustStore, connect, default_dir

    trust = TrustStore(default_dir())

    def one(i: int) -> LoginResult:
        node = spec.nodes[i]
        if i == 0 and is_local_address(node.address):
            return LoginResult(node.hostname, True, _("this machine: no SSH needed"))
        try:
            executor = connect(node, trust, password=Secret(password) if password else None,
                               accept_host_key=lambda info: info.fingerprint in accepted)
            executor.close()
            return LoginResult(node.hostname, True, _("logs in with zabbix-ha's key"))
        except HostKeyUnknown as exc:
            return LoginResult(node.hostname, False, exc.message, exc.info)
        except UserError as exc:
            return LoginResult(node.hostname, False, str(exc))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, range(min(2, len(spec.nodes)))))


class PasswordDialog(ModalScreen[str | None]):
    """The SSH password of the nodes' login user, asked once and not kept."""

    CSS_PATH = "dialogs.tcss"
    BINDINGS = [Binding("escape", "cancel", _("Cancel"))]

    def __init__(self, who: str) -> None:
        super().__init__()
        self.who = who

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Prose(_("SSH password"), id="question")
            yield Prose(_("The password of {who}. It is used once to install zabbix-ha's own key on "
                          "the nodes, then forgotten: it is not saved anywhere.").format(who=self.who),
                        id="explain")
            yield Input(password=True, id="password", compact=True)
            with Horizontal(id="buttons"):
                yield Button(_("Cancel"), id="cancel", compact=True)
                yield Button(_("Install the key"), id="ok", compact=True, variant="primary")

    def on_mount(self) -> None:
        self.query_one("#password", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.dismiss(self.query_one("#password", Input).value)

    @on(Button.Pressed)
    def _answer(self, event: Button.Pressed) -> None:
        self.dismiss(self.query_one("#password", Input).value if event.button.id == "ok" else None)
