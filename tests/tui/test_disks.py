"""Disk discovery on the disks step: the nodes' block devices, picked with keys.

`discover` (SSH + lsblk through wizard.preflight.facts) is replaced by a double returning
the core's own BlockDevice records; the screen's behaviour is under test.
"""

from __future__ import annotations

import pytest

import screens.disks as disks
import screens.preflight as pf
from tests.tui.conftest import SIZE, fill, focus
from wizard.preflight.parse import BlockDevice


def dev(name, size, type_="part", fstype=None, mounts=(), children=(), parent="sdb"):
    return BlockDevice(name=name, path=f"/dev/{name}", size=size, type=type_, fstype=fstype,
                       mountpoints=tuple(mounts), parent=parent, children=tuple(children))


@pytest.fixture
def fake_discovery(monkeypatch, tmp_path):
    monkeypatch.setattr(disks, "discovery_available", lambda: True)
    monkeypatch.setattr(pf, "ssh_login", lambda app: (str(tmp_path / "id_ed25519"), []))
    result = {
        "zbx-node1": [dev("sda", 40 << 30, "disk", children=("sda1",), parent=None),
                      dev("sda1", 40 << 30, fstype="ext4", mounts=("/",), parent="sda"),
                      dev("sdb", 20 << 30, "disk", parent=None), dev("sdb1", 20 << 30), dev("sdb2", 128 << 20)],
        "zbx-node2": "zbx-node2: SSH handshake with 192.168.10.12:22 failed",
    }
    monkeypatch.setattr(disks, "discover", lambda spec, key, hosts, accepted: result)
    return result


async def test_discovered_devices_fill_the_fields_by_keys(make_app, fake_discovery):
    app = make_app(start_at="disks")
    async with app.run_test(size=SIZE) as pilot:
        await focus(pilot, "discover")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one("#devices")
        assert table.row_count == 5
        status = str(app.screen.query_one("#discover-status").render())
        assert "5 devices found" in status and "zbx-node2: SSH handshake" in status
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert rows[1][1:] == ["/dev/sda1", "40.0 GiB", "mounted /"]
        assert rows[3][3] == "free"
        assert app.focused is table
        await pilot.press("down", "down", "down", "enter")       # sdb1 -> data partition of node 1
        await pilot.press("down", "m")                           # sdb2 -> meta-data partition of node 1
        assert app.screen.query_one("#disk-0").value == "/dev/sdb1"
        assert app.screen.query_one("#meta-disk-0").value == "/dev/sdb2"
        await pilot.press("ctrl+n")
        assert app.spec.storage.nodes[0].disk == "/dev/sdb1"
        assert app.spec.storage.nodes[0].meta_disk == "/dev/sdb2"


async def test_typing_m_in_a_field_still_types_it(make_app, fake_discovery):
    app = make_app(start_at="disks")
    async with app.run_test(size=SIZE) as pilot:
        await fill(pilot, "mount-point", "/srv/mm")
        assert app.screen.query_one("#mount-point").value == "/srv/mm"


async def test_without_a_key_discovery_says_how_to_get_one(make_app, fake_discovery, monkeypatch):
    monkeypatch.setattr(pf, "ssh_login", lambda app: (None, []))
    app = make_app(start_at="disks")
    async with app.run_test(size=SIZE) as pilot:
        await focus(pilot, "discover")
        await pilot.press("enter")
        assert "Set up SSH login" in str(app.screen.query_one("#discover-status").render())
