"""The container lab booted from the preinstalled image (`lab up --preinstalled`)."""

from __future__ import annotations

import pytest

from tests.lab import checks
from wizard.lab.paths import NODES

pytestmark = pytest.mark.lab_container_preinstalled


@pytest.mark.parametrize("node", NODES)
def test_every_package_is_there_at_the_mirrors_version(lab, node):
    assert lab.preinstalled
    checks.packages_preinstalled(lab, node)


def test_preflight_sees_the_packages(lab):
    out = checks.preflight_needs_no_flags(lab)
    assert not [f for f in out["findings"] if f["code"] == "package-version-mismatch"]
