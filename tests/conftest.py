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


@pytest.fixture(autouse=True)
def _no_applied_cluster(monkeypatch):
    """No test sees the /etc/zabbix-ha of the machine running it (a lab node may
    keep a cluster's answers there): tests that need one make it (tests/test_applied.py)."""
    from wizard import applied

    monkeypatch.setattr(applied, "ROOT", ROOT / "tests" / "data" / "no-such-root")


@pytest.fixture
def secrets():
    return Secrets(
        db_password=Secret("Db-pass'with\\quote-1"),
        hacluster_password=Secret("hacluster-pass-2"),
        zabbix_admin_password=Secret("admin-pass-3"),
        ipmi={"zbx-node1": Secret("bmc-one-pass"), "zbx-node2": Secret("bmc-two-pass")},
    )


# The install end to end on the VM lab (tests/lab/test_vm_install.py): every
# run installs (killed mid-way, resumed) and checks it through the VIP. The
# rest of it (no-op rerun, failover drill, fencing, reruns) does not fit CI's
# time budget beside the other tests under emulation: it runs only when asked
# for, `./test.sh --install-e2e tests/lab/test_vm_install.py`, and is
# otherwise deselected (reported as such), never skipped.
def pytest_addoption(parser):
    parser.addoption("--install-e2e", action="store_true",
                     help="also run the rest of the install end to end on the VM lab: no-op rerun, failover "
                          "drill, fencing, reruns (install_e2e marker)")
    # The lab's nodes run this platform's Debian (and its Zabbix): debian13 for
    # `./test.sh --install-e2e --lab-platform debian13 tests/lab/test_vm_install.py`.
    parser.addoption("--lab-platform", default="debian12", choices=("debian12", "debian13"),
                     help="the lab nodes' OS, a wizard.platforms id (default debian12)")


LAB_MARKERS = ("lab_vm", "lab_container", "lab_vm_preinstalled", "lab_container_preinstalled")


def pytest_collection_modifyitems(config, items):
    """Deselect (reported as such, never skipped): the install e2e unless asked
    for, and every lab user outside tests/lab when a run ignores tests/lab."""
    lab_ignored = any(str(p).rstrip("/").endswith("tests/lab") for p in (config.getoption("ignore") or []))

    def dropped(item) -> bool:
        if item.get_closest_marker("install_e2e") is not None and not config.getoption("--install-e2e"):
            return True
        return lab_ignored and any(item.get_closest_marker(m) is not None for m in LAB_MARKERS)

    gone = [i for i in items if dropped(i)]
    if gone:
        config.hook.pytest_deselected(items=gone)
        items[:] = [i for i in items if not dropped(i)]
    # The lab's users last, one flavour after the other: a lab stays up until
    # the session ends or another flavour replaces it, and its emulated VMs
    # would otherwise load both cores under every later test (a timing probe
    # failed in CI that way). Stable sort: module order kept within a flavour.
    def lab_order(item) -> int:
        return next((n + 1 for n, m in enumerate(LAB_MARKERS) if item.get_closest_marker(m) is not None), 0)

    items.sort(key=lab_order)


@pytest.fixture(autouse=True)
def own_config_home(tmp_path_factory, monkeypatch):
    """Answers saved at the default place (wizard.steps.answers_dir) land in a
    directory of this test, never in the real ~/.config; subprocesses inherit it."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
