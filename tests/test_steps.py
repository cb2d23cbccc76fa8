"""The wizard never loses an answer (issue 14 items 7-9, 11), through the step
model (wizard.steps) and the real `zabbix-ha --answers F --yes`."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_ANSWERS
from wizard import steps
from wizard.answers import dump_answers, load_answers, load_secrets, save_answers, save_secrets
from wizard.spec import Secret, Secrets


def zabbix_ha(*args, cwd):
    return subprocess.run([sys.executable, "-m", "wizard", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL, env=dict(os.environ))


def full(spec) -> Secrets:
    return Secrets(db_password=Secret("db-secret-1"), hacluster_password=Secret("ha-secret-1"),
                   zabbix_admin_password=Secret("admin-secret-1"),
                   ipmi={n: Secret(f"bmc-{n}-pw") for n in spec.hostnames})


# -- 11: a per-user place, and what to run next --------------------------------------

def test_answers_are_saved_under_the_users_config_not_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert steps.default_answers_out() == tmp_path / "cfg" / "zabbix-ha" / "zabbix-ha.yaml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert steps.default_answers_out() == Path.home() / ".config" / "zabbix-ha" / "zabbix-ha.yaml"


def test_unattended_saves_to_the_users_place_and_says_what_next(tmp_path):
    r = zabbix_ha("--answers", EXAMPLE_ANSWERS, "--yes", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    saved = Path(os.environ["XDG_CONFIG_HOME"]) / "zabbix-ha" / "zabbix-ha.yaml"
    assert saved.is_file() and not (tmp_path / "zabbix-ha.yaml").exists()
    assert f"answers saved to {saved}" in r.stdout
    assert f"next: zabbix-ha preflight --answers {saved}" in r.stdout
    assert saved.parent.stat().st_mode & 0o077 == 0            # the directory holds secrets too
    assert steps.last_saved() == saved                          # offered for resuming next time


# -- 7: never overwrite other answers without confirmation ----------------------------

def test_unattended_refuses_to_replace_different_answers_without_force(tmp_path, spec):
    first = tmp_path / "first.yaml"
    other = tmp_path / "other.yaml"
    save_answers(spec, first)
    spec.name = "another-cluster"
    save_answers(spec, other)
    assert zabbix_ha("--answers", first, "--yes", cwd=tmp_path).returncode == 0
    saved = steps.default_answers_out()
    before = saved.read_text()
    r = zabbix_ha("--answers", other, "--yes", cwd=tmp_path)
    assert r.returncode == 2 and str(saved) in r.stderr and "--force" in r.stderr
    assert "Traceback" not in r.stderr and saved.read_text() == before
    # The same answers again replace nothing that differs: no question.
    assert zabbix_ha("--answers", first, "--yes", cwd=tmp_path).returncode == 0
    # --force replaces them.
    r = zabbix_ha("--answers", other, "--yes", "--force", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert load_answers(saved).name == "another-cluster"


def test_save_all_replaces_only_what_this_session_wrote(tmp_path, spec):
    target = tmp_path / "a.yaml"
    target.write_text("# somebody else's answers\n")
    with pytest.raises(steps.WouldOverwrite):
        steps.save_all(spec, None, target)
    assert target.read_text() == "# somebody else's answers\n"
    steps.save_all(spec, None, target, overwrite=True)
    known = dump_answers(spec)
    spec.name = "changed"
    steps.save_all(spec, None, target, known_text=known)     # what this session saved there: no question
    assert load_answers(target).name == "changed"


# -- 8: secrets beside the answers are loaded and never dropped -----------------------

def test_a_session_without_the_secrets_keeps_the_passwords_in_the_file(tmp_path, spec):
    answers = tmp_path / "a.yaml"
    secrets_file = steps.secrets_path_for(answers)
    original = full(spec)
    save_answers(spec, answers)
    save_secrets(original, secrets_file)
    # Started from the answers only, one password typed anew, saved over them.
    typed = Secrets(db_password=Secret("db-secret-NEW"))
    steps.save_all(spec, typed, answers, secrets_loaded_from=None)
    kept = load_secrets(secrets_file)
    assert kept.db_password.reveal() == "db-secret-NEW"
    assert kept.hacluster_password == original.hacluster_password
    assert kept.zabbix_admin_password == original.zabbix_admin_password
    assert kept.ipmi == original.ipmi
    assert kept.drbd_secret == original.drbd_secret               # the running cluster's DRBD secret


def test_a_session_that_loaded_the_secrets_may_clear_one(tmp_path, spec):
    answers = tmp_path / "a.yaml"
    secrets_file = steps.secrets_path_for(answers)
    save_answers(spec, answers)
    save_secrets(full(spec), secrets_file)
    loaded = load_secrets(secrets_file)
    spec.fencing.method, spec.fencing.ipmi, spec.fencing.sbd_device = "sbd", [], "/dev/disk/by-id/sbd"
    loaded.ipmi = {}                                              # the person chose SBD: BMC passwords go
    steps.save_all(spec, loaded, answers, secrets_loaded_from=secrets_file, overwrite=True)
    assert load_secrets(secrets_file).ipmi == {}


def test_unattended_takes_the_secrets_file_beside_the_answers_and_says_so(tmp_path, spec):
    answers = tmp_path / "mine.yaml"
    save_answers(spec, answers)
    save_secrets(full(spec), steps.secrets_path_for(answers))
    r = zabbix_ha("--answers", answers, "--yes", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"using the secrets file beside the answers: {steps.secrets_path_for(answers)}" in r.stderr
    saved = steps.secrets_path_for(steps.default_answers_out())
    assert load_secrets(saved).hacluster_password.reveal() == "ha-secret-1"


def test_load_start_takes_the_secrets_beside(tmp_path, spec):
    import argparse

    answers = tmp_path / "mine.yaml"
    save_answers(spec, answers)
    save_secrets(full(spec), steps.secrets_path_for(answers))
    _spec, secrets, _source = steps.load_start(argparse.Namespace(answers=str(answers), secrets=None))
    assert secrets.db_password.reveal() == "db-secret-1"


# -- 9: the lab is offered only to the person who started it -------------------------

@pytest.fixture
def fake_lab(tmp_path, monkeypatch):
    from wizard.lab import paths, state

    answers = tmp_path / "lab" / "answers.yaml"
    answers.parent.mkdir()
    answers.write_text(EXAMPLE_ANSWERS.read_text())
    monkeypatch.setattr(paths, "ANSWERS_FILE", answers)
    owner = {"name": ""}
    monkeypatch.setattr(state, "load", lambda: state.LabState(flavour="vm", block="10.0.0.0/22", ready=True,
                                                              owner=owner["name"]))
    return answers, owner


def test_someone_elses_lab_is_not_offered(fake_lab, monkeypatch):
    answers, owner = fake_lab
    monkeypatch.setenv("SUDO_USER", "alice")
    owner["name"] = "bob"
    assert steps.lab_answers() is None
    owner["name"] = ""                          # a lab from before owners were recorded
    assert steps.lab_answers() is None
    owner["name"] = "alice"
    assert steps.lab_answers() == answers


def test_lab_up_records_who_ran_it(monkeypatch):
    from wizard.lab import state

    monkeypatch.setenv("SUDO_USER", "carol")
    assert state.current_user() == "carol"
    assert "owner" in {f for f in state.LabState.__dataclass_fields__}
    import inspect

    from wizard.lab import lab
    assert "owner=state.current_user()" in inspect.getsource(lab)


# -- 11: a new cluster's defaults come from this machine ------------------------------

def test_a_new_cluster_takes_this_machines_time_zone_and_nic(tmp_path, monkeypatch):
    import argparse

    zoneinfo = tmp_path / "usr" / "share" / "zoneinfo" / "Asia"
    zoneinfo.mkdir(parents=True)
    (zoneinfo / "Tokyo").write_bytes(b"TZif")
    localtime = tmp_path / "localtime"
    localtime.symlink_to(zoneinfo / "Tokyo")
    monkeypatch.setattr(steps, "LOCALTIME", localtime)
    monkeypatch.setattr(steps, "machine_route_nic", lambda: "ens18")
    spec, _secrets, source = steps.load_start(argparse.Namespace(answers=None, secrets=None))
    assert source == "" and spec.zabbix.timezone == "Asia/Tokyo" and spec.services.vip_nics == ["ens18", "ens18"]
    assert steps.default_spec().zabbix.timezone == "Europe/Berlin"      # the documented example stays as it is


def test_without_a_readable_machine_zone_the_example_stays(tmp_path, monkeypatch):
    monkeypatch.setattr(steps, "LOCALTIME", tmp_path / "missing")
    monkeypatch.setattr(steps, "TIMEZONE_FILE", tmp_path / "missing-too")
    monkeypatch.setattr(steps, "machine_route_nic", lambda: None)
    spec = steps.new_cluster_spec()
    assert spec.zabbix.timezone == "Europe/Berlin" and spec.services.vip_nics == ["eth0", "eth0"]
