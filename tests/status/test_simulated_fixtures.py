"""The simulated fixtures are what the installed Pacemaker prints: make them again and compare."""

from __future__ import annotations

import dataclasses

from tests.data.status.simulate import capture
from tests.status.conftest import SIMULATED
from wizard.status.parse import parse_constraints, parse_crm_mon


def _timeless(view):
    return dataclasses.replace(view, failures=tuple(dataclasses.replace(f, last_rc_change="") for f in view.failures))


def test_fixtures_match_the_installed_pacemaker(tmp_path):
    capture(tmp_path / "out", tmp_path / "work")
    made = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert made == sorted(p.name for p in SIMULATED.iterdir() if p.is_dir())
    for name in made:
        for_now, stored = tmp_path / "out" / name, SIMULATED / name
        assert _timeless(parse_crm_mon((for_now / "crm_mon.xml").read_text())) == \
            _timeless(parse_crm_mon((stored / "crm_mon.xml").read_text())), name
        assert parse_constraints((for_now / "constraints.xml").read_text()) == \
            parse_constraints((stored / "constraints.xml").read_text()), name
