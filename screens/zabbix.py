"""Step 6: Zabbix version, packages, sizing, database and frontend."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.widgets import RadioButton, RadioSet, Select

from screens.base import Prose, FieldRow, StepScreen, text_input
from wizard.i18n import _
from wizard.steps import STEP_FIELDS, keep_used_zabbix
from wizard.sizing import TIERS
from wizard.spec import ClusterSpec, Secret, Secrets


def sizing_table() -> Table:
    """The seed design's 30/100/1000-host table with what each tier sets."""
    table = Table(box=None, padding=(0, 1), header_style="bold")
    table.add_column(_("Tier"))
    table.add_column(_("Hosts"), justify="right")
    table.add_column(_("RAM/node"), justify="right")
    table.add_column(_("InnoDB pool"), justify="right")
    table.add_column(_("Cache"), justify="right")
    table.add_column(_("Pollers"), justify="right")
    for t in TIERS.values():
        table.add_row(t.name, f"≤ {t.max_hosts}", f"{t.min_memory_mib // 1024} GiB", t.innodb_buffer_pool,
                      t.cache_size, str(t.start_pollers))
    return table


class ZabbixScreen(StepScreen):
    NAME = "zabbix"
    CSS_PATH = "zabbix.tcss"
    PREFIXES = STEP_FIELDS["zabbix"]

    def intro(self) -> str:
        return _("Zabbix runs as one server managed by Pacemaker (Zabbix's own HA mode stays off: "
                 "it would fight Pacemaker and does not protect the database).")

    def compose_form(self) -> ComposeResult:
        yield FieldRow("zabbix.version", _("Zabbix version"),
                       Select([("6.0 LTS", "6.0"), ("7.0 LTS", "7.0")], allow_blank=False, compact=True,
                              id="version"))
        yield FieldRow("zabbix.package_source", _("Packages from"),
                       Select([(_("the OS (Debian)"), "os"), (_("repo.zabbix.com"), "official"),
                               (_("a local mirror"), "mirror")], allow_blank=False, compact=True, id="source"))
        yield FieldRow("zabbix.mirror_url", _("Mirror URL"),
                       text_input(placeholder="http://mirror.example.lan/debian", id="mirror-url"))
        yield Prose(_("Sizing"), classes="section")
        yield Prose(sizing_table(), id="sizing-table")
        buttons = [RadioButton(_("{name} (up to {hosts} hosts)").format(name=t.name, hosts=t.max_hosts),
                               id=f"tier-{t.name}") for t in TIERS.values()]
        yield FieldRow("zabbix.sizing", _("Tier"), RadioSet(*buttons, id="sizing", compact=True))
        yield Prose(_("Database"), classes="section")
        yield FieldRow("zabbix.db_engine", _("Engine"),
                       Select([("MariaDB", "mariadb"), ("MySQL 8", "mysql")], allow_blank=False, compact=True,
                              id="db-engine"))
        yield FieldRow("zabbix.db_name", _("Database name"), text_input(id="db-name"))
        yield FieldRow("zabbix.db_user", _("Database user"), text_input(id="db-user"))
        yield FieldRow("secrets.db_password", _("Database password"), text_input(password=True, id="db-password"),
                       hint=_("saved only in the secrets file (0600)"))
        yield Prose(_("Frontend"), classes="section")
        yield FieldRow("zabbix.server_name", _("Server name"), text_input(id="server-name"))
        yield FieldRow("zabbix.timezone", _("Time zone"), text_input(placeholder="Europe/Berlin", id="timezone"))
        yield FieldRow("secrets.zabbix_admin_password", _("Admin password"),
                       text_input(password=True, id="admin-password"),
                       hint=_("for the frontend's Admin user; secrets file only"))

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "source":
            self._sync_mirror()

    def _sync_mirror(self) -> None:
        mirror = self.query_one("#source", Select).value == "mirror"
        next(r for r in self.query(FieldRow) if r.path == "zabbix.mirror_url").display = mirror

    def _tier(self) -> str:
        pressed = self.query_one("#sizing", RadioSet).pressed_button
        return (pressed.id or "tier-small").removeprefix("tier-") if pressed else "small"

    def load_spec(self, spec: ClusterSpec, secrets: Secrets) -> None:
        z = spec.zabbix
        for wid, value in (("#version", z.version), ("#source", z.package_source), ("#db-engine", z.db_engine)):
            try:
                self.query_one(wid, Select).value = value
            except Exception:  # an unknown value keeps the default; the validator names it
                pass
        self.query_one("#mirror-url").value = z.mirror_url
        if z.sizing in TIERS:
            self.query_one(f"#tier-{z.sizing}", RadioButton).value = True
        self.query_one("#db-name").value = z.db_name
        self.query_one("#db-user").value = z.db_user
        self.query_one("#server-name").value = z.server_name
        self.query_one("#timezone").value = z.timezone
        self.query_one("#db-password").value = secrets.db_password.reveal()
        self.query_one("#admin-password").value = secrets.zabbix_admin_password.reveal()
        self._sync_mirror()

    def to_spec(self, spec: ClusterSpec, secrets: Secrets) -> None:
        z = spec.zabbix
        z.version = self.query_one("#version", Select).value
        z.package_source = self.query_one("#source", Select).value
        # The field keeps the URL; the spec only with the mirror source.
        z.mirror_url = self.query_one("#mirror-url").value.strip()
        keep_used_zabbix(z)
        z.sizing = self._tier()
        z.db_engine = self.query_one("#db-engine", Select).value
        z.db_name = self.query_one("#db-name").value.strip()
        z.db_user = self.query_one("#db-user").value.strip()
        z.server_name = self.query_one("#server-name").value.strip()
        z.timezone = self.query_one("#timezone").value.strip()
        secrets.db_password = Secret(self.query_one("#db-password").value)
        secrets.zabbix_admin_password = Secret(self.query_one("#admin-password").value)
