"""Step 7: how one node powers off the other when they lose sight of each other."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Checkbox, RadioButton, RadioSet, Static

from screens.base import Prose, FieldRow, StepScreen, text_input
from wizard.i18n import _
from wizard.steps import STEP_FIELDS, keep_used_fencing
from wizard.spec import NO_FENCING_ACKNOWLEDGEMENT, ClusterSpec, IpmiDevice, Secret, Secrets

METHODS = ("ipmi", "sbd", "none")


class FencingScreen(StepScreen):
    NAME = "fencing"
    CSS_PATH = "fencing.tcss"
    PREFIXES = STEP_FIELDS["fencing"]

    def intro(self) -> str:
        return _("When the nodes lose sight of each other, one must be sure the other is off "
                 "before it takes over the database; otherwise both write to it (split brain).")

    def compose_form(self) -> ComposeResult:
        yield FieldRow("fencing.method", _("Fencing"), RadioSet(
            RadioButton(_("IPMI / iLO / iDRAC (fence_ipmilan)"), id="method-ipmi"),
            RadioButton(_("SBD on a shared disk"), id="method-sbd"),
            RadioButton(_("None (not for production)"), id="method-none"),
            id="method", compact=True))
        with Vertical(id="ipmi-group", classes="group"):
            for i in range(2):
                yield Prose("", classes="section", id=f"bmc-title-{i}")
                yield FieldRow(f"fencing.ipmi[{i}].address", _("BMC address"), text_input(id=f"bmc-address-{i}"))
                yield FieldRow(f"fencing.ipmi[{i}].user", _("BMC user"), text_input(id=f"bmc-user-{i}"))
                yield FieldRow(f"fencing.ipmi[{i}].lanplus", _("Protocol"),
                               Checkbox(_("IPMI v2.0 (lanplus)"), id=f"bmc-lanplus-{i}", compact=True))
                yield FieldRow(f"secrets.ipmi.node{i}", _("BMC password"),
                               text_input(password=True, id=f"bmc-password-{i}"))
        with Vertical(id="sbd-group", classes="group"):
            yield FieldRow("fencing.sbd_device", _("SBD device"),
                           text_input(placeholder="/dev/disk/by-id/…", id="sbd-device"),
                           hint=_("a small shared disk both nodes see, by a stable path"))
        with Vertical(id="none-group", classes="group"):
            yield Prose(_("Without fencing, DRBD's resource-level fencing is the only guard: a node "
                           "that loses the interconnect can still promote its copy and run the "
                           "database, and the two copies then differ (split brain). To accept "
                           "that, type exactly:"), classes="explain")
            yield Prose(f"  {NO_FENCING_ACKNOWLEDGEMENT}", id="ack-sentence")
            yield FieldRow("fencing.acknowledgement", _("Acknowledgement"), text_input(id="ack"))

    def _method(self) -> str:
        pressed = self.query_one("#method", RadioSet).pressed_button
        return (pressed.id or "method-ipmi").removeprefix("method-") if pressed else "ipmi"

    def on_radio_set_changed(self) -> None:
        self._sync_method()

    def _sync_method(self) -> None:
        method = self._method()
        for m in METHODS:
            self.query_one(f"#{m}-group").display = m == method

    def refresh_labels(self, spec: ClusterSpec) -> None:
        for i in range(2):
            name = spec.nodes[i].hostname if i < len(spec.nodes) else "?"
            self.query_one(f"#bmc-title-{i}", Static).update(_("BMC of {node}").format(node=name))
            # Secret problems name the node (secrets.ipmi.<host>): follow renames.
            row = next(r for r in self.query(FieldRow) if r.widget.id == f"bmc-password-{i}")
            row.path = f"secrets.ipmi.{name}"

    def load_spec(self, spec: ClusterSpec, secrets: Secrets) -> None:
        f = spec.fencing
        method = f.method if f.method in METHODS else "ipmi"
        self.query_one(f"#method-{method}", RadioButton).value = True
        for i in range(2):
            dev = f.ipmi[i] if i < len(f.ipmi) else IpmiDevice("", "")
            self.query_one(f"#bmc-address-{i}").value = dev.address
            self.query_one(f"#bmc-user-{i}").value = dev.user
            self.query_one(f"#bmc-lanplus-{i}", Checkbox).value = dev.lanplus
            name = spec.nodes[i].hostname if i < len(spec.nodes) else ""
            self.query_one(f"#bmc-password-{i}").value = secrets.ipmi[name].reveal() if name in secrets.ipmi else ""
        self.query_one("#sbd-device").value = f.sbd_device
        self.query_one("#ack").value = f.acknowledgement
        self.refresh_labels(spec)
        self._sync_method()

    def to_spec(self, spec: ClusterSpec, secrets: Secrets) -> None:
        f = spec.fencing
        f.method = self._method()
        f.ipmi = [IpmiDevice(self.query_one(f"#bmc-address-{i}").value.strip(),
                             self.query_one(f"#bmc-user-{i}").value.strip(),
                             self.query_one(f"#bmc-lanplus-{i}", Checkbox).value) for i in range(2)]
        secrets.ipmi = {}
        for i, name in enumerate(spec.hostnames[:2]):
            password = self.query_one(f"#bmc-password-{i}").value
            if password:
                secrets.ipmi[name] = Secret(password)
        f.sbd_device = self.query_one("#sbd-device").value.strip()
        f.acknowledgement = self.query_one("#ack").value.strip()
        # Only the chosen method's settings are saved; the other fields keep
        # what was typed in case the person switches back.
        keep_used_fencing(spec, secrets)
