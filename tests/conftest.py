import copy
from pathlib import Path

import pytest

from wizard.answers import load_answers
from wizard.spec import Secret, Secrets

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_ANSWERS = ROOT / "examples" / "two-node.yaml"


@pytest.fixture(scope="session")
def _example_spec():
    return load_answers(EXAMPLE_ANSWERS)


@pytest.fixture
def spec(_example_spec):
    """A fresh, valid ClusterSpec (the documented example) to modify."""
    return copy.deepcopy(_example_spec)


@pytest.fixture
def secrets():
    return Secrets(
        db_password=Secret("Db-pass'with\\quote-1"),
        hacluster_password=Secret("hacluster-pass-2"),
        zabbix_admin_password=Secret("admin-pass-3"),
        ipmi={"zbx-node1": Secret("bmc-one-pass"), "zbx-node2": Secret("bmc-two-pass")},
    )
