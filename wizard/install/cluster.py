"""Corosync and Pacemaker: one authkey on both nodes, the stack started, both links up.

The authkey is made once on the first node and copied to the second over
the executor's stdin (base64), never through a file on this machine or an
argument. Corosync is (re)started only when it is not running our cluster
(Debian's package starts a one-node cluster "debian" of its own); a changed
corosync.conf on a running cluster of ours is reloaded live (corosync_live).

Where a running cluster of ours must restart its stack (SBD newly chosen: sbd
starts only with corosync; a new authkey), the cluster is first put in
maintenance mode (cluster.hold): Pacemaker then neither stops nor starts
anything, so the resources keep running, unmanaged, while corosync and
pacemaker restart on both nodes (the way crmsh's and SUSE's guides restart a
stack under live services). cluster.release ends it once Pacemaker's probes
found every resource where it ran, and checks that nothing restarted. Which
resources ran where is remembered on the first node first, so a run killed
in between still ends the maintenance mode it set (and never one it did not).
"""

from __future__ import annotations

from wizard.install import corosync_live
from wizard.install.step import SYSTEMCTL_TIMEOUT, Context, Step, StepFailed, wait_for
from wizard.status.parse import ClusterView, ParseError, parse_cfgtool, parse_crm_mon

# Install state key (first node): where each resource ran when the install set maintenance mode.
HELD = "maintenance_by_install"
MAINTENANCE = ["crm_attribute", "--type", "crm_config", "--name", "maintenance-mode"]
PROBE_TIMEOUT = 300

AUTHKEY = "/etc/corosync/authkey"
ONLINE_TIMEOUT = 300
# What Debian's corosync package configures and starts on install.
PACKAGE_DEFAULT_CLUSTER = "debian"
# Writes stdin (base64) to $1 atomically, 0400, root only.
_WRITE_KEY = ('set -e; umask 077; tmp=$(mktemp "$1.XXXXXX"); trap \'rm -f "$tmp"\' EXIT; '
              'base64 -d > "$tmp"; chmod 400 "$tmp"; mv -f "$tmp" "$1"; trap - EXIT')


def _key_digest(ctx: Context) -> str:
    res = ctx.sh('[ -f "$1" ] && [ "$(stat -c %a "$1")" = 400 ] && sha256sum < "$1" | cut -d" " -f1',
                 AUTHKEY, check=False)
    return res.stdout.strip() if res.ok else ""


def _keys_match(ctx: Context) -> bool:
    mine = _key_digest(ctx)
    return bool(mine) and mine == _key_digest(ctx.on(ctx.peer))


def _share_key(ctx: Context) -> str:
    done = []
    if not _key_digest(ctx):
        if ctx.ok(["test", "-s", AUTHKEY]):
            ctx.run(["chmod", "400", AUTHKEY])
        else:
            ctx.run(["corosync-keygen", "-k", AUTHKEY], timeout=120)
            ctx.run(["chmod", "400", AUTHKEY])
            done.append(f"new {AUTHKEY} on {ctx.node}")
    key_b64 = ctx.run(["base64", "-w0", AUTHKEY]).stdout.strip()
    peer = ctx.on(ctx.peer)
    peer.sh(_WRITE_KEY, AUTHKEY, input=key_b64 + "\n")
    if _key_digest(peer) != _key_digest(ctx):
        raise StepFailed(f"the corosync authkey on {ctx.peer} differs after copying it", "run the install again")
    done.append(f"copied to {ctx.peer}")
    with ctx.shared.lock:
        ctx.shared.runtime["authkey_changed"] = True
    return ", ".join(done)


def _unit_states(ctx: Context, *units: str) -> list[str]:
    enabled = ctx.run(["systemctl", "is-enabled", "--", *units], check=False).stdout.split()
    active = ctx.run(["systemctl", "is-active", "--", *units], check=False).stdout.split()
    return enabled + active


def _running_cluster_name(ctx: Context) -> str:
    res = ctx.run(["corosync-cmapctl", "-g", "totem.cluster_name"], check=False)
    return res.stdout.strip().rpartition("= ")[2] if res.ok else ""


def _running_our_cluster(ctx: Context) -> bool:
    return _running_cluster_name(ctx) == ctx.spec.name


def _stack_units(ctx: Context) -> list[str]:
    s = ctx.profile.services
    units = [s.corosync, s.pacemaker]
    return ([s.sbd] + units) if ctx.spec.fencing.method == "sbd" else units


def _stray_sbd(ctx: Context) -> tuple[bool, bool]:
    """(enabled, running) of sbd where the answers do not use it; (False, False) where they do.
    Debian's sbd package is enabled on install and corosync then starts it: with a watchdog and no
    disk it resets a node that is busy for a few seconds (lab run 5: node1 reset by sbd mid-switchover,
    IPMI fencing). Only a stack restart stops a running one (RefuseManualStop)."""
    if ctx.spec.fencing.method == "sbd":
        return False, False
    states = _unit_states(ctx, ctx.profile.services.sbd)
    return states[0] == "enabled", states[-1] == "active"


def _stack_running(ctx: Context) -> bool:
    units = _stack_units(ctx)
    states = _unit_states(ctx, *units)
    if states != ["enabled"] * len(units) + ["active"] * len(units):
        return False
    if any(_stray_sbd(ctx)):
        return False
    # A changed corosync.conf does not restart a running cluster of ours:
    # cluster.reload gives it to corosync live.
    if ctx.shared.runtime.get("authkey_changed"):
        return False
    return _running_our_cluster(ctx)


def _all_active(ctx: Context) -> bool:
    units = _stack_units(ctx)
    return _unit_states(ctx, *units)[len(units):] == ["active"] * len(units)


def _restart_pending(ctx: Context) -> bool:
    """Pacemaker runs our cluster here (resources may run under it), but the stack must
    restart: sbd newly needed, sbd running where it is not used, or a new authkey."""
    s = ctx.profile.services
    if not ctx.ok(["systemctl", "is-active", "--quiet", s.pacemaker]) or not _running_our_cluster(ctx):
        return False
    return bool(ctx.shared.runtime.get("authkey_changed")) or not _all_active(ctx) or _stray_sbd(ctx)[1]


def _answering(ctx: Context) -> tuple[Context, ClusterView] | None:
    """A node whose Pacemaker answers with quorum (this one first), and what it sees."""
    for node in (ctx.node, ctx.peer):
        view = cluster_status(ctx.on(node))
        if view is not None and view.quorum is True:
            return ctx.on(node), view
    return None


def placement(view: ClusterView) -> list[list[str]]:
    """[resource, role, node] for every active resource but the fence devices (they follow the CIB step)."""
    return sorted([r.id, r.role, node] for r in view.resources if not r.is_fence_device for node in r.nodes)


def _hold_not_needed(ctx: Context) -> bool:
    if ctx.shared.state.get(HELD):
        return True                       # held by a run that was stopped: cluster.release ends it
    return not any(_restart_pending(ctx.on(node)) for node in ctx.spec.hostnames)


def _hold(ctx: Context) -> str:
    found = _answering(ctx)
    if found is None:
        raise StepFailed("the running cluster must restart its stack, but Pacemaker answers with quorum on "
                         "neither node", "check `crm_mon -1` on both nodes")
    ctx, view = found
    if view.maintenance_mode:
        return "the cluster is already in maintenance mode (not set by zabbix-ha: it stays on)"
    where = placement(view)
    # Remembered before it is set: a run stopped between the two still ends it.
    ctx.shared.remember(ctx, HELD, where)
    ctx.run([*MAINTENANCE, "--update", "true"], timeout=60)
    ctx.say(f"maintenance mode set on {ctx.node}'s Pacemaker")
    wait_for(ctx, "Pacemaker in maintenance mode", lambda: bool((v := cluster_status(ctx)) and v.maintenance_mode),
             timeout=60, fix="check `crm_mon -1`")
    return (f"maintenance mode on: {len(where)} resource instance(s) keep running, unmanaged, "
            "while corosync and pacemaker restart")


def _released(ctx: Context) -> bool:
    return not ctx.shared.state.get(HELD)


def _release(ctx: Context) -> str:
    where = ctx.shared.state[HELD]

    def probed():
        view = cluster_status(ctx)
        if view is None or view.quorum is not True:
            return "waiting for Pacemaker with quorum"
        missing = [" ".join(r) for r in where if r not in placement(view)]
        return True if not missing else f"not yet found running: {', '.join(missing)}"
    wait_for(ctx, "Pacemaker finding every resource where it ran", probed, timeout=PROBE_TIMEOUT, interval=5,
             fix="maintenance mode stays ON, so nothing is stopped or started: see `crm_mon -1`, then end it with "
                 "`crm_attribute --type crm_config --name maintenance-mode --delete`")
    ctx.run([*MAINTENANCE, "--delete"], timeout=60)
    ctx.shared.remember(ctx, HELD, None)

    def settled():
        view = cluster_status(ctx)
        if view is None or view.maintenance_mode:
            return "waiting for Pacemaker to manage the resources again"
        failed = [r.id for r in view.resources if r.failed]
        if failed:
            raise StepFailed(f"after maintenance mode: {', '.join(sorted(set(failed)))} FAILED",
                             "see `crm_mon -1` and the journal (journalctl -u pacemaker)")
        return True if placement(view) == where else "waiting for Pacemaker's transition"
    wait_for(ctx, "every resource managed again where it ran", settled, timeout=PROBE_TIMEOUT, interval=5,
             fix="see `crm_mon -1`")
    return "maintenance mode off: every resource managed again where it ran"


def _start_stack(ctx: Context) -> str:
    s = ctx.profile.services
    units = _stack_units(ctx)
    ctx.run(["systemctl", "enable", "--", *units], timeout=SYSTEMCTL_TIMEOUT)
    stray_enabled, stray_running = _stray_sbd(ctx)
    if stray_enabled:
        ctx.run(["systemctl", "disable", "--", s.sbd], timeout=SYSTEMCTL_TIMEOUT)
        ctx.say(f"{s.sbd} disabled: the fencing chosen is {ctx.spec.fencing.method}, and corosync would start it")
    active = ctx.run(["systemctl", "is-active", s.corosync], check=False).stdout.strip() == "active"
    running = _running_cluster_name(ctx) if active else ""
    if active and running != ctx.spec.name:
        ctx.run(["systemctl", "stop", s.pacemaker, s.corosync], timeout=SYSTEMCTL_TIMEOUT)
        restarted = f"stopped the corosync that ran cluster {running!r}, started ours"
        if running == PACKAGE_DEFAULT_CLUSTER:
            # The one-node cluster Debian's package starts on install left a CIB
            # naming a node "node1" at 127.0.0.1: not ours, and it would be merged
            # into ours. (Preflight refuses any other existing cluster.)
            ctx.sh('rm -f /var/lib/pacemaker/cib/cib*')
            restarted += " (the package's default cluster and its CIB removed)"
    elif active and not ctx.shared.runtime.get("authkey_changed") and _all_active(ctx) and not stray_running:
        return "it was running; now also enabled at boot"     # only the boot start was missing: no restart
    elif active:
        ctx.run(["systemctl", "stop", s.pacemaker, s.corosync], timeout=SYSTEMCTL_TIMEOUT)
        restarted = "restarted corosync and pacemaker with the new configuration"
    else:
        restarted = "started corosync and pacemaker"
    # sbd starts with corosync (it is a dependency of its unit).
    ctx.run(["systemctl", "start", s.corosync], timeout=SYSTEMCTL_TIMEOUT)
    ctx.run(["systemctl", "start", s.pacemaker], timeout=SYSTEMCTL_TIMEOUT)
    return restarted + ", enabled at boot"


def cluster_status(ctx: Context) -> ClusterView | None:
    """The cluster as crm_mon sees it from this node (wizard.status.parse), None while Pacemaker does not answer."""
    res = ctx.run(["crm_mon", "-1", "--output-as=xml"], check=False, timeout=60)
    try:
        return parse_crm_mon(res.stdout)
    except ParseError:
        return None


def online_nodes(view: ClusterView) -> set[str]:
    return {n.name for n in view.nodes if n.online}


def has_quorum(view: ClusterView) -> bool:
    return view.quorum is True


def links_connected(ctx: Context) -> str:
    """"" when every configured link to the peer is connected, else what is not."""
    res = ctx.run(["corosync-cfgtool", "-s"], check=False)
    if not res.ok:
        return "corosync-cfgtool -s failed"
    try:
        links = parse_cfgtool(res.stdout).links
    except ParseError:
        return "corosync-cfgtool -s shows no link"
    down = [f"link {ln.id} ({ln.address}) not connected" for ln in links if not ln.connected]
    expected = len(ctx.spec.links)
    if len(links) < expected:
        down.append(f"{len(links)} of {expected} links configured")
    return "; ".join(down)


def _verify_online(ctx: Context) -> None:
    def probe():
        root = cluster_status(ctx)
        if root is None:
            return "waiting for Pacemaker"
        online = online_nodes(root)
        if set(ctx.spec.hostnames) - online:
            return f"online: {', '.join(sorted(online)) or 'none yet'}"
        if not has_quorum(root):
            return "both online, no quorum yet"
        for node in ctx.spec.hostnames:
            problem = links_connected(ctx.on(node))
            if problem:
                return f"{node}: {problem}"
        return True
    wait_for(ctx, "both nodes online with quorum and every link connected", probe, timeout=ONLINE_TIMEOUT,
             interval=3, fix="check the interconnect links (corosync-cfgtool -s) and journalctl -u corosync")


def authkey_steps(nodes: list[str]) -> list[Step]:
    first, second = nodes
    return [Step(first, "cluster.authkey", "Corosync authkey on both nodes", check=_keys_match, apply=_share_key,
                 after=(f"{second}:packages.install",))]


def steps(nodes: list[str]) -> list[Step]:
    first, second = nodes
    out = [Step(first, "cluster.hold", "Resources kept running while the cluster stack restarts (maintenance mode)",
                check=_hold_not_needed, apply=_hold,
                after=("files.write", f"{second}:files.write", "cluster.authkey"))]
    for node in nodes:
        out.append(Step(node, "cluster.start", "Corosync and Pacemaker running, started at boot",
                        check=_stack_running, apply=_start_stack,
                        after=("files.write", f"{first}:cluster.authkey", f"{first}:cluster.hold"),
                        restarts=("corosync", "pacemaker")))
    out.append(Step(first, "cluster.reload", "Corosync running with the current corosync.conf (reloaded live)",
                    check=corosync_live.in_place, apply=corosync_live.reload,
                    after=("cluster.start", f"{second}:cluster.start")))
    out.append(Step(first, "cluster.online", "Both nodes online, quorate, every link up", verify=_verify_online,
                    after=("cluster.reload",)))
    out.append(Step(first, "cluster.release", "Pacemaker manages the resources again (maintenance mode ended)",
                    check=_released, apply=_release, after=("cluster.online",)))
    return out
