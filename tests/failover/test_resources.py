"""The per-resource timeline, from real Pacemaker journals (tests/data/pacemaker-journal/SOURCE)."""

from __future__ import annotations

from pathlib import Path

from wizard.failover.report import Report, ScenarioResult, format_text
from wizard.failover.resources import format_lines, parse_journal

DATA = Path(__file__).parents[1] / "data" / "pacemaker-journal"


def _ops(node: str, since: float):
    return parse_journal((DATA / f"install.{node}.txt").read_text(), since)


def test_each_operation_with_where_and_how_long_probes_and_good_monitors_left_out():
    text = (DATA / "install.node1.txt").read_text()
    since = float(next(l for l in text.splitlines() if "start operation for zabbix-fs" in l).split()[0])
    ops = _ops("node1", since)
    db = next(o for o in ops if (o.resource, o.op) == ("zabbix-db", "start"))
    assert (db.node, db.result, db.begin) == ("node1", "ok", 13.4) and db.seconds == 38.8
    assert [o.resource for o in ops if o.op == "start"][:6] == [
        "zabbix-fs", "zabbix-db", "zabbix-vip", "zabbix-srcip", "zabbix-srcaddr", "zabbix-web"]
    assert all(o.op != "probe" for o in ops)
    assert not [o for o in ops if o.op == "monitor" and o.result in ("ok", "promoted")]
    # Operations that began before the window: their begin is unknown, never negative-wrong.
    earlier = _ops("node1", since + 30)
    assert next(o for o in earlier if (o.resource, o.op) == ("zabbix-db", "start")).begin is None


def test_the_report_shows_them_within_80_columns():
    text = (DATA / "install.node2.txt").read_text()
    since = float(text.splitlines()[0].split()[0])
    ops = [dict(o.__dict__, seconds=o.seconds) for o in _ops("node2", since)]
    assert ops and all(len(line) <= 80 for line in format_lines(ops))
    result = ScenarioResult("switchover", "Controlled switchover", True, "2026-11-28T15:00:00+00:00", 60.0,
                            resources=ops)
    out = format_text(Report("zha-lab", "0.1.0", "2026-11-28T15:00:00+00:00", [result]))
    assert "Pacemaker's operations" in out and "fence-node1" in out
