"""`lab up --platform`: which Debian the lab's nodes run, without a lab."""

from __future__ import annotations

import json

import pytest
import yaml

from wizard.cli import main
from wizard.errors import UserError
from wizard.lab import image, lab, repo, state
from wizard.lab.answers import build_spec
from wizard.lab.network import Layout
from wizard.platforms import platform
from wizard.spec import validate

LAYOUT = Layout("10.213.0.0/22")


def test_every_cache_key_differs_by_suite():
    """A bookworm and a trixie image, mirror and preinstalled image coexist in the cache."""
    bookworm, trixie = platform("debian12"), platform("debian13")
    assert (bookworm.codename, trixie.codename) == ("bookworm", "trixie")
    base = {p.id: image.current_image(p.codename) for p in (bookworm, trixie)}
    assert base["debian12"].dir != base["debian13"].dir
    assert base["debian12"].dir.name.startswith("base-") and base["debian13"].dir.name.startswith("base-")
    # The same image given to both: the suite alone still tells the mirrors apart.
    assert repo.repo_hash(bookworm, base["debian12"]) != repo.repo_hash(trixie, base["debian12"])
    assert (image.preinstalled_hash(base["debian12"], repo.stack(bookworm))
            != image.preinstalled_hash(base["debian13"], repo.stack(bookworm)))


def test_the_mirror_downloads_from_the_platforms_suites():
    text = repo.sources_list("trixie")
    assert [line.split()[-2] for line in text.splitlines()] == ["trixie", "trixie-updates", "trixie-security"]
    assert repo.apt_source_line("http://10.213.0.1:8080/debian", "trixie") == \
        "deb [trusted=yes] http://10.213.0.1:8080/debian trixie main\n"


@pytest.mark.parametrize(("platform_id", "zabbix"), [("debian12", "6.0"), ("debian13", "7.0")])
def test_answers_name_the_platform_and_the_zabbix_it_ships(platform_id, zabbix):
    from wizard.answers import dump_answers

    st = state.LabState("vm", LAYOUT.block, repo_url="http://10.213.0.1:8080/debian", fencing="ipmi",
                        platform=platform_id)
    spec = build_spec(st, LAYOUT)
    assert [p for p in validate(spec) if p.severity == "error"] == []
    written = yaml.safe_load(dump_answers(spec))
    assert written["platform"] == platform_id
    assert written["zabbix"]["version"] == zabbix and written["zabbix"]["package_source"] == "mirror"
    sbd = build_spec(st, LAYOUT, fencing_method="sbd")
    assert (sbd.platform, sbd.zabbix.version) == (platform_id, zabbix)


def test_cli_rejects_an_unknown_platform(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["lab", "up", "--platform", "debian11"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--platform" in err and "debian12" in err and "debian13" in err


def test_up_rejects_an_unknown_platform_before_building_anything(monkeypatch):
    monkeypatch.setattr(lab, "ensure_image", lambda *a: pytest.fail("built an image"))
    with pytest.raises(UserError, match="debian11"):
        lab._up("vm", print, True, False, "debian11")


def test_state_keeps_the_platform(tmp_path, monkeypatch):
    monkeypatch.setattr(state, "RUN_DIR", tmp_path)
    monkeypatch.setattr(state, "STATE_FILE", tmp_path / "state.json")
    state.save(state.LabState("vm", LAYOUT.block, platform="debian13", ready=True))
    assert state.load().platform == "debian13"
    # A state file written before the choice existed: a Debian 12 lab.
    saved = json.loads((tmp_path / "state.json").read_text())
    del saved["platform"]
    (tmp_path / "state.json").write_text(json.dumps(saved))
    assert state.load().platform == "debian12"
