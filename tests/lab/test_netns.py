"""The lab's host side lives in its own network namespace (issue 15, part 1):
the machine's main namespace gets no lab link, address or route, and is
exactly as it was once the lab is down. Nothing here sends traffic outside
the lab: only the main namespace's tables are read."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys

import pytest

from wizard.lab import netns
from wizard.lab.paths import NODES

pytestmark = pytest.mark.lab_container

VOLATILE = {"valid_life_time", "preferred_life_time", "expires", "stats", "stats64", "operstate"}


def _ip_json(*args: str) -> list:
    return json.loads(subprocess.run(["ip", "-j", *args], capture_output=True, text=True, check=True,
                                     timeout=30).stdout or "[]")


def _clean(obj):
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in sorted(obj.items()) if k not in VOLATILE}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def main_namespace() -> dict:
    """This process's namespace (the machine's main one): links, addresses, routes."""
    return {"links": _clean(_ip_json("-d", "link", "show")), "addresses": _clean(_ip_json("addr", "show")),
            "routes4": _clean(_ip_json("-4", "route", "show", "table", "all")),
            "routes6": _clean(_ip_json("-6", "route", "show", "table", "all"))}


def _overlaps(dst: str, block: ipaddress.IPv4Network) -> bool:
    if dst in ("default", "") or ":" in dst:
        return False
    try:
        return ipaddress.ip_network(dst if "/" in dst else dst + "/32", strict=False).overlaps(block)
    except ValueError:
        return False


def zabbix_ha(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wizard", *argv], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def test_main_namespace_untouched_by_the_lab(_lab_manager):
    from wizard.lab import lab

    _lab_manager.hold_session()
    lab.down(log=lambda _msg: None)
    _lab_manager.forget()
    before = main_namespace()
    try:
        handle = _lab_manager.get("container", __name__)
        block = ipaddress.ip_network(handle.layout.block)
        during = main_namespace()
        # No lab link, address or route in the main namespace while the lab is up.
        assert not [link["ifname"] for link in during["links"] if link["ifname"].startswith("zha-")]
        assert not [a for link in during["addresses"] for a in link.get("addr_info", [])
                    if a.get("family") == "inet" and ipaddress.ip_address(a["local"]) in block]
        assert not [r for r in during["routes4"] if _overlaps(r.get("dst", ""), block)]
        assert during == before
        # ... they are all in the lab's namespace.
        inside = json.loads(netns.run(["ip", "-j", "addr", "show"], check=True).stdout)
        assert handle.layout.host_address in {a["local"] for link in inside for a in link.get("addr_info", [])}
        assert netns.forwarding() is False
        # The person's commands reach it: lab exec, lab ssh, the mirror over HTTP.
        shown = zabbix_ha("lab", "exec", "--", "ip", "-br", "addr", "show", "dev", "zha-mgmt")
        assert shown.returncode == 0 and handle.layout.host_address in shown.stdout, shown.stderr
        for node in NODES:
            out = zabbix_ha("lab", "ssh", node, "--", "hostname")
            assert out.returncode == 0 and out.stdout.strip() == node, out.stderr
        status, body = handle.http_get(f"{handle.repo_url}/dists/{handle.suite}/Release")
        assert status == 200 and b"zabbix-ha lab" in body
    finally:
        lab.down(log=lambda _msg: None)
        _lab_manager.forget()
    assert not netns.exists()
    assert main_namespace() == before
