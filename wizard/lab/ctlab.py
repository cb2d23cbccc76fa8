"""Lab backend for the `container` flavour: systemd-nspawn booted containers.

Fast (seconds) but with the host's kernel: no DRBD module (exactly what
preflight must report), no watchdog, no power to cut — so no fencing.
Same layout as the VMs: eth0 management, eth1/eth2 interconnects, /dev/vdb
data and /dev/vdc meta "disks" (loop devices over files in the lab's work dir).

Traps handled (see notes/lab.md): nspawn on a host whose PID 1 is not
systemd needs --keep-unit --register=no and its own cgroup per node (else
two containers collide in one `payload/` cgroup); the disks are made with
mknod inside the container, not --bind (a bind-mounted device node gets
unmounted by the Filesystem agent); the root is an overlay on the cached
image tree, so a node starts from pristine state in milliseconds.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

from wizard.lab import daemons, netns, network
from wizard.lab.image import Image
from wizard.lab.network import NETWORKS, Layout
from wizard.lab.nodeconf import NICS, seed
from wizard.lab.paths import NODES, WORK_DIR, node_dir
from wizard.lab.proc import LabError, pid_alive, run, wait_until
from wizard.lab.state import LabState

DATA_DISK_SIZE = "512M"
META_DISK_SIZE = "136M"
CGROUP_NAME = "zha-lab"
LOOP_MAJOR = 7


def _d(node: str, name: str) -> Path:
    return node_dir(node) / name


def _cgroup_roots() -> list[Path]:
    hybrid = [Path("/sys/fs/cgroup/systemd"), Path("/sys/fs/cgroup/unified")]
    roots = [p for p in hybrid if (p / "cgroup.procs").exists()]
    if not roots and Path("/sys/fs/cgroup/cgroup.controllers").exists():
        roots = [Path("/sys/fs/cgroup")]          # pure cgroup v2
    return roots


def create(st: LabState, image: Image, layout: Layout, keys, *, fencing: bool, log) -> None:
    st.fencing = ""        # containers cannot be fenced: nothing to power off, no watchdog
    for node in NODES:
        node_dir(node).mkdir(parents=True, exist_ok=True)
        _d(node, "seed.tar").write_bytes(seed(layout, node, keys[node]))
    recreate(st, image, layout, NODES, log=log)


def recreate(st: LabState, image: Image, layout: Layout, nodes, *, log) -> None:
    # Every container first: each nspawn holds a copy of the other's root mount
    # in its mount namespace, which keeps that directory busy until it exits.
    for node in nodes:
        power_off(node)
    for node in nodes:
        _teardown_node(node)
        root, upper, work = _d(node, "root"), _d(node, "upper"), _d(node, "work")
        for d in (root, upper, work):
            d.mkdir(parents=True, exist_ok=True)
        run(["mount", "-t", "overlay", "overlay", "-o",
             f"lowerdir={image.rootfs},upperdir={upper},workdir={work}", str(root)])
        run(["tar", "-x", "-C", str(root), "-f", str(_d(node, "seed.tar"))])
        (root / "etc/zha-lab").mkdir(exist_ok=True)
        (root / "etc/zha-lab/seeded").touch()
        (root / "etc/machine-id").write_text(secrets.token_hex(16) + "\n")
        loops = []
        for name, size in (("data", DATA_DISK_SIZE), ("meta", META_DISK_SIZE)):
            img = _d(node, f"{name}.img")
            run(["truncate", "-s", size, str(img)])
            loops.append(run(["losetup", "--find", "--show", str(img)]).stdout.strip())
        _d(node, "loops.json").write_text(json.dumps(loops))
        # The "disks" appear in the container as /dev/vdb and /dev/vdc, like on the
        # VMs, and under their own names, which is what lsblk (so preflight and the
        # answers) sees: /sys/block is the host's.
        minors = [int(loop.removeprefix("/dev/loop")) for loop in loops]
        (root / "etc/tmpfiles.d/zha-lab-disks.conf").write_text(
            f"b /dev/vdb 0660 root disk - {LOOP_MAJOR}:{minors[0]}\n"
            f"b /dev/vdc 0660 root disk - {LOOP_MAJOR}:{minors[1]}\n"
            + "".join(f"b {loop} 0660 root disk - {LOOP_MAJOR}:{minor}\n" for loop, minor in zip(loops, minors)))


def disks(node: str) -> tuple[str, str]:
    """(data, meta) device paths as the node's lsblk names them: its loop devices."""
    try:
        data, meta = json.loads(_d(node, "loops.json").read_text())
    except (OSError, ValueError) as exc:
        raise LabError(f"container {node} has no disks recorded ({exc})", "`zabbix-ha lab down`, then up") from None
    return data, meta


def start_all(st: LabState, layout: Layout, *, log) -> None:
    for node in NODES:
        power_on(node, layout)


def _nspawn_argv(node: str, layout: Layout) -> list[str]:
    argv = ["systemd-nspawn", "--boot", "--directory", str(_d(node, "root")), "--machine", node,
            "--register=no", "--keep-unit", "--console=read-only", "--resolv-conf=off",
            "--timezone=off", "--link-journal=no"]
    for net in NETWORKS:
        argv.append(f"--network-veth-extra={layout.port(node, net)}:{NICS[net]}")
    return argv


def _enter_cgroup(node: str):
    """Runs in the child before exec: its own cgroup, so nspawn's payload/ and
    supervisor/ cgroups are per node."""
    dirs = [root / CGROUP_NAME / node for root in _cgroup_roots()]

    def enter() -> None:
        for d in dirs:
            d.mkdir(parents=True, exist_ok=True)
            (d / "cgroup.procs").write_text(str(os.getpid()))
    return enter


def power_on(node: str, layout: Layout | None = None) -> None:
    if running(node):
        return
    if layout is None:
        from wizard.lab import state
        layout = Layout(state.require().block)
    # In the lab's namespace: nspawn makes the host ends of the veths there.
    daemons.start(f"ct-{node}", netns.host_argv(_nspawn_argv(node, layout)), marker=str(_d(node, "root")),
                  log=_d(node, "console.log"), preexec_fn=_enter_cgroup(node))
    # nspawn creates the host ends of the veths; put them on the bridges.
    for net in NETWORKS:
        wait_until(lambda: network.link_exists(layout.port(node, net)) or not running(node),
                   timeout=30, interval=0.1, what=f"{node}'s {net} veth")
        if not running(node):
            raise LabError(f"container {node} exited at start; see {_d(node, 'console.log')}",
                           "`zabbix-ha lab down`, then retry")
        network.attach_port(layout, node, net)


def running(node: str) -> bool:
    return daemons.pid(f"ct-{node}") is not None


def _payload_pid(nspawn_pid: int) -> int | None:
    try:
        children = Path(f"/proc/{nspawn_pid}/task/{nspawn_pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def power_off(node: str) -> None:
    """Pull the plug: SIGKILL the container's init; its PID namespace dies with it."""
    pid = daemons.pid(f"ct-{node}")
    if pid is None:
        return
    payload = _payload_pid(pid)
    if payload and pid_alive(payload):
        os.kill(payload, 9)
    try:
        wait_until(lambda: not pid_alive(pid), timeout=15, interval=0.1, what=f"container {node} to stop")
    finally:
        daemons.stop(f"ct-{node}")
    _remove_cgroups(node)


def set_link(layout: Layout, node: str, net: str, up: bool) -> None:
    # The host end of the veth going down takes the carrier from the container's end.
    network.set_port(layout, node, net, up)


def _remove_cgroups(node: str) -> None:
    for root in _cgroup_roots():
        base = root / CGROUP_NAME / node
        # Deepest first: nspawn leaves payload/... and supervisor/ behind.
        if base.exists():
            for d in sorted((p for p in base.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
                try:
                    d.rmdir()
                except OSError:
                    pass
            try:
                base.rmdir()
            except OSError:
                pass


def _teardown_node(node: str) -> None:
    power_off(node)
    root = _d(node, "root")
    for _ in range(3):
        if not _is_mount(root):
            break
        run(["umount", str(root)], check=False)
        if _is_mount(root):
            time.sleep(0.5)
            run(["umount", "-l", str(root)], check=False)
    try:
        loops = json.loads(_d(node, "loops.json").read_text())
    except (OSError, ValueError):
        loops = []
    for loop in loops:
        run(["losetup", "-d", loop], check=False)
    _d(node, "loops.json").unlink(missing_ok=True)
    import shutil
    for name in ("root", "upper", "work"):
        if _d(node, name).exists() and not _is_mount(_d(node, name)):
            shutil.rmtree(_d(node, name))
    for name in ("data.img", "meta.img"):
        _d(node, name).unlink(missing_ok=True)


def _is_mount(path: Path) -> bool:
    target = str(path)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == target for line in f)


def _sweep_mounts_and_loops() -> list[str]:
    """After a crash: any mount or loop device under the work dir is ours."""
    removed = []
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4] for line in f]
    for m in sorted(mounts, key=len, reverse=True):
        if m.startswith(str(WORK_DIR) + "/"):
            run(["umount", "-l", m], check=False)
            removed.append(f"mount {m}")
    out = run(["losetup", "-J", "-l"], check=False).stdout
    for dev in (json.loads(out).get("loopdevices", []) if out.strip() else []):
        if (dev.get("back-file") or "").startswith(str(WORK_DIR) + "/"):
            run(["losetup", "-d", dev["name"]], check=False)
            removed.append(f"loop {dev['name']}")
    return removed


def destroy() -> list[str]:
    removed = []
    for node in NODES:
        if running(node):
            removed.append(f"container {node}")
        power_off(node)
    for node in NODES:
        if node_dir(node).exists():
            _teardown_node(node)
        _remove_cgroups(node)
    removed += _sweep_mounts_and_loops()
    for root in _cgroup_roots():
        try:
            (root / CGROUP_NAME).rmdir()
        except OSError:
            pass
    return removed
