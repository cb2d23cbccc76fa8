"""Package source and packages: the platform table's list, the same versions on both nodes.

Packages are installed with service start-up denied (a policy-rc.d of ours,
removed afterwards), so nothing that Pacemaker will run starts on its own;
then the units Pacemaker manages are stopped and masked, and the ones the
cluster needs at boot (corosync, pacemaker) are left to the cluster stage.
"""

from __future__ import annotations

from wizard.install.step import SYSTEMCTL_TIMEOUT, Context, Step, StepFailed, watching

SOURCES_LIST = "/etc/apt/sources.list.d/zabbix-ha.list"
POLICY_RC_D = "/usr/sbin/policy-rc.d"
# Our policy-rc.d says who wrote it: a resumed install removes only its own.
POLICY_MARKER = "# zabbix-ha: deny service starts during the package install"
POLICY_TEXT = f"#!/bin/sh\n{POLICY_MARKER}\nexit 101\n"
APT_TIMEOUT = 3600
STATUS_FILE = "/run/zabbix-ha-apt.status"          # 17-21 min per node measured under emulation; real servers: minutes
APT_ENV = ["env", "DEBIAN_FRONTEND=noninteractive", "NEEDRESTART_MODE=l"]
ZABBIX_REPO = "https://repo.zabbix.com/zabbix/{version}/debian"
ZABBIX_KEYRING = "/usr/share/keyrings/zabbix-official-repo.gpg"


def packages(ctx: Context) -> tuple[str, ...]:
    return ctx.profile.packages(ctx.spec.fencing.method, ctx.spec.storage.filesystem)


def source_line(ctx: Context) -> str:
    z = ctx.spec.zabbix
    if z.package_source == "mirror":
        # A local mirror may be unsigned (the lab's is): trusted=yes is the
        # administrator's choice of this mirror, made in the answers.
        return f"deb [trusted=yes] {z.mirror_url} {ctx.profile.codename} main\n"
    if z.package_source == "official":
        return f"deb [signed-by={ZABBIX_KEYRING}] {ZABBIX_REPO.format(version=z.version)} {ctx.profile.codename} main\n"
    return ""


def _apt_options(ctx: Context) -> list[str]:
    """A mirror is the only source the install uses: an air-gapped node's other
    entries would make `apt-get update` fail on hosts it cannot reach."""
    if ctx.spec.zabbix.package_source == "mirror":
        return ["-o", f"Dir::Etc::SourceList={SOURCES_LIST}", "-o", "Dir::Etc::SourceParts=/nonexistent"]
    return []


def _source_in_place(ctx: Context) -> bool:
    line = source_line(ctx)
    if not line:
        return True
    res = ctx.run(["cat", "--", SOURCES_LIST], check=False)
    return res.ok and res.stdout == line


def _write_source(ctx: Context) -> str:
    line = source_line(ctx)
    if ctx.spec.zabbix.package_source == "official" and not ctx.ok(["test", "-s", ZABBIX_KEYRING]):
        raise StepFailed(f"{ctx.node} has no Zabbix repository key ({ZABBIX_KEYRING})",
                         "install the zabbix-release package for your Zabbix version on both nodes, "
                         "or use a local mirror (zabbix.package_source: mirror)")
    ctx.ex.put(SOURCES_LIST, line, 0o644)
    return f"{SOURCES_LIST}: {line.strip()}"


def installed_versions(ctx: Context, names: tuple[str, ...]) -> dict[str, str]:
    """name -> version for the packages dpkg knows as installed."""
    res = ctx.run(["dpkg-query", "-W", "-f", "${Package}\t${Status}\t${Version}\n", "--", *names], check=False)
    out = {}
    for line in res.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[1] == "install ok installed":
            out[parts[0]] = parts[2]
    return out


def _all_installed(ctx: Context) -> bool:
    wanted = packages(ctx)
    return set(installed_versions(ctx, wanted)) == set(wanted)


def _install(ctx: Context) -> str:
    wanted = packages(ctx)
    missing = [p for p in wanted if p not in installed_versions(ctx, wanted)]
    # An interrupted earlier run may have left dpkg half done: finish that
    # first, waiting (bounded) while a dpkg it left running still holds the lock.
    ctx.sh('for i in $(seq 1 120); do out=$(dpkg --configure -a 2>&1) && exit 0; '
           'case "$out" in *lock*) sleep 5;; *) echo "$out" >&2; exit 1;; esac; done; echo "$out" >&2; exit 1',
           timeout=APT_TIMEOUT)
    ours = _place_policy(ctx)
    try:
        ctx.say("apt-get update")
        ctx.run([*APT_ENV, "apt-get", "-q", "-o", "DPkg::Lock::Timeout=600", *_apt_options(ctx), "update"],
                timeout=900)
        ctx.say(f"installing {len(missing)} packages and their dependencies: {' '.join(missing)}")
        # apt reports its progress on fd 3 ("pmstatus:PKG:PERCENT:WHAT"): shown while it runs.
        with watching(ctx, STATUS_FILE, apt_progress):
            ctx.sh('exec 3>"$1"; shift; exec "$@"', STATUS_FILE, *APT_ENV, "apt-get", "-q", "-y",
                   "--no-install-recommends", "-o", "DPkg::Lock::Timeout=600", "-o", "APT::Status-Fd=3",
                   *_apt_options(ctx), "-o", "Dpkg::Options::=--force-confdef",
                   "-o", "Dpkg::Options::=--force-confold", "install", "--", *missing, timeout=APT_TIMEOUT)
    finally:
        if ours:
            ctx.run(["rm", "-f", "--", POLICY_RC_D])
    return f"installed {', '.join(missing)}"


def apt_progress(line: str) -> str:
    """'pmstatus:mariadb-server:62.5:Installing mariadb-server' -> 'packages 62 %: Installing mariadb-server'."""
    parts = line.split(":", 3)
    if len(parts) == 4 and parts[0] in ("pmstatus", "dlstatus"):
        try:
            percent = int(float(parts[2]))
        except ValueError:
            return ""
        return f"{'downloading' if parts[0] == 'dlstatus' else 'packages'} {percent} %: {parts[3]}"
    return ""


def _place_policy(ctx: Context) -> bool:
    """Deny service starts while installing; True if the file is ours to remove."""
    res = ctx.run(["cat", "--", POLICY_RC_D], check=False)
    if res.ok and POLICY_MARKER not in res.stdout:
        ctx.say(f"{POLICY_RC_D} exists and is not ours: leaving it as it is")
        return False
    ctx.ex.put(POLICY_RC_D, POLICY_TEXT, 0o755)
    return True


def _leftover_policy(ctx: Context) -> bool:
    res = ctx.run(["cat", "--", POLICY_RC_D], check=False)
    return not (res.ok and POLICY_MARKER in res.stdout)


def _remove_leftover_policy(ctx: Context) -> str:
    ctx.run(["rm", "-f", "--", POLICY_RC_D])
    return f"removed {POLICY_RC_D} left by an interrupted install"


def _verify_installed(ctx: Context) -> None:
    wanted = packages(ctx)
    missing = sorted(set(wanted) - set(installed_versions(ctx, wanted)))
    if missing:
        raise StepFailed(f"on {ctx.node}: still not installed: {', '.join(missing)}",
                         "run `apt-get install` by hand on the node to see why (held packages? full disk?)")


def _verify_parity(ctx: Context) -> None:
    names = packages(ctx)
    mine = installed_versions(ctx, names)
    theirs = installed_versions(ctx.on(ctx.peer), names)
    differ = [f"{p} {mine.get(p, '-')} on {ctx.node}, {theirs.get(p, '-')} on {ctx.peer}"
              for p in names if mine.get(p) != theirs.get(p)]
    if differ:
        raise StepFailed("the nodes have different package versions: " + "; ".join(differ),
                         "bring both nodes to the same versions from the same package source "
                         "(apt-get install PACKAGE=VERSION), then run the install again")


def _unit_state(ctx: Context, unit: str) -> tuple[str, str]:
    res = ctx.run(["systemctl", "show", "-p", "LoadState", "-p", "ActiveState", "--", unit], check=False)
    values = dict(line.split("=", 1) for line in res.stdout.splitlines() if "=" in line)
    return values.get("LoadState", ""), values.get("ActiveState", "")


def _units_masked(ctx: Context) -> bool:
    """Every unit Pacemaker runs is masked (or not shipped at all) and not running."""
    for unit in _managed_units(ctx):
        load, active = _unit_state(ctx, unit)
        if load not in ("masked", "not-found") or active == "active":
            return False
    return True


def _managed_units(ctx: Context) -> list[str]:
    s = ctx.profile.services
    return [*s.cluster_managed(), s.drbd]


def _mask_units(ctx: Context) -> str:
    # Units a package did not ship are left alone: masking a missing unit
    # would create a mask for something that does not exist.
    present = [u for u in _managed_units(ctx) if _unit_state(ctx, u)[0] not in ("not-found", "")]
    ctx.run(["systemctl", "stop", "--", *present], timeout=SYSTEMCTL_TIMEOUT)
    ctx.run(["systemctl", "mask", "--", *present], timeout=SYSTEMCTL_TIMEOUT)
    return "stopped and masked " + ", ".join(present) + " (Pacemaker runs them)"


def steps(ctx_nodes: list[str]) -> list[Step]:
    out = []
    for node in ctx_nodes:
        out += [
            Step(node, "packages.source", "Package source", check=_source_in_place, apply=_write_source),
            Step(node, "packages.policy", "No leftover service-start policy", check=_leftover_policy,
                 apply=_remove_leftover_policy),
            Step(node, "packages.install", "Install the packages", check=_all_installed, apply=_install,
                 verify=_verify_installed),
            Step(node, "packages.units", "Stop and mask the units Pacemaker runs", check=_units_masked,
                 apply=_mask_units, after=("packages.install",)),
        ]
    first, second = ctx_nodes
    out.append(Step(first, "packages.parity", "Same package versions on both nodes", verify=_verify_parity,
                    after=("packages.install", f"{second}:packages.install")))
    return out
