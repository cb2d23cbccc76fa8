"""What a rerun may not change on a running cluster: the answers it was built with against the new ones.

A rerun changes a running cluster in place (install: only the difference,
live where the tools allow it). Some answers are the cluster's identity or
its data's home and have no in-place change: the node names (corosync's
node list, Pacemaker's node entries, the CIB's locations), the DRBD backing
and meta-data devices and their layout (new metadata means a new, empty
replica), the DRBD resource and minor, the filesystem and where it is
mounted (MariaDB's datadir lives there), the database it holds, the
platform and the Zabbix version (an upgrade is its own procedure). Each is
refused with the field, both values and why; nothing is changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard.spec import ClusterSpec


@dataclass(frozen=True)
class FixedChange:
    field: str
    was: str
    now: str
    why: str

    @property
    def message(self) -> str:
        return f"{self.field}: {self.was!r} -> {self.now!r} cannot change on a running cluster ({self.why})"


_WHY_DISK = "a new device means new, empty DRBD metadata: a new replica, not a change"


def _fields(spec: ClusterSpec) -> dict[str, tuple[str, str]]:
    """field path -> (value, why it is fixed)."""
    s = spec.storage
    out = {
        "name": (spec.name, "the cluster's name is in corosync's totem and every node's CIB"),
        "platform": (spec.platform, "the operating system is reinstalled, not changed by a rerun"),
        "zabbix.version": (spec.zabbix.version, "a Zabbix upgrade migrates the database: its own procedure"),
        "zabbix.db_engine": (spec.zabbix.db_engine, "the database holds Zabbix's data"),
        "zabbix.db_name": (spec.zabbix.db_name, "the database holds Zabbix's data"),
        "storage.resource": (s.resource, "DRBD's resource name is in its metadata and the CIB"),
        "storage.minor": (str(s.minor), "the DRBD device the filesystem is on"),
        "storage.meta_disk_mode": (s.meta_disk_mode, _WHY_DISK),
        "storage.filesystem": (s.filesystem, "a new filesystem is an empty one"),
        "storage.mount_point": (s.mount_point, "MariaDB's datadir is on it"),
    }
    for i, node in enumerate(spec.nodes):
        out[f"nodes[{i}].hostname"] = (node.hostname, "the node's name in corosync, Pacemaker and DRBD")
    for i, disks in enumerate(s.nodes):
        out[f"storage.nodes[{i}].disk"] = (disks.disk, _WHY_DISK)
        out[f"storage.nodes[{i}].meta_disk"] = (disks.meta_disk or "internal", _WHY_DISK)
        if s.meta_disk_mode == "indexed":
            out[f"storage.nodes[{i}].meta_index"] = (str(disks.meta_index), _WHY_DISK)
    return out


def fixed_changes(applied: ClusterSpec, new: ClusterSpec) -> list[FixedChange]:
    """Every answer that differs from the applied one where no in-place change exists ([] = the rerun may go)."""
    before, after = _fields(applied), _fields(new)
    return [FixedChange(path, was, after[path][0], why)
            for path, (was, why) in before.items() if path in after and after[path][0] != was]
