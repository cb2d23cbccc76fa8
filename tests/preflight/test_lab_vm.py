"""`zabbix-ha preflight` against the VM lab: real DRBD 8.4 -> no errors.

Uses the lab fixtures of tests/lab/conftest.py (imported: this file lives
outside tests/lab); skipped when a run ignores tests/lab.
"""

from __future__ import annotations

import pytest

from tests.lab.conftest import _lab_manager, lab  # noqa: F401  (fixtures)
from tests.preflight.labrun import _cli, _run

pytestmark = pytest.mark.lab_vm


def test_vm_lab_passes(lab, tmp_path, capsys):
    findings, facts, timings = _run(tmp_path)
    errors = [f for f in findings if f.severity == "error"]
    assert errors == [], errors
    assert all(f.drbd.module_available for f in facts.values())
    rc, out = _cli(tmp_path, capsys)
    assert rc == 0 and out["summary"]["errors"] == 0
