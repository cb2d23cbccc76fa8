"""Run an OCF resource agent the way pacemaker-execd does, for the tests that start real servers."""

from __future__ import annotations

import subprocess
import tempfile
import time
from dataclasses import dataclass

OCF_ROOT = "/usr/lib/ocf"


@dataclass(frozen=True)
class AgentRun:
    returncode: int
    output: str          # stdout and stderr
    seconds: float


def run_agent(agent: str, action: str, instance: str, env: dict[str, str], timeout: float) -> AgentRun:
    """Wait for the agent's exit, not for its output's end: the server it starts keeps the
    inherited descriptors. `env`: the OCF_RESKEY_* (and HA_*) variables to add."""
    full = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "OCF_ROOT": OCF_ROOT, "OCF_RESOURCE_INSTANCE": instance,
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
