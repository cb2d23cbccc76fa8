"""Step 5: the floating addresses that move with the services."""

from __future__ import annotations

from textual.app import ComposeResult

from screens.base import Prose, FieldRow, StepScreen, int_or_text, text_input
from wizard.i18n import _
from wizard.steps import STEP_FIELDS, format_extra_vips, parse_extra_vips
from wizard.spec import ClusterSpec, Secrets


class ServicesScreen(StepScreen):
    NAME = "services"
    PREFIXES = STEP_FIELDS["services"]

    def intro(self) -> str:
        return _("Addresses that follow the active node. Agents, browsers and the database "
                 "clients use the listen address; the Zabbix server's outgoing checks leave "
                 "from the source address, so firewalls and agents see one address whichever "
                 "node is active.")

    def compose_form(self) -> ComposeResult:
        yield FieldRow("services.vip", _("Listen address (VIP)"), text_input(placeholder="192.168.10.10", id="vip"))
        yield FieldRow("services.vip_prefix", _("Prefix length"), text_input(integer=True, id="vip-prefix"))
        for i in range(2):
            yield FieldRow(f"services.vip_nics[{i}]", "", text_input(placeholder="eth0", id=f"vip-nic-{i}"))
        yield FieldRow("services.extra_vips", _("More VIPs"),
                       text_input(placeholder=_("optional: 10.20.0.5/24 eth1; ..."), id="extra-vips"),
                       hint=_("ADDRESS/PREFIX [NIC or NIC1,NIC2] [NAME]; no NIC = the VIP's"))
        yield Prose(_("Source address"), classes="section")
        yield FieldRow("services.source_address", _("Zabbix source address"),
                       text_input(placeholder=_("empty: the same as the VIP"), id="source"),
                       hint=_("a floating address too (IPsrcaddr); empty = the VIP"))

    def refresh_labels(self, spec: ClusterSpec) -> None:
        for i in range(2):
            name = spec.nodes[i].hostname if i < len(spec.nodes) else ""
            row = next(r for r in self.query(FieldRow) if r.path == f"services.vip_nics[{i}]")
            row.set_label(_("NIC on {node}").format(node=name or "?"))

    def load_spec(self, spec: ClusterSpec, secrets: Secrets) -> None:
        sv = spec.services
        self.query_one("#vip").value = sv.vip
        self.query_one("#vip-prefix").value = str(sv.vip_prefix)
        nics = (list(sv.vip_nics) + ["", ""])[:2]
        for i in range(2):
            self.query_one(f"#vip-nic-{i}").value = nics[i]
        self.query_one("#source").value = sv.source_address
        self.query_one("#extra-vips").value = format_extra_vips(sv.extra_vips)
        self.refresh_labels(spec)

    def to_spec(self, spec: ClusterSpec, secrets: Secrets) -> None:
        sv = spec.services
        sv.vip = self.query_one("#vip").value.strip()
        sv.vip_prefix = int_or_text(self.query_one("#vip-prefix").value)
        sv.vip_nics = [self.query_one(f"#vip-nic-{i}").value.strip() for i in range(2)]
        sv.source_address = self.query_one("#source").value.strip()
        sv.extra_vips = parse_extra_vips(self.query_one("#extra-vips").value, sv.vip_nics)
