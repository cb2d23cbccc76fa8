"""`lab down` after a crash: a `lab up` killed with SIGKILL half-way leaves
containers, veths, bridges, overlay mounts, loop devices and helper
processes; `lab down` must remove all of them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wizard.lab.paths import RUN_DIR, STATE_FILE, WORK_DIR

pytestmark = pytest.mark.lab_container


def zabbix_ha(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "wizard", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL, **kw)


def leftovers() -> dict:
    from wizard.lab import netns, network

    links = [link["ifname"] for link in network.lab_links()] + ([f"netns {netns.NAME}"] if netns.exists() else [])
    mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()
              if line.split()[4].startswith(str(WORK_DIR))]
    loops = [d["name"] for d in json.loads(subprocess.run(["losetup", "-J", "-l"], capture_output=True, text=True)
                                           .stdout or '{"loopdevices": []}')["loopdevices"]
             if (d.get("back-file") or "").startswith(str(WORK_DIR))]
    return {"links": links, "mounts": mounts, "loops": loops, "work_dir": WORK_DIR.exists(),
            "state": STATE_FILE.exists()}


def test_down_cleans_up_after_a_killed_up(_lab_manager):
    from wizard.lab import lab

    _lab_manager.hold_session()
    lab.down(log=lambda _msg: None)
    _lab_manager.forget()
    up = zabbix_ha("lab", "up", "--flavour", "container", start_new_session=True)
    pidfiles = [WORK_DIR / "pids" / f"ct-{n}.json" for n in ("node1", "node2")]
    deadline = time.monotonic() + 120
    while not all(p.exists() for p in pidfiles):
        assert up.poll() is None, up.stdout.read()
        assert time.monotonic() < deadline, "lab up did not start the containers within 120 s"
        time.sleep(0.2)
    os.killpg(up.pid, signal.SIGKILL)          # the crash
    up.wait(timeout=10)
    helpers = [json.loads(p.read_text())["pid"] for p in (WORK_DIR / "pids").glob("*.json")]
    before = leftovers()
    assert before["links"] and before["mounts"] and before["loops"], before

    down = zabbix_ha("lab", "down")
    out, _ = down.communicate(timeout=120)
    assert down.returncode == 0, out
    assert leftovers() == {"links": [], "mounts": [], "loops": [], "work_dir": False, "state": False}
    for pid in helpers:
        stat = Path(f"/proc/{pid}/stat")
        assert not stat.exists() or stat.read_text().split(")")[-1].split()[0] == "Z", f"pid {pid} still runs"
    assert (RUN_DIR / "id_ed25519").exists()   # the lab key stays: nothing to clean there
