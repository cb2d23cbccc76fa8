"""Step 3: the DRBD backing device and meta-data of each node."""

from __future__ import annotations

import importlib.util

from textual.app import ComposeResult
from textual.widgets import RadioButton, RadioSet, Select, Static

from screens.base import Prose, FieldRow, StepScreen, int_or_text, text_input
from wizard.i18n import _
from wizard.interactive import STEP_FIELDS, keep_used_storage
from wizard.spec import ClusterSpec, NodeDisks, Secrets

MODES = ("indexed", "flexible", "internal")


def discovery_available() -> bool:
    """Discovery needs the facts and remote modules (their own issue)."""
    return all(importlib.util.find_spec(m) is not None for m in ("wizard.facts", "wizard.remote"))


class DisksScreen(StepScreen):
    NAME = "disks"
    PREFIXES = STEP_FIELDS["disks"]

    def intro(self) -> str:
        return _("The partition DRBD mirrors between the nodes; the database lives on it. "
                 "Its contents are replaced: choose an empty partition.")

    def compose_form(self) -> ComposeResult:
        if discovery_available():
            yield Prose(_("Disk discovery is installed but this wizard does not call it yet: "
                           "type the device paths."), classes="unavailable", id="discovery")
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
