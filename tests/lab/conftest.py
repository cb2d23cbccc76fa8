"""The two-node lab for tests: brought up once per flavour, reset between
test modules, brought down at the end of the session.

A module asks for a flavour with a marker (`pytestmark = pytest.mark.lab_vm`
or `lab_container`; `lab_vm_preinstalled` / `lab_container_preinstalled` for
nodes whose image already holds every package of the platform table) and
uses the `lab` fixture. Only one lab exists at a time (every flavour uses the
same names), so switching flavour means down + up; keep modules of one
flavour together. Nothing is skipped: a missing tool
or a failed boot is a test error. A lab left up before the session is
replaced.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass

import pytest

from wizard.lab.network import Layout
from wizard.lab.paths import DEFAULT_PLATFORM, NODES

# marker -> (flavour, preinstalled)
FLAVOUR_MARKERS = {"lab_vm": ("vm", False), "lab_container": ("container", False),
                   "lab_vm_preinstalled": ("vm", True), "lab_container_preinstalled": ("container", True)}


@dataclass
class LabHandle:
    flavour: str
    layout: Layout
    repo_url: str
    preinstalled: bool = False
    platform: str = DEFAULT_PLATFORM

    @property
    def suite(self) -> str:
        """The nodes' apt suite (bookworm, trixie): the mirror's dists/ name."""
        from wizard.platforms import platform

        return platform(self.platform).codename

    def address(self, node: str, net: str = "mgmt") -> str:
        return self.layout.node_address(net, node)

    def ssh(self, node: str, command: list[str] | str, *, timeout: float = 120,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        from wizard.lab.ssh import ssh_run

        return ssh_run(self.address(node), command, timeout=timeout, check=check)

    def host_run(self, argv: list[str], *, input: str | None = None,
                 timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run argv on the lab's host side (where the VIP is reachable), as a client outside the nodes:
        inside the lab's network namespace, like `zabbix-ha lab exec -- ...`."""
        from wizard.lab.netns import host_argv

        return subprocess.run(host_argv(argv), input=input, capture_output=True, text=True, timeout=timeout,
                              check=True)

    def http_get(self, url: str, timeout: float = 10) -> tuple[int, bytes]:
        """GET from the lab's host side (the VIP, the mirror): (status, body)."""
        from wizard.lab import netns

        return netns.http_get(url, timeout)

    def host_key(self, node: str) -> str:
        """The node's SSH host key fingerprint (SHA256:...), for --accept-host-key
        when zabbix-ha on one node first contacts the other."""
        from wizard.lab.ssh import host_key_fingerprints

        return host_key_fingerprints()[self.address(node)]

    def root_password(self) -> str:
        """The nodes' root password (lab only); give it on stdin, never in argv."""
        from wizard.lab.ssh import read_root_password

        return read_root_password()

    def reachable(self, node: str) -> bool:
        from wizard.lab.ssh import ssh_ready

        return ssh_ready(self.address(node))

    def fault(self, kind: str, node: str, link: str | None = None) -> None:
        from wizard.lab import fault

        fault.inject(kind, node, link, log=lambda _msg: None)

    def use_mirror(self, node: str) -> None:
        """Point the node's apt at the lab's local mirror (what the installer does)."""
        from wizard.lab.repo import apt_source_line

        self.ssh(node, f"printf '%s' '{apt_source_line(self.repo_url, self.suite).strip()}' > /etc/apt/sources.list"
                       " && apt-get update -q", timeout=120)

    def apt_install(self, node: str, *packages: str, timeout: float = 600) -> None:
        self.use_mirror(node)
        self.ssh(node, ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q",
                        "--no-install-recommends", *packages], timeout=timeout)


class _LabManager:
    """One per process (modules outside tests/lab import the fixtures, and
    each import would otherwise make its own session fixture and lab)."""

    def __init__(self) -> None:
        self.current: LabHandle | None = None
        self.modules_served = 0
        self.timings: list[tuple[str, float]] = []
        self.session_fd: int | None = None

    def get(self, flavour: str, module: str, preinstalled: bool = False,
            platform_id: str = DEFAULT_PLATFORM) -> LabHandle:
        from wizard.lab import lab, state

        self.hold_session()
        wanted = (flavour, preinstalled, platform_id)
        if self.current is None or (self.current.flavour, self.current.preinstalled, self.current.platform) != wanted:
            started = time.monotonic()
            lab.down(log=lambda _msg: None)
            st = lab.up(flavour, log=lambda msg: print(f"[lab] {msg}"), preinstalled=preinstalled,
                        platform_id=platform_id)
            self.current = LabHandle(flavour, lab.layout_of(st), st.repo_url, preinstalled, st.platform)
            self.timings.append((f"lab up ({flavour}, {platform_id}{', preinstalled' if preinstalled else ''})",
                                 time.monotonic() - started))
        elif self.modules_served:
            started = time.monotonic()
            lab.reset(log=lambda msg: print(f"[lab] {msg}"))
            self.timings.append((f"lab reset before {module}", time.monotonic() - started))
        self.modules_served += 1
        assert state.require().ready
        return self.current

    def hold_session(self) -> None:
        """A second test session on this machine waits here (bounded) rather
        than taking down the lab this one is using."""
        if self.session_fd is None:
            from wizard.lab.lock import acquire
            from wizard.lab.paths import RUN_DIR

            self.session_fd = acquire(RUN_DIR / "tests.lock", timeout=3600, what="the lab test session")

    def forget(self) -> None:
        """The lab was taken down behind the manager's back (crash tests)."""
        self.current = None

    def close(self) -> None:
        import os

        from wizard.lab import lab

        if self.current is not None:
            if os.environ.get("ZHA_KEEP_LAB") == "1":
                # For a person looking at what a run left (e.g. a drill by hand after the e2e):
                # the lab stays up; `python -m wizard lab down` takes it down.
                print("[lab] left up (ZHA_KEEP_LAB=1): python -m wizard lab down takes it down")
            else:
                lab.down(log=lambda _msg: None)
            self.current = None
            for what, secs in self.timings:
                print(f"[lab timing] {what}: {secs:.1f} s")
        if self.session_fd is not None:
            os.close(self.session_fd)
            self.session_fd = None


_MANAGER = _LabManager()


@pytest.fixture(scope="session")
def _lab_manager():
    yield _MANAGER
    _MANAGER.close()


@pytest.fixture(scope="module")
def lab(request, _lab_manager) -> LabHandle:
    flavours = {FLAVOUR_MARKERS[m.name] for m in request.node.iter_markers() if m.name in FLAVOUR_MARKERS}
    if len(flavours) != 1:
        raise pytest.UsageError(f"{request.module.__name__}: mark the module with exactly one of "
                                f"{', '.join(FLAVOUR_MARKERS)}")
    flavour, preinstalled = flavours.pop()
    return _lab_manager.get(flavour, request.module.__name__, preinstalled,
                            request.config.getoption("--lab-platform"))


def both_ways():
    """(from, to) node pairs in both directions."""
    return [(NODES[0], NODES[1]), (NODES[1], NODES[0])]
