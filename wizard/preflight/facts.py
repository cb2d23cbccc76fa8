"""Discovery: what is on a node, gathered through an Executor.

`gather(executor)` runs read-only commands (in parallel over the node's one
connection) and keeps their raw output; `facts_from_raw(raw)` turns that into
a NodeFacts with the pure parsers of wizard.preflight.parse. Tests feed the same
function outputs captured from real machines.

`gather_both(executors)` does both nodes at the same time.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from wizard.preflight import parse as fp
from wizard.preflight.parse import (Address, BlockDevice, DrbdInfo, ExistingState, Interface, Listener,  # noqa: F401
                                OsInfo, Route, TimeSync)

LSBLK_COLUMNS = "NAME,PATH,SIZE,TYPE,FSTYPE,MOUNTPOINTS,PKNAME,RO,PTTYPE,UUID,LABEL"
# Bounds, not expectations: a healthy node answers the whole batch in about a
# second, but an emulated node under load needed more than 25 s.
FACT_TIMEOUT = 30.0
BATCH_MARGIN = 30.0

# Read-only state of an earlier cluster, in one round trip. Constant text:
# nothing from the answers is pasted into it.
STATE_SCRIPT = r"""
section() { printf '@@@ %s\n' "$1"; }
section corosync.conf; cat /etc/corosync/corosync.conf 2>/dev/null
section cib; ls /var/lib/pacemaker/cib/cib.xml 2>/dev/null
section drbd-resources; cat /etc/drbd.d/*.res 2>/dev/null
section datadir; ls -Ap /var/lib/mysql 2>/dev/null
section zabbix-ha; ls /etc/zabbix-ha/cluster.yaml 2>/dev/null
section zabbix-ha-name; grep -m1 '^name:' /etc/zabbix-ha/cluster.yaml 2>/dev/null
section zabbix-ha-answers; head -c 65536 /etc/zabbix-ha/cluster.yaml 2>/dev/null
section services
for unit in corosync pacemaker mariadb apache2 zabbix-server drbd; do
    printf '%s %s\n' "$unit" "$(systemctl is-active "$unit" 2>/dev/null | head -n1)"
done
section apt-sources
cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null
true
"""

# `getent hosts NAME` for each name given as a parameter.
RESOLVE_SCRIPT = 'for n in "$@"; do printf "@@ %s\\n" "$n"; getent hosts "$n"; done; true'

BASE_COMMANDS: dict[str, list[str]] = {
    "os-release": ["cat", "/etc/os-release"],
    "uname": ["uname", "-r"],
    "modinfo-drbd": ["modinfo", "drbd"],
    "proc-drbd": ["cat", "/proc/drbd"],
    "lsblk": ["lsblk", "-J", "-b", "-o", LSBLK_COLUMNS],
    "ip-addr": ["ip", "-j", "addr"],
    # IPsrcaddr rewrites the source of the default route: one must exist.
    "ip-route": ["ip", "-j", "route", "show", "default"],
    "ip-route6": ["ip", "-j", "-6", "route", "show", "default"],
    "meminfo": ["cat", "/proc/meminfo"],
    "nproc": ["nproc"],
    "timedatectl": ["timedatectl", "show"],
    "hostname": ["hostname"],
    "ss": ["ss", "-Hltnup"],
    "state": ["sh", "-c", STATE_SCRIPT],
}


@dataclass(frozen=True)
class Raw:
    """One command's raw result, as stored in tests/data/facts."""

    argv: tuple[str, ...]
    rc: int
    stdout: str
    stderr: str = ""
    before: float = 0.0      # our clock around the call (for the clock sample)
    after: float = 0.0


@dataclass
class NodeFacts:
    node: str
    hostname: str = ""
    os: OsInfo = field(default_factory=OsInfo)
    kernel: str = ""
    drbd: DrbdInfo = field(default_factory=DrbdInfo)
    block_devices: list[BlockDevice] = field(default_factory=list)
    interfaces: list[Interface] = field(default_factory=list)
    # "inet"/"inet6" -> default routes; a family is absent when it was not read.
    default_routes: dict[str, tuple[Route, ...]] = field(default_factory=dict)
    memory_mib: int = 0
    cpus: int = 0
    time: TimeSync = field(default_factory=TimeSync)
    clock_offset: float | None = None        # node clock minus the wizard's clock, seconds
    clock_uncertainty: float = 0.0
    resolution: dict[str, tuple[str, ...]] = field(default_factory=dict)   # name -> addresses
    packages: dict[str, str] = field(default_factory=dict)                 # installed name -> version
    packages_queried: tuple[str, ...] = ()
    listeners: list[Listener] = field(default_factory=list)
    state: ExistingState = field(default_factory=ExistingState)
    signatures: dict[str, tuple[str, ...] | None] = field(default_factory=dict)  # device -> wipefs types
    problems: list[str] = field(default_factory=list)    # facts that could not be gathered or parsed
    raw: dict[str, Raw] = field(default_factory=dict, repr=False)

    def device(self, path: str) -> BlockDevice | None:
        for dev in self.block_devices:
            if dev.path == path or f"/dev/{dev.name}" == path:
                return dev
        return None

    def descendants(self, dev: BlockDevice) -> list[BlockDevice]:
        by_name = {d.name: d for d in self.block_devices}
        out, todo = [], list(dev.children)
        for _ in range(len(self.block_devices)):      # bounded walk
            if not todo:
                break
            child = by_name.get(todo.pop(0))
            if child is not None:
                out.append(child)
                todo.extend(child.children)
        return out

    def interface_with(self, address: str) -> tuple[Interface, Address] | None:
        for iface in self.interfaces:
            for addr in iface.addresses:
                if addr.address == address:
                    return iface, addr
        return None

    def interface(self, name: str) -> Interface | None:
        return next((i for i in self.interfaces if i.name == name), None)


# ---------------------------------------------------------------------------
# pure: raw -> facts

def facts_from_raw(node: str, raw: dict[str, Raw]) -> NodeFacts:
    f = NodeFacts(node=node, raw=dict(raw))

    def parse(key: str, fn, *, need_rc0: bool = True):
        r = raw.get(key)
        if r is None:
            return None
        if need_rc0 and r.rc != 0:
            f.problems.append(f"`{' '.join(r.argv)}` failed (exit {r.rc}): {r.stderr.strip()[:200]}")
            return None
        try:
            return fn(r)
        except (fp.ParseError, ValueError, KeyError, TypeError) as exc:
            f.problems.append(f"cannot read the output of `{' '.join(r.argv)}`: {exc}")
            return None

    if (v := parse("os-release", lambda r: fp.parse_os_release(r.stdout))) is not None:
        f.os = v
    f.kernel = parse("uname", lambda r: r.stdout.strip()) or ""
    f.hostname = parse("hostname", lambda r: r.stdout.strip().split(".")[0]) or ""
    mod = parse("modinfo-drbd", lambda r: fp.parse_modinfo(r.stdout, r.rc), need_rc0=False) or (False, None)
    proc = parse("proc-drbd", lambda r: fp.parse_proc_drbd(r.stdout, r.rc), need_rc0=False) or (None, ())
    f.drbd = DrbdInfo(module_available=mod[0] or proc[0] is not None, module_version=mod[1],
                      loaded_version=proc[0], minors=proc[1])
    f.block_devices = parse("lsblk", lambda r: fp.parse_lsblk(r.stdout)) or []
    f.interfaces = parse("ip-addr", lambda r: fp.parse_ip_addr(r.stdout)) or []
    for key, family in (("ip-route", "inet"), ("ip-route6", "inet6")):
        routes = parse(key, lambda r: fp.parse_default_routes(r.stdout))
        if routes is not None:
            f.default_routes[family] = routes
    f.memory_mib = parse("meminfo", lambda r: fp.parse_meminfo(r.stdout)) or 0
    f.cpus = parse("nproc", lambda r: int(r.stdout.strip())) or 0
    f.time = parse("timedatectl", lambda r: fp.parse_timedatectl(r.stdout, r.rc), need_rc0=False) or TimeSync()
    if (clock := parse("clock", lambda r: fp.parse_clock(r.stdout, r.before, r.after))) is not None:
        f.clock_offset, f.clock_uncertainty = clock
    f.listeners = parse("ss", lambda r: fp.parse_ss(r.stdout)) or []
    if (state := parse("state", lambda r: fp.parse_state(r.stdout))) is not None:
        f.state = state
    f.resolution = parse("getent", lambda r: fp.parse_getent(r.stdout), need_rc0=False) or {}
    if "packages" in raw:
        r = raw["packages"]
        f.packages_queried = tuple(a for a in r.argv[r.argv.index("--") + 1:]) if "--" in r.argv else ()
        # An unknown package is no failure: dpkg-query exits 1, rpm exits with the count of them.
        # Anything else (not installed: 127, timeout: 124, dpkg error: 2) means no answer at all.
        rpm = r.argv[0] == "rpm"
        answered = r.rc == 0 or (0 < r.rc <= len(f.packages_queried) if rpm else r.rc == 1)
        parser = fp.parse_rpm_query if rpm else fp.parse_dpkg_query
        f.packages = parse("packages", lambda r: parser(r.stdout), need_rc0=not answered) or {}
    for key, r in raw.items():
        if key.startswith("wipefs:"):
            f.signatures[key.split(":", 1)[1]] = parse(key, lambda r: fp.parse_wipefs(r.stdout, r.rc),
                                                       need_rc0=False)
    return f


# ---------------------------------------------------------------------------
# side effects: run the commands

def package_command(os_family: str, packages: list[str] | tuple[str, ...]) -> list[str]:
    if os_family == "rhel":
        # The epoch when there is one (3:10.5.22-1.el9), as dpkg prints it: versions are compared across nodes.
        return ["rpm", "-q", "--qf", "%{NAME}\\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\\n", "--", *packages]
    return ["dpkg-query", "-W", "-f", "${Package}\\t${Version}\\t${db:Status-Abbrev}\\n", "--", *packages]


def commands_for(*, os_family: str = "debian", packages=(), names=(), devices=()) -> dict[str, list[str]]:
    cmds = dict(BASE_COMMANDS)
    if packages:
        cmds["packages"] = package_command(os_family, list(packages))
    if names:
        cmds["getent"] = ["sh", "-c", RESOLVE_SCRIPT, "zabbix-ha-resolve", *names]
    for dev in dict.fromkeys(devices):
        if dev:
            cmds[f"wipefs:{dev}"] = ["wipefs", "-J", "--", dev]
    return cmds


def collect(executor, commands: dict[str, list[str]], *, parallel: int = 6,
            timeout: float = FACT_TIMEOUT) -> dict[str, Raw]:
    """Run each command (check=False) and keep its raw result. A timeout is a result too."""
    from wizard.remote import CommandTimeout

    def one(item):
        key, argv = item
        before = time.time()
        try:
            r = executor.run(argv, check=False, timeout=timeout)
            return key, Raw(tuple(argv), r.rc, r.stdout, r.stderr, before, time.time())
        except CommandTimeout:
            return key, Raw(tuple(argv), 124, "", f"timed out after {timeout:g} s", before, time.time())

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return dict(pool.map(one, commands.items()))


def run_batch(executor, commands: dict[str, list[str]], *, timeout: float = FACT_TIMEOUT) -> dict[str, Raw]:
    """Run many read-only commands in ONE remote round trip, in parallel on the node.

    Each SSH channel costs a fork of sshd and a shell on the node (0.1-0.5 s on
    a busy machine); one script with every command backgrounded costs one.
    The script is built from the argument lists with shlex quoting and sent
    on stdin (`sh -s`); each command runs under `timeout` and its stdout,
    stderr and exit code come back framed by byte counts. Every command is
    journaled on its own.
    """
    import shlex

    keys = list(commands)
    lines = ['d=$(mktemp -d) || exit 97', 'trap \'rm -rf -- "$d"\' EXIT']
    for i, key in enumerate(keys):
        cmd = shlex.join(["timeout", "-k", "2", f"{timeout:g}", *commands[key]])
        lines.append(f'( {cmd} >"$d/{i}.o" 2>"$d/{i}.e" </dev/null; echo $? >"$d/{i}.rc" ) &')
    lines.append("wait")
    # Framing with as few processes as possible (each fork is slow on a busy or
    # emulated node): exit codes via the `read` builtin, all sizes from one wc,
    # all bodies from one cat.
    files = " ".join(f'"$d/{i}.o" "$d/{i}.e"' for i in range(len(keys)))
    lines += ["echo @@ZHA-RC",
              f'for i in {" ".join(str(i) for i in range(len(keys)))}; do '
              'read rc <"$d/$i.rc" 2>/dev/null || rc=125; echo "$rc"; done',
              "echo @@ZHA-WC", f"wc -c {files}", "echo @@ZHA-BODY", f"cat {files}"]
    script = "\n".join(lines) + "\n"
    before = time.time()
    r = executor.run(["sh", "-s"], input=script, check=False, timeout=timeout + BATCH_MARGIN, log=False)
    after = time.time()
    out = parse_batch(r.stdout, keys, commands, before, after)
    for key in keys:
        got = out.get(key) or Raw(tuple(commands[key]), 125, "", f"no result from the batch (exit {r.rc}): "
                                  f"{r.stderr.strip()[-200:]}", before, after)
        out[key] = got
        executor.journal.record(executor.node, got.argv, got.rc, after - before, before, note=got.stderr if got.rc else "")
    return out


def parse_batch(stdout: str, keys: list[str], commands: dict[str, list[str]], before: float,
                after: float) -> dict[str, Raw]:
    """Split run_batch's output (pure): exit codes, then byte counts, then the bodies back to back."""
    data = stdout.encode()
    n = len(keys)
    try:
        head, body = data.split(b"@@ZHA-BODY\n", 1)
        rc_part, wc_part = head.split(b"@@ZHA-WC\n", 1)
        rcs = [int(x) for x in rc_part.split(b"@@ZHA-RC\n", 1)[1].split()[:n]]
        sizes = [int(line.split()[0]) for line in wc_part.splitlines()[:2 * n]]
    except (ValueError, IndexError):
        return {}
    if len(rcs) != n or len(sizes) != 2 * n:
        return {}
    out: dict[str, Raw] = {}
    pos = 0
    for i, key in enumerate(keys):
        o = body[pos:pos + sizes[2 * i]]
        e = body[pos + sizes[2 * i]:pos + sizes[2 * i] + sizes[2 * i + 1]]
        pos += sizes[2 * i] + sizes[2 * i + 1]
        err = e.decode(errors="replace") + ("timed out" if rcs[i] == 124 else "")
        out[key] = Raw(tuple(commands[key]), rcs[i], o.decode(errors="replace"), err, before, after)
    return out


def gather(executor, *, packages=(), names=(), devices=(), node: str | None = None) -> NodeFacts:
    """Discover one node: the TUI's disk screen calls this for `block_devices`."""
    name = node or executor.node
    # The clock sample runs alone first, so its round trip is short and clean.
    raw = collect(executor, {"clock": ["date", "+%s.%N"], "os-release": BASE_COMMANDS["os-release"]}, parallel=1)
    family = fp.parse_os_release(raw["os-release"].stdout).family if raw["os-release"].rc == 0 else "debian"
    raw.update(run_batch(executor, commands_for(os_family=family, packages=packages, names=names, devices=devices)))
    return facts_from_raw(name, raw)


def gather_both(executors: dict, *, packages=(), names=(), devices_by_node=None) -> dict[str, NodeFacts]:
    """Both nodes at once; errors (connect, auth) propagate."""
    devices_by_node = devices_by_node or {}
    with ThreadPoolExecutor(max_workers=max(len(executors), 1)) as pool:
        futures = {node: pool.submit(gather, ex, packages=packages, names=names,
                                     devices=devices_by_node.get(node, ()), node=node)
                   for node, ex in executors.items()}
        return {node: fut.result() for node, fut in futures.items()}


def block_devices(executor) -> list[BlockDevice]:
    """Just the disks (for the TUI's disk screen)."""
    r = executor.run(BASE_COMMANDS["lsblk"], timeout=FACT_TIMEOUT)
    return fp.parse_lsblk(r.stdout)
