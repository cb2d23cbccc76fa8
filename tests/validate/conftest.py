"""Shared fixtures for the real-validator tests (marked `validators`).

The sample files in data/ have the shapes the templates render; each test
feeds a good sample or a broken variant of it to the real tool. A missing
tool makes a test fail (ok is False, skipped_reason set), never skip.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from wizard.validators import ValidationContext, Verdict

DATA = Path(__file__).parent / "data"

NODE1, NODE2 = "zbx-node1", "zbx-node2"

# Sample path -> (data file, kind), the layout render produces per node.
SAMPLES = {
    "/etc/drbd.d/global_common.conf": ("global_common.conf", "drbd-global"),
    "/etc/drbd.d/r0.res": ("r0.res", "drbd-resource"),
    "/etc/corosync/corosync.conf": ("corosync.conf", "corosync"),
    "/etc/zabbix-ha/cib.xml": ("cib.xml", "cib"),
    "/etc/mysql/mariadb.conf.d/60-zabbix-ha.cnf": ("60-zabbix-ha.cnf", "mariadb"),
    "/etc/apache2/sites-available/zabbix-ha.conf": ("zabbix-ha.conf", "apache"),
    "/etc/zabbix/zabbix_server.conf": ("zabbix_server.conf", "zabbix-server"),
    "/etc/zabbix/zabbix.conf.php": ("zabbix.conf.php", "zabbix-frontend"),
    "/etc/zabbix-ha/hosts": ("hosts", "hosts"),
    "/etc/zabbix/zabbix_server.secrets.conf": ("zabbix_server.secrets.conf", "zabbix-server-secrets"),
    "/etc/zabbix-ha/fence_zbx-node1.password": ("ipmi-password", "ipmi-password"),
    "/etc/zabbix/zabbix_agentd.conf": ("zabbix_agentd.conf", "zabbix-agent"),
    "/usr/local/lib/zabbix-ha/mysql-monitor-client": ("mysql-monitor-client", "mysql-monitor-client"),
    "/usr/lib/ocf/resource.d/zabbix-ha/zabbix-server": ("zabbix-server-agent", "zabbix-server-agent"),
    "/etc/default/sbd": ("sbd", "sbd"),
    "/usr/local/lib/zabbix-ha/crm-fence-peer.sh": ("crm-fence-peer.sh", "drbd-fence-peer"),
}


@dataclass(frozen=True)
class File:
    """Stand-in for render's RenderedFile: validate_tree only reads .text and .kind."""
    text: str
    kind: str


def sample(name: str) -> str:
    return (DATA / name).read_text()


def mutate(text: str, old: str, new: str) -> str:
    """Replace old by new, insisting old is there (a no-op mutation would prove nothing)."""
    assert old in text, f"mutation target {old!r} not in sample"
    return text.replace(old, new, 1)


def by_tool(verdicts: list[Verdict], tool: str) -> Verdict:
    found = [v for v in verdicts if v.tool == tool]
    assert len(found) == 1, f"expected one {tool!r} verdict, got {[v.tool for v in verdicts]}"
    return found[0]


def assert_all_ok(verdicts: list[Verdict]) -> None:
    assert verdicts
    for v in verdicts:
        assert v.skipped_reason is None, v.line()
        assert v.ok, v.line()


def assert_rejected(verdicts: list[Verdict], tool: str, fragment: str) -> Verdict:
    """The named tool ran, said no, and its messages contain fragment."""
    v = by_tool(verdicts, tool)
    assert v.skipped_reason is None, v.line()
    assert not v.ok, f"{tool} accepted a broken file"
    assert any(fragment in m for m in v.messages), f"{fragment!r} not in {v.messages}"
    # Messages name the generated file, never the validator's temp copy.
    assert not any("zbxha-" in m for m in v.messages), v.messages
    return v


@pytest.fixture
def ctx() -> ValidationContext:
    return ValidationContext(
        nodes=(NODE1, NODE2),
        preferred=NODE1,
        link_addresses=(("172.16.1.1", "172.16.2.1"), ("172.16.1.2", "172.16.2.2")),
        drbd_resource="r0",
    )
