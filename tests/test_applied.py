"""The cluster applied on this machine (/etc/zabbix-ha, read back) and the refusal of
another cluster's answers on it, by the commands that change a cluster."""

from __future__ import annotations

import dataclasses
import os

import pytest

from wizard import applied as applied_mod
from wizard.answers import dump_answers, save_answers, save_secrets
from wizard.applied import OtherCluster, applied_cluster, refuse_other_cluster
from wizard.cli import main
from wizard.errors import UserError


def keep_applied(root, spec, secrets=None):
    """What the install's state step leaves on a node, under `root`."""
    d = root / "etc" / "zabbix-ha"
    d.mkdir(parents=True)
    (d / "cluster.yaml").write_text(dump_answers(spec))
    os.chmod(d / "cluster.yaml", 0o640)
    if secrets is not None:
        save_secrets(secrets, d / "secrets.yaml")
    return d


@pytest.fixture
def node_of(tmp_path, monkeypatch, spec, secrets):
    """This machine as a node of the example cluster under another name."""
    def make(name="running", with_secrets=True):
        other = dataclasses.replace(spec, name=name)
        d = keep_applied(tmp_path / "root", other, secrets if with_secrets else None)
        monkeypatch.setattr(applied_mod, "ROOT", tmp_path / "root")
        return d
    return make


def test_a_machine_without_applied_answers_has_no_cluster(tmp_path):
    assert applied_cluster(tmp_path) is None
    (tmp_path / "etc" / "zabbix-ha").mkdir(parents=True)       # the SSH trust dir alone is no cluster
    assert applied_cluster(tmp_path) is None


def test_the_applied_answers_and_secrets_are_found(tmp_path, spec, secrets):
    d = keep_applied(tmp_path, spec, secrets)
    found = applied_cluster(tmp_path)
    assert found.name == spec.name and found.path == d / "cluster.yaml"
    assert found.spec == spec
    assert found.secrets_path == d / "secrets.yaml"
    assert found.secrets.db_password == secrets.db_password and found.secrets.drbd_secret == secrets.drbd_secret


def test_without_the_secrets_file_the_answers_still_say_which_cluster(tmp_path, spec):
    keep_applied(tmp_path, spec)
    found = applied_cluster(tmp_path)
    assert found.name == spec.name and found.secrets is None and found.secrets_path is None


def test_a_broken_applied_file_is_a_user_error_naming_it_and_the_fix(tmp_path, spec):
    d = keep_applied(tmp_path, spec)
    (d / "cluster.yaml").write_text("format: 1\nname: [unclosed\n")
    with pytest.raises(UserError) as err:
        applied_cluster(tmp_path)
    assert str(d / "cluster.yaml") in err.value.message and "not valid YAML" in err.value.message
    assert "other node" in err.value.fix


def test_applied_secrets_readable_by_others_are_refused_not_trusted(tmp_path, spec, secrets):
    d = keep_applied(tmp_path, spec, secrets)
    os.chmod(d / "secrets.yaml", 0o644)
    with pytest.raises(UserError) as err:
        applied_cluster(tmp_path)
    assert str(d / "secrets.yaml") in err.value.message and "chmod 600" in err.value.fix


def test_reading_the_applied_secrets_never_writes_them(tmp_path, spec, secrets):
    """An older secrets file without the generated DRBD secret: found, not saved back."""
    d = keep_applied(tmp_path, spec, secrets)
    text = (d / "secrets.yaml").read_text()
    older = "".join(line for line in text.splitlines(True) if not line.startswith("drbd_secret"))
    (d / "secrets.yaml").write_text(older)
    assert applied_cluster(tmp_path).secrets is not None
    assert (d / "secrets.yaml").read_text() == older


def test_answers_of_the_same_cluster_pass(tmp_path, spec):
    keep_applied(tmp_path, spec)
    refuse_other_cluster(spec, "mine.yaml", root=tmp_path)
    refuse_other_cluster(spec, "mine.yaml", root=tmp_path / "elsewhere")    # no cluster here: nothing to refuse


def test_answers_of_another_cluster_are_refused_naming_both_the_file_and_the_fix(node_of, spec):
    d = node_of("running")
    with pytest.raises(OtherCluster) as err:
        refuse_other_cluster(spec, "other.yaml", "install ")
    e = err.value
    assert e.exit_code == 2
    assert "'running'" in e.message and repr(spec.name) in e.message and "other.yaml" in e.message
    assert str(d / "cluster.yaml") in e.message
    assert f"zabbix-ha install --answers {d / 'cluster.yaml'} --secrets {d / 'secrets.yaml'}" in e.fix
    assert "right answers file" in e.fix


@pytest.mark.parametrize("argv", [
    ["plan", "--offline"],
    ["install", "--yes"],
    ["--yes"],                       # the wizard, unattended
])
def test_commands_that_change_a_cluster_refuse_another_clusters_answers(node_of, spec, secrets, tmp_path, capsys,
                                                                        argv, monkeypatch):
    node_of("running")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    answers, secrets_file = tmp_path / "given.yaml", tmp_path / "given.secrets.yaml"
    save_answers(spec, answers)
    save_secrets(secrets, secrets_file)
    if argv[0] in ("plan", "install"):
        argv = [*argv, "--answers", str(answers), "--secrets", str(secrets_file)]
    else:
        argv = ["--answers", str(answers), "--secrets", str(secrets_file), *argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "'running'" in err and repr(spec.name) in err and str(answers) in err and "fix:" in err
    assert "Traceback" not in err
    assert not (tmp_path / "config").exists()        # the wizard saved nothing


def test_plan_with_this_clusters_answers_goes_on(node_of, spec, tmp_path, capsys):
    node_of(spec.name)
    answers = tmp_path / "given.yaml"
    save_answers(spec, answers)
    assert main(["plan", "--offline", "--answers", str(answers)]) == 0


@pytest.mark.parametrize("argv", [["plan", "--offline"], ["install", "--yes"]])
def test_a_rerun_that_renames_a_node_or_moves_the_drbd_disk_is_refused_before_anything(node_of, spec, secrets,
                                                                                      tmp_path, capsys, argv):
    node_of(spec.name)                               # this machine: the same cluster, as installed
    changed = dataclasses.replace(spec, nodes=[dataclasses.replace(spec.nodes[0]),
                                               dataclasses.replace(spec.nodes[1], hostname="renamed")])
    changed.storage = dataclasses.replace(spec.storage, nodes=[
        dataclasses.replace(spec.storage.nodes[0], disk="/dev/sdz1"), spec.storage.nodes[1]])
    answers, secrets_file = tmp_path / "given.yaml", tmp_path / "given.secrets.yaml"
    save_answers(changed, answers)
    save_secrets(secrets, secrets_file)
    assert main([*argv, "--answers", str(answers), "--secrets", str(secrets_file)]) == 2
    err = capsys.readouterr().err
    assert "nodes[1].hostname" in err and "'renamed'" in err and "storage.nodes[0].disk" in err
    assert "cluster.yaml" in err and "fix:" in err and "Traceback" not in err
    # A change it can make live (the timezone) is no refusal: plan goes on.
    fine = dataclasses.replace(spec, zabbix=dataclasses.replace(spec.zabbix, timezone="Europe/Berlin"))
    save_answers(fine, answers)
    assert main(["plan", "--offline", "--answers", str(answers)]) == 0
