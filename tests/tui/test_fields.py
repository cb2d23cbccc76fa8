"""Inline field errors come from wizard.spec.validate; back/next keep input; quit asks."""

from __future__ import annotations

from tests.tui.conftest import SIZE, choose, fill, focus
from wizard.answers import load_answers
from wizard.spec import Secret, Secrets


def row(app, path):
    return next(r for r in app.screen.query("FieldRow") if r.path == path)


def error_text(app, path) -> str:
    widget = row(app, path).query_one(".field-error")
    return str(widget.render()) if widget.display else ""


def full_secrets(spec) -> Secrets:
    return Secrets(db_password=Secret("db-secret-123"), hacluster_password=Secret("hacluster-secret"),
                   zabbix_admin_password=Secret("admin-secret-123"),
                   ipmi={n: Secret("bmc-secret") for n in spec.hostnames})


async def test_bad_address_is_shown_next_to_its_field_and_blocks_next(make_app, example_spec):
    app = make_app(start_at="nodes", secrets=full_secrets(example_spec))
    async with app.run_test(size=SIZE) as pilot:
        await fill(pilot, "address-0", "192.168.10.300")
        await pilot.press("ctrl+n")
        assert app.screen.name == "nodes"
        assert "'192.168.10.300' is not an IP address" in error_text(app, "nodes[0].address")
        assert "write the IP address the wizard reaches this node on by SSH" in error_text(app, "nodes[0].address")
        assert app.focused.id == "address-0"               # the cursor goes to what needs fixing
        assert "1 to fix" in str(app.screen.query_one("#status").render())
        # The message goes away while typing the right value.
        await pilot.press("backspace", "backspace", "backspace", "1", "1")
        assert error_text(app, "nodes[0].address") == ""
        await pilot.press("ctrl+n")
        assert app.screen.name == "disks"


async def test_missing_password_names_the_field(make_app):
    app = make_app(start_at="nodes")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+n")
        assert app.screen.name == "nodes"
        assert "the password is empty" in error_text(app, "secrets.hacluster_password")


async def test_leaving_a_field_shows_its_error_without_pressing_next(make_app):
    app = make_app(start_at="services")
    async with app.run_test(size=SIZE) as pilot:
        await fill(pilot, "vip", "192.168.10.11")     # node 1's own address
        await pilot.press("tab")
        assert "already a node's own address" in error_text(app, "services.vip")


async def test_extra_link_errors_on_its_own_rows_and_removing_it_clears_them(make_app):
    app = make_app(start_at="interconnect")
    async with app.run_test(size=SIZE) as pilot:
        await focus(pilot, "add-link")
        await pilot.press("enter")
        await pilot.pause()
        assert app.focused.id == "link-2-addr-0"
        await pilot.press("ctrl+n")
        assert app.screen.name == "interconnect"
        assert "is not a valid IP address" in error_text(app, "links[2].addresses[0]")
        assert "is not a valid IP address" in error_text(app, "links[2].addresses[1]")
        await focus(pilot, "remove-2")
        await pilot.press("enter")
        await pilot.pause()
        assert len(app.screen.query("LinkBox")) == 2
        await pilot.press("ctrl+n")
        assert app.screen.name == "services"
        assert app.spec.storage.replication_link == 1          # still the example's second link


async def test_one_link_gets_the_redundancy_warning_but_may_go_on(make_app):
    app = make_app(start_at="interconnect")
    async with app.run_test(size=SIZE) as pilot:
        await focus(pilot, "remove-1")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("ctrl+n")
        assert app.screen.name == "services"
        assert len(app.spec.links) == 1 and app.spec.storage.replication_link == 0


async def test_no_fencing_needs_the_exact_sentence(make_app, example_spec):
    app = make_app(start_at="fencing", secrets=full_secrets(example_spec))
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "method", "method-none")
        await fill(pilot, "ack", "yes")
        await pilot.press("ctrl+n")
        assert app.screen.name == "fencing"
        assert "needs a typed acknowledgement" in error_text(app, "fencing.acknowledgement")


async def test_internal_meta_data_hides_the_meta_disk_and_warns(make_app, tmp_path):
    app = make_app(start_at="disks")
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "meta-mode", "mode-internal")
        assert not row(app, "storage.nodes[0].meta_disk").display
        await pilot.press("ctrl+n")
        assert app.screen.name == "interconnect"          # a warning does not block
        await pilot.press("ctrl+s")
        await pilot.pause()
    saved = load_answers(tmp_path / "zabbix-ha.yaml")
    assert saved.storage.meta_disk_mode == "internal"
    assert [d.meta_disk for d in saved.storage.nodes] == [None, None]


async def test_back_and_next_keep_what_was_typed_even_when_invalid(make_app, example_spec):
    app = make_app(secrets=full_secrets(example_spec))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+n")
        await fill(pilot, "hostname-0", "renamed")
        await fill(pilot, "address-1", "not an address!")
        await pilot.press("ctrl+b")                        # back is never blocked
        assert app.screen.name == "welcome"
        await pilot.press("ctrl+n")
        assert app.screen.query_one("#hostname-0").value == "renamed"
        assert app.screen.query_one("#address-1").value == "not an address!"
        await fill(pilot, "address-1", "192.168.10.12")
        await pilot.press("ctrl+n")
        # A meta-disk typed before switching to internal comes back with indexed.
        await choose(pilot, "meta-mode", "mode-internal")
        await pilot.press("ctrl+n", "ctrl+b")
        assert app.screen.name == "disks"
        await choose(pilot, "meta-mode", "mode-indexed")
        assert app.screen.query_one("#meta-disk-0").value == "/dev/sda5"
        # Later steps see the new node name.
        await pilot.press("ctrl+n", "ctrl+n", "ctrl+n", "ctrl+n")
        assert app.screen.name == "fencing"
        assert "renamed" in str(app.screen.query_one("#bmc-title-0").render())


async def test_renaming_a_node_keeps_its_bmc_password(make_app, example_spec):
    app = make_app(start_at="nodes", secrets=full_secrets(example_spec))
    async with app.run_test(size=SIZE) as pilot:
        await fill(pilot, "hostname-1", "other")
        await pilot.press("ctrl+n")
        assert set(app.secrets.ipmi) == {"zbx-node1", "other"}


async def test_welcome_reports_an_answers_file_that_cannot_be_read(make_app, tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "start", "start-file")
        await fill(pilot, "load-path", str(tmp_path / "missing.yaml"))
        await pilot.press("ctrl+n")
        assert app.screen.name == "welcome"
        assert "does not exist" in error_text(app, "welcome.load")


async def test_welcome_loads_an_answers_file(make_app, example_spec, tmp_path):
    from wizard.answers import save_answers

    other = tmp_path / "other.yaml"
    example_spec.name = "from-file"
    save_answers(example_spec, other)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await choose(pilot, "start", "start-file")
        await fill(pilot, "load-path", str(other))
        await pilot.press("ctrl+n")
        assert app.screen.name == "nodes"
        assert app.screen.query_one("#name").value == "from-file"


async def test_quit_with_nothing_changed_does_not_ask(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+q")
        await pilot.pause()
    assert app.return_value == 0        # exited at once: no dialog was waiting


async def test_quit_with_changes_asks_and_can_stay_or_discard(make_app, tmp_path):
    app = make_app(start_at="nodes")
    async with app.run_test(size=SIZE) as pilot:
        await fill(pilot, "name", "changed")
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert type(app.screen).__name__ == "QuitDialog"
        await pilot.press("escape")
        assert app.screen.name == "nodes"
        assert app.screen.query_one("#name").value == "changed"
        await pilot.press("ctrl+q")
        await pilot.pause()
        await focus(pilot, "discard")
        await pilot.press("enter")
        await pilot.pause()
    assert app.return_value == 0
    assert not (tmp_path / "zabbix-ha.yaml").exists()


async def test_quit_can_save_first(make_app, tmp_path):
    app = make_app(start_at="nodes")
    async with app.run_test(size=SIZE) as pilot:
        await fill(pilot, "name", "changed")
        await pilot.press("ctrl+q")
        await pilot.pause()
        await focus(pilot, "save")
        await pilot.press("enter")
        await pilot.pause()
    assert load_answers(tmp_path / "zabbix-ha.yaml").name == "changed"


async def test_leaving_a_field_does_not_flag_fields_not_reached_yet(make_app):
    app = make_app(start_at="interconnect")
    async with app.run_test(size=SIZE) as pilot:
        await fill(pilot, "link-0-addr-0", "10.9.9.1")
        await pilot.press("tab")             # now node 2's address is off-subnet, but not visited yet
        assert error_text(app, "links[0].addresses[1]") == ""
        await pilot.press("tab")             # left it: now it is flagged
        assert "is not in 10.9.9.0/24" in error_text(app, "links[0].addresses[1]")


async def test_welcome_offers_the_lab_and_starts_from_its_answers(make_app, example_spec, tmp_path, monkeypatch):
    from wizard import steps
    from wizard.answers import save_answers, save_secrets

    lab_spec = example_spec
    lab_spec.name = "zha-lab"
    answers, secrets = tmp_path / "lab" / "answers.yaml", tmp_path / "lab" / "secrets.yaml"
    save_answers(lab_spec, answers)
    save_secrets(full_secrets(lab_spec), secrets)
    monkeypatch.setattr(steps, "lab_secrets", lambda: secrets)
    app = make_app(lab=answers)
    async with app.run_test(size=SIZE) as pilot:
        lab = app.screen.query_one("#start-lab")
        assert not lab.value and not lab.disabled          # offered, never the default
        assert app.screen.query_one("#start-new").value
        await pilot.click("#start-lab")
        await pilot.pause()
        await pilot.press("ctrl+n")
        assert app.screen.query_one("#name").value == "zha-lab"
        assert app.secrets.hacluster_password.reveal() == "hacluster-secret"


async def test_without_a_lab_the_welcome_says_so_and_starts_new(make_app):
    app = make_app(lab=None)
    async with app.run_test(size=SIZE):
        lab = app.screen.query_one("#start-lab")
        assert lab.disabled and ("not available yet" in str(lab.label) or "zabbix-ha lab up" in str(lab.label))
        assert app.screen.query_one("#start-new").value


async def test_answers_given_on_the_command_line_are_the_starting_point(tmp_path, example_spec):
    import argparse

    from wizard.answers import save_answers
    from screens.app import build_app

    given = tmp_path / "mine.yaml"
    example_spec.name = "given-on-cli"
    save_answers(example_spec, given)
    mtime = given.stat().st_mtime_ns
    app = build_app(argparse.Namespace(answers=str(given), secrets=None), lab=None,
                    answers_out=tmp_path / "out.yaml")
    async with app.run_test(size=SIZE) as pilot:
        loaded = app.screen.query_one("#start-loaded")
        assert loaded.value and str(given) in str(loaded.label)
        await pilot.press("ctrl+n")
        assert app.screen.query_one("#name").value == "given-on-cli"
        # Saving never writes over the file the answers came from.
        await pilot.press("ctrl+s")
        await pilot.pause()
    assert (tmp_path / "out.yaml").exists()
    assert given.stat().st_mtime_ns == mtime
