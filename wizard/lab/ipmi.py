"""One simulated BMC per VM: OpenIPMI's ipmi_sim on the host.

Each BMC listens for IPMI-over-LAN (lanplus) on its own address on the
management bridge (.21 for node1, .22 for node2, port 623), like a real
server's BMC, and talks to its VM through qemu's `ipmi-bmc-extern` device.
`chassis power off` makes qemu exit at once (a hard power-off);
`power on` runs the VM's qemu command again (ipmi_sim's `startcmd`).
So `fence_ipmilan` on one node really powers the other off and on.
"""

from __future__ import annotations

import json
from pathlib import Path

from wizard.lab import daemons, netns
from wizard.lab.network import Layout
from wizard.lab.paths import node_dir
from wizard.lab.proc import LabError, wait_until

USER = "admin"
PASSWORD = "zha-lab-ipmi"   # lab only; written to the lab's secrets file
LAN_PORT = 623

EMU = """# one BMC (MC 0x20) with the standard watchdog sensor
mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02 persist_sdr
sel_enable 0x20 1000 0x0a
sensor_add 0x20 0 0 35 0x6f event-only
sensor_set_event_support 0x20 0 0 enable scanning per-state \\
\t000000000001111 000000000000000 \\
\t000000000001111 000000000000000
mc_enable 0x20
"""


def _q(text: str) -> str:
    """ipmi_sim's config strings are double-quoted; refuse what would break them."""
    if '"' in text or "\\" in text or "\n" in text:
        raise LabError(f"cannot put {text!r} into the ipmi_sim config", "use a lab path without quotes")
    return f'"{text}"'


def lan_conf(layout: Layout, node: str, vm_port: int, start_cmd: str) -> str:
    return f"""# BMC of {node}, written by zabbix-ha lab
name {_q('zha-' + node)}
set_working_mc 0x20
  startlan 1
    addr {layout.bmc_address(node)} {LAN_PORT}
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid {_guid(node)}
  endlan
  serial 15 127.0.0.1 {vm_port} codec VM
  startcmd {_q(start_cmd)}
  startnow false
  poweroff_wait 0
  kill_wait 5
  user 1 true  ""  "unused" user  10 none md2 md5 straight
  user 2 true  {_q(USER)} {_q(PASSWORD)} admin 10 none md2 md5 straight
"""


def _guid(node: str) -> str:
    return (node.encode().hex() + "0" * 32)[:32]


def start(layout: Layout, node: str, vm_port: int, start_cmd: str) -> None:
    d = node_dir(node) / "bmc"
    d.mkdir(parents=True, exist_ok=True)
    (d / "lan.conf").write_text(lan_conf(layout, node, vm_port, start_cmd))
    (d / "bmc.emu").write_text(EMU)
    (d / "state").mkdir(exist_ok=True)
    # In the lab's namespace: its LAN address is on the lab's management bridge.
    daemons.start(f"bmc-{node}", netns.host_argv(["ipmi_sim", "-n", "-c", str(d / "lan.conf"), "-f", str(d / "bmc.emu"),
                                   "-s", str(d / "state")]), marker=str(d), log=d / "ipmi_sim.log", cwd=d)
    # ipmi_sim listens for qemu on vm_port once it has read its config.
    wait_until(lambda: _listening(daemons.pid(f"bmc-{node}"), vm_port) or daemons.pid(f"bmc-{node}") is None,
               timeout=15, interval=0.2, what=f"the BMC of {node}")
    if daemons.pid(f"bmc-{node}") is None:
        raise LabError(f"ipmi_sim for {node} exited; see {d / 'ipmi_sim.log'}", "check the openipmi package")


def _listening(pid: int | None, port: int) -> bool:
    """Is something listening on 127.0.0.1:port in the namespace of `pid`?
    Read from /proc, not by connecting: ipmi_sim takes any connection on that
    port for its VM."""
    if pid is None:
        return False
    try:
        lines = open(f"/proc/{pid}/net/tcp").read().splitlines()[1:]
    except OSError:
        return False
    want = f"0100007F:{port:04X}"
    return any(f.split()[1] == want and f.split()[3] == "0A" for f in lines)


def info(layout: Layout, node: str) -> dict:
    return {"address": layout.bmc_address(node), "port": LAN_PORT, "user": USER, "password": PASSWORD,
            "lanplus": True}


def save_info(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2))
