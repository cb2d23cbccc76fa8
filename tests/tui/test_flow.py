"""Drive the wizard by keys from welcome to review and check what it saves."""

from __future__ import annotations

import copy

from tests.tui.conftest import SIZE, choose, fill
from wizard.answers import dump_answers, load_answers, load_secrets
from wizard.spec import NO_FENCING_ACKNOWLEDGEMENT, Fencing


def expected_spec(example):
    """The example answers with the changes the flow test types."""
    spec = copy.deepcopy(example)
    spec.name = "prod-zbx"
    spec.nodes[0].hostname = "zbx-a"
    spec.nodes[1].hostname = "zbx-b"
    spec.services.vip = "192.168.10.50"
    spec.zabbix.sizing = "medium"
    spec.fencing = Fencing(method="none", acknowledgement=NO_FENCING_ACKNOWLEDGEMENT)
    return spec


async def type_flow_answers(pilot) -> None:
    """Welcome → review, typing the changes of expected_spec()."""
    app = pilot.app
    assert app.screen.name == "welcome"
    await pilot.press("ctrl+n")
    assert app.screen.name == "nodes"
    await fill(pilot, "name", "prod-zbx")
    await fill(pilot, "hostname-0", "zbx-a")
    await fill(pilot, "hostname-1", "zbx-b")
    await fill(pilot, "hacluster-password", "hacluster-secret")
    await pilot.press("ctrl+n")
    assert app.screen.name == "disks"
    await pilot.press("ctrl+n")
    assert app.screen.name == "interconnect"
    await pilot.press("ctrl+n")
    assert app.screen.name == "services"
    await fill(pilot, "vip", "192.168.10.50")
    await pilot.press("ctrl+n")
    assert app.screen.name == "zabbix"
    await choose(pilot, "sizing", "tier-medium")
    await fill(pilot, "db-password", "db-secret-123")
    await fill(pilot, "admin-password", "admin-secret-123")
    await pilot.press("ctrl+n")
    assert app.screen.name == "fencing"
    await choose(pilot, "method", "method-none")
    await fill(pilot, "ack", NO_FENCING_ACKNOWLEDGEMENT)
    await pilot.press("ctrl+n")
    assert app.screen.name == "review", app.screen._shown


async def test_whole_wizard_by_keys_saves_the_answers(make_app, example_spec, tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_flow_answers(pilot)
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = tmp_path / "zabbix-ha.yaml"
    assert saved.read_text() == dump_answers(expected_spec(example_spec))
    assert load_answers(saved) == expected_spec(example_spec)
    secrets_file = tmp_path / "zabbix-ha.secrets.yaml"
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    secrets = load_secrets(secrets_file)
    assert secrets.db_password.reveal() == "db-secret-123"
    assert secrets.hacluster_password.reveal() == "hacluster-secret"
    assert secrets.ipmi == {}


async def test_review_lists_every_rendered_file_per_node(make_app, example_spec):
    from wizard.render import render

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await type_flow_answers(pilot)
        screen = app.screen
        files = screen.query_one("#files-0")
        shown = [files.get_option_at_index(i).id for i in range(files.option_count)]
        tree = render(app.spec, app.secrets)
        assert shown == list(tree["zbx-a"])
        # Secret files are listed, their passwords masked in the viewer.
        secret_path = next(p for p, f in tree["zbx-a"].items() if f.secret)
        screen._show_file(0, secret_path)
        text = str(screen.query_one("#file-0").render())
        assert "db-secret-123" not in text


async def test_ctrl_s_saves_on_the_first_step(make_app, example_spec, tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert (tmp_path / "zabbix-ha.yaml").read_text() == dump_answers(example_spec)
    assert not (tmp_path / "zabbix-ha.secrets.yaml").exists()    # no password given yet
