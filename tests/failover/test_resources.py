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


def _node_lost(text: str | None = None):
    text = text or (DATA / "node-lost.node1.txt").read_text()
    since = float(text.splitlines()[0].split()[0])       # 09:45:59, node2 crashed at 09:46:00
    return parse_journal(text, since)


def test_a_fence_shows_its_delay_and_the_reboot_after_it_where_the_lost_node_s_seconds_went():
    ops = _node_lost()
    delay, reboot = [o for o in ops if o.resource == "fence node2"]
    # Requested 12.4 s in, the fencer waited the 30 s fence delay, fence_ipmilan then took 80 s.
    assert (delay.op, delay.node, delay.begin, delay.seconds) == ("delay", "node1", 12.4, 30.0)
    assert (reboot.op, reboot.node, reboot.result, reboot.begin, reboot.seconds) == ("reboot", "node1", "ok", 42.4, 80.0)
    first_start = min(o.end for o in ops if o.resource.startswith(("drbd", "zabbix")))
    assert first_start > reboot.end                      # nothing moved before node2 was known dead
    lines = format_lines([dict(o.__dict__, seconds=o.seconds) for o in ops])
    assert any("fence node2" in line and "reboot" in line and "80.0 s" in line for line in lines)
    assert all(len(line) <= 80 for line in lines)


def test_a_failed_fence_says_why_and_pacemaker_3_s_request_wording_is_read_too():
    text = (DATA / "node-lost.node1.txt").read_text()
    text = text.replace("Requesting fencing (reboot) of node node2", "Requesting fencing (reboot) targeting node node2")
    text = text.replace("Peer node2 was terminated (reboot) by node1 on behalf of pacemaker-controld.1418@node1: OK",
                        "Peer node2 was not terminated (reboot) by node1 on behalf of pacemaker-controld.1418@node1: "
                        "Timer expired")
    reboot = next(o for o in _node_lost(text) if (o.resource, o.op) == ("fence node2", "reboot"))
    assert (reboot.result, reboot.begin) == ("Timer expired", 42.4)


def test_a_fence_verdict_without_a_request_in_this_journal_is_left_to_the_journal_that_has_it():
    text = (DATA / "node-lost.node1.txt").read_text()
    text = "\n".join(l for l in text.splitlines() if "Requesting fencing" not in l)
    assert [o.op for o in _node_lost(text) if o.resource == "fence node2"] == ["delay"]


def test_pacemaker_3_s_capitalised_results_of_good_monitors_are_left_out_too():
    # Lab run 11 (Debian 13, Pacemaker 3.0.0) logs "Result of monitor operation for X on N: OK" / "Promoted".
    text = (DATA / "install.node1.txt").read_text().replace(": ok", ": OK").replace(": promoted", ": Promoted")
    since = float(next(l for l in text.splitlines() if "start operation for zabbix-fs" in l).split()[0])
    ops = parse_journal(text, since)
    assert [o for o in ops if o.op == "start"] and not [o for o in ops if o.op == "monitor"]


def test_a_fence_fails_every_scenario_but_node_lost_and_says_who_was_fenced():
    from wizard.failover.scenarios import by_name, unexpected_fences

    ops = [dict(o.__dict__, seconds=o.seconds) for o in _node_lost()]
    assert unexpected_fences(by_name("node-lost"), ops) == []
    for name in ("switchover", "kill-server", "kill-database", "link-cut", "failback"):
        assert unexpected_fences(by_name(name), ops) == ["node2 fenced (reboot) by node1 at +122 s"], name
    assert unexpected_fences(by_name("switchover"), [o for o in ops if not o["resource"].startswith("fence")]) == []
