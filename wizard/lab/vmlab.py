"""Lab backend for the `vm` flavour (see vm.py for the VMs themselves)."""

from __future__ import annotations

from wizard.lab import daemons, ipmi, network, vm
from wizard.lab.image import Image
from wizard.lab.network import Layout
from wizard.lab.paths import NODES
from wizard.lab.proc import run
from wizard.lab.state import LabState


def create(st: LabState, image: Image, layout: Layout, keys, *, fencing: bool, log) -> None:
    st.accel = vm.probe_accel(image)
    if st.accel == "tcg":
        log("KVM cannot boot a Debian kernel here (or is absent): using TCG (software emulation)")
    vm.create_shared_disk()
    for node in NODES:
        vm.create_node(image, layout, node, keys[node])
        bmc_port = vm.free_tcp_port() if fencing else None
        argv = vm.qemu_argv(image, layout, node, st.accel, bmc_port)
        vm.save_argv(node, argv)
        if fencing:
            ipmi.start(layout, node, bmc_port, vm.start_command(node))
    st.fencing = "ipmi" if fencing else ""


def start_all(st: LabState, layout: Layout, *, log) -> None:
    for node in NODES:
        vm.power_on(node)


def recreate(st: LabState, image: Image, layout: Layout, nodes, *, log) -> None:
    """Fresh root overlay and empty data/meta disks; same identity (seed, keys).
    The shared SBD disk is renewed when both nodes are reset."""
    if set(nodes) == set(NODES):
        vm.create_shared_disk()
    for node in nodes:
        f = vm.VmFiles(node)
        for path in (f.overlay, f.data, f.meta, f.console):
            path.unlink(missing_ok=True)
        run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(image.root_img), "-F", "raw", str(f.overlay)])
        run(["truncate", "-s", vm.DATA_DISK_SIZE, str(f.data)])
        run(["truncate", "-s", vm.META_DISK_SIZE, str(f.meta)])
        for net in network.NETWORKS:
            network.set_port(layout, node, net, True)


def disks(node: str) -> tuple[str, str]:
    """(data, meta): fixed virtio order, vdb and vdc."""
    return "/dev/vdb", "/dev/vdc"


def running(node: str) -> bool:
    return vm.running(node)


def power_off(node: str) -> None:
    vm.power_off(node)


def power_on(node: str) -> None:
    vm.power_on(node)


def set_link(layout: Layout, node: str, net: str, up: bool) -> None:
    # Both ends: the guest NIC loses carrier (as with a pulled cable) and the
    # host port stops forwarding, so nothing crosses even if carrier is ignored.
    if vm.running(node):
        vm.set_link(node, net, up)
    network.set_port(layout, node, net, up)


def destroy() -> list[str]:
    removed = []
    for node in NODES:
        if vm.running(node):
            removed.append(f"vm {node}")
        vm.power_off(node)
    for node in NODES:
        if daemons.pid(f"bmc-{node}") is not None:
            removed.append(f"bmc {node}")
        daemons.stop(f"bmc-{node}")
    # qemu instances started by a BMC's `power on` are ours too: their pid files are in the node dirs.
    vm.stop_all()
    return removed
