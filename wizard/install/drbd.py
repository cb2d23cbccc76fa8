"""DRBD: module, metadata, resource up, first sync, filesystem — the data stage.

Destructive steps refuse a device that carries a signature (filesystem,
partition table, RAID, LVM) unless that one device on that one node was
accepted for wiping in this run (`wipe-disk:NODE:/dev/DEV`, the code
preflight prints). Whether both backing disks were fresh is decided once,
before create-md, and kept on the first node: fresh disks skip the initial
full sync (`new-current-uuid --clear-bitmap`: 1.4 s instead of a full copy);
a disk that held data gets a full sync from the first node, with progress.
"""

from __future__ import annotations


from wizard.install.step import Context, Step, StepFailed, wait_for
from wizard.status.parse import DrbdState, parse_drbd

MODULES_LOAD = "/etc/modules-load.d/zabbix-ha-drbd.conf"
CONNECT_TIMEOUT = 120
# A full sync at 10 MB/s (measured under emulation) plus room; real disks are faster.
SYNC_MIN_RATE_BYTES = 1_000_000
SYNC_TIMEOUT_FLOOR = 600


def resource(ctx: Context) -> str:
    return ctx.spec.storage.resource


def device(ctx: Context) -> str:
    return f"/dev/drbd{ctx.spec.storage.minor}"


def disks(ctx: Context) -> tuple[str, str | None]:
    d = ctx.spec.storage.nodes[ctx.index]
    return d.disk, (d.meta_disk if ctx.spec.storage.meta_disk_mode != "internal" else None)


def signature(ctx: Context, dev: str) -> str:
    """What blkid finds on `dev` ("" = nothing), probing the device itself, not the cache."""
    res = ctx.run(["blkid", "-p", "-o", "export", "--", dev], check=False)
    if res.rc == 2:          # nothing found
        return ""
    if not res.ok:
        raise StepFailed(f"on {ctx.node}: cannot probe {dev}: {res.stderr.strip()}",
                         f"check that {dev} exists on {ctx.node}", res.stderr)
    found = dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)
    return found.get("TYPE") or found.get("PTTYPE") or "unknown signature"


def guard(ctx: Context, dev: str, what: str) -> None:
    """Refuse to write over a signature unless this device was accepted for wiping."""
    found = signature(ctx, dev)
    code = f"wipe-disk:{ctx.node}:{dev}"
    if found and code not in ctx.shared.accept_wipe:
        raise StepFailed(f"{dev} on {ctx.node} carries a {found} signature; {what} would destroy it",
                         f"check that nothing on it is needed, then accept erasing it: --force {code}")


def _minor(ctx: Context) -> DrbdState | None:
    """Our minor in /proc/drbd (DRBD 8.4, parsed by wizard.status.parse), None when not configured."""
    res = ctx.run(["cat", "/proc/drbd"], check=False)
    return next((m for m in parse_drbd(res.stdout, res.rc)[1] if m.minor == ctx.spec.storage.minor), None)


def status(ctx: Context) -> dict[str, str]:
    """cs/ro/ds of the resource from /proc/drbd (DRBD 8.4), {} when not configured."""
    d = _minor(ctx)
    if d is None:
        return {}
    return {"cs": d.connection, "ro": f"{d.role}/{d.peer_role}", "ds": f"{d.disk}/{d.peer_disk}"}


def sync_progress(ctx: Context) -> str:
    d = _minor(ctx)
    if d is None or d.sync_percent is None:
        return ""
    return f"sync {d.sync_percent:g} %" + (f", about {d.sync_eta} left" if d.sync_eta else "")


# -- module ------------------------------------------------------------------

def _module_ready(ctx: Context) -> bool:
    return ctx.ok(["test", "-e", "/proc/drbd"]) and ctx.ok(["grep", "-qx", "drbd", MODULES_LOAD])


def _load_module(ctx: Context) -> str:
    res = ctx.run(["modprobe", "drbd"], check=False)
    if not res.ok:
        raise StepFailed(f"{ctx.node} cannot load the DRBD kernel module: {res.stderr.strip()}",
                         "install a kernel with DRBD (Debian's kernels have it in-tree) and reboot into it")
    ctx.ex.put(MODULES_LOAD, "# zabbix-ha: DRBD mirrors the Zabbix database\ndrbd\n", 0o644)
    return "loaded drbd, and at boot"


# -- metadata ------------------------------------------------------------------

def _metadata_exists(ctx: Context) -> bool:
    if status(ctx):
        return True
    return ctx.sh('drbdadm dump-md "$1" >/dev/null 2>&1', resource(ctx), check=False).ok


def _metadata_destroys(ctx: Context) -> str:
    data, meta = disks(ctx)
    where = f"{meta}[{ctx.spec.storage.nodes[ctx.index].meta_index}]" if ctx.spec.storage.meta_disk_mode == "indexed" \
        else (meta or f"the end of {data}")
    return f"write DRBD metadata to {where} on {ctx.node}"


def _create_metadata(ctx: Context) -> str:
    data, meta = disks(ctx)
    # Decided once, before anything is written: were the backing disks fresh?
    fresh = not signature(ctx, data)
    for dev in (data, meta):
        if dev:
            guard(ctx, dev, "creating DRBD metadata")
    ctx.shared.remember(ctx, f"drbd_fresh:{ctx.node}", fresh)
    ctx.run(["drbdadm", "create-md", "--force", resource(ctx)], timeout=300)
    return f"DRBD metadata created ({'fresh disk' if fresh else 'the disk held data: a full sync follows'})"


# -- up / connected --------------------------------------------------------------

def _is_up(ctx: Context) -> bool:
    return bool(status(ctx))


def _up(ctx: Context) -> str:
    ctx.run(["drbdadm", "up", resource(ctx)], timeout=120)
    return f"{resource(ctx)} up"


def _adjusted(ctx: Context) -> bool:
    # `drbdadm -d adjust` prints the drbdsetup commands that would bring the
    # running resource to its file (nothing when they agree: DRBD 8.4.11 with
    # drbd-utils 9.22 on the VM lab); a changed .res on a rerun is applied live.
    res = ctx.run(["drbdadm", "-d", "adjust", resource(ctx)], check=False, timeout=60)
    return res.ok and not res.stdout.strip()


def _adjust(ctx: Context) -> str:
    plan = ctx.run(["drbdadm", "-d", "adjust", resource(ctx)], check=False, timeout=60).stdout.strip()
    ctx.run(["drbdadm", "adjust", resource(ctx)], timeout=120)
    return f"{resource(ctx)} adjusted live to its configuration: " + "; ".join(plan.splitlines()[:5])


def _verify_connected(ctx: Context) -> None:
    def probe():
        st = status(ctx)
        return True if st.get("cs") in ("Connected", "SyncSource", "SyncTarget") else f"connection: {st.get('cs', 'down')}"
    wait_for(ctx, f"DRBD {resource(ctx)} connecting to {ctx.peer}", probe, timeout=CONNECT_TIMEOUT,
             fix=f"check the replication link between the nodes and that port {ctx.spec.storage.port} is open")


# -- first sync --------------------------------------------------------------------

def _in_sync(ctx: Context) -> bool:
    return status(ctx).get("ds") == "UpToDate/UpToDate"


def _first_sync(ctx: Context) -> str:
    st = status(ctx)
    if st.get("ds") != "Inconsistent/Inconsistent":
        # Some other state (a sync already running, one side UpToDate): wait for it.
        _wait_sync(ctx)
        return "waited for the running sync"
    state = ctx.shared.state
    fresh = [state.get(f"drbd_fresh:{n}") for n in ctx.spec.hostnames]
    if all(f is True for f in fresh):
        ctx.run(["drbdadm", "--", "--clear-bitmap", "new-current-uuid", resource(ctx)], timeout=120)
        _wait_sync(ctx)
        return "both disks were fresh: initial sync skipped (new current UUID, bitmap cleared)"
    ctx.run(["drbdadm", "--", "--overwrite-data-of-peer", "primary", resource(ctx)], timeout=120)
    _wait_sync(ctx)
    return f"full initial sync from {ctx.node} (a disk held data)"


def _wait_sync(ctx: Context) -> None:
    size = ctx.run(["blockdev", "--getsize64", disks(ctx)[0]], check=False).stdout.strip()
    timeout = max(SYNC_TIMEOUT_FLOOR, int(size or 0) / SYNC_MIN_RATE_BYTES)

    def probe():
        if _in_sync(ctx):
            return True
        return sync_progress(ctx) or f"disks: {status(ctx).get('ds', '?')}"
    wait_for(ctx, "the DRBD sync", probe, timeout=timeout, interval=3,
             fix="check the replication link; `cat /proc/drbd` on the nodes shows the sync")


# -- filesystem ---------------------------------------------------------------------

def data_initialised(ctx: Context) -> bool:
    return ctx.shared.state.get("data_initialised") is True


def mounted_here(ctx: Context) -> bool:
    res = ctx.run(["findmnt", "-n", "-o", "SOURCE", "--mountpoint", ctx.spec.storage.mount_point], check=False)
    return res.ok and res.stdout.strip() == device(ctx)


def _filesystem_ready(ctx: Context) -> bool:
    if data_initialised(ctx):
        return True
    return status(ctx).get("ro", "").startswith("Primary") and mounted_here(ctx)


def _filesystem_destroys(ctx: Context) -> str:
    return f"create {ctx.spec.storage.filesystem} on {device(ctx)} (node {ctx.node})"


def _make_filesystem(ctx: Context) -> str:
    done = []
    if not status(ctx).get("ro", "").startswith("Primary"):
        ctx.run(["drbdadm", "primary", resource(ctx)], timeout=120)
        done.append(f"{ctx.node} promoted")
    fs = ctx.spec.storage.filesystem
    found = signature(ctx, device(ctx))
    if found != fs:
        if found:
            guard(ctx, disks(ctx)[0], f"creating {fs} on {device(ctx)}")
        mkfs = ["mkfs.ext4", "-q", "-F", "-L", "zabbix-ha"] if fs == "ext4" else ["mkfs.xfs", "-q", "-f", "-L", "zabbix-ha"]
        ctx.run([*mkfs, device(ctx)], timeout=600)
        done.append(f"{fs} created on {device(ctx)}")
    if not mounted_here(ctx):
        ctx.run(["mount", "-o", "noatime", "-t", fs, device(ctx), ctx.spec.storage.mount_point], timeout=120)
        done.append(f"mounted on {ctx.spec.storage.mount_point}")
    return ", ".join(done) or "already in place"


def steps(nodes: list[str]) -> list[Step]:
    first, second = nodes
    out = []
    for node in nodes:
        out += [
            Step(node, "drbd.module", "DRBD kernel module", check=_module_ready, apply=_load_module),
            Step(node, "drbd.metadata", "DRBD metadata", check=_metadata_exists, apply=_create_metadata,
                 destructive=_metadata_destroys, after=("files.write", "drbd.module")),
            Step(node, "drbd.up", "DRBD resource up", check=_is_up, apply=_up),
            Step(node, "drbd.adjust", "DRBD running with its current configuration", check=_adjusted,
                 apply=_adjust, after=("drbd.up",)),
        ]
    out += [
        Step(first, "drbd.connected", "DRBD nodes connected", verify=_verify_connected,
             after=("drbd.adjust", f"{second}:drbd.adjust")),
        Step(first, "drbd.sync", "DRBD disks in sync (skipped when both are fresh)", check=_in_sync,
             apply=_first_sync, after=(f"{second}:drbd.metadata",)),
        Step(first, "drbd.filesystem", "Filesystem on the DRBD device, mounted", check=_filesystem_ready,
             apply=_make_filesystem, destructive=_filesystem_destroys),
    ]
    return out
