"""`zabbix-ha export`: the review bundle (issue 12 item 4).

No secret in any spelling inside (the archive and what it unpacks to), the
same answers give the same bytes whether a secrets file is given or not, the
MANIFEST's sums match the members, the files are the ones render writes
(secret ones with placeholders) and the plan is the one `plan --offline`
prints; a bad --out is refused with exit 2 and nothing written.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import io
import stat
import tarfile

import pytest

from tests.conftest import EXAMPLE_ANSWERS
from tests.test_leaks import NASTY, _cli, leaks
from wizard import bundle
from wizard.answers import save_secrets
from wizard.bundle import MANIFEST, MTIME, build_bundle
from wizard.cli import main
from wizard.render import render

TOP = "zbx-cluster-zabbix-ha-review"


def _members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def _export(tmp_path, out, *extra):
    return _cli("export", "--answers", EXAMPLE_ANSWERS, *extra, "--out", out, cwd=tmp_path)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """One export with the hostile secrets file, one without: (with, without, result)."""
    tmp = tmp_path_factory.mktemp("export")
    secrets = tmp / "s.yaml"
    save_secrets(NASTY, secrets)
    r = _export(tmp, tmp / "with.tar.gz", "--secrets", secrets)
    assert r.returncode == 0, r.stderr
    plain = _export(tmp, tmp / "without.tar.gz")
    assert plain.returncode == 0, plain.stderr
    return tmp / "with.tar.gz", tmp / "without.tar.gz", r


def test_no_spelling_of_any_secret_in_the_bundle(exported, tmp_path):
    path, _, result = exported
    raw = gzip.decompress(path.read_bytes())
    # Every secret is ASCII: latin-1 maps each byte to one character, so a
    # spelling in any member or header is found exactly where it stands.
    assert leaks(raw.decode("latin-1"), NASTY) == []
    with tarfile.open(path) as tar:
        tar.extractall(tmp_path, filter="data")
    extracted = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(extracted) > 20
    for p in extracted:
        assert leaks(p.read_text(), NASTY) == [], p
    assert leaks(result.stdout + result.stderr, NASTY) == []
    # The files that hold a password on the node are in it, with the placeholder where it goes.
    php = (tmp_path / TOP / "nodes/zbx-node1/etc/zabbix/zabbix.conf.php").read_text()
    assert "$DB['PASSWORD'] = 'REDACTED-db_password';" in php
    assert 'shared-secret "REDACTED-drbd_secret";' in (tmp_path / TOP / "nodes/zbx-node2/etc/drbd.d/r0.res").read_text()
    # Hence 0644 is right for it.
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_the_leak_check_would_see_secrets_rendered_into_the_bundle(spec, monkeypatch):
    """The same check on a bundle rendered with the real secrets finds them: the test above can fail."""
    monkeypatch.setattr(bundle, "placeholder_secrets", lambda _spec: NASTY)
    raw = gzip.decompress(build_bundle(spec)).decode("latin-1")
    assert len(leaks(raw, NASTY)) >= 5


def test_same_bundle_with_or_without_the_secrets_file(exported):
    with_secrets, without, _ = exported
    assert with_secrets.read_bytes() == without.read_bytes()


def test_same_input_same_bytes(exported, tmp_path, spec):
    _, first, _ = exported
    again = tmp_path / "again.tar.gz"
    assert _export(tmp_path, again).returncode == 0
    assert again.read_bytes() == first.read_bytes()
    assert build_bundle(copy.deepcopy(spec)) == build_bundle(spec)
    # ... and different input, different bytes (the sameness is not a constant).
    spec.zabbix.sizing = "large"
    assert build_bundle(spec) != first.read_bytes()


def test_archive_headers_are_fixed(exported):
    data = exported[1].read_bytes()
    flags, mtime = data[3], int.from_bytes(data[4:8], "little")
    assert flags & 0x08 == 0 and mtime == 0                 # gzip: no file name, no time
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        infos = tar.getmembers()
    assert {(i.mtime, i.uid, i.gid, i.uname, i.gname) for i in infos} == {(MTIME, 0, 0, "root", "root")}
    names = [i.name for i in infos]
    assert names == sorted(names, key=lambda n: n.split("/"))
    assert all(n == TOP or n.startswith(TOP + "/") for n in names)


def test_manifest_sums_match_every_member(exported):
    members = _members(exported[1].read_bytes())
    lines = members.pop(f"{TOP}/{MANIFEST}").decode().splitlines()
    assert any(line.startswith("# zabbix-ha ") and "0." in line for line in lines)   # the version
    listed = dict(reversed(line.split("  ", 1)) for line in lines if not line.startswith("#"))
    assert {f"{TOP}/{name}" for name in listed} == set(members)
    for name, digest in listed.items():
        assert hashlib.sha256(members[f"{TOP}/{name}"]).hexdigest() == digest, name


def test_files_are_what_render_writes_secret_ones_with_placeholders(exported, spec):
    members = _members(exported[1].read_bytes())
    plain = render(spec)                                     # what render writes without secrets
    redacted = render(spec, bundle.placeholder_secrets(spec))
    for node, files in redacted.items():
        for path, f in files.items():
            text = members[f"{TOP}/nodes/{node}{path}"].decode()
            if path in plain[node] and not f.secret:
                assert text == plain[node][path].text, path
            else:
                assert "REDACTED-" in text, path
    node_files = [n for n in members if "/nodes/" in n]
    assert len(node_files) == sum(len(files) for files in redacted.values())


def test_plan_is_what_plan_offline_prints(exported, capsys):
    members = _members(exported[1].read_bytes())
    assert main(["plan", "--answers", str(EXAMPLE_ANSWERS), "--offline"]) == 0
    printed = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("(")]
    in_bundle = [line for line in members[f"{TOP}/plan.txt"].decode().splitlines() if not line.startswith("#")]
    assert in_bundle == printed and any("DESTRUCTIVE" in line for line in printed)


def test_answers_and_readme_inside(exported):
    members = _members(exported[1].read_bytes())
    assert members[f"{TOP}/answers.yaml"].decode().count("zbx-node1") >= 1
    readme = members[f"{TOP}/README.txt"].decode()
    assert "sha256sum -c MANIFEST" in readme and "zbx-cluster" in readme
    redacted = members[f"{TOP}/secrets.redacted.yaml"].decode()
    assert "db_password: REDACTED-db_password" in redacted and "zbx-node2: REDACTED-ipmi-zbx-node2" in redacted


def test_out_that_is_a_directory_is_refused(tmp_path):
    r = _export(tmp_path, tmp_path)
    assert r.returncode == 2, r.stderr
    assert f"--out {tmp_path} is a directory" in r.stderr and "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_out_under_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    r = _export(tmp_path, tmp_path / "f" / "b.tar.gz")
    assert r.returncode == 2 and "is a file, not a directory" in r.stderr and "Traceback" not in r.stderr


def test_rewrite_replaces_the_file_and_leaves_no_temp(tmp_path):
    out = tmp_path / "b.tar.gz"
    out.write_bytes(b"old")
    assert main(["export", "--answers", str(EXAMPLE_ANSWERS), "--out", str(out)]) == 0
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    assert [p.name for p in tmp_path.iterdir()] == ["b.tar.gz"]
