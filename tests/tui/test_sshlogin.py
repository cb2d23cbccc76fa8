"""Setting up SSH login from the nodes step: password once, host key confirmed.

`setup_login` (wizard.sshtrust over the network) is replaced by a double; the
dialogs, the worker and what the screen reports are under test.
"""

from __future__ import annotations

import pytest

import screens.sshlogin as sshlogin
from tests.tui.conftest import SIZE, focus
from tests.tui.test_fields import full_secrets
from wizard.sshtrust import HostKeyInfo


@pytest.fixture
def fake_login(monkeypatch):
    calls, results = [], []

    def setup_login(spec, password, accepted):
        calls.append({"password": password, "accepted": list(accepted)})
        return results.pop(0)

    monkeypatch.setattr(sshlogin, "setup_login", setup_login)
    return calls, results


async def press_setup(pilot, password: str):
    await focus(pilot, "ssh-setup")
    await pilot.press("enter")
    await pilot.pause()
    assert type(pilot.app.screen).__name__ == "PasswordDialog"
    await pilot.press(*password, "enter")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def test_password_installs_the_key_and_is_not_kept(make_app, example_spec, fake_login, tmp_path):
    calls, results = fake_login
    results.append([sshlogin.LoginResult("zbx-node1", True, "this machine: no SSH needed"),
                    sshlogin.LoginResult("zbx-node2", True, "logs in with zabbix-ha's key")])
    app = make_app(start_at="nodes", secrets=full_secrets(example_spec))
    async with app.run_test(size=SIZE) as pilot:
        await press_setup(pilot, "s3cret")
        assert calls == [{"password": "s3cret", "accepted": []}]
        status = str(app.screen.query_one("#ssh-status").render())
        assert "✓ zbx-node2: logs in with zabbix-ha's key" in status
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = (tmp_path / "zabbix-ha.yaml").read_text() + (tmp_path / "zabbix-ha.secrets.yaml").read_text()
    assert "s3cret" not in saved


async def test_unknown_host_key_is_confirmed_then_the_set_up_runs_again(make_app, example_spec, fake_login):
    calls, results = fake_login
    info = HostKeyInfo("192.168.10.12", 22, "ssh-ed25519", "SHA256:xyz")
    results.append([sshlogin.LoginResult("zbx-node2", False, "first contact", info)])
    results.append([sshlogin.LoginResult("zbx-node2", True, "logs in with zabbix-ha's key")])
    app = make_app(start_at="nodes", secrets=full_secrets(example_spec))
    async with app.run_test(size=SIZE) as pilot:
        await press_setup(pilot, "pw")
        assert type(app.screen).__name__ == "TrustHostKeyDialog"
        await focus(pilot, "trust")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert calls[1] == {"password": "pw", "accepted": ["SHA256:xyz"]}
        assert "✓ zbx-node2" in str(app.screen.query_one("#ssh-status").render())


async def test_escape_cancels_without_connecting(make_app, fake_login):
    calls, _results = fake_login
    app = make_app(start_at="nodes")
    async with app.run_test(size=SIZE) as pilot:
        await focus(pilot, "ssh-setup")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("escape")
        assert app.screen.name == "nodes" and calls == []
