"""The preflight step runs the core's collection in a thread and gates going on.

The SSH side is replaced by a double of `run_collect` returning Findings of
the core's own type: the screen's behaviour is under test, not the network.
"""

from __future__ import annotations

import pytest

import screens.preflight as pf
from tests.tui.conftest import SIZE, focus
from tests.tui.test_fields import full_secrets
from wizard.preflight.checks import Finding


@pytest.fixture
def fake_core(monkeypatch, tmp_path):
    calls = []
    results = []

    def run_collect(spec, secrets, ssh_key, known_hosts, accepted, forced=()):
        calls.append({"key": ssh_key, "accepted": list(accepted), "secrets": secrets, "forced": set(forced)})
        return results.pop(0), 12, 0.5

    monkeypatch.setattr(pf, "run_collect", run_collect)
    monkeypatch.setattr(pf, "ssh_login", lambda app: (str(tmp_path / "id_ed25519"), []))
    return calls, results


def disk_error():
    return Finding("disk-in-use", "error", "zbx-node1", "/dev/sda6 is mounted on /data",
                   "choose an unused partition or unmount it")


async def run_preflight(pilot):
    await focus(pilot, "run")
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_errors_are_listed_with_their_fix_and_block_going_on(make_app, example_spec, fake_core):
    calls, results = fake_core
    results.append([disk_error(), Finding("time-offset", "warning", "zbx-node2", "clock 3 s off", "enable chrony")])
    app = make_app(start_at="preflight", secrets=full_secrets(example_spec))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+n")
        assert app.screen.name == "preflight"                 # not run yet: cannot go on
        await run_preflight(pilot)
        assert app.screen.query_one("#findings").row_count == 2
        detail = str(app.screen.query_one("#detail").render())
        assert "/dev/sda6 is mounted on /data" in detail and "choose an unused partition" in detail
        await pilot.press("ctrl+n")
        assert app.screen.name == "preflight"
        assert calls[0]["secrets"] is not None                # complete secrets are passed on


async def test_a_clean_run_lets_the_person_go_on(make_app, example_spec, fake_core):
    calls, results = fake_core
    results.append([Finding("probe-skipped", "info", None, "nothing probed", "")])
    app = make_app(start_at="preflight", secrets=full_secrets(example_spec))
    async with app.run_test(size=SIZE) as pilot:
        await run_preflight(pilot)
        await pilot.press("ctrl+n")
        assert app.screen.name == "install"


async def test_an_unknown_host_key_is_asked_about_then_trusted(make_app, example_spec, fake_core):
    calls, results = fake_core
    results.append([Finding("host-key-unknown", "error", "zbx-node2", "first contact", "compare it",
                            {"fingerprint": "SHA256:abc", "key_type": "ssh-ed25519"})])
    results.append([])
    app = make_app(start_at="preflight", secrets=full_secrets(example_spec))
    async with app.run_test(size=SIZE) as pilot:
        await run_preflight(pilot)
        assert type(app.screen).__name__ == "TrustHostKeyDialog"
        await focus(pilot, "trust")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert calls[1]["accepted"] == ["SHA256:abc"]
        assert app.screen.query_one("#findings").row_count == 0


async def test_without_an_ssh_key_it_says_how_to_get_one(make_app, monkeypatch):
    monkeypatch.setattr(pf, "ssh_login", lambda app: (None, []))
    app = make_app(start_at="preflight")
    async with app.run_test(size=SIZE) as pilot:
        assert "zabbix-ha preflight --answers" in str(app.screen.query_one("#run-status").render())
        await pilot.press("ctrl+n")          # nothing can be checked here: the person may look ahead
        assert app.screen.name == "install"


async def test_a_wipe_is_accepted_only_after_typing_the_device(make_app, example_spec, fake_core):
    calls, results = fake_core
    code = "wipe-disk:zbx-node1:/dev/sda6"
    wipe = Finding("disk-signature", "error", "zbx-node1", "/dev/sda6 holds an ext4 signature",
                   "check it holds nothing you need, then confirm wiping it", {"device": "/dev/sda6"}, code)
    results.append([wipe])
    results.append([Finding("disk-signature", "warning", "zbx-node1", "/dev/sda6 WILL BE WIPED", "")])
    app = make_app(start_at="preflight", secrets=full_secrets(example_spec))
    async with app.run_test(size=SIZE) as pilot:
        await run_preflight(pilot)
        assert f"Press f to accept this ({code})" in str(app.screen.query_one("#detail").render())
        await pilot.press("f")
        await pilot.pause()
        assert type(app.screen).__name__ == "TypedConfirmDialog"
        await pilot.press("enter")                    # nothing typed: a reflexive Enter accepts nothing
        await pilot.pause()
        assert type(app.screen).__name__ == "TypedConfirmDialog"
        await pilot.press(*"/dev/sda")                # another device's name does not enable Accept
        await pilot.pause()
        assert app.screen.query_one("#yes").disabled
        await pilot.press("enter")
        await pilot.press("escape")                   # cancelled: nothing accepted, nothing re-run
        await pilot.pause()
        assert app.forced == set() and len(calls) == 1
        await pilot.press("f")
        await pilot.pause()
        await pilot.press(*"/dev/sda6")
        await pilot.pause()
        assert not app.screen.query_one("#yes").disabled
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert calls[1]["forced"] == {code}
        await pilot.press("ctrl+n")
        assert app.screen.name == "install"           # only a warning is left
