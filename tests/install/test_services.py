"""Which cluster services a rerun restarts: the one whose configuration is newer than its start, only it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.install.fake import RecordingExecutor
from wizard.install import services
from wizard.install.step import Context, Shared, StepFailed
from wizard.render import render

CRM_MON = (Path(__file__).parents[1] / "data/status/simulated/healthy/crm_mon.xml").read_text()   # group on node 1


def _context(spec, secrets, ages):
    """ages(): the _AGES answer as the active node would print it now."""
    tree = render(spec, secrets)
    paths = {f.kind: f.path for f in tree[spec.hostnames[0]].values()}
    state = {"restarted": []}

    def answer_ages(argv, stdin):
        return 0, ages(state, paths), ""

    def restart(argv, stdin):
        state["restarted"].append(argv[argv.index("--resource") + 1])
        return 0, "", ""

    answers = [(r"^crm_mon -1", (0, CRM_MON, "")), (r"^sh -c \necho \"now", answer_ages),
               (r"^crm_resource --restart", restart), (r"^apache2ctl graceful", lambda a, s: (
                   state["restarted"].append("apache-graceful") or (0, "", "")))]
    executors = {n: RecordingExecutor(n, answers) for n in spec.hostnames}
    return Context(spec, secrets, spec.hostnames[0], executors, tree, Shared()), state, executors


def _ages(server_age, db_age="500", apache_age="-", server_mtime=950, db_mtime=400, apache_mtime=990):
    def ages(state, paths):
        restarted = state["restarted"]
        s_age = "3" if "zabbix-server" in restarted or "zabbix-db" in restarted else server_age
        d_age = "3" if "zabbix-db" in restarted else db_age
        return "\n".join([
            "now 1000", f"mariadbd {d_age}", f"zabbix_server {s_age}", f"apache2 {apache_age}",
            f"{db_mtime} {paths['mariadb']}", f"{server_mtime} {paths['zabbix-server']}",
            f"{apache_mtime} {paths['apache']}"]) + "\n"
    return ages


def test_only_the_service_whose_file_changed_after_it_started_restarts(spec, secrets):
    # The server started 100 s ago, its file changed 50 s ago; MariaDB's file is older than MariaDB;
    # Apache's age is unknown (no mod_status answer): not restarted.
    ctx, state, executors = _context(spec, secrets, _ages("100"))
    assert [s.resource for s, _ in services.stale(ctx)] == ["zabbix-server"]
    said = services.restart_stale(ctx)
    assert state["restarted"] == ["zabbix-server"] and "Zabbix server restarted in place on zbx-node1" in said
    assert services.in_place(ctx)


def test_a_mariadb_change_restarts_mariadb_once_and_that_refreshes_the_server_too(spec, secrets):
    ctx, state, _ = _context(spec, secrets, _ages("100", db_age="100", db_mtime=960))
    assert [s.resource for s, _ in services.stale(ctx)] == ["zabbix-db", "zabbix-server"]
    services.restart_stale(ctx)
    assert state["restarted"] == ["zabbix-db"]           # Pacemaker restarted the server after it


def test_apache_reloads_gracefully_and_nothing_restarts_when_nothing_is_newer(spec, secrets):
    ctx, state, _ = _context(spec, secrets, _ages("500", db_age="500", server_mtime=400, apache_age="5", apache_mtime=999))
    assert [s.name for s, _ in services.stale(ctx)] == ["Apache"]
    ctx2, state2, _ = _context(spec, secrets, _ages("500", db_age="500", server_mtime=400, apache_age="20", apache_mtime=900))
    assert services.in_place(ctx2)
    assert services.restart_stale(ctx2) == "" and state2["restarted"] == []


def test_a_service_still_stale_after_its_restart_fails_the_step(spec, secrets):
    def never_fresh(state, paths):
        return f"now 1000\nmariadbd 500\nzabbix_server 10\napache2 -\n999 {paths['zabbix-server']}\n"
    ctx, state, _ = _context(spec, secrets, never_fresh)
    with pytest.raises(StepFailed, match="still is after its restart"):
        services.restart_stale(ctx)
    assert state["restarted"] == ["zabbix-server"] * len(services.SERVICES)   # bounded: one try per service


def test_nothing_runs_when_the_group_runs_nowhere(spec, secrets):
    ctx, state, executors = _context(spec, secrets, _ages("100"))
    for ex in executors.values():
        ex.answers.insert(0, (r"^crm_mon -1", (102, "", "Not connected")))
    assert services.stale(ctx) == []


def test_a_graceful_reload_makes_apache_fresh_though_mod_status_uptime_does_not_reset(spec, secrets):
    """mod_status's ServerUptimeSeconds counts from the parent's start, not from the last graceful
    restart (lab run 8: Apache reloaded three times, then the step failed, on every later rerun too).
    The reload's own mark says when Apache last read its site."""
    def ages(state, paths):
        reloaded = "1000" if "apache-graceful" in state["restarted"] else "-"
        return (f"now 1000\nmariadbd 500\nzabbix_server 500\napache2 500\napache2-reloaded {reloaded}\n"
                f"400 {paths['mariadb']}\n400 {paths['zabbix-server']}\n990 {paths['apache']}\n")
    ctx, state, executors = _context(spec, secrets, ages)
    assert [s.name for s, _ in services.stale(ctx)] == ["Apache"]
    said = services.restart_stale(ctx)
    assert state["restarted"] == ["apache-graceful"] and "Apache reloaded gracefully" in said
    ran = [" ".join(argv) for argv, _stdin in executors[spec.hostnames[0]].calls]
    touch, graceful = ran.index(f"touch -- {services.APACHE_RELOADED}"), ran.index("apache2ctl graceful")
    assert touch < graceful                          # marked first: a file written after it is newer
    assert services.in_place(ctx)


def test_a_reload_mark_older_than_apaches_start_does_not_count(spec, secrets):
    # Apache started 20 s ago (after a failover, say); a mark from an earlier life, 500 s old: the
    # start decides, and the site written 10 s ago is newer than it.
    def ages(state, paths):
        return (f"now 1000\nmariadbd 500\nzabbix_server 500\napache2 20\napache2-reloaded 500\n"
                f"990 {paths['apache']}\n")
    ctx, _, _ = _context(spec, secrets, ages)
    assert [s.name for s, _ in services.stale(ctx)] == ["Apache"]
