"""The welcome step on a node of a running cluster: "Change this cluster" starts
from the answers the install kept in /etc/zabbix-ha (issue 12, item 1)."""

from __future__ import annotations

import argparse

import pytest

from screens.app import build_app
from tests.test_applied import keep_applied
from tests.tui.conftest import SIZE, choose, fill
from tests.tui.test_fields import error_text, full_secrets
from wizard import applied as applied_mod
from wizard.answers import load_answers, save_answers
from wizard.applied import OtherCluster, applied_cluster


@pytest.fixture
def running(tmp_path, example_spec, monkeypatch):
    """This machine as a node of cluster "prod", its answers and secrets kept under a test root."""
    import copy

    spec = copy.deepcopy(example_spec)
    spec.name = "prod"
    spec.zabbix.server_name = "zabbix.prod.example"
    root = tmp_path / "root"
    keep_applied(root, spec, full_secrets(spec))
    monkeypatch.setattr(applied_mod, "ROOT", root)
    return applied_cluster()


async def test_on_a_cluster_node_changing_it_is_offered_first_and_loads_its_answers(make_app, running, tmp_path):
    app = make_app(applied=running)
    async with app.run_test(size=SIZE) as pilot:
        rerun = app.screen.query_one("#start-rerun")
        assert not rerun.disabled and rerun.value                  # the default
        label = str(rerun.label)
        assert "Change this cluster (prod, the answers applied at" in label and str(running.path) in label
        assert not app.screen.query_one("#start-new").value
        await pilot.press("ctrl+n")
        assert app.screen.name == "nodes"
        assert app.screen.query_one("#name").value == "prod"
        assert app.spec.zabbix.server_name == "zabbix.prod.example"
        assert app.secrets.db_password.reveal() == "db-secret-123"
        assert app.secrets.drbd_secret == running.secrets.drbd_secret     # the running cluster's, not a new one
        assert app.source == str(running.path) and app.secrets_source == running.secrets_path
        await pilot.press("ctrl+s")
        await pilot.pause()
    # Saved where the welcome step said, never over the applied answers.
    assert app.answers_out == tmp_path / "zabbix-ha.yaml"
    assert load_answers(tmp_path / "zabbix-ha.yaml").name == "prod"
    assert load_answers(running.path).zabbix.server_name == "zabbix.prod.example"


async def test_at_80_columns_the_choice_wraps_instead_of_cutting_the_path(make_app, running):
    from dataclasses import replace
    from pathlib import Path

    app = make_app(applied=replace(running, path=Path("/etc/zabbix-ha/cluster.yaml")))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        rerun = app.screen.query_one("#start-rerun")
        assert rerun.region.height == 2
        shown = " ".join(line.plain.strip() for line in rerun.render().wrap(rerun.content_region.width))
        assert shown.endswith("(prod, the answers applied at /etc/zabbix-ha/cluster.yaml)")


async def test_without_its_secrets_the_choice_says_so(make_app, running):
    from dataclasses import replace

    app = make_app(applied=replace(running, secrets=None, secrets_path=None))
    async with app.run_test(size=SIZE) as pilot:
        assert "secrets were not read (run as root" in str(app.screen.query_one("#start-rerun").label)
        await pilot.press("ctrl+n")
        assert app.screen.query_one("#name").value == "prod"
        assert not app.secrets.db_password


async def test_answers_given_on_the_command_line_stay_the_default_beside_this_cluster(tmp_path, running):
    given = tmp_path / "prod-edited.yaml"
    save_answers(running.spec, given)
    app = build_app(argparse.Namespace(answers=str(given), secrets=None), lab=None,
                    answers_out=tmp_path / "out.yaml")
    async with app.run_test(size=SIZE):
        assert app.screen.query_one("#start-loaded").value
        rerun = app.screen.query_one("#start-rerun")
        assert not rerun.value and not rerun.disabled


async def test_on_a_machine_without_a_cluster_the_choice_is_disabled_with_the_reason(make_app):
    app = make_app(applied=None)
    async with app.run_test(size=SIZE):
        rerun = app.screen.query_one("#start-rerun")
        assert rerun.disabled and "no cluster installed on this machine" in str(rerun.label)
        assert app.screen.query_one("#start-new").value


async def test_broken_applied_answers_are_explained_not_a_traceback(tmp_path, example_spec, monkeypatch):
    root = tmp_path / "root"
    d = keep_applied(root, example_spec)
    (d / "cluster.yaml").write_text("format: 1\nname: [unclosed\n")
    monkeypatch.setattr(applied_mod, "ROOT", root)
    app = build_app(spec=example_spec, lab=None, answers_out=tmp_path / "out.yaml")
    async with app.run_test(size=SIZE) as pilot:
        rerun = app.screen.query_one("#start-rerun")
        assert rerun.disabled and "cannot be used (see below)" in str(rerun.label)
        problem = str(app.screen.query_one("#applied-problem").render())
        assert str(d / "cluster.yaml") in problem and "other node" in problem
        await pilot.press("ctrl+n")                    # a new cluster can still be started
        assert app.screen.name == "nodes"


async def test_an_answers_file_of_another_cluster_is_refused_on_this_node(make_app, running, example_spec, tmp_path):
    other = tmp_path / "other.yaml"
    save_answers(example_spec, other)
    app = make_app(applied=running)
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "start", "start-file")
        await fill(pilot, "load-path", str(other))
        await pilot.press("ctrl+n")
        assert app.screen.name == "welcome"
        shown = error_text(app, "welcome.load")
        assert "'prod'" in shown and repr(example_spec.name) in shown and str(running.path) in shown


def test_the_wizard_started_with_another_clusters_answers_is_refused(running, example_spec, tmp_path):
    other = tmp_path / "other.yaml"
    save_answers(example_spec, other)
    with pytest.raises(OtherCluster) as err:
        build_app(argparse.Namespace(answers=str(other), secrets=None), lab=None, answers_out=tmp_path / "o.yaml")
    assert err.value.exit_code == 2


@pytest.fixture
def plain_on_the_node(monkeypatch, running):
    from screens import plain
    from wizard import steps

    monkeypatch.setattr(steps, "lab_answers", lambda: None)
    monkeypatch.setattr(steps, "last_saved", lambda: None)
    monkeypatch.setattr(plain, "PLAIN_STEPS", ())       # the questions themselves: tests/tui/test_modes.py
    return running


def test_plain_mode_offers_this_cluster_first_and_starts_from_its_answers(plain_on_the_node, tmp_path, capsys):
    from tests.tui.test_modes import CLEAR, KEEP, run_plain_with
    from wizard.answers import load_secrets

    out = tmp_path / "plain.yaml"
    args = argparse.Namespace(answers=None, secrets=None, plain=True, yes=False)
    assert run_plain_with([KEEP, CLEAR + f"{out}\r"], args) == 0
    assert load_answers(out) == plain_on_the_node.spec
    saved = load_secrets(tmp_path / "plain.secrets.yaml")
    assert saved.db_password.reveal() == "db-secret-123" and saved.drbd_secret == plain_on_the_node.secrets.drbd_secret


def test_plain_mode_refuses_another_clusters_answers_file_on_this_node(plain_on_the_node, example_spec, tmp_path):
    from tests.tui.test_modes import DOWN, run_plain_with

    other = tmp_path / "other.yaml"
    save_answers(example_spec, other)
    args = argparse.Namespace(answers=None, secrets=None, plain=True, yes=False)
    with pytest.raises(OtherCluster):          # choices: this cluster, a new cluster, an answers file
        run_plain_with([DOWN + DOWN + "\r", f"{other}\r"], args)
