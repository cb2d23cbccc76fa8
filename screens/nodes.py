"""Step 2: the cluster's name, the target OS and the two nodes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Select, Static

from screens.base import Prose, FieldRow, StepScreen, int_or_text, text_input
from wizard.i18n import _
from wizard.interactive import STEP_FIELDS
from wizard.platforms import PLATFORMS
from wizard.spec import ClusterSpec, Node, Secret, Secrets


class NodesScreen(StepScreen):
    NAME = "nodes"
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
        yield Prose(_("SSH login: the wizard logs in with zabbix-ha's own key. It cannot ask for the "
                      "SSH password yet: the first time, run `zabbix-ha preflight --answers FILE` in a "
                      "shell; it asks the password once and installs the key."), classes="note")
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
