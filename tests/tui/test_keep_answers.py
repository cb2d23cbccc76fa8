"""The TUI never loses an answer (issue 14 items 7-9, 11), at 80x24 with Pilot."""

from __future__ import annotations

from wizard import steps
from wizard.answers import load_answers, load_secrets, save_answers, save_secrets
from wizard.spec import Secret, Secrets

from tests.tui.conftest import SIZE, choose, fill


def test_the_default_save_place_is_the_users_not_the_current_directory(tmp_path, monkeypatch, make_app):
    monkeypatch.chdir(tmp_path)
    from screens.app import build_app

    app = build_app(lab=None)
    assert app.answers_out == steps.default_answers_out()
    assert tmp_path not in app.answers_out.parents


async def test_resume_is_offered_and_chosen_when_answers_were_saved(example_spec, tmp_path):
    from screens.app import build_app

    example_spec.name = "saved-before"
    save_answers(example_spec, steps.default_answers_out())
    save_secrets(Secrets(hacluster_password=Secret("ha-secret-1")),
                 steps.secrets_path_for(steps.default_answers_out()))
    app = build_app(lab=None)
    async with app.run_test(size=SIZE) as pilot:
        resume = app.screen.query_one("#start-resume")
        assert resume.value and str(steps.default_answers_out()) in str(resume.label)
        assert not app.screen.query_one("#start-lab").value
        await pilot.press("ctrl+n")
        assert app.screen.name == "nodes" and app.screen.query_one("#name").value == "saved-before"
        assert app.secrets.hacluster_password.reveal() == "ha-secret-1"     # its secrets came along


async def test_saving_over_other_answers_asks_first(make_app, example_spec, tmp_path):
    target = tmp_path / "zabbix-ha.yaml"
    other = load_answers(steps.EXAMPLE_ANSWERS)
    other.name = "somebody-elses"
    save_answers(other, target)
    app = make_app(start_at="nodes", answers_out=target)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmDialog"
        assert load_answers(target).name == "somebody-elses"        # nothing replaced yet
        await pilot.press("escape")                                  # Cancel keeps them
        await pilot.pause()
        assert load_answers(target).name == "somebody-elses"
        await pilot.press("ctrl+s")
        await pilot.pause()
        await pilot.click("#yes")
        await pilot.pause()
        assert load_answers(target).name == example_spec.name
        # From now on this session's own file: saving again asks nothing.
        await fill(pilot, "name", "renamed")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert type(app.screen).__name__ != "ConfirmDialog"
        assert load_answers(target).name == "renamed"


async def test_saving_without_the_secrets_keeps_the_passwords_in_the_file(make_app, example_spec, tmp_path):
    target = tmp_path / "zabbix-ha.yaml"
    save_answers(example_spec, target)
    original = Secrets(db_password=Secret("db-secret-1"), hacluster_password=Secret("ha-secret-1"),
                       zabbix_admin_password=Secret("admin-secret-1"),
                       ipmi={n: Secret("bmc-pass-1") for n in example_spec.hostnames})
    save_secrets(original, steps.secrets_path_for(target))
    app = make_app(start_at="nodes", answers_out=target, secrets=Secrets(hacluster_password=Secret("typed-anew-1")))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+s")
        await pilot.pause()
    kept = load_secrets(steps.secrets_path_for(target))
    assert kept.hacluster_password.reveal() == "typed-anew-1"
    assert kept.db_password == original.db_password and kept.ipmi == original.ipmi
    assert kept.drbd_secret == original.drbd_secret


def test_on_exit_the_wizard_says_what_was_saved_and_what_next(tmp_path, monkeypatch, capsys, example_spec):
    import argparse

    from screens import app as app_module

    saved = [tmp_path / "a.yaml", tmp_path / "a.secrets.yaml"]

    class Finished:
        saved_to = saved

        def run(self):
            return 0

    monkeypatch.setattr(app_module, "build_app", lambda args: Finished())
    assert app_module.run_tui(argparse.Namespace()) == 0
    out = capsys.readouterr().out
    assert f"answers saved to {saved[0]}" in out and f"secrets saved to {saved[1]}" in out
    assert f"next: zabbix-ha preflight --answers {saved[0]} --secrets {saved[1]}" in out


async def test_someone_elses_lab_is_not_offered(make_app, monkeypatch, tmp_path):
    from screens.app import build_app
    from wizard.lab import paths, state

    answers = tmp_path / "lab.yaml"
    answers.write_text(steps.EXAMPLE_ANSWERS.read_text())
    monkeypatch.setattr(paths, "ANSWERS_FILE", answers)
    monkeypatch.setattr(state, "load", lambda: state.LabState(flavour="vm", block="10.0.0.0/22", ready=True,
                                                              owner="somebody-else"))
    app = build_app()
    async with app.run_test(size=SIZE):
        assert app.screen.query_one("#start-lab").disabled
        assert app.screen.query_one("#start-new").value
