"""`zabbix-ha status` on a cluster with extra VIPs: each is listed with where it runs, and a healthy
one is no problem (real crm_mon output of a simulated running cluster)."""

from __future__ import annotations

import os
import subprocess

from tests.install.test_extra_vips import NEW, SECOND, _cib, _first, _second, _with_extra
from tests.data.status.simulate import running
from tests.status import test_health as th
from tests.status.conftest import raw
from wizard.status.health import problems
from wizard.status.model import CONSTRAINTS, CRM_MON
from wizard.status.view import format_screen


def test_status_lists_where_each_extra_vip_runs(spec, secrets, tmp_path, monkeypatch):
    cib = running(tmp_path, "ipmi", _cib(_with_extra(spec, _first(spec), _second(spec)), secrets))
    env = {**os.environ, "CIB_file": str(cib), "LC_ALL": "C"}

    def tool(*argv):
        return subprocess.run(argv, env=env, capture_output=True, text=True, check=True, timeout=60).stdout
    outputs = {CRM_MON: raw(CRM_MON, ("crm_mon", "-1", "--output-as=xml"), tool("crm_mon", "-1", "--output-as=xml")),
               CONSTRAINTS: raw(CONSTRAINTS, ("cibadmin", "--query", "--scope", "constraints"),
                                tool("cibadmin", "--query", "--scope", "constraints"))}
    monkeypatch.setattr(th, "simulated", lambda scenario: dict(outputs))
    st = th.make()
    text = format_screen(st, problems(st))
    assert f"{NEW}: Started on zbx-node1" in text and f"{SECOND}: Started on zbx-node1" in text, text
    assert not [p for p in problems(st) if p.code.startswith("resource-")], problems(st)
