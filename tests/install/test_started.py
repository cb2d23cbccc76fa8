"""The install's last cluster step waits until Pacemaker has done what the new configuration asks:
on a simulated cluster (zabbix-ha's rendered CIB brought up with crm_simulate, read with the real
crm_mon), a resource the configuration no longer has but that still runs keeps it waiting, as it
did not in lab run 12 (the IPMI fence devices were still active right after the switch to SBD)."""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET

from tests.data.status import simulate
from wizard.install.cib import started
from wizard.status.parse import parse_crm_mon

MEMBERS = ["zabbix-fs", "zabbix-db", "zabbix-vip", "zabbix-srcip", "zabbix-srcaddr", "zabbix-web", "zabbix-server"]


def _crm_mon(cib) -> str:
    return subprocess.run(["crm_mon", "-1", "--output-as=xml"], env={**os.environ, "CIB_file": str(cib)},
                          capture_output=True, text=True, timeout=60, check=True).stdout


def test_a_removed_resource_still_running_keeps_the_step_waiting_until_it_stops(tmp_path):
    cib = simulate.running(tmp_path, "ipmi")
    view = parse_crm_mon(_crm_mon(cib))
    assert started(view, MEMBERS, "zbx-node1", "drbd-r0") is True

    # The configuration loses fence-zbx-node1 (as a rerun to SBD removes it); its status stays.
    tree = ET.parse(cib)
    resources, constraints = tree.find("configuration/resources"), tree.find("configuration/constraints")
    resources.remove(resources.find("primitive[@id='fence-zbx-node1']"))
    for c in constraints.findall("rsc_location[@rsc='fence-zbx-node1']"):
        constraints.remove(c)
    tree.write(cib)
    view = parse_crm_mon(_crm_mon(cib))
    assert [(r.id, r.orphaned) for r in view.resources if r.id == "fence-zbx-node1"] == [("fence-zbx-node1", True)]
    said = started(view, MEMBERS, "zbx-node1", "drbd-r0")
    assert said == "waiting for Pacemaker to stop what the configuration no longer has: fence-zbx-node1"

    # Pacemaker's transition stops it: then the step is done.
    done = tmp_path / "stopped.xml"
    subprocess.run(["crm_simulate", "-x", str(cib), "-S", "-O", str(done)], capture_output=True, timeout=60,
                   check=True)
    assert started(parse_crm_mon(_crm_mon(done)), MEMBERS, "zbx-node1", "drbd-r0") is True
