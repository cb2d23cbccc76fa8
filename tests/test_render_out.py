"""`render --out DIR` owns the directory it wrote (issue 12 item 5).

A rerun replaces its files and removes those it no longer renders (and the
directories that left empty); a file the person added is kept; a non-empty
directory without the manifest, or with a manifest that is not ours or
points outside, is refused with exit 2 before anything is written.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import EXAMPLE_ANSWERS
from wizard.answers import load_answers, save_answers, save_secrets
from wizard.cli import main
from wizard.outdir import MANIFEST_NAME

SBD = "zbx-node1/etc/default/sbd"
IPMI_PW = "zbx-node1/etc/zabbix-ha/ipmi-password-zbx-node2"


def _sbd(spec):
    spec.fencing.method = "sbd"
    spec.fencing.ipmi = []
    spec.fencing.sbd_device = "/dev/disk/by-id/scsi-shared-sbd"
    return spec


def _ipmi(spec):
    spec.fencing.method, spec.fencing.sbd_device = "ipmi", ""
    spec.fencing.ipmi = load_answers(EXAMPLE_ANSWERS).fencing.ipmi
    return spec


def _render(tmp_path, spec, out, secrets=None, name="answers.yaml"):
    answers = tmp_path / name
    save_answers(spec, answers)
    argv = ["render", "--answers", str(answers), "--out", str(out)]
    if secrets is not None:
        save_secrets(secrets, tmp_path / "secrets.yaml")
        argv += ["--secrets", str(tmp_path / "secrets.yaml")]
    return main(argv)


def _files_under(out):
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


def _listed(out):
    return json.loads((out / MANIFEST_NAME).read_text())["files"]


def test_first_render_lists_exactly_what_it_wrote(tmp_path, spec):
    out = tmp_path / "out"
    assert _render(tmp_path, spec, out) == 0
    data = json.loads((out / MANIFEST_NAME).read_text())
    assert data["written_by"] == "zabbix-ha render" and data["version"]
    assert data["files"] == sorted(f for f in _files_under(out) if f != MANIFEST_NAME)
    assert "zbx-node2/etc/corosync/corosync.conf" in data["files"]


def test_rerun_removes_what_is_no_longer_rendered_and_its_empty_directory(tmp_path, spec, capsys):
    out = tmp_path / "out"
    assert _render(tmp_path, _sbd(spec), out) == 0
    assert (out / SBD).is_file()
    _ipmi(spec)                                  # back to IPMI: /etc/default/sbd is no longer rendered
    assert _render(tmp_path, spec, out) == 0
    assert not (out / SBD).exists()
    assert not (out / "zbx-node1/etc/default").exists()        # a render made it; now empty, gone
    assert (out / "zbx-node1/etc/corosync/corosync.conf").is_file()
    assert _listed(out) == sorted(f for f in _files_under(out) if f != MANIFEST_NAME)
    assert f"removed {out / SBD}" in capsys.readouterr().out


def test_rerun_without_secrets_removes_the_secret_files(tmp_path, spec, secrets):
    out = tmp_path / "out"
    assert _render(tmp_path, spec, out, secrets) == 0
    assert (out / IPMI_PW).is_file()
    assert _render(tmp_path, spec, out) == 0
    assert not (out / IPMI_PW).exists()
    assert not (out / "zbx-node1/etc/zabbix/zabbix.conf.php").exists()
    assert (out / "zbx-node1/etc/zabbix-ha/cib.xml").is_file()     # the directory still holds ours


def test_a_file_the_person_added_is_kept(tmp_path, spec):
    out = tmp_path / "out"
    assert _render(tmp_path, _sbd(spec), out) == 0
    note = out / "zbx-node1/etc/default/NOTES"
    note.write_text("mine\n")
    (out / "README").write_text("my notes\n")
    _ipmi(spec)
    assert _render(tmp_path, spec, out) == 0
    assert not (out / SBD).exists()
    assert note.read_text() == "mine\n" and (out / "README").read_text() == "my notes\n"
    assert "zbx-node1/etc/default/NOTES" not in _listed(out)


def test_renamed_resource_replaces_the_old_res_file(tmp_path, spec):
    out = tmp_path / "out"
    assert _render(tmp_path, spec, out) == 0
    spec.storage.resource = "r1"
    assert _render(tmp_path, spec, out) == 0
    assert not (out / "zbx-node1/etc/drbd.d/r0.res").exists()
    assert "resource r1" in (out / "zbx-node1/etc/drbd.d/r1.res").read_text()


def test_rerun_unchanged_is_the_same_tree(tmp_path, spec):
    out = tmp_path / "out"
    assert _render(tmp_path, spec, out) == 0
    before = {f: (out / f).read_bytes() for f in _files_under(out)}
    assert _render(tmp_path, spec, out) == 0
    assert {f: (out / f).read_bytes() for f in _files_under(out)} == before


def test_empty_existing_directory_is_taken(tmp_path, spec):
    out = tmp_path / "empty"
    out.mkdir()
    assert _render(tmp_path, spec, out) == 0
    assert (out / MANIFEST_NAME).is_file()


def test_foreign_non_empty_directory_is_refused(tmp_path, spec, capsys):
    out = tmp_path / "etc-copy"
    out.mkdir()
    (out / "hosts").write_text("127.0.0.1 localhost\n")
    assert _render(tmp_path, spec, out) == 2
    err = capsys.readouterr().err
    assert f"--out {out}" in err and "not empty" in err and MANIFEST_NAME in err
    assert "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == ["hosts"]


@pytest.mark.parametrize("content, why", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe", "not valid JSON"),
    (json.dumps({"files": []}).encode(), "not a manifest zabbix-ha wrote"),
    (json.dumps({"written_by": "zabbix-ha render", "files": "a"}).encode(), "not a manifest zabbix-ha wrote"),
    (json.dumps({"written_by": "zabbix-ha render", "files": ["../victim"]}).encode(), "not a path inside"),
    (json.dumps({"written_by": "zabbix-ha render", "files": ["VICTIM_ABS"]}).encode(), "not a path inside"),
    (json.dumps({"written_by": "zabbix-ha render", "files": ["a/./b"]}).encode(), "not a path inside"),
    (json.dumps({"written_by": "zabbix-ha render", "files": [3]}).encode(), "not a path inside"),
], ids=["broken", "binary", "not-ours", "files-not-a-list", "dot-dot", "absolute", "dot", "not-text"])
def test_tampered_manifest_is_refused_and_nothing_is_deleted(tmp_path, spec, capsys, content, why):
    out = tmp_path / "out"
    assert _render(tmp_path, spec, out) == 0
    capsys.readouterr()
    victim = tmp_path / "victim"
    victim.write_text("keep me\n")
    (out / MANIFEST_NAME).write_bytes(content.replace(b"VICTIM_ABS", str(victim).encode()))
    before = _files_under(out)
    spec.storage.resource = "r1"                 # a rerun that would remove r0.res
    assert _render(tmp_path, spec, out) == 2
    err = capsys.readouterr().err
    assert why in err and MANIFEST_NAME in err and "Traceback" not in err
    assert victim.read_text() == "keep me\n"
    assert _files_under(out) == before


def test_manifest_that_is_a_link_is_refused(tmp_path, spec, capsys):
    out = tmp_path / "out"
    assert _render(tmp_path, spec, out) == 0
    real = tmp_path / "elsewhere.json"
    real.write_text((out / MANIFEST_NAME).read_text())
    (out / MANIFEST_NAME).unlink()
    (out / MANIFEST_NAME).symlink_to(real)
    assert _render(tmp_path, spec, out) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_a_directory_swapped_for_a_link_is_not_followed(tmp_path, spec, capsys):
    """zbx-node1/etc/default -> a directory outside: removing the no longer
    rendered sbd file through it would delete a file that is not ours."""
    out = tmp_path / "out"
    assert _render(tmp_path, _sbd(spec), out) == 0
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "sbd").write_text("not yours\n")
    (out / SBD).unlink()
    (out / "zbx-node1/etc/default").rmdir()
    (out / "zbx-node1/etc/default").symlink_to(outside)
    _ipmi(spec)
    assert _render(tmp_path, spec, out) == 2
    err = capsys.readouterr().err
    assert "symbolic link" in err and "zbx-node1/etc/default" in err
    assert (outside / "sbd").read_text() == "not yours\n"
