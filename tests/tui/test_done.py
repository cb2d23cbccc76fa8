"""The Done step tells what this session's install and failover test did."""

from __future__ import annotations

from textual.widgets import Static

from wizard.failover.report import Report, ScenarioResult
from wizard.install.events import InstallFinished


async def test_done_reports_the_install_and_the_failover_test_of_this_session(make_app):
    app = make_app(start_at="install")
    async with app.run_test(size=(80, 24)) as pilot:
        app.get_screen("install").summary = InstallFinished(True, 312.0, 41, ())
        app.goto("failover")
        await pilot.pause()
        app.get_screen("failover").report = Report("zbx", "0.1.0", "2026-11-28T12:00:00+00:00", [
            ScenarioResult("switchover", "Controlled switchover", True, "", 120,
                           {"api": {"outage_seconds": 47.5, "outages": [[1, 48.5]]}}),
            ScenarioResult("failback", "Failback", False, "", 0, skipped="already on node1")])
        app.goto("done")
        await pilot.pause()
        text = str(app.screen.query_one("#outcome", Static).render())
        assert "Install: finished; 41 step(s) changed something." in text
        assert "Failover test: 1 scenario(s) passed; longest outage 48 s." in text


async def test_done_says_plainly_when_nothing_was_installed(make_app):
    app = make_app(start_at="done")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = str(app.screen.query_one("#outcome", Static).render())
        assert "Install: not run in this session" in text and "Failover test: not run" in text


async def test_review_exports_the_bundle_next_to_the_answers_without_secrets(make_app, tmp_path):
    import tarfile

    from wizard.spec import Secret, Secrets

    secrets = Secrets(db_password=Secret("Db-Very-Secret-1"), hacluster_password=Secret("Hacluster-Secret-2"),
                      zabbix_admin_password=Secret("Admin-Secret-3"))
    app = make_app(start_at="review", secrets=secrets)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.export_bundle()
        await pilot.pause()
        out = app.screen.bundle_path()
        assert out.parent == tmp_path and out.is_file()
        with tarfile.open(out) as tar:
            names = tar.getnames()
            blob = b"".join(tar.extractfile(m).read() for m in tar.getmembers() if m.isfile())
        assert any(n.endswith("MANIFEST") for n in names) and any("/etc/corosync/corosync.conf" in n for n in names)
        assert b"Db-Very-Secret-1" not in blob and b"Admin-Secret-3" not in blob and b"Hacluster-Secret-2" not in blob
