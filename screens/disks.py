"""Step 3: the DRBD backing device and meta-data of each node."""

from __future__ import annotations

import importlib.util

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, DataTable, RadioButton, RadioSet, Select, Static

from screens.base import Prose, FieldRow, StepScreen, int_or_text, text_input
from wizard.i18n import _
from wizard.steps import STEP_FIELDS, keep_used_storage
from wizard.spec import ClusterSpec, NodeDisks, Secrets

MODES = ("indexed", "flexible", "internal")


def discovery_available() -> bool:
    """Discovery needs the facts and remote modules (their own issue)."""
    return all(importlib.util.find_spec(m) is not None
               for m in ("wizard.preflight.facts", "wizard.remote", "wizard.sshtrust"))


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def in_use(dev) -> str:
    """Why a device is not free, in a few words ("" when it looks unused)."""
    if dev.mountpoints:
        return _("mounted {where}").format(where=",".join(dev.mountpoints))
    if dev.children:
        return _("holds {names}").format(names=",".join(dev.children))
    if dev.fstype:
        return _("has {fs}").format(fs=dev.fstype)
    if dev.ro:
        return _("read-only")
    return ""


def discover(spec, ssh_key: str, known_hosts: list[str], accepted: list[str]) -> dict:
    """{hostname: [BlockDevice] or error text} for both nodes; blocking (SSH)."""
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    from wizard.errors import UserError
    from wizard.preflight.facts import block_devices
    from wizard.remote import LocalExecutor, SSHExecutor, is_local_address
    from wizard.sshtrust import TrustStore, default_dir

    trust = TrustStore(default_dir(), extra_known_hosts=tuple(Path(p) for p in known_hosts))

    def one(i):
        node = spec.nodes[i]
        try:
            if i == 0 and is_local_address(node.address):
                executor = LocalExecutor(node.hostname)
            else:
                executor = SSHExecutor(node.address, trust=trust, node=node.hostname, port=node.ssh_port,
                                       user=node.ssh_user, key_paths=[ssh_key],
                                       accept_host_key=lambda info: info.fingerprint in accepted)
            with executor:
                return node.hostname, block_devices(executor)
        except UserError as exc:
            return node.hostname, str(exc)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, range(min(2, len(spec.nodes)))))


class DisksScreen(StepScreen):
    NAME = "disks"
    CSS_PATH = "disks.tcss"
    PREFIXES = STEP_FIELDS["disks"]
    BINDINGS = [*StepScreen.BINDINGS, Binding("m", "pick_meta", _("Meta-data partition"), show=False)]

    def intro(self) -> str:
        return _("The partition DRBD mirrors between the nodes; the database lives on it. "
                 "Its contents are replaced: choose an empty partition.")

    def compose_form(self) -> ComposeResult:
        if discovery_available():
            with Horizontal(id="discover-bar"):
                yield Button(_("Discover disks"), id="discover", compact=True)
                yield Prose(_("Lists both nodes' block devices (read-only). Or type the paths below."),
                            id="discover-status")
            yield DataTable(id="devices", cursor_type="row", zebra_stripes=True)
            yield Prose(_("On a row: Enter = data partition, m = meta-data partition of that node."),
                        id="devices-hint", classes="explain")
        else:
            yield Prose(_("Disk discovery is not available yet, so the wizard cannot list the "
                           "nodes' block devices. Type the device paths (see `lsblk` on each node)."),
                         classes="unavailable", id="discovery")
        yield Prose(_("Meta-data"), classes="section")
        with RadioSet(id="meta-mode", compact=True):
            yield RadioButton(_("Dedicated partition, indexed slot (recommended)"), id="mode-indexed")
            yield RadioButton(_("Dedicated partition, whole (flexible)"), id="mode-flexible")
            yield RadioButton(_("Internal, at the end of the data partition"), id="mode-internal")
        yield Prose("", id="mode-explain", classes="explain")
        for i in range(2):
            yield Prose("", classes="section node-title", id=f"node-title-{i}")
            yield FieldRow(f"storage.nodes[{i}].disk", _("Data partition"),
                           text_input(placeholder="/dev/sdb1", id=f"disk-{i}"))
            yield FieldRow(f"storage.nodes[{i}].meta_disk", _("Meta-data partition"),
                           text_input(placeholder="/dev/sda5", id=f"meta-disk-{i}"))
            yield FieldRow(f"storage.nodes[{i}].meta_index", _("Meta-data slot"),
                           text_input(integer=True, id=f"meta-index-{i}"))
        yield Prose(_("Filesystem"), classes="section")
        yield FieldRow("storage.filesystem", _("Filesystem"),
                       Select([("ext4", "ext4"), ("xfs", "xfs")], allow_blank=False, compact=True, id="filesystem"))
        yield FieldRow("storage.mount_point", _("Mount point"), text_input(id="mount-point"),
                       hint=_("the MariaDB data directory goes under it"))
        yield FieldRow("storage.resource", _("DRBD resource"), text_input(id="resource"))
        yield FieldRow("storage.minor", _("DRBD minor"), text_input(integer=True, id="minor"),
                       hint=_("0 means /dev/drbd0"))
        yield FieldRow("storage.port", _("DRBD port"), text_input(integer=True, id="port"))
        yield FieldRow("storage.protocol", _("Replication"), Prose(_("protocol C (synchronous)"), id="protocol"),
                       hint=_("the only safe choice for a database"))

    def on_radio_set_changed(self) -> None:
        self._sync_mode()

    def on_mount(self) -> None:
        super().on_mount()
        # The table and its key hint appear with the first discovery results.
        for widget in self.query("#devices, #devices-hint"):
            widget.display = False

    # -- discovery -------------------------------------------------------------
    @on(Button.Pressed, "#discover")
    def _discover_pressed(self) -> None:
        from screens.preflight import ssh_login

        key, known_hosts = ssh_login(self.app)
        status = self.query_one("#discover-status", Prose)
        if key is None:
            status.update(_("No SSH key of zabbix-ha yet: set it up on the Nodes step (Set up SSH login…), "
                            "or type the paths below."))
            self.app.bell()
            return
        self.to_spec(self.app.spec, self.app.secrets)
        status.update(_("Asking both nodes for their block devices…"))
        self.query_one("#discover", Button).disabled = True
        self._discover(self.app.spec, key, known_hosts, list(self.app.accepted_host_keys))

    @work(thread=True, exclusive=True, group="discover")
    def _discover(self, spec, key, known_hosts, accepted) -> None:
        import copy

        result = discover(copy.deepcopy(spec), key, known_hosts, accepted)
        self.app.call_from_thread(self._show_devices, result)

    def _show_devices(self, result: dict) -> None:
        self.query_one("#discover", Button).disabled = False
        table = self.query_one("#devices", DataTable)
        table.clear(columns=True)
        table.add_columns(_("Node"), _("Device"), _("Size"), _("Use"))
        self._rows: dict[str, tuple[int, str]] = {}
        problems = []
        names = [n.hostname for n in self.app.spec.nodes[:2]]
        for host, devices in result.items():
            if isinstance(devices, str):
                problems.append(devices)
                continue
            index = names.index(host) if host in names else 0
            for dev in devices:
                if dev.type in ("rom", "loop"):
                    continue
                key = f"{host}:{dev.path}"
                self._rows[key] = (index, dev.path)
                table.add_row(host, dev.path, _size(dev.size), in_use(dev) or _("free"), key=key)
        table.display = bool(self._rows)
        self.query_one("#devices-hint").display = bool(self._rows)
        status = _("{n} devices found.").format(n=len(self._rows))
        if problems:
            status += " " + " ".join(problems)
        self.query_one("#discover-status", Prose).update(status)
        if self._rows:
            table.focus()

    def _pick(self, field: str) -> None:
        table = self.query_one("#devices", DataTable)
        if not getattr(self, "_rows", None) or table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        index, path = self._rows[key]
        target = self.query_one(f"#{field}-{index}")
        target.value = path
        self._touched.add(f"storage.nodes[{index}].{'disk' if field == 'disk' else 'meta_disk'}")
        self.check(everything=False)
        self.notify(_("{node}: {what} is {path}").format(
            node=self.app.spec.nodes[index].hostname, path=path,
            what=_("data partition") if field == "disk" else _("meta-data partition")), timeout=3)

    @on(DataTable.RowSelected, "#devices")
    def _selected(self) -> None:
        self._pick("disk")

    def action_pick_meta(self) -> None:
        if self.focused is not None and self.focused.id == "devices":
            self._pick("meta-disk")

    def _mode(self) -> str:
        pressed = self.query_one("#meta-mode", RadioSet).pressed_button
        return (pressed.id or "mode-indexed").removeprefix("mode-") if pressed else "indexed"

    def _sync_mode(self) -> None:
        mode = self._mode()
        explain = {
            "indexed": _("Meta-data in slot [n] of a small partition of its own: an image backup of the data "
                         "partition restores cleanly, and several mirrors can share the partition."),
            "flexible": _("Meta-data on a partition of its own, using all of it: one mirror per partition."),
            "internal": _("No extra partition. Caveat: a restore of the data partition from an image or "
                          "file-level backup loses the meta-data; it must be re-created and fully resynced."),
        }[mode]
        self.query_one("#mode-explain", Static).update(explain)
        for row in self.query(FieldRow):
            if ".meta_disk" in row.path:
                row.display = mode != "internal"
            elif ".meta_index" in row.path:
                row.display = mode == "indexed"

    def refresh_labels(self, spec: ClusterSpec) -> None:
        for i in range(2):
            name = spec.nodes[i].hostname if i < len(spec.nodes) else ""
            self.query_one(f"#node-title-{i}", Static).update(
                _("Node {n}: {name}").format(n=i + 1, name=name or "?"))

    def load_spec(self, spec: ClusterSpec, secrets: Secrets) -> None:
        s = spec.storage
        mode = s.meta_disk_mode if s.meta_disk_mode in MODES else "indexed"
        self.query_one(f"#mode-{mode}", RadioButton).value = True
        for i in range(2):
            disks = s.nodes[i] if i < len(s.nodes) else NodeDisks("")
            self.query_one(f"#disk-{i}").value = disks.disk
            self.query_one(f"#meta-disk-{i}").value = disks.meta_disk or ""
            self.query_one(f"#meta-index-{i}").value = str(disks.meta_index)
        if s.filesystem in ("ext4", "xfs"):
            self.query_one("#filesystem", Select).value = s.filesystem
        self.query_one("#mount-point").value = s.mount_point
        self.query_one("#resource").value = s.resource
        self.query_one("#minor").value = str(s.minor)
        self.query_one("#port").value = str(s.port)
        self.refresh_labels(spec)
        self._sync_mode()

    def to_spec(self, spec: ClusterSpec, secrets: Secrets) -> None:
        s = spec.storage
        # The widgets keep what was typed for the other modes, so switching
        # back restores it; the spec keeps only what the chosen mode uses.
        s.nodes = [NodeDisks(disk=self.query_one(f"#disk-{i}").value.strip(),
                             meta_disk=self.query_one(f"#meta-disk-{i}").value.strip(),
                             meta_index=int_or_text(self.query_one(f"#meta-index-{i}").value))
                   for i in range(2)]
        s.meta_disk_mode = self._mode()
        keep_used_storage(s)
        s.filesystem = self.query_one("#filesystem", Select).value
        s.mount_point = self.query_one("#mount-point").value.strip()
        s.resource = self.query_one("#resource").value.strip()
        s.minor = int_or_text(self.query_one("#minor").value)
        s.port = int_or_text(self.query_one("#port").value)
