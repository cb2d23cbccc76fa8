"""`lab up|down|status|reset`: the two-node lab as a whole, for both flavours."""

from __future__ import annotations

import os
import platform
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from wizard.errors import EnvironmentProblem, UserError
from wizard.lab import daemons, netns, network, state
from wizard.lab.image import Image, ensure_image
from wizard.lab.lock import locked
from wizard.lab.network import NETWORKS, Layout
from wizard.lab.paths import (ANSWERS_FILE, DEFAULT_PLATFORM, FLAVOURS, KNOWN_HOSTS, NODES, ROOT_PASSWORD_FILE, RUN_DIR,
                               WORK_DIR)
from wizard.lab.proc import LabError, wait_until
from wizard.lab.ssh import ensure_lab_key, make_host_key, new_root_password, ssh_ready, write_known_hosts

if TYPE_CHECKING:
    from wizard.platforms import Platform

# A preinstalled node starts the whole stack at boot; under TCG on a loaded
# 2-core host that took longer than 300 s.
SSH_READY_TIMEOUT = {"vm": 600, "container": 60}


def require_host() -> None:
    if platform.system() != "Linux":
        raise EnvironmentProblem(f"the lab needs Linux (this is {platform.system()})",
                                 "run `zabbix-ha lab` on a Linux machine")
    if os.geteuid() != 0:
        raise EnvironmentProblem("the lab needs root (it creates bridges, taps and VMs)",
                                 "run it as root, e.g. `sudo zabbix-ha lab up`")


def _backend(flavour: str):
    if flavour == "vm":
        from wizard.lab import vmlab
        return vmlab
    if flavour == "container":
        from wizard.lab import ctlab
        return ctlab
    raise UserError(f"unknown lab flavour {flavour!r}", "use --flavour vm or --flavour container")


LAB_LOCK = RUN_DIR / "lab.lock"
LOCK_WAIT = 900


def up(flavour: str = "vm", log=print, fencing: bool = True, preinstalled: bool = False,
       platform_id: str = DEFAULT_PLATFORM) -> state.LabState:
    """Bring the lab up. preinstalled: nodes boot an image that already holds
    every package of the platform table (the mirror is served all the same).
    platform_id: the nodes' OS, a wizard.platforms id (debian12, debian13)."""
    require_host()
    with locked(LAB_LOCK, timeout=LOCK_WAIT, what="the lab"):
        return _up(flavour, log, fencing, preinstalled, platform_id)


def lab_platform(platform_id: str) -> Platform:
    """The platform table's entry the lab builds nodes of."""
    from wizard.platforms import PLATFORMS

    if platform_id not in PLATFORMS:
        raise UserError(f"unknown lab platform {platform_id!r}", f"use --platform {' or '.join(PLATFORMS)}")
    return PLATFORMS[platform_id]


def _up(flavour: str, log, fencing: bool, preinstalled: bool = False,
        platform_id: str = DEFAULT_PLATFORM) -> state.LabState:
    if flavour not in FLAVOURS:
        raise UserError(f"unknown lab flavour {flavour!r}", "use --flavour vm or --flavour container")
    plat = lab_platform(platform_id)
    existing = state.load()
    if existing is not None:
        if existing.ready:
            raise UserError(f"a {existing.flavour} lab is already up", "use it, or `zabbix-ha lab down` first")
        log("a half-made lab is left from an earlier run; removing it first")
        _down(log=lambda _msg: None)
    elif WORK_DIR.exists() or network.lab_links() or netns.exists():
        log("leftovers of an earlier lab (no state file: a crash?); removing them first")
        _down(log=lambda _msg: None)
    backend = _backend(flavour)
    started = time.monotonic()
    image, build_secs = ensure_image(plat.codename, log)
    timings = {"image_build_s": round(build_secs, 1)} if build_secs is not None else {}
    log(f"node image: {'built in %.0f s' % build_secs if build_secs is not None else 'cached'} ({image.dir})")

    from wizard.lab import repo
    local_repo, repo_secs = repo.ensure_repo(plat, image, log)
    if repo_secs is not None:
        timings["repo_build_s"] = round(repo_secs, 1)
    log(f"local apt repository: {'built in %.0f s' % repo_secs if repo_secs is not None else 'cached'} ({local_repo.dir})")
    if preinstalled:
        from wizard.lab.image import ensure_preinstalled
        image, pre_secs = ensure_preinstalled(image, local_repo.debian, plat.codename, repo.stack(plat), log)
        if pre_secs is not None:
            timings["preinstalled_build_s"] = round(pre_secs, 1)
        log(f"preinstalled node image: {'built in %.0f s' % pre_secs if pre_secs is not None else 'cached'}"
            f" ({image.dir})")

    layout = network.pick_layout()
    st = state.LabState(flavour=flavour, block=layout.block, image_dir=str(image.dir), repo_dir=str(local_repo.dir),
                        preinstalled=preinstalled, owner=state.current_user(), platform=plat.id)
    state.save(st)          # first, so a crash below still leaves `down` a trail
    boot_started = time.monotonic()
    try:
        network.create_bridges(layout)
        st.repo_url = repo.serve(local_repo, layout)
        ensure_lab_key()
        new_root_password()
        keys = {node: make_host_key(node) for node in NODES}
        write_known_hosts({layout.node_address(net, node): keys[node][1] for node in NODES for net in NETWORKS})
        backend.create(st, image, layout, keys, fencing=fencing, log=log)
        backend.start_all(st, layout, log=log)
        wait_ssh(st, layout)
        timings["boot_to_ssh_s"] = round(time.monotonic() - boot_started, 1)
        from wizard.lab.answers import write_answers
        write_answers(st, layout, {n: backend.disks(n) for n in NODES})
        st.timings = timings
        st.timings["up_total_s"] = round(time.monotonic() - started, 1)
        st.ready = True
        state.save(st)
    except BaseException:
        kept = _keep_logs()
        log(f"lab up failed; cleaning up what it created (logs kept in {kept})")
        _down(log=lambda _msg: None)
        raise
    log(f"both nodes answer SSH: {', '.join(layout.node_address('mgmt', n) for n in NODES)}"
        f" ({plat.name}, {flavour}{', ' + st.accel if st.accel else ''}; boot to SSH-ready {timings['boot_to_ssh_s']:.1f} s,"
        f" whole `lab up` {st.timings['up_total_s']:.1f} s)")
    log(f"answers file: {ANSWERS_FILE}")
    return st


def _keep_logs() -> Path:
    """Console and helper logs of a failed `up`, kept for reading after cleanup."""
    dest = RUN_DIR / "failed-up-logs"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    for log_file in WORK_DIR.rglob("*.log"):
        if log_file.is_file() and "root" not in log_file.relative_to(WORK_DIR).parts[:3]:
            shutil.copy2(log_file, dest / "-".join(log_file.relative_to(WORK_DIR).parts))
    return dest


def wait_ssh(st: state.LabState, layout: Layout, nodes=NODES) -> None:
    pending = set(nodes)

    def all_ready() -> bool:
        for node in sorted(pending):
            if ssh_ready(layout.node_address("mgmt", node)):
                pending.discard(node)
        return not pending

    wait_until(all_ready, timeout=SSH_READY_TIMEOUT[st.flavour], interval=1,
               what=f"SSH on {', '.join(sorted(pending))}")


def layout_of(st: state.LabState) -> Layout:
    return Layout(st.block)


def down(log=print) -> list[str]:
    """Remove everything the lab made: from the state file and by prefix sweep."""
    require_host()
    with locked(LAB_LOCK, timeout=LOCK_WAIT, what="the lab"):
        return _down(log)


def _down(log) -> list[str]:
    removed: list[str] = []
    st = state.load()
    from wizard.lab import ctlab, vmlab
    for backend in (vmlab, ctlab):       # both: a crashed run may have left either
        removed += backend.destroy()
    removed += [f"process {name}" for name in daemons.stop_all()]
    removed += [f"link {name}" for name in network.remove_all_links()]
    if WORK_DIR.exists():
        # Never delete through a mount point (a container root still mounted).
        with open("/proc/self/mountinfo") as f:
            mounts = [line.split()[4] for line in f if line.split()[4].startswith(str(WORK_DIR) + "/")]
        if mounts:
            raise LabError(f"still mounted, not removing {WORK_DIR}: {', '.join(mounts)}",
                           "stop whatever uses these mounts, then run `zabbix-ha lab down` again")
        try:
            shutil.rmtree(WORK_DIR)
        except OSError as exc:
            raise LabError(f"could not remove {WORK_DIR}: {exc}", "run `zabbix-ha lab down` again") from None
        removed.append(f"dir {WORK_DIR}")
    for path in (KNOWN_HOSTS, ANSWERS_FILE, state.STATE_FILE, RUN_DIR / "secrets.yaml", RUN_DIR / "answers-sbd.yaml",
                 ROOT_PASSWORD_FILE):
        if path.exists():
            path.unlink()
    state.clear()
    log(f"lab down: removed {len(removed)} things" + (f" ({st.flavour} lab)" if st else "")
        + ("" if not removed else ": " + ", ".join(removed)))
    return removed


def status() -> dict:
    require_host()
    st = state.load()
    if st is None:
        return {"up": False, "leftovers": [link["ifname"] for link in network.lab_links()]
                + ([f"netns {netns.NAME}"] if netns.exists() else [])}
    layout = layout_of(st)
    backend = _backend(st.flavour)
    nodes = {}
    for node in NODES:
        nodes[node] = {
            "running": backend.running(node),
            "addresses": {net: layout.node_address(net, node) for net in NETWORKS},
            "links": {net: network.port_is_up(layout, node, net) for net in NETWORKS},
        }
    from wizard.lab.ssh import host_key_fingerprints
    return {"up": st.ready, "flavour": st.flavour, "platform": st.platform, "accel": st.accel, "repo_url": st.repo_url, "netns": netns.NAME,
            "preinstalled": st.preinstalled, "answers": str(ANSWERS_FILE), "root_password_file": str(ROOT_PASSWORD_FILE),
            "host_keys": host_key_fingerprints(), "timings": st.timings, "nodes": nodes}


def reset(log=print, nodes=NODES) -> float:
    """Power the nodes off, give them fresh disks and identity, boot, wait for SSH."""
    require_host()
    with locked(LAB_LOCK, timeout=LOCK_WAIT, what="the lab"):
        return _reset(log, nodes)


def _reset(log, nodes) -> float:
    st = state.require()
    layout = layout_of(st)
    backend = _backend(st.flavour)
    started = time.monotonic()
    image = Image(Path(st.image_dir))
    for node in nodes:
        backend.power_off(node)
    backend.recreate(st, image, layout, nodes, log=log)
    for node in nodes:
        backend.power_on(node)
    wait_ssh(st, layout, nodes)
    from wizard.lab.answers import write_answers
    # Containers get new loop devices: the answers name them (the secrets stay).
    write_answers(st, layout, {n: backend.disks(n) for n in NODES}, secrets=False)
    secs = time.monotonic() - started
    log(f"lab reset: {', '.join(nodes)} fresh and answering SSH in {secs:.1f} s")
    return secs
