"""Answers and secrets files: strict loading, lossless round trip, 0600 secrets."""

import os
import stat

import pytest
import yaml

from tests.conftest import EXAMPLE_ANSWERS
from wizard.answers import (AnswersError, dump_answers, load_answers, load_secrets, save_answers,
                            save_secrets, write_atomic)


def test_round_trip_is_lossless(spec, tmp_path):
    spec.links[1].prefix = 28
    spec.storage.nodes[1].meta_index = 3
    spec.services.vip_nics = ["eth0", "ens18"]
    path = tmp_path / "answers.yaml"
    save_answers(spec, path)
    assert load_answers(path) == spec
    # and saving what was loaded gives the same bytes
    save_answers(load_answers(path), tmp_path / "again.yaml")
    assert (tmp_path / "again.yaml").read_text() == path.read_text()


def test_answers_file_holds_no_secret(spec, secrets, tmp_path):
    save_answers(spec, tmp_path / "a.yaml")
    text = (tmp_path / "a.yaml").read_text()
    for value in secrets.values():
        assert value not in text


def test_example_documents_every_field(spec):
    """Every key the dumper writes appears in the documented example."""
    example = yaml.safe_load(EXAMPLE_ANSWERS.read_text())
    dumped = yaml.safe_load(dump_answers(spec))

    def keys(data, prefix=""):
        out = set()
        if isinstance(data, dict):
            for k, v in data.items():
                out |= {f"{prefix}{k}"} | keys(v, f"{prefix}{k}.")
        elif isinstance(data, list) and data:
            out |= keys(data[0], prefix)
        return out

    assert keys(dumped) == keys(example)


def _write(tmp_path, text):
    path = tmp_path / "answers.yaml"
    path.write_text(text)
    return path


def _example_with(tmp_path, old, new):
    text = EXAMPLE_ANSWERS.read_text()
    assert old in text
    return _write(tmp_path, text.replace(old, new, 1))


@pytest.mark.parametrize("old,new,expected", [
    ("  filesystem: ext4", "  filesytem: ext4", "storage.filesytem: unknown key 'filesytem'"),
    ("    ssh_port: 22", "    ssh_port: twenty-two", "nodes[0].ssh_port: expected a whole number"),
    ("  meta_disk_mode: indexed", "  meta_disk_mode: sideways", "storage.meta_disk_mode: 'sideways' is not allowed"),
    ("      lanplus: true", "      lanplus: maybe", "fencing.ipmi[0].lanplus: expected true or false"),
    ("format: 1", "format: 7", "format: version 7 is not supported"),
    ("format: 1", "", "format: required key is missing"),
    ("name: zbx-cluster", "nmae: zbx-cluster", "nmae: unknown key"),
    ("  vip_nics: [eth0, eth0]", "  vip_nics: eth0", "services.vip_nics: expected a list"),
])
def test_bad_answers_name_the_key(tmp_path, old, new, expected):
    path = _example_with(tmp_path, old, new)
    with pytest.raises(AnswersError) as info:
        load_answers(path)
    assert expected in str(info.value)
    assert info.value.fix


def test_missing_required_key(tmp_path):
    path = _write(tmp_path, "format: 1\nname: x\n")
    with pytest.raises(AnswersError, match="nodes: required key is missing"):
        load_answers(path)


def test_yaml_syntax_error_names_line(tmp_path):
    path = _write(tmp_path, "format: 1\nname: [unclosed\n")
    with pytest.raises(AnswersError, match="not valid YAML at line"):
        load_answers(path)


def test_missing_file(tmp_path):
    with pytest.raises(AnswersError, match="does not exist"):
        load_answers(tmp_path / "nope.yaml")


def test_version_written_as_float_is_accepted(tmp_path):
    path = _example_with(tmp_path, "  version: '6.0'", "  version: 6.0")
    assert load_answers(path).zabbix.version == "6.0"


def test_secrets_file_is_0600_and_round_trips(secrets, tmp_path):
    path = tmp_path / "secrets.yaml"
    save_secrets(secrets, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secrets(path) == secrets


def test_secrets_file_readable_by_others_is_refused(secrets, tmp_path):
    path = tmp_path / "secrets.yaml"
    save_secrets(secrets, path)
    os.chmod(path, 0o644)
    with pytest.raises(AnswersError, match="chmod 600"):
        load_secrets(path)


def test_example_secrets_load_once_protected(tmp_path):
    src = EXAMPLE_ANSWERS.parent / "two-node.secrets.example.yaml"
    path = tmp_path / "s.yaml"
    path.write_text(src.read_text())
    path.chmod(0o600)
    assert set(load_secrets(path).ipmi) == {"zbx-node1", "zbx-node2"}


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    path = tmp_path / "file"
    write_atomic(path, "old")

    class Boom:
        def __str__(self):
            raise RuntimeError

    with pytest.raises(TypeError):
        write_atomic(path, Boom())  # not text: the write fails midway
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_old_secrets_file_gets_the_generated_drbd_secret_once(tmp_path, capsys):
    """A secrets file from before drbd_secret existed: the secret is generated,
    saved back (0600, atomically) with a message, and the same on every later load."""
    src = EXAMPLE_ANSWERS.parent / "two-node.secrets.example.yaml"
    path = tmp_path / "s.yaml"
    path.write_text(src.read_text())
    path.chmod(0o600)
    assert "\ndrbd_secret:" not in path.read_text()
    first = load_secrets(path)
    err = capsys.readouterr().err
    assert f"secrets file {path}: generated drbd_secret and saved it (mode 0600)" in err
    assert first.drbd_secret.reveal() not in err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert f"drbd_secret: {first.drbd_secret.reveal()}" in path.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["s.yaml"]          # no temp file left
    again = load_secrets(path)
    assert again == first and capsys.readouterr().err == ""
    assert first.drbd_secret.reveal() in first.values()
    assert first.drbd_secret.reveal() not in first.typed_values()


def test_generated_secret_that_cannot_be_saved_is_an_error(tmp_path, monkeypatch):
    """Never go on with a secret that the next run would not see."""
    import wizard.answers as answers

    src = EXAMPLE_ANSWERS.parent / "two-node.secrets.example.yaml"
    path = tmp_path / "s.yaml"
    path.write_text(src.read_text())
    path.chmod(0o600)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(answers, "write_atomic", refuse)
    with pytest.raises(AnswersError, match="cannot save the generated drbd_secret: Permission denied"):
        load_secrets(path)
