"""The VM lab booted from the preinstalled image (`lab up --preinstalled`):
what the install's end-to-end test starts from."""

from __future__ import annotations

import pytest

from tests.lab import checks
from wizard.lab.paths import NODES

pytestmark = pytest.mark.lab_vm_preinstalled


@pytest.mark.parametrize("node", NODES)
def test_every_package_is_there_at_the_mirrors_version(lab, node):
    assert lab.preinstalled
    checks.packages_preinstalled(lab, node)


@pytest.mark.parametrize("node", NODES)
def test_drbd_module_loads(lab, node):
    lab.ssh(node, ["modprobe", "drbd"])
    assert "version: 8.4" in lab.ssh(node, ["cat", "/proc/drbd"]).stdout


def test_preflight_reaches_the_preinstalled_nodes_with_no_flags(lab):
    # Services Debian enabled may be running (the installer copes with that);
    # what matters here is that preflight gets in and sees the packages.
    out = checks.preflight_needs_no_flags(lab)
    print("preflight on preinstalled VMs:", sorted({(f["severity"], f["code"]) for f in out["findings"]}))
    assert not [f for f in out["findings"] if f["code"] in ("package-version-mismatch", "memory-low")]
