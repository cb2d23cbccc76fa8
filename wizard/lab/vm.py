"""The `vm` flavour: qemu VMs booting Debian's own kernel (DRBD 8.4 inside).

KVM is used when it really boots a Debian kernel here (probed once per host
boot, bounded); otherwise TCG. On hosts whose /dev/kvm is PVM-only a stock
kernel hangs under KVM, so "KVM opens" is not enough: the probe boots the
kernel to its "no root" panic and needs to see that within seconds.
"""

from __future__ import annotations

import hashlib
import json
import shlex
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from wizard.lab import netns
from wizard.lab.image import Image
from wizard.lab.network import NETWORKS, Layout, create_tap
from wizard.lab.nodeconf import seed
from wizard.lab.paths import NODES, RUN_DIR, WORK_DIR, node_dir
from wizard.lab.proc import LabError, pid_alive, read_pidfile, run, stop_pid, wait_until
from wizard.lab.qmp import qmp
from wizard.sizing import TIERS

QEMU = "qemu-system-x86_64"
# The medium sizing tier's memory is what preflight must see (the reruns' e2e changes the tier from
# small to medium): it reads MemTotal, which is below qemu's -m by what the guest kernel reserves
# for itself, so -m adds that much (MemTotal measured by tests/lab/test_vm_smoke.py). qemu takes
# the host's memory only as the guest touches it.
GUEST_KERNEL_RESERVE_MIB = 384
MEMORY_MB = TIERS["medium"].min_memory_mib + GUEST_KERNEL_RESERVE_MIB
# What preflight asks of a node (cpus-low below 2). Under TCG each vCPU is a host thread: with one,
# the busy active node could never use the core its idle peer leaves free, and one busy process
# (the Zabbix server's first start, PHP) starved Pacemaker's monitors into timeouts (lab run 6).
CPUS = 2
# Sparse. Room for the medium tier's 256 MiB redo log beside Zabbix's database (the schema alone
# filled 75 % of 512 MiB, lab run 8).
DATA_DISK_SIZE = "1536M"
META_DISK_SIZE = "136M"      # indexed meta-disk: 128 MiB per index, plus room
KVM_PROBE_SECONDS = 15
# One small disk attached to both VMs (like a shared LUN) for SBD fencing;
# the guests see it as /dev/disk/by-id/virtio-zha-sbd.
SHARED_SBD_DISK = WORK_DIR / "shared" / "sbd.img"
SBD_DISK_SIZE = "16M"
SBD_SERIAL = "zha-sbd"


@dataclass(frozen=True)
class VmFiles:
    node: str

    @property
    def dir(self) -> Path:
        return node_dir(self.node)

    def __getattr__(self, name: str) -> Path:
        files = {"overlay": "root.qcow2", "data": "data.img", "meta": "meta.img", "seed": "seed.tar",
                 "console": "console.log", "qmp": "qmp.sock", "pidfile": "qemu.pid", "argv": "qemu.argv.json"}
        if name in files:
            return self.dir / files[name]
        raise AttributeError(name)


def mac(node: str, net: str) -> str:
    return f"52:54:00:7a:{NODES.index(node) + 1:02x}:{NETWORKS.index(net) + 1:02x}"


def probe_accel(image: Image) -> str:
    """"kvm" if a Debian kernel really boots under KVM here, else "tcg"."""
    boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    cache = RUN_DIR / "accel.json"
    try:
        cached = json.loads(cache.read_text())
        if cached.get("boot_id") == boot_id and cached.get("kernel") == str(image.kernel):
            return cached["accel"]
    except (OSError, ValueError):
        pass
    accel = "tcg"
    if Path("/dev/kvm").exists():
        argv = [QEMU, "-accel", "kvm", "-cpu", "host", "-m", "256", "-nodefaults", "-display", "none",
                "-no-reboot", "-kernel", str(image.kernel), "-append", "console=ttyS0 panic=-1",
                "-serial", "stdio"]
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=KVM_PROBE_SECONDS,
                                 stdin=subprocess.DEVNULL).stdout
            if "Kernel panic" in out:
                accel = "kvm"
        except subprocess.TimeoutExpired:
            pass   # hung in early boot: the PVM case
    RUN_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    cache.write_text(json.dumps({"boot_id": boot_id, "kernel": str(image.kernel), "accel": accel}))
    return accel


def create_node(image: Image, layout: Layout, node: str, host_key: tuple[bytes, bytes]) -> None:
    """Fresh disks (overlay on the cached image, empty data + meta disks), seed and taps."""
    f = VmFiles(node)
    f.dir.mkdir(parents=True, exist_ok=True)
    for path in (f.overlay, f.data, f.meta, f.console):
        path.unlink(missing_ok=True)
    run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(image.root_img), "-F", "raw", str(f.overlay)])
    run(["truncate", "-s", DATA_DISK_SIZE, str(f.data)])
    run(["truncate", "-s", META_DISK_SIZE, str(f.meta)])
    f.seed.write_bytes(seed(layout, node, host_key))
    for net in NETWORKS:
        create_tap(layout, node, net)


def create_shared_disk() -> None:
    """A fresh (zeroed) shared SBD disk."""
    SHARED_SBD_DISK.parent.mkdir(parents=True, exist_ok=True)
    SHARED_SBD_DISK.unlink(missing_ok=True)
    run(["truncate", "-s", SBD_DISK_SIZE, str(SHARED_SBD_DISK)])


def qemu_argv(image: Image, layout: Layout, node: str, accel: str, bmc_port: int | None) -> list[str]:
    f = VmFiles(node)
    machine_id = hashlib.sha256(f"zha-lab {layout.block} {node}".encode()).hexdigest()[:32]
    argv = [QEMU, "-name", f"zha-{node}", "-nodefaults", "-no-user-config", "-display", "none",
            "-machine", "q35", "-m", str(MEMORY_MB), "-smp", str(CPUS)]
    if accel == "kvm":
        argv += ["-accel", "kvm", "-cpu", "host"]
    else:
        # A smaller translation cache: ~0.7 GB RSS per VM instead of ~1.1 GB, same speed.
        argv += ["-accel", "tcg,tb-size=256", "-cpu", "max"]
    argv += ["-kernel", str(image.kernel), "-initrd", str(image.initrd),
             "-append", f"root=/dev/vda rw console=ttyS0 net.ifnames=0 quiet systemd.machine_id={machine_id}",
             "-fw_cfg", f"name=opt/zha/seed.tar,file={f.seed}"]
    # vda = root, vdb = DRBD data, vdc = DRBD meta-disk (fixed order = fixed names).
    for path, fmt in ((f.overlay, "qcow2"), (f.data, "raw"), (f.meta, "raw")):
        argv += ["-drive", f"file={path},if=virtio,format={fmt},cache=unsafe"]
    # Both VMs open it read-write at once (share-rw): SBD's slots do the arbitration.
    # A fixed slot after the other disks' keeps it /dev/vdd (unplaced, it would take slot 1 = vda).
    argv += ["-drive", f"file={SHARED_SBD_DISK},if=none,id=sbd,format=raw,cache=none",
             "-device", f"virtio-blk-pci,drive=sbd,serial={SBD_SERIAL},share-rw=on,addr=0x18"]
    for i, net in enumerate(NETWORKS):
        # Fixed PCI slots so eth0/eth1/eth2 are always mgmt/ic1/ic2.
        argv += ["-netdev", f"tap,id={net},ifname={layout.port(node, net)},script=no,downscript=no",
                 "-device", f"virtio-net-pci,netdev={net},mac={mac(node, net)},addr={0x10 + i:#x},romfile="]
    if bmc_port is not None:
        # The BMC is OpenIPMI's ipmi_sim on the host; the guest sees a KCS interface.
        argv += ["-chardev", f"socket,id=bmc,host=127.0.0.1,port={bmc_port},reconnect=2",
                 "-device", "ipmi-bmc-extern,id=bmc0,chardev=bmc", "-device", "isa-ipmi-kcs,bmc=bmc0"]
    argv += ["-serial", f"file:{f.console}", "-qmp", f"unix:{f.qmp},server=on,wait=off",
             "-pidfile", str(f.pidfile), "-daemonize"]
    # qemu runs in the lab's namespace: its taps and its BMC link live there.
    return netns.host_argv(argv)


def save_argv(node: str, argv: list[str]) -> None:
    VmFiles(node).argv.write_text(json.dumps(argv))


def load_argv(node: str) -> list[str]:
    return json.loads(VmFiles(node).argv.read_text())


def start_command(node: str) -> str:
    """The node's qemu command as one shell line (for ipmi_sim's startcmd)."""
    return shlex.join(load_argv(node))


def pid(node: str) -> int | None:
    p = read_pidfile(VmFiles(node).pidfile)
    return p if p and pid_alive(p) else None


def running(node: str) -> bool:
    return pid(node) is not None


def power_on(node: str) -> None:
    if running(node):
        return
    f = VmFiles(node)
    f.pidfile.unlink(missing_ok=True)
    f.qmp.unlink(missing_ok=True)
    run(load_argv(node), timeout=60)
    wait_until(lambda: running(node), timeout=30, interval=0.2, what=f"qemu of {node} to start")


def power_off(node: str) -> None:
    """Pull the plug: qemu quits at once, the guest gets no shutdown."""
    p = pid(node)
    if p is None:
        return
    try:
        qmp(VmFiles(node).qmp, "quit", timeout=5)
    except LabError:
        pass
    try:
        wait_until(lambda: not pid_alive(p), timeout=10, interval=0.1, what=f"qemu of {node} to exit")
    except LabError:
        stop_pid(p, str(VmFiles(node).dir), term_wait=5)


def set_link(node: str, net: str, up: bool) -> None:
    """Like pulling a cable: the guest NIC loses carrier."""
    qmp(VmFiles(node).qmp, "set_link", {"name": net, "up": up})


def free_tcp_port() -> int:
    """A free port on the namespace's loopback (qemu <-> its BMC)."""
    def pick() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    return netns.call_in(pick)


def stop_all() -> None:
    for node in NODES:
        power_off(node)
        p = read_pidfile(VmFiles(node).pidfile)
        if p:
            stop_pid(p, str(VmFiles(node).dir))
