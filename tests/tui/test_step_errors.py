"""Step errors and fields at 80x24 (issue 14 item 10), with Pilot."""

from __future__ import annotations

from tests.tui.conftest import SIZE, fill
from tests.tui.test_fields import full_secrets


def visible_in(container, widget) -> bool:
    """Whether the widget is wholly on screen inside the scrolling container (screen coordinates)."""
    outer, inner = container.region, widget.region
    return inner.height > 0 and outer.y <= inner.y and inner.bottom <= outer.bottom


async def test_next_moves_to_the_first_error_and_scrolls_it_into_view(make_app, example_spec):
    app = make_app(start_at="nodes")                  # no secrets: the hacluster password at the bottom is empty
    async with app.run_test(size=SIZE) as pilot:
        body = app.screen.query_one("#body")
        body.scroll_home(animate=False)
        await pilot.pause()
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.name == "nodes"
        assert app.focused.id == "hacluster-password"
        row = next(r for r in app.screen.query("FieldRow") if r.path == "secrets.hacluster_password")
        error = row.query_one(".field-error")
        assert error.display and "empty" in str(error.render())
        assert visible_in(body, error) and visible_in(body, app.focused)


async def test_a_letter_in_a_number_field_is_kept_and_named(make_app, example_spec):
    app = make_app(start_at="nodes", secrets=full_secrets(example_spec))
    async with app.run_test(size=SIZE) as pilot:
        await fill(pilot, "ssh-port-0", "2x")
        assert app.screen.query_one("#ssh-port-0").value == "2x"      # not dropped
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert app.screen.name == "nodes" and app.focused.id == "ssh-port-0"
        row = next(r for r in app.screen.query("FieldRow") if r.path == "nodes[0].ssh_port")
        assert "'2x'" in str(row.query_one(".field-error").render())


async def test_review_names_fields_by_their_labels_not_their_paths(make_app, example_spec):
    example_spec.nodes[1].address = "192.168.10.300"
    example_spec.storage.mount_point = "/etc/zabbix"
    app = make_app(start_at="review", spec=example_spec, secrets=full_secrets(example_spec))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        text = str(app.screen.query_one("#problems").render())
        assert "Node 2 (zbx-node2) · Address" in text and "Mount point" in text
        assert "nodes[1].address" not in text and "storage.mount_point" not in text
