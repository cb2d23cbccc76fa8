"""The Services step's "More VIPs" field: what is typed becomes services.extra_vips; the core's
problem with one of them shows at that field and keeps the step; the plain prompts share the parser."""

from __future__ import annotations

from tests.tui.conftest import SIZE, fill
from tests.tui.test_fields import error_text
from wizard.spec import ExtraVip
from wizard.steps import format_extra_vips, parse_extra_vips


async def test_typed_extra_vips_reach_the_spec(make_app):
    app = make_app(start_at="services")
    async with app.run_test(size=SIZE) as pilot:
        await fill(pilot, "extra-vips", "192.168.10.101; 192.168.10.102/24 eth0,eth1 backup")
        await pilot.press("ctrl+n")
        assert app.screen.name == "zabbix", app.screen._shown
        assert app.spec.services.extra_vips == [ExtraVip("192.168.10.101", 24, ["eth0", "eth0"]),
                                                ExtraVip("192.168.10.102", 24, ["eth0", "eth1"], "backup")]


async def test_a_duplicate_extra_vip_is_shown_at_the_field_and_blocks_next(make_app):
    app = make_app(start_at="services")
    async with app.run_test(size=SIZE) as pilot:
        await fill(pilot, "extra-vips", "192.168.10.10")          # the VIP itself
        await pilot.press("ctrl+n")
        assert app.screen.name == "services"
        text = error_text(app, "services.extra_vips")
        assert "192.168.10.10 is already services.vip" in text and "address of its own" in text
        assert app.focused.id == "extra-vips"
        await fill(pilot, "extra-vips", "")
        await pilot.press("ctrl+n")
        assert app.screen.name == "zabbix" and app.spec.services.extra_vips == []


def test_the_field_text_round_trips():
    vips = [ExtraVip("10.213.0.101", 24, ["eth0", "eth0"]), ExtraVip("10.20.0.5", 25, ["eth1", "ens19"], "office")]
    text = format_extra_vips(vips)
    assert text == "10.213.0.101/24 eth0; 10.20.0.5/25 eth1,ens19 office"
    assert parse_extra_vips(text, ["eth9", "eth9"]) == vips
    assert parse_extra_vips("  ;  ", ["eth0", "eth0"]) == []


def test_whatever_is_typed_reaches_the_validator_not_a_traceback(spec):
    from wizard.spec import validate

    for typed in ("10.0.0.5/x", "x", "/", "192.168.10.101 eth0,eth1,eth2", "192.168.10.101 , a b c", "::::/999"):
        spec.services.extra_vips = parse_extra_vips(typed, spec.services.vip_nics)
        problems = [p for p in validate(spec) if p.field.startswith("services.extra_vips")]
        assert problems and all(p.fix for p in problems), typed
