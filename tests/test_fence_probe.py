"""Preflight's BMC probe with the real fence_ipmilan against OpenIPMI's ipmi_sim on loopback.

Each simulated BMC listens on its own 127.77.0.x address (port 623) and
"powers" a stand-in machine: a `sleep` its startcmd runs, whose pid we read.
A power-status query must stay a query whatever the answers say: a BMC user
name holding "\\naction=off" must never reach the agent's stdin (issue 14 item 1).
Missing tools fail these tests (.ci/packages/preflight.txt installs them).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.preflight import factory
from wizard.journal import Journal
from wizard.lab.ipmi import EMU
from wizard.preflight.probes import UnsafeOption, fence_stdin, ipmi
from wizard.remote import LocalExecutor
from wizard.spec import IpmiDevice, Secret

USER, PASSWORD = "admin", "sim-bmc-pass"
N1, N2 = "zbx-node1", "zbx-node2"
BMC = {N1: "127.77.0.21", N2: "127.77.0.22"}


def _udp_free(address: str, port: int = 623) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((address, port))
        except OSError:
            return False
    return True


class SimBmc:
    def __init__(self, root: Path, address: str) -> None:
        self.root, self.address = root, address
        root.mkdir(parents=True)
        (root / "state").mkdir()
        machine = root / "machine.sh"
        machine.write_text(f"#!/bin/sh\necho $$ > {root}/machine.pid\nexec sleep 600\n")
        machine.chmod(0o755)
        (root / "bmc.emu").write_text(EMU)
        (root / "lan.conf").write_text(f"""name "zha-test-{address}"
set_working_mc 0x20
  startlan 1
    addr {address} 623
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid {address.replace('.', '').ljust(32, '0')}
  endlan
  startcmd "{machine}"
  startnow true
  poweroff_wait 0
  kill_wait 1
  user 1 true  ""  "unused" user  10 none md2 md5 straight
  user 2 true  "{USER}" "{PASSWORD}" admin 10 none md2 md5 straight
""")
        self.proc = subprocess.Popen(["ipmi_sim", "-n", "-c", "lan.conf", "-f", "bmc.emu", "-s", "state"],
                                     cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=open(root / "ipmi_sim.log", "wb"), start_new_session=True)

    def machine_pid(self) -> int | None:
        pid_file = self.root / "machine.pid"
        return int(pid_file.read_text()) if pid_file.exists() else None

    def machine_running(self) -> bool:
        pid = self.machine_pid()
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"sleep")

    def status(self) -> str:
        """The power status as the real agent reads it (a plain query)."""
        # cipher=3: ipmi_sim does not answer ipmitool's cipher suite discovery,
        # which costs ~14 s of retries (the probe itself takes those).
        r = subprocess.run(["fence_ipmilan"], input=fence_stdin("status", {
            "ip": self.address, "username": USER, "password": PASSWORD, "lanplus": "1", "cipher": "3"}),
            capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        return r.stdout.strip()

    def stop(self) -> None:
        pid = self.machine_pid()
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=10)
        if pid is not None and self.machine_running():
            os.kill(pid, signal.SIGTERM)


@pytest.fixture
def bmcs(tmp_path):
    for tool in ("ipmi_sim", "fence_ipmilan", "ipmitool"):
        assert shutil.which(tool), f"{tool} is missing (.ci/packages/preflight.txt: openipmi, fence-agents, ipmitool)"
    for address in BMC.values():
        assert _udp_free(address), f"{address}:623 is taken; another test run holds it"
    sims = {node: SimBmc(tmp_path / node, address) for node, address in BMC.items()}
    try:
        for sim in sims.values():
            for _attempt in range(50):          # bounded: 50 x 0.1 s for the machine to start
                if sim.machine_running():
                    break
                time.sleep(0.1)
            assert sim.machine_running(), (sim.root / "ipmi_sim.log").read_text()
        yield sims
    finally:
        for sim in sims.values():
            sim.stop()


def probe_spec(user_for_node2: str = USER):
    spec = factory.spec()
    spec.fencing.ipmi = [IpmiDevice(BMC[N1], USER), IpmiDevice(BMC[N2], user_for_node2)]
    return spec


def probe_secrets():
    s = factory.secrets()
    s.ipmi = {N1: Secret(PASSWORD), N2: Secret(PASSWORD)}
    return s


def executors():
    journal = Journal()
    return {N1: LocalExecutor(N1, journal=journal), N2: LocalExecutor(N2, journal=journal)}


def test_the_probe_asks_each_bmc_for_its_power_status(bmcs):
    ex = executors()
    results = ipmi(probe_spec(), ex, probe_secrets())
    assert {(r.node, r.target) for r in results} == {(N2, N1), (N1, N2)}     # fenced from the peer
    assert len(ex[N1].journal.entries) == 2 and PASSWORD not in repr(ex[N1].journal.entries)
    assert all(r.ok is True and "Status: ON" in r.detail for r in results), results
    assert all(sim.machine_running() for sim in bmcs.values())


POISONED = [f"{USER}\naction=off", f"{USER}\raction=off", f"{USER}\x00action=off", f"{USER}\u2028action=off",
            f"{USER}\n\naction=reboot"]


def test_a_user_name_cannot_turn_the_status_query_into_power_off(bmcs):
    for first, second in zip(POISONED, POISONED[1:]):
        spec = probe_spec(user_for_node2=second)
        spec.fencing.ipmi[0].user = first
        ex = executors()
        results = {r.target: r for r in ipmi(spec, ex, probe_secrets())}
        # The poisoned devices are not asked at all: nothing reaches an agent.
        assert results[N1].ok is False and "fencing.ipmi[0].user" in results[N1].detail
        assert results[N2].ok is False and "fencing.ipmi[1].user" in results[N2].detail
        assert ex[N1].journal.entries == []
    # The machines behind the BMCs are still powered.
    assert all(sim.machine_running() for sim in bmcs.values())
    assert [sim.status() for sim in bmcs.values()] == ["Status: ON", "Status: ON"]


def test_a_password_with_a_line_break_is_not_sent():
    with pytest.raises(UnsafeOption):
        fence_stdin("status", {"ip": "192.0.2.1", "username": "u", "password": "pw\naction=off"})


def test_the_action_is_the_last_line():
    text = fence_stdin("status", {"ip": "192.0.2.1", "username": "u", "password": "p", "lanplus": "1"})
    assert text.splitlines()[-1] == "action=status" and text.count("action=") == 1
