"""What a rerun may not change on a running cluster."""

from __future__ import annotations

import copy

import pytest

from wizard.rerun import fixed_changes
from wizard.spec import Link


def test_the_changes_issue_12_asks_for_are_allowed(spec):
    new = copy.deepcopy(spec)
    new.links.append(Link(["10.9.9.1", "10.9.9.2"]))
    new.services.vip = "192.168.10.99"
    new.zabbix.sizing = "medium"
    new.zabbix.timezone = "Europe/Berlin"
    new.fencing.method = "sbd"
    new.fencing.sbd_device = "/dev/disk/by-id/shared"
    new.nodes[1].address = "192.168.10.42"
    assert fixed_changes(spec, new) == []


@pytest.mark.parametrize("path, change", [
    ("name", lambda s: setattr(s, "name", "other")),
    ("nodes[1].hostname", lambda s: setattr(s.nodes[1], "hostname", "renamed")),
    ("storage.nodes[0].disk", lambda s: setattr(s.storage.nodes[0], "disk", "/dev/sdz1")),
    ("storage.nodes[1].meta_disk", lambda s: setattr(s.storage.nodes[1], "meta_disk", "/dev/sdy1")),
    ("storage.resource", lambda s: setattr(s.storage, "resource", "r1")),
    ("storage.filesystem", lambda s: setattr(s.storage, "filesystem", "xfs")),
    ("storage.mount_point", lambda s: setattr(s.storage, "mount_point", "/srv/other")),
    ("zabbix.version", lambda s: setattr(s.zabbix, "version", "7.0")),
    ("zabbix.db_name", lambda s: setattr(s.zabbix, "db_name", "zbx2")),
    ("platform", lambda s: setattr(s, "platform", "debian13")),
])
def test_a_change_with_no_in_place_path_is_named_with_both_values_and_why(spec, path, change):
    new = copy.deepcopy(spec)
    change(new)
    (found,) = fixed_changes(spec, new)
    assert found.field == path and found.was != found.now
    assert path in found.message and "running cluster" in found.message and found.why
