"""Step 2: the cluster's name, the target OS and the two nodes."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button, Select

from screens.base import Prose, FieldRow, StepScreen, int_or_text, text_input
from wizard.i18n import _
from wizard.steps import STEP_FIELDS
from wizard.platforms import PLATFORMS
from wizard.spec import ClusterSpec, Node, Secret, Secrets


class NodesScreen(StepScreen):
    NAME = "nodes"
    CSS_PATH = "nodes.tcss"
    PREFIXES = STEP_FIELDS["nodes"]

    def intro(self) -> str:
        return _("The two servers. The first node is the preferred one: the services run "
                 "there whenever both are up. Run the wizard on the first node.")

    def compose_form(self) -> ComposeResult:
        yield FieldRow("name", _("Cluster name"), text_input(id="name"))
        yield FieldRow("platform", _("Operating system"),
                       Select([(p.name, p.id) for p in PLATFORMS.values()], allow_blank=False,
                              compact=True, id="platform"),
                       hint=_("the same on both nodes"))
        for i in range(2):
            yield Prose(_("Node {n}").format(n=i + 1) + (_(" (preferred)") if i == 0 else ""),
                         classes="section")
            yield FieldRow(f"nodes[{i}].hostname", _("Host name"), text_input(id=f"hostname-{i}"),
                           hint=_("as `hostname -s` prints it") if i == 0 else "")
            yield FieldRow(f"nodes[{i}].address", _("Management address"), text_input(id=f"address-{i}"))
            yield FieldRow(f"nodes[{i}].ssh_user", _("SSH user"), text_input(id=f"ssh-user-{i}"))
            yield FieldRow(f"nodes[{i}].ssh_port", _("SSH port"), text_input(integer=True, id=f"ssh-port-{i}"))
        yield Prose(_("SSH login"), classes="section")
        with Horizontal(id="ssh-bar"):
            yield Button(_("Set up SSH login…"), id="ssh-setup", compact=True)
            yield Prose(_("The wizard logs in with zabbix-ha's own key; this installs it on the nodes "
                          "with the SSH password, asked once and not saved."), id="ssh-status")
        yield Prose(_("Cluster"), classes="section")
        yield FieldRow("secrets.hacluster_password", _("hacluster password"),
                       text_input(password=True, id="hacluster-password"),
                       hint=_("for pcs/crmsh; saved only in the secrets file (0600)"))

    def load_spec(self, spec: ClusterSpec, secrets: Secrets) -> None:
        self.query_one("#name").value = spec.name
        if spec.platform in PLATFORMS:
            self.query_one("#platform", Select).value = spec.platform
        for i in range(2):
            node = spec.nodes[i] if i < len(spec.nodes) else Node("", "")
            self.query_one(f"#hostname-{i}").value = node.hostname
            self.query_one(f"#address-{i}").value = node.address
            self.query_one(f"#ssh-user-{i}").value = node.ssh_user
            self.query_one(f"#ssh-port-{i}").value = str(node.ssh_port)
        self.query_one("#hacluster-password").value = secrets.hacluster_password.reveal()

    def to_spec(self, spec: ClusterSpec, secrets: Secrets) -> None:
        old_names = spec.hostnames
        spec.name = self.query_one("#name").value.strip()
        spec.platform = self.query_one("#platform", Select).value
        nodes = []
        for i in range(2):
            nodes.append(Node(
                hostname=self.query_one(f"#hostname-{i}").value.strip(),
                address=self.query_one(f"#address-{i}").value.strip(),
                ssh_user=self.query_one(f"#ssh-user-{i}").value.strip(),
                ssh_port=int_or_text(self.query_one(f"#ssh-port-{i}").value),
            ))
        spec.nodes = nodes
        secrets.hacluster_password = Secret(self.query_one("#hacluster-password").value)
        # BMC passwords are keyed by host name: renaming a node carries its password along.
        renamed = dict(zip(old_names, spec.hostnames))
        secrets.ipmi = {renamed.get(k, k): v for k, v in secrets.ipmi.items()}

    # -- SSH login set-up ---------------------------------------------------------
    @on(Button.Pressed, "#ssh-setup")
    def _ssh_setup(self) -> None:
        from screens.sshlogin import PasswordDialog

        node_errors = [p for p in self.problems() if p.field.startswith("nodes") and p.severity == "error"]
        if node_errors:
            self.check()
            self.query_one("#ssh-status", Prose).update(_("Fix the nodes' addresses and users first."))
            return
        users = sorted({f"{n.ssh_user}@{n.address}" for n in self.app.spec.nodes[:2]})

        def got(password: str | None) -> None:
            if password is not None:
                self._run_setup(password)

        self.app.push_screen(PasswordDialog(", ".join(users)), got)

    def _run_setup(self, password: str) -> None:
        import copy

        self.query_one("#ssh-setup", Button).disabled = True
        self.query_one("#ssh-status", Prose).update(_("Installing zabbix-ha's key on the nodes…"))
        self._login(copy.deepcopy(self.app.spec), password, list(self.app.accepted_host_keys))

    @work(thread=True, exclusive=True, group="ssh-login")
    def _login(self, spec, password: str, accepted: list[str]) -> None:
        from screens.sshlogin import setup_login

        results = setup_login(spec, password, accepted)
        self.app.call_from_thread(self._login_done, results, password)

    def _login_done(self, results, password: str) -> None:
        from screens.dialogs import TrustHostKeyDialog

        self.query_one("#ssh-setup", Button).disabled = False
        lines = [("✓ " if r.ok else "✗ ") + f"{r.node}: {r.message}" for r in results]
        self.query_one("#ssh-status", Prose).update("\n".join(lines))
        unknown = [r for r in results if r.host_key is not None]
        if not unknown:
            return
        info = unknown[0].host_key

        def decided(trust: bool | None) -> None:
            if trust:
                self.app.accepted_host_keys.append(info.fingerprint)
                self._run_setup(password)      # again, now that the person has vouched for the key

        self.app.push_screen(TrustHostKeyDialog(unknown[0].node, info.key_type, info.fingerprint), decided)
