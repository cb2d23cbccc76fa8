"""Every step at 80x24 (the smallest terminal we support) and 120x40.

Review the SVGs in tests/tui/__snapshots__ before accepting a change
(`pytest tests/tui --snapshot-update`, then look at them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from screens.app import STEP_NAMES
from tests.tui.test_fields import full_secrets
from screens.app import build_app

SIZES = [(80, 24), (120, 40)]


@pytest.fixture
def snap_app(tmp_path, monkeypatch, example_spec):
    # A relative save path keeps tmp_path out of the pictures; saving lands in tmp_path.
    monkeypatch.chdir(tmp_path)
    import screens.disks
    import screens.preflight

    monkeypatch.setattr(screens.disks, "discovery_available", lambda: False)
    # Whether this machine has zabbix-ha's SSH key must not change the pictures.
    monkeypatch.setattr(screens.preflight, "ssh_login", lambda app: ("/etc/zabbix-ha/ssh/id_ed25519", []))
    from wizard import steps

    monkeypatch.setattr(steps, "lab_installed", lambda: False)

    def make(start_at: str, secrets=True):
        app = build_app(spec=example_spec, secrets=full_secrets(example_spec) if secrets else None, lab=None,
                        answers_out=Path("zabbix-ha.yaml"), start_at=start_at, applied=None)
        # The install step's picture shows a fixed small plan: the real one grows with the core.
        from tests.tui.test_install import Fake

        app.install_backend = Fake(example_spec).backend()
        return app

    return make


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("step", STEP_NAMES)
def test_step(snap_compare, snap_app, step, size):
    assert snap_compare(snap_app(step), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_nodes_with_field_errors(snap_compare, snap_app, size):
    async def break_fields(pilot):
        screen = pilot.app.screen
        screen.query_one("#address-0").value = "192.168.10.300"
        screen.query_one("#hostname-1").value = "zbx-node1"
        await pilot.press("ctrl+n")

    assert snap_compare(snap_app("nodes", secrets=False), terminal_size=size, run_before=break_fields)


def test_review_shows_a_file_of_the_second_node(snap_compare, snap_app):
    async def open_file(pilot):
        await pilot.press("right", "right", "tab", "down", "down")

    assert snap_compare(snap_app("review"), terminal_size=(80, 24), run_before=open_file)


def test_review_without_passwords_explains_missing_files(snap_compare, snap_app):
    assert snap_compare(snap_app("review", secrets=False), terminal_size=(80, 24))


def test_quit_dialog(snap_compare, snap_app):
    async def change_and_quit(pilot):
        pilot.app.screen.query_one("#name").value = "changed"
        await pilot.press("ctrl+q")

    assert snap_compare(snap_app("nodes"), terminal_size=(80, 24), run_before=change_and_quit)


def test_fencing_none_at_80x24(snap_compare, snap_app):
    async def none(pilot):
        await pilot.press("down", "down", "enter")

    assert snap_compare(snap_app("fencing"), terminal_size=(80, 24), run_before=none)


def preflight_run(monkeypatch, findings, *then_keys):
    """Patch the preflight step to find `findings`; returns run_before: run it, then press then_keys."""
    import screens.preflight as pf

    monkeypatch.setattr(pf, "ssh_login", lambda app: ("/etc/zabbix-ha/ssh/id_ed25519", []))
    monkeypatch.setattr(pf, "run_collect", lambda *args, **kwargs: (findings, 42, 3.2))

    async def run(pilot):
        pilot.app.screen.start()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        for key in then_keys:
            await pilot.press(key)
            await pilot.pause()

    return run


def test_preflight_with_findings(snap_compare, snap_app, monkeypatch):
    from wizard.preflight.checks import Finding

    findings = [Finding("disk-in-use", "error", "zbx-node1", "/dev/sda6 is mounted on /data",
                        "choose an unused partition or unmount it"),
                Finding("time-offset", "warning", "zbx-node2", "the clock is 3 s off", "enable chrony"),
                Finding("probe-skipped", "info", None, "the source address was not probed", "")]
    assert snap_compare(snap_app("preflight"), terminal_size=(80, 24), run_before=preflight_run(monkeypatch, findings))


def test_wipe_confirmation_asks_for_the_device_path(snap_compare, snap_app, monkeypatch):
    from wizard.preflight.checks import Finding

    findings = [Finding("disk-signature", "error", "zbx-node2", "the backing device /dev/sdb1 on zbx-node2 "
                        "contains ext4", "check on zbx-node2 with `wipefs -n /dev/sdb1` that it holds nothing",
                        {"device": "/dev/sdb1"}, "wipe-disk:zbx-node2:/dev/sdb1")]
    assert snap_compare(snap_app("preflight"), terminal_size=(80, 24),
                        run_before=preflight_run(monkeypatch, findings, "f", *"/dev/sd"))
