"""Fencing that really works before the CIB depends on it.

IPMI: each BMC is asked for its power status from the node that will fence
it (the other one), through fence_ipmilan with the password on stdin, now
that fence-agents and ipmitool are installed: preflight's promise "tested
again after the packages are installed".

SBD: the watchdog module loaded now and at boot, the shared disk
initialised once (a destructive step, guarded like any other), sbd enabled
so it starts with corosync. /etc/default/sbd comes with the rendered files.
"""

from __future__ import annotations

from wizard.install.drbd import guard
from wizard.install.step import Context, Step, StepFailed
from wizard.render import sbd_create_argv, sbd_watchdog_module

WATCHDOG_LOAD = "/etc/modules-load.d/zabbix-ha-watchdog.conf"


def _verify_ipmi(ctx: Context) -> None:
    from wizard.preflight.probes import ipmi

    results = ipmi(ctx.spec, ctx.executors, ctx.secrets)      # asks a silent BMC again itself
    bad = [f"{r.node} cannot query the BMC of {r.target}: {r.detail}" for r in results if not r.ok]
    if bad:
        raise StepFailed("; ".join(bad), "check the BMC address, user and password (secrets file), and that the "
                                         "node reaches the BMC on UDP port 623")
    for r in results:
        ctx.say(f"{r.node} can fence {r.target}: {r.detail or 'BMC answers'}")


def watchdog_module(ctx: Context) -> str:
    return sbd_watchdog_module(ctx.spec)


def _watchdog_ready(ctx: Context) -> bool:
    return ctx.ok(["test", "-e", "/dev/watchdog"]) and ctx.ok(["grep", "-qx", watchdog_module(ctx), WATCHDOG_LOAD])


def _load_watchdog(ctx: Context) -> str:
    module = watchdog_module(ctx)
    if not ctx.ok(["test", "-e", "/dev/watchdog"]):
        res = ctx.run(["modprobe", module], check=False)
        if not res.ok:
            raise StepFailed(f"{ctx.node} cannot load the watchdog module {module}: {res.stderr.strip()}",
                             "enable the hardware watchdog in the BIOS, or use IPMI fencing")
    ctx.ex.put(WATCHDOG_LOAD, f"# zabbix-ha: SBD needs a watchdog\n{module}\n", 0o644)
    return f"watchdog {module} loaded, and at boot"


def _sbd_device(ctx: Context) -> str:
    return ctx.spec.fencing.sbd_device


def _sbd_initialised(ctx: Context) -> bool:
    return ctx.ok(["sbd", "-d", _sbd_device(ctx), "dump"], timeout=60)


def _sbd_destroys(ctx: Context) -> str:
    return f"initialise the SBD disk {_sbd_device(ctx)} (from {ctx.node})"


def _sbd_create(ctx: Context) -> str:
    dev = _sbd_device(ctx)
    guard(ctx, dev, "initialising SBD")
    # Watchdog and msgwait timeouts as /etc/default/sbd and the CIB's stonith-timeout assume.
    ctx.run(sbd_create_argv(ctx.spec), timeout=120)
    return f"SBD header written to {dev}"


def _verify_sbd_seen(ctx: Context) -> None:
    if not _sbd_initialised(ctx):
        raise StepFailed(f"{ctx.node} does not see an SBD header on {_sbd_device(ctx)}",
                         "the SBD disk must be the same shared LUN on both nodes (use a /dev/disk/by-id path)")


def steps(nodes: list[str], method: str) -> list[Step]:
    first, second = nodes
    if method == "ipmi":
        return [Step(first, "fencing.ipmi", "Each node can fence the other (fence_ipmilan status)",
                     verify=_verify_ipmi, after=("packages.install", f"{second}:packages.install"))]
    if method == "sbd":
        out = [Step(n, "fencing.watchdog", "Watchdog for SBD", check=_watchdog_ready, apply=_load_watchdog,
                    after=("packages.install",)) for n in nodes]
        out.append(Step(first, "fencing.sbd-disk", "SBD disk initialised", check=_sbd_initialised,
                        apply=_sbd_create, destructive=_sbd_destroys))
        out.append(Step(second, "fencing.sbd-seen", "SBD disk seen from the second node", verify=_verify_sbd_seen,
                        after=(f"{first}:fencing.sbd-disk",)))
        return out
    return []
