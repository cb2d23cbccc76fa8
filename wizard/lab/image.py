"""The node base image: one debootstrapped Debian tree per suite (bookworm,
trixie), built once and cached.

The same tree serves both flavours: containers boot it as the lower layer of
an overlayfs, VMs boot Debian's own kernel from it with a root.img made from
the tree (qcow2 overlays per node). The cache directory name carries a hash of
the recipe (suite + package list + the files written into the tree +
RECIPE_VERSION, which is bumped whenever `customize` changes), so a changed
recipe builds anew, an unchanged one is reused, and each suite has its own.

The image holds only what the lab itself needs (SSH, networking tools, the
kernel). The Zabbix stack is NOT in it: the installer installs that from the
lab's local apt repository, as on a real air-gapped site.

The preinstalled variant (`lab up --preinstalled`) is the base tree plus every
package of the platform table (`all_packages()`), installed in a chroot at
native speed from the lab's own local mirror (a file: source, so the nodes
hold exactly the versions the mirror serves and an install finds them
current). A policy-rc.d denies every service start during the build and is
removed afterwards; units stay enabled as Debian ships them, as on a server
where an administrator installed the packages before running zabbix-ha.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from wizard.lab.lock import locked
from wizard.lab.paths import CACHE_DIR, DEBIAN_MIRROR
from wizard.lab.proc import LabError, run

RECIPE_VERSION = "3"
PACKAGES = (
    "systemd-sysv", "udev", "dbus", "kmod", "iproute2", "ifupdown", "openssh-server",
    "linux-image-amd64", "initramfs-tools", "e2fsprogs", "procps", "iputils-ping", "less",
    "util-linux", "ca-certificates", "python3", "curl", "netbase",
)
ROOT_IMG_SIZE = "4G"   # sparse; room for the whole Zabbix stack the installer adds

# Applied once per node at first boot: the node's identity comes from a tar
# passed by the host (VMs: qemu fw_cfg; containers: written into the overlay).
SEED_SCRIPT = """#!/bin/sh
# zabbix-ha lab: apply this node's identity (hostname, addresses, SSH host key,
# authorized keys, root password) once, from the seed the host passed in.
set -e
if [ ! -e /etc/zha-lab/seeded ]; then
    seed=/sys/firmware/qemu_fw_cfg/by_name/opt/zha/seed.tar/raw
    modprobe qemu_fw_cfg 2>/dev/null || true
    [ -r "$seed" ] || exit 0
    tar -x -C / -f "$seed"
    mkdir -p /etc/zha-lab
    touch /etc/zha-lab/seeded
    hostname "$(cat /etc/hostname)"
fi
# root's lab password (VMs: from the seed just applied; containers: the host
# wrote the seed into the node's tree). chpasswd hashes it; the clear text goes.
pw=/etc/zha-lab/root-password
if [ -s "$pw" ]; then
    printf 'root:%s\\n' "$(cat "$pw")" | chpasswd
    rm -f "$pw"
fi
"""

SEED_UNIT = """[Unit]
Description=zabbix-ha lab: apply node identity from the host
DefaultDependencies=no
After=systemd-remount-fs.service
Before=sysinit.target networking.service ssh.service systemd-hostnamed.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/zha-lab-seed

[Install]
WantedBy=sysinit.target
"""

# ifupdown-pre waits for *all* udev events to settle (~11 s under TCG);
# the lab's NICs are fixed, so wait for just those (bounded, 20 s).
NETWORKING_DROPIN = """[Service]
ExecStartPre=-/usr/bin/timeout 20 /bin/sh -c 'until [ -e /sys/class/net/eth0 ] && [ -e /sys/class/net/eth1 ] && [ -e /sys/class/net/eth2 ]; do sleep 0.1; done'
"""

# A small initrd with just what mounts a virtio root: 36 MB -> ~6 MB,
# seconds less to load and unpack under TCG.
INITRAMFS_CONF = "MODULES=list\n"
INITRAMFS_MODULES = "virtio_pci\nvirtio_blk\next4\n"

# Lab nodes only: root may also log in with the lab's random root password
# (RUN_DIR/root-password), because the end-to-end test runs zabbix-ha on node1
# and node1 sets up its login to node2 the way the product does (password
# once, then its own key). Keys: the lab's and zabbix-ha's own (seeded).
SSHD_CONF = """# zabbix-ha lab: root logs in with a key or the lab's root password; host key per node (seeded).
PermitRootLogin yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
HostKey /etc/ssh/ssh_host_ed25519_key
UseDNS no
"""

# Timers that would wake the (slow, emulated) nodes for nothing.
DISABLED_UNITS = ("apt-daily.timer", "apt-daily-upgrade.timer", "dpkg-db-backup.timer",
                  "e2scrub_all.timer", "fstrim.timer", "e2scrub_reap.service")
# Kernel module trees no lab node uses (saves ~400 MB); virtio, DRBD, softdog,
# IPMI and netfilter stay.
PRUNED_MODULE_DIRS = ("drivers/gpu", "drivers/media", "drivers/net/wireless", "drivers/infiniband",
                      "drivers/staging", "sound", "drivers/net/ethernet", "drivers/iio",
                      "drivers/bluetooth", "net/bluetooth", "net/wireless", "net/mac80211",
                      "drivers/isdn", "drivers/scsi/qla2xxx", "drivers/scsi/lpfc")


@dataclass(frozen=True)
class Image:
    dir: Path

    @property
    def rootfs(self) -> Path:
        return self.dir / "rootfs"

    @property
    def root_img(self) -> Path:
        return self.dir / "root.img"

    @property
    def kernel(self) -> Path:
        return self.dir / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.dir / "initrd.img"

    @property
    def dpkg_status(self) -> Path:
        """The image's installed-package list: the repo holds only what is missing."""
        return self.dir / "dpkg-status"

    def ready(self) -> bool:
        return (self.dir / "complete").exists()


def recipe_hash(suite: str) -> str:
    h = hashlib.sha256()
    h.update(RECIPE_VERSION.encode())
    h.update("\n".join(PACKAGES).encode())
    for part in (suite, ROOT_IMG_SIZE, SEED_SCRIPT, SEED_UNIT, SSHD_CONF, NETWORKING_DROPIN, INITRAMFS_CONF,
                 INITRAMFS_MODULES, *DISABLED_UNITS, *PRUNED_MODULE_DIRS):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def current_image(suite: str) -> Image:
    return Image(CACHE_DIR / f"base-{recipe_hash(suite)}")


def ensure_image(suite: str, log) -> tuple[Image, float | None]:
    """The suite's cached image, built first if missing. Returns (image, build seconds or None)."""
    image = current_image(suite)
    if image.ready():
        return image, None
    with locked(CACHE_DIR / ".build.lock", timeout=1800, what="the node image build"):
        if image.ready():            # built by the run we waited for
            return image, None
        return image, _build(image, suite, log)


def _build(image: Image, suite: str, log) -> float:
    started = time.monotonic()
    tmp = image.dir.with_name(image.dir.name + ".tmp")
    if tmp.exists():
        _unmount_chroot(tmp / "rootfs")
        _refuse_mounts_under(tmp)
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    building = Image(tmp)
    log(f"building node image {image.dir.name} ({suite}) with debootstrap (one time, ~2-3 min)")
    with open(tmp / "build.log", "w") as out:
        out.write("debootstrap " + " ".join(PACKAGES) + "\n")
    proc = run(["debootstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES),
                suite, str(building.rootfs), DEBIAN_MIRROR], timeout=1200, check=False)
    (tmp / "build.log").open("a").write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise LabError(f"debootstrap failed (exit {proc.returncode}); log: {tmp / 'build.log'}",
                       f"check that {DEBIAN_MIRROR} is reachable, then run `zabbix-ha lab up` again")
    customize(building.rootfs)
    _export_boot_files(building)
    shutil.copy2(building.rootfs / "var/lib/dpkg/status", building.dpkg_status)
    log("making root.img (ext4) from the tree")
    run(["truncate", "-s", ROOT_IMG_SIZE, str(building.root_img)])
    run(["mkfs.ext4", "-q", "-F", "-L", "zha-root", "-d", str(building.rootfs), str(building.root_img)],
        timeout=300)
    (tmp / "complete").write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) + "\n")
    tmp.rename(image.dir)
    return time.monotonic() - started


def customize(root: Path) -> None:
    # The nodes have no route out; their package source is the one the
    # installer configures (the lab's local mirror).
    (root / "etc/apt/sources.list").write_text("# package sources: set by the zabbix-ha installer\n")
    for lists in (root / "var/lib/apt/lists").glob("*_Packages"):
        lists.unlink()
    (root / "etc/hostname").write_text("zha-unseeded\n")
    (root / "etc/hosts").write_text("127.0.0.1 localhost\n")
    (root / "etc/fstab").write_text("# root comes from the kernel command line (VM) or the container\n")
    # Per-node machine ids come from the VM command line / nspawn.
    (root / "etc/machine-id").write_text("")
    for key in (root / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (root / "etc/ssh/sshd_config.d/zha-lab.conf").write_text(SSHD_CONF)
    seed = root / "usr/local/sbin/zha-lab-seed"
    seed.write_text(SEED_SCRIPT)
    seed.chmod(0o755)
    (root / "etc/systemd/system/zha-lab-seed.service").write_text(SEED_UNIT)
    run(["chroot", str(root), "systemctl", "enable", "zha-lab-seed.service"])
    run(["chroot", str(root), "systemctl", "disable", *DISABLED_UNITS], check=False)
    dropin = root / "etc/systemd/system/networking.service.d"
    dropin.mkdir(parents=True, exist_ok=True)
    (dropin / "zha-lab.conf").write_text(NETWORKING_DROPIN)
    (root / "etc/systemd/system/ifupdown-pre.service").unlink(missing_ok=True)
    (root / "etc/systemd/system/ifupdown-pre.service").symlink_to("/dev/null")
    for sub in ("usr/share/doc", "usr/share/man", "usr/share/locale", "var/cache/apt/archives"):
        for entry in (root / sub).glob("*"):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            elif entry.name != "lock":
                entry.unlink()
    kver = _kernel_version(root)
    (root / "etc/initramfs-tools/conf.d/zha-lab.conf").write_text(INITRAMFS_CONF)
    with open(root / "etc/initramfs-tools/modules", "a") as f:
        f.write(INITRAMFS_MODULES)
    run(["chroot", str(root), "update-initramfs", "-u", "-k", kver], timeout=300)
    moddir = root / "lib/modules" / kver / "kernel"
    for sub in PRUNED_MODULE_DIRS:
        shutil.rmtree(moddir / sub, ignore_errors=True)
    run(["chroot", str(root), "depmod", "-a", kver])


PREINSTALLED_VERSION = "1"
POLICY_RC_D = "#!/bin/sh\n# zabbix-ha lab image build: no service starts in the chroot\nexit 101\n"
CHROOT_MIRROR = "srv/zha-lab-mirror"      # where the local mirror is bind-mounted during the build


def preinstalled_hash(base: Image, packages: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for part in (PREINSTALLED_VERSION, base.dir.name, POLICY_RC_D, *packages):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def ensure_preinstalled(base: Image, mirror_root: Path, suite: str, packages: tuple[str, ...],
                        log) -> tuple[Image, float | None]:
    """The base image with `packages` installed (cached, keyed by the base
    recipe, which holds the suite, and the package list). `mirror_root`: the
    local repository's directory holding dists/ and pool/; `suite`: its suite."""
    image = Image(CACHE_DIR / f"preinst-{preinstalled_hash(base, packages)}")
    if image.ready():
        return image, None
    with locked(CACHE_DIR / ".build.lock", timeout=1800, what="the preinstalled node image build"):
        if image.ready():
            return image, None
        return image, _build_preinstalled(image, base, mirror_root, suite, packages, log)


def _build_preinstalled(image: Image, base: Image, mirror_root: Path, suite: str, packages: tuple[str, ...],
                        log) -> float:
    started = time.monotonic()
    tmp = image.dir.with_name(image.dir.name + ".tmp")
    if tmp.exists():
        _unmount_chroot(tmp / "rootfs")
        _refuse_mounts_under(tmp)
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    building = Image(tmp)
    root = building.rootfs
    log(f"building the preinstalled node image {image.dir.name} ({len(packages)} packages + dependencies; one time)")
    run(["cp", "-a", "--reflink=auto", str(base.rootfs), str(root)], timeout=600)
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text(POLICY_RC_D)
    policy.chmod(0o755)
    sources = root / "etc/apt/sources.list"
    base_sources = sources.read_text()
    sources.write_text(f"deb [trusted=yes] file:/{CHROOT_MIRROR} {suite} main\n")
    mirror = root / CHROOT_MIRROR
    mirror.mkdir(parents=True)
    env = ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C"]
    try:
        _mount_chroot(root, mirror_root)
        with open(tmp / "build.log", "w") as out:
            for argv, limit in ((["apt-get", "update", "-q"], 300),
                                (["apt-get", "install", "-y", "-q", "--no-install-recommends",
                                  "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
                                  *packages], 1800),
                                (["apt-get", "clean"], 60)):
                out.write("$ " + " ".join(argv) + "\n")
                out.flush()
                proc = run(["chroot", str(root), *env, *argv], timeout=limit, check=False)
                out.write(proc.stdout + proc.stderr)
                if proc.returncode != 0:
                    raise LabError(f"{' '.join(argv[:2])} in the image failed (exit {proc.returncode}); "
                                   f"log: {tmp / 'build.log'}", "see the log; `zabbix-ha lab up` retries the build")
    finally:
        _unmount_chroot(root)
    _refuse_mounts_under(tmp)
    mirror.rmdir()
    policy.unlink()
    sources.write_text(base_sources)
    for lists in (root / "var/lib/apt/lists").glob("*_*"):
        lists.unlink()
    _export_boot_files(building)
    shutil.copy2(root / "var/lib/dpkg/status", building.dpkg_status)
    log("making root.img (ext4) from the preinstalled tree")
    run(["truncate", "-s", ROOT_IMG_SIZE, str(building.root_img)])
    run(["mkfs.ext4", "-q", "-F", "-L", "zha-root", "-d", str(root), str(building.root_img)], timeout=600)
    secs = time.monotonic() - started
    (tmp / "complete").write_text(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} built in {secs:.0f} s\n")
    tmp.rename(image.dir)
    return secs


def _mount_chroot(root: Path, mirror_root: Path) -> None:
    """proc, a private /dev (tmpfs with the few nodes dpkg scripts use, never
    the host's /dev) and the local mirror, read-only."""
    run(["mount", "-t", "proc", "proc", str(root / "proc")])
    dev = root / "dev"
    run(["mount", "-t", "tmpfs", "-o", "mode=0755,size=16m", "zha-lab-dev", str(dev)])
    for name, major, minor in (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8),
                               ("urandom", 1, 9), ("tty", 5, 0)):
        run(["mknod", "-m", "666", str(dev / name), "c", str(major), str(minor)])
    (dev / "pts").mkdir()
    run(["mount", "-t", "devpts", "-o", "newinstance,ptmxmode=0666", "devpts", str(dev / "pts")])
    (dev / "ptmx").symlink_to("pts/ptmx")
    (dev / "shm").mkdir()
    mirror = root / CHROOT_MIRROR
    run(["mount", "--bind", str(mirror_root), str(mirror)])
    run(["mount", "-o", "remount,bind,ro", str(mirror)])


def _refuse_mounts_under(path: Path) -> None:
    """Never delete through a mount point."""
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4] for line in f if line.split()[4].startswith(str(path) + "/")]
    if mounts:
        raise LabError(f"still mounted under {path}: {', '.join(mounts)}", "unmount them, then retry")


def _kernel_version(root: Path) -> str:
    versions = sorted(p.name for p in (root / "lib/modules").iterdir())
    if not versions:
        raise LabError("the image has no kernel", "the linux-image-amd64 install failed; see build.log")
    return versions[-1]


def _export_boot_files(image: Image) -> None:
    kver = _kernel_version(image.rootfs)
    shutil.copy2(image.rootfs / "boot" / f"vmlinuz-{kver}", image.kernel)
    shutil.copy2(image.rootfs / "boot" / f"initrd.img-{kver}", image.initrd)


def _unmount_chroot(root: Path) -> None:
    for sub in (CHROOT_MIRROR, "dev/pts", "proc", "sys", "dev"):
        if _is_mount(root / sub):
            run(["umount", str(root / sub)], check=False)
        if _is_mount(root / sub):
            run(["umount", "-l", str(root / sub)], check=False)


def _is_mount(path: Path) -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == str(path) for line in f)
