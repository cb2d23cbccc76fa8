"""Status fixtures: real tool outputs (tests/data/status, see its SOURCE)."""

from __future__ import annotations

from pathlib import Path

from tests.preflight.capture import load
from wizard.preflight.facts import Raw
from wizard.status.model import CONSTRAINTS, CRM_MON, Expect

DATA = Path(__file__).resolve().parent.parent / "data" / "status"
SIMULATED = DATA / "simulated"
NODES = ("zbx-node1", "zbx-node2")
# The example answers (examples/two-node.yaml): the simulated CIB is rendered from them.
EXPECT = Expect(nodes=NODES, links=2, drbd_resource="r0", drbd_minor=0, fencing="ipmi")


def raw(key: str, argv: tuple[str, ...], stdout: str, rc: int = 0, stderr: str = "") -> Raw:
    return Raw(argv, rc, stdout, stderr, 0.0, 0.0)


def simulated(scenario: str) -> dict[str, Raw]:
    """What crm_mon and cibadmin printed for a simulated cluster state (see simulate.py)."""
    d = SIMULATED / scenario
    return {CRM_MON: raw(CRM_MON, ("crm_mon", "-1", "--output-as=xml"), (d / "crm_mon.xml").read_text()),
            CONSTRAINTS: raw(CONSTRAINTS, ("cibadmin", "--query", "--scope", "constraints"),
                             (d / "constraints.xml").read_text())}


def captured(case: str) -> dict[str, dict[str, Raw]]:
    """A capture from a real cluster: node -> key -> Raw (zabbix-ha status --save-raw DIR)."""
    return {n.name: load(n) for n in sorted((DATA / case).iterdir()) if n.is_dir()}

EXAMPLE_ANSWERS_PATH = str(Path(__file__).resolve().parent.parent.parent / "examples" / "two-node.yaml")
