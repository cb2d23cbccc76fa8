"""Run an OCF resource agent the way pacemaker-execd does, for the tests that start real servers."""

from __future__ import annotations

import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

OCF_ROOT = "/usr/lib/ocf"


@dataclass(frozen=True)
class AgentRun:
    returncode: int
    output: str          # stdout and stderr
    seconds: float


def run_agent(agent: str, action: str, instance: str, env: dict[str, str], timeout: float) -> AgentRun:
    """Wait for the agent's exit, not for its output's end: the server it starts keeps the
    inherited descriptors. `env`: the OCF_RESKEY_* (and HA_*) variables to add. Like
    pacemaker-execd, the resource's type and provider are the agent's file and directory names
    (ocf-rarun agents build their function names from OCF_RESOURCE_TYPE: CI found a wrapper
    whose stock agent said "action not supported" under Pacemaker and not here)."""
    path = Path(agent)
    full = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT": OCF_ROOT, "OCF_RESOURCE_INSTANCE": instance,
            "OCF_RESOURCE_TYPE": path.name, "OCF_RESOURCE_PROVIDER": path.parent.name,
            "OCF_RA_VERSION_MAJOR": "1", "OCF_RA_VERSION_MINOR": "1",
            "HA_LOGFACILITY": "none", "HA_debug": "0", **env}
    started = time.monotonic()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen([agent, action], env=full, stdout=out, stderr=subprocess.STDOUT, text=True)
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
            raise
        out.seek(0)
        return AgentRun(rc, out.read(), time.monotonic() - started)
