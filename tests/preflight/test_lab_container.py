"""`zabbix-ha preflight` against the container lab: no DRBD module -> an error with its fix.

Uses the lab fixtures of tests/lab/conftest.py (imported: this file lives
outside tests/lab); skipped when a run ignores tests/lab.
"""

from __future__ import annotations

import pytest

from tests.lab.conftest import _lab_manager, lab  # noqa: F401  (fixtures)
from tests.preflight.labrun import _cli, _run

pytestmark = pytest.mark.lab_container


def test_container_lab_reports_missing_drbd_module(lab, tmp_path, capsys):
    findings, facts, _ = _run(tmp_path)
    assert set(facts) == {"node1", "node2"}
    drbd = [f for f in findings if f.code == "drbd-module-missing"]
    assert {f.node for f in drbd} == {"node1", "node2"}
    assert all(f.severity == "error" and "container" in f.fix for f in drbd)
    # The nodes themselves are reachable and see each other on every link.
    assert not [f for f in findings if f.code.startswith(("ssh-", "path-")) and f.severity == "error"]
    rc, out = _cli(tmp_path, capsys)
    assert rc == 1 and out["summary"]["errors"] >= 2
