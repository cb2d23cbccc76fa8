"""Checks every lab flavour must pass the same way: what the install's
end-to-end run relies on (a default route for IPsrcaddr, the product
trusting and reaching the nodes with no flags, root's password login for
node1 -> node2 set up the product's way)."""

from __future__ import annotations

import json
import subprocess
import sys

from wizard.lab.nodeconf import NICS

# Findings that mean the product could not reach or trust a node.
CONNECTION_CODES = ("host-key-unknown", "host-key-changed", "ssh-auth-failed", "ssh-unreachable", "ssh-lost",
                    "facts-missing")


def zabbix_ha(*argv: str, timeout: float = 600, input: str | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI as a person runs it: a new process in the machine's main
    namespace (no route to the lab), default trust store."""
    return subprocess.run([sys.executable, "-m", "wizard", *argv], capture_output=True, text=True,
                          timeout=timeout, input=input, stdin=None if input is not None else subprocess.DEVNULL)


def default_route_via_the_lab_host(lab, node: str) -> None:
    routes = json.loads(lab.ssh(node, ["ip", "-j", "route", "show", "default"]).stdout or "[]")
    assert [(r.get("gateway"), r.get("dev")) for r in routes] == [(lab.layout.host_address, NICS["mgmt"])]
    assert all("onlink" not in r.get("flags", []) for r in routes), routes   # IPsrcaddr cannot change onlink routes
    # The lab host forwards nothing: the route leads nowhere beyond it.
    from wizard.lab import network
    assert network.host_forwarding() is False


def preflight_needs_no_flags(lab) -> dict:
    """`zabbix-ha preflight --answers "$(zabbix-ha lab answers)"`: nothing about trust or login."""
    answers = zabbix_ha("lab", "answers")
    assert answers.returncode == 0, answers.stderr
    proc = zabbix_ha("preflight", "--answers", answers.stdout.strip(), "--json")
    assert proc.returncode in (0, 1), proc.stderr
    out = json.loads(proc.stdout)
    bad = [f for f in out["findings"] if f["code"] in CONNECTION_CODES]
    assert bad == [], bad
    out["rc"] = proc.returncode
    return out


def login_with_the_root_password(lab, tmp_path) -> None:
    """`zabbix-ha login` with the lab's root password file and a fresh trust
    store: password once, then zabbix-ha's new key alone, on both nodes."""
    answers = zabbix_ha("lab", "answers").stdout.strip()
    pw = zabbix_ha("lab", "answers", "--root-password-file")
    assert pw.returncode == 0, pw.stderr
    trust = tmp_path / "trust"
    proc = zabbix_ha("login", "--answers", answers, "--password-file", pw.stdout.strip(), "--trust-dir", str(trust))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("installed zabbix-ha's key") == 2, proc.stdout
    public = (trust / "id_ed25519.pub").read_text().strip()
    for node in ("node1", "node2"):
        assert public in lab.ssh(node, ["cat", "/root/.ssh/authorized_keys"]).stdout
    again = zabbix_ha("login", "--answers", answers, "--password-file", pw.stdout.strip(), "--trust-dir", str(trust))
    assert again.returncode == 0 and again.stdout.count("already works") == 2, again.stdout + again.stderr
    password = open(pw.stdout.strip()).read().strip()
    assert password not in proc.stdout + proc.stderr + again.stdout + again.stderr


def packages_preinstalled(lab, node: str) -> None:
    """The preinstalled image: every package of the platform table installed,
    at the versions the lab's mirror serves; the build's policy-rc.d and
    mirror mount gone; units enabled the way Debian ships them."""
    from wizard.lab import repo
    from wizard.platforms import platform

    packages = repo.stack(platform(lab.platform))
    out = lab.ssh(node, ["dpkg-query", "-W", "-f", "${Package} ${db:Status-Abbrev}\\n", *packages]).stdout
    installed = {line.split()[0] for line in out.splitlines() if line.split()[1:2] == ["ii"]}
    assert set(packages) <= installed, set(packages) - installed
    for path in ("/usr/sbin/policy-rc.d", "/srv/zha-lab-mirror"):
        assert lab.ssh(node, ["test", "-e", path], check=False).returncode != 0, path
    enabled = lab.ssh(node, ["systemctl", "is-enabled", "mariadb.service", "apache2.service", "corosync.service"],
                      check=False).stdout.split()
    assert enabled == ["enabled"] * 3, enabled
    lab.use_mirror(node)
    sim = lab.ssh(node, ["apt-get", "install", "-s", "--no-install-recommends", *packages]).stdout
    assert "0 upgraded, 0 newly installed" in sim, sim[-2000:]
