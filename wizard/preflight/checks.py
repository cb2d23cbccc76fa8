"""Preflight: pure checks (spec, facts, probes) -> every Finding at once.

Nothing here runs a command: facts come from wizard.preflight.facts, traffic tests from
wizard.preflight.probes. Like a pcs report, a Finding is data: a code, a
severity, the node, a payload the text is built from, the fix, and (where the
person may override it) a force code. The core decides what may be forced;
the UI only offers the control (e.g. "wipe-disk:NODE:DEVICE" after the person
types the device's path). A force code names one node and one device, never
"all disks": accepting one wipe must not accept another disk that was never
looked at. Force codes are given per run and are deliberately not kept in
the answers file, where a rerun would find them again on a disk that by then
holds the cluster's data.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Callable, Iterator, Literal

from wizard.preflight.facts import NodeFacts
from wizard.platforms import PLATFORMS
from wizard.preflight.probes import Probes
from wizard.sizing import TIERS
from wizard.spec import COROSYNC_BASE_PORT, ClusterSpec, Secrets

Severity = Literal["error", "warning", "info"]
SEVERITIES = ("error", "warning", "info")

MiB = 2**20
GiB = 2**30
# DRBD 8.4 indexed external meta-data: a fixed 128 MiB slot per index.
INDEXED_SLOT = 128 * MiB
# The bitmap in a 128 MiB slot (minus 36 KiB of superblock and activity log)
# covers 4 KiB per bit: about 4 TiB of data.
INDEXED_MAX_DATA = (INDEXED_SLOT - 36 * 1024) * 8 * 4096
SIZE_CLASS_RATIO = 0.95          # below this the larger disk's excess is wasted
MIN_DATA_BYTES = 1 * GiB
CLOCK_WARN = 1.0
CLOCK_ERROR = 5.0

# Stack packages whose versions must match on both nodes (pcs does the same check).
# fence-agents-ipmilan / -sbd: Debian 13 splits fence-agents (wizard/platforms.py).
STRICT_PACKAGES = ("drbd-utils", "corosync", "pacemaker", "resource-agents", "fence-agents",
                   "fence-agents-ipmilan", "fence-agents-sbd", "mariadb-server", "zabbix-server-mysql")


@dataclass(frozen=True)
class Finding:
    code: str
    severity: Severity
    node: str | None
    message: str
    fix: str
    payload: dict = field(default_factory=dict, compare=False, hash=False)
    force_code: str | None = None

    def beside_node(self) -> str:
        """The message as shown next to the finding's node (the TUI's Node
        column, the CLI's NODE column): without the node's name leading it a
        second time. The message itself stays whole for views that show it alone."""
        # "node1's clock ..." beside node1 reads "the clock ...".
        if self.node and self.message.startswith(self.node + "'s "):
            return "the " + self.message[len(self.node) + 3:]
        if self.node and self.message.startswith(self.node):
            rest = self.message[len(self.node):].lstrip(" :")
            return rest or self.message
        return self.message

    def as_dict(self) -> dict:
        return {"code": self.code, "severity": self.severity, "node": self.node, "message": self.message,
                "fix": self.fix, "payload": self.payload, "force_code": self.force_code}


def drbd_meta_bytes(data_bytes: int) -> int:
    """DRBD 8.4 internal/flexible-external meta-data size.

    From the DRBD 8.4 user's guide ("Estimating meta data size"):
    Ms = ceil(Cs / 2^18) * 8 + 72 sectors, Cs = data size in 512-byte sectors.
    """
    sectors = -(-data_bytes // 512)
    return (-(-sectors // 2**18) * 8 + 72) * 512


def meta_needed(mode: str, data_bytes: int, index: int) -> int:
    if mode == "indexed":
        return (index + 1) * INDEXED_SLOT
    return drbd_meta_bytes(data_bytes)


@dataclass
class Context:
    spec: ClusterSpec
    facts: list[NodeFacts | None]          # in spec.nodes order
    secrets: Secrets | None
    probes: Probes | None
    forced: frozenset[str]

    @property
    def names(self) -> list[str]:
        return self.spec.hostnames

    def pairs(self) -> Iterator[tuple[int, str, NodeFacts]]:
        for i, name in enumerate(self.names):
            f = self.facts[i] if i < len(self.facts) else None
            if f is not None:
                yield i, name, f

    @property
    def both(self) -> tuple[NodeFacts, NodeFacts] | None:
        if len(self.facts) == 2 and all(f is not None for f in self.facts):
            return self.facts[0], self.facts[1]
        return None

    @property
    def rerun(self) -> bool:
        """An earlier zabbix-ha run of THIS cluster left its spec: existing state is ours to
        converge. Another cluster's spec is not (_existing stops on it)."""
        return any(f.state.zabbix_ha_spec and not self.other_cluster(f) for _, _, f in self.pairs())

    def other_cluster(self, f: NodeFacts) -> str:
        """The name of the other cluster whose answers the node keeps ("" when none, or this one)."""
        name = f.state.zabbix_ha_name
        return name if f.state.zabbix_ha_spec and name and name != self.spec.name else ""


CHECKS: list[Callable[[Context], Iterator[Finding]]] = []


def check_fn(fn):
    CHECKS.append(fn)
    return fn


def wipe_code(node: str, device: str) -> str:
    """The force code that accepts erasing the signatures on one device of one node."""
    return f"wipe-disk:{node}:{device}"


def _f(code, severity, node, message, fix, force_code=None, **payload) -> Finding:
    return Finding(code, severity, node, message, fix, payload, force_code)


def _size(n: int) -> str:
    for unit, div in (("TiB", 2**40), ("GiB", GiB), ("MiB", MiB)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n} B"


# ---------------------------------------------------------------------------
# discovery itself

@check_fn
def _facts_present(ctx: Context):
    for i, name in enumerate(ctx.names):
        f = ctx.facts[i] if i < len(ctx.facts) else None
        if f is None:
            yield _f("facts-missing", "error", name, f"nothing could be discovered on {name}",
                     f"make {name} reachable over SSH and run preflight again")
        elif f.problems:
            yield _f("facts-incomplete", "warning", name,
                     f"some facts of {name} could not be read: " + "; ".join(f.problems[:3]),
                     "install the missing tool or fix the error; checks that need these facts are skipped",
                     problems=list(f.problems))


# ---------------------------------------------------------------------------
# operating system and packages

@check_fn
def _os(ctx: Context):
    for _, name, f in ctx.pairs():
        pid = f.os.platform_id
        if pid not in PLATFORMS:
            yield _f("os-unsupported", "error", name, f"{name} runs {f.os.pretty_name or f.os.id or 'an unknown OS'}, "
                     "which zabbix-ha does not support",
                     "install one of: " + ", ".join(p.name for p in PLATFORMS.values()), platform=pid)
        elif pid != ctx.spec.platform:
            yield _f("os-not-answers-platform", "error", name,
                     f"{name} runs {PLATFORMS[pid].name} but the answers say {ctx.spec.platform}",
                     f"set platform: {pid} in the answers (or reinstall {name})", platform=pid,
                     expected=ctx.spec.platform)
    if ctx.both:
        a, b = ctx.both
        if (a.os.id, a.os.version_id) != (b.os.id, b.os.version_id):
            yield _f("os-mismatch", "error", None,
                     f"the nodes run different systems: {a.os.pretty_name} and {b.os.pretty_name}",
                     "install the same OS release on both nodes: a failover must land on an identical stack",
                     left=a.os.version_id, right=b.os.version_id)
        elif a.kernel and b.kernel and a.kernel != b.kernel:
            yield _f("kernel-mismatch", "warning", None, f"the kernels differ: {a.kernel} and {b.kernel}",
                     "update both nodes to the same kernel and reboot (DRBD's module comes with it)",
                     left=a.kernel, right=b.kernel)


@check_fn
def _packages(ctx: Context):
    if not ctx.both:
        return
    a, b = ctx.both
    n1, n2 = ctx.names
    for pkg in sorted(set(a.packages) | set(b.packages)):
        va, vb = a.packages.get(pkg), b.packages.get(pkg)
        if va and vb and va != vb:
            strict = pkg in STRICT_PACKAGES
            yield _f("package-version-mismatch", "error" if strict else "warning", None,
                     f"{pkg} is {va} on {n1} but {vb} on {n2}",
                     f"upgrade both nodes to the same version (apt-get install {pkg} on the older one); "
                     "nodes that drift apart fail over onto different software",
                     package=pkg, versions=[va, vb])
        elif bool(va) != bool(vb):
            have, lack = (n1, n2) if va else (n2, n1)
            yield _f("package-one-side", "warning", lack, f"{pkg} is installed on {have} but not on {lack}",
                     "the install step installs the same packages on both; check why they differ",
                     package=pkg, version=va or vb)


@check_fn
def _drbd_module(ctx: Context):
    expected = PLATFORMS[ctx.spec.platform].drbd_kernel if ctx.spec.platform in PLATFORMS else "8.4"
    for _, name, f in ctx.pairs():
        d = f.drbd
        if not d.module_available:
            yield _f("drbd-module-missing", "error", name, f"{name} has no DRBD kernel module "
                     f"(`modinfo drbd` finds none for kernel {f.kernel or '?'})",
                     "install a kernel that ships DRBD (Debian: apt-get install linux-image-amd64, then reboot); "
                     "a container cannot load kernel modules: use a VM or real server", kernel=f.kernel)
            continue
        version = d.loaded_version or d.module_version or ""
        if version and not version.startswith(expected + "."):
            yield _f("drbd-module-version", "warning", name, f"{name} has DRBD {version}, not {expected}",
                     f"zabbix-ha writes DRBD {expected} configuration; use the distribution kernel's module",
                     version=version, expected=expected)


# ---------------------------------------------------------------------------
# names and time

@check_fn
def _hostnames(ctx: Context):
    for _, name, f in ctx.pairs():
        if f.hostname and f.hostname.lower() != name.lower():
            yield _f("hostname-mismatch", "error", name, f"the node at {ctx.spec.nodes[ctx.names.index(name)].address} "
                     f"calls itself {f.hostname!r}, not {name!r}",
                     f"set hostname to {name} (hostnamectl set-hostname {name}) or correct the answers",
                     actual=f.hostname)
    resolved: dict[str, dict[str, tuple[str, ...]]] = {}
    for _, node, f in ctx.pairs():
        if not f.resolution:
            continue
        for target in ctx.names:
            addrs = f.resolution.get(target, ())
            resolved.setdefault(target, {})[node] = addrs
            if not addrs:
                yield _f("hostname-unresolved", "warning", node, f"cannot resolve {target}",
                         f"add {target} to DNS, or let the install write it to /etc/hosts on both nodes",
                         name=target)
            elif any(ipaddress.ip_address(x).is_loopback for x in addrs if _is_ip(x)):
                yield _f("hostname-loopback", "warning", node, f"on {node}, {target} resolves to a loopback "
                         f"address ({', '.join(addrs)})",
                         f"remove the 127.0.1.1 {target} line from /etc/hosts on {node}: "
                         "cluster tools must see the node's real address", name=target, addresses=list(addrs))
    for target, by_node in resolved.items():
        sets = {tuple(sorted(v)) for v in by_node.values() if v}
        if len(sets) > 1:
            yield _f("hostname-resolution-differs", "error", None,
                     f"{target} resolves differently on the nodes: " +
                     "; ".join(f"{n}: {', '.join(v) or '-'}" for n, v in by_node.items()),
                     f"make DNS or /etc/hosts give {target} the same address on both nodes", name=target)


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


@check_fn
def _time(ctx: Context):
    for _, name, f in ctx.pairs():
        if not f.time.known:
            yield _f("time-sync-unknown", "warning", name, f"cannot tell whether {name}'s clock is synchronised "
                     "(timedatectl did not answer)",
                     "run an NTP client (chrony or systemd-timesyncd) on both nodes")
        elif not f.time.synchronized:
            yield _f("time-not-synced", "warning", name, f"{name}'s clock is not NTP-synchronised",
                     "enable NTP: timedatectl set-ntp true (or install chrony)", ntp_enabled=f.time.ntp_enabled)
    if ctx.both:
        a, b = ctx.both
        if a.clock_offset is not None and b.clock_offset is not None:
            skew = abs(a.clock_offset - b.clock_offset)
            margin = a.clock_uncertainty + b.clock_uncertainty
            if skew - margin > CLOCK_ERROR:
                sev = "error"
            elif skew - margin > CLOCK_WARN:
                sev = "warning"
            else:
                sev = None
            if sev:
                yield _f("clock-skew", sev, None, f"the nodes' clocks differ by {skew:.1f} s",
                         "synchronise both nodes with the same NTP servers; logs, DRBD and Pacemaker "
                         "events must line up across a failover", skew=round(skew, 3))


# ---------------------------------------------------------------------------
# disks

def _signatures(f: NodeFacts, device) -> list[str]:
    sigs = list(f.signatures.get(device.path) or ())
    for extra in (device.fstype, device.pttype):
        if extra and extra not in sigs:
            sigs.append(extra)
    return sigs


def _disk_checks(ctx: Context, name: str, f: NodeFacts, path: str, role: str, code: str):
    """Shared checks for the backing device and the meta-disk. Yields findings; returns the device."""
    dev = f.device(path)
    if dev is None:
        yield _f(f"{code}-missing", "error", name, f"the {role} {path} does not exist on {name}",
                 f"check `lsblk` on {name} and correct storage.nodes in the answers", device=path)
        return
    ours = f"/dev/drbd{ctx.spec.storage.minor}"
    if ctx.rerun and (ctx.spec.storage.resource in f.state.drbd_resources
                      or any(d.path == ours for d in f.descendants(dev))):
        # Our earlier run made this the backing device of our DRBD resource:
        # its signature, its drbd holder and the mounted filesystem on top of
        # that holder are the cluster's data, not something to wipe. The
        # device tree says so too when the node's state script did not answer
        # (lab run 6: it timed out on a busy node, and the rerun was refused
        # for "/dev/vdb is in use: /dev/drbd0 on /srv/zabbix-ha").
        yield _f(f"{code}-in-cluster", "info", name,
                 f"the {role} {path} on {name} belongs to DRBD resource {ctx.spec.storage.resource} of this cluster",
                 "nothing to do: a rerun never writes to it", device=path)
        return dev
    mounted = [(d.path, m) for d in (dev, *f.descendants(dev)) for m in d.mountpoints]
    if mounted:
        yield _f(f"{code}-mounted", "error", name,
                 f"the {role} {path} on {name} is in use: " + ", ".join(f"{p} on {m}" for p, m in mounted),
                 "choose an unused partition; never give DRBD a mounted filesystem", device=path,
                 mounts=[m for _, m in mounted])
    elif dev.children:
        yield _f(f"{code}-has-children", "error", name,
                 f"the {role} {path} on {name} holds {', '.join(dev.children)}",
                 "give the partition to use, not the whole disk that contains partitions or volumes",
                 device=path, children=list(dev.children))
    if dev.ro:
        yield _f(f"{code}-read-only", "error", name, f"the {role} {path} on {name} is read-only",
                 "use a writable device", device=path)
    sigs = _signatures(f, dev)
    if sigs and not mounted:
        forced = wipe_code(name, path) in ctx.forced
        yield _f(f"{code}-signature", "warning" if forced else "error", name,
                 f"the {role} {path} on {name} contains {', '.join(sigs)}"
                 + (" and WILL BE WIPED" if forced else ""),
                 f"check on {name} with `wipefs -n {path}` and `blkid {path}` that it holds nothing you need, "
                 "then confirm wiping this device" if not forced else
                 "the install erases these signatures", force_code=wipe_code(name, path), device=path,
                 signatures=sigs)
    elif f.signatures.get(path, ()) is None and path in f.signatures and not mounted:
        yield _f(f"{code}-unprobed", "warning", name, f"could not read signatures on {path} on {name}",
                 "check with `wipefs -n " + path + "` that it holds nothing", device=path)
    return dev


def _run(gen):
    """Collect a sub-generator's findings and its return value."""
    out = []
    try:
        while True:
            out.append(next(gen))
    except StopIteration as stop:
        return out, stop.value


@check_fn
def _disks(ctx: Context):
    s = ctx.spec.storage
    sizes: dict[str, int] = {}
    for i, name, f in ctx.pairs():
        if i >= len(s.nodes) or not f.block_devices:
            continue
        disks = s.nodes[i]
        found, dev = _run(_disk_checks(ctx, name, f, disks.disk, "DRBD backing device", "disk"))
        yield from found
        if dev is None:
            continue
        sizes[name] = dev.size
        if dev.size < MIN_DATA_BYTES:
            yield _f("disk-small", "warning", name, f"the backing device {dev.path} on {name} is only "
                     f"{_size(dev.size)}", "give the database at least a few GiB", device=dev.path, size=dev.size)
        if s.meta_disk_mode == "internal":
            usable = dev.size - drbd_meta_bytes(dev.size)
            yield _f("internal-meta-usable", "info", name,
                     f"internal meta-data takes {_size(dev.size - usable)} of {dev.path}; {_size(usable)} remain for data",
                     "nothing to do", device=dev.path, usable=usable)
            continue
        if s.meta_disk_mode == "indexed" and dev.size > INDEXED_MAX_DATA:
            yield _f("indexed-meta-capacity", "error", name, f"{dev.path} on {name} is {_size(dev.size)}; an indexed "
                     f"128 MiB meta-data slot covers at most {_size(INDEXED_MAX_DATA)}",
                     "use the flexible meta-disk mode for devices this large", size=dev.size)
        if not disks.meta_disk:
            continue
        found, meta = _run(_disk_checks(ctx, name, f, disks.meta_disk, "meta-disk", "meta-disk"))
        yield from found
        if meta is None:
            continue
        need = meta_needed(s.meta_disk_mode, dev.size, disks.meta_index)
        if meta.size < need:
            what = (f"index {disks.meta_index} needs {_size(need)} ({disks.meta_index + 1} × 128 MiB)"
                    if s.meta_disk_mode == "indexed" else f"{_size(dev.size)} of data needs {_size(need)}")
            yield _f("meta-disk-too-small", "error", name,
                     f"the meta-disk {meta.path} on {name} has {_size(meta.size)}; {what}",
                     "use a larger meta-disk partition" + (" or a lower index" if s.meta_disk_mode == "indexed" else ""),
                     device=meta.path, size=meta.size, needed=need)
    if len(sizes) == 2:
        small, large = sorted(sizes.values())
        if large and small / large < SIZE_CLASS_RATIO:
            yield _f("disk-size-differs", "warning", None,
                     "the backing devices differ in size: " + ", ".join(f"{n} {_size(v)}" for n, v in sizes.items()),
                     f"DRBD uses the smaller ({_size(small)}); use partitions of the same size", sizes=sizes)


# ---------------------------------------------------------------------------
# network: addresses on the right NICs

@check_fn
def _links(ctx: Context):
    mtus: dict[int, dict[str, int]] = {}
    for i, name, f in ctx.pairs():
        if not f.interfaces:
            continue
        nics: dict[str, int] = {}
        for li, link in enumerate(ctx.spec.links):
            if i >= len(link.addresses):
                continue
            addr = link.addresses[i]
            found = f.interface_with(addr)
            if found is None:
                yield _f("link-address-missing", "error", name, f"link {li} address {addr} is not configured on {name}",
                         f"configure {addr}/{link.prefix} on the interconnect NIC of {name} "
                         "(ifupdown or NetworkManager), then run again", link=li, address=addr)
                continue
            iface, a = found
            mtus.setdefault(li, {})[name] = iface.mtu
            if a.prefix != link.prefix:
                yield _f("link-prefix-mismatch", "warning", name,
                         f"{addr} on {iface.name} has prefix /{a.prefix}, the answers say /{link.prefix}",
                         "correct the prefix in the answers or on the NIC", link=li, actual=a.prefix)
            if not iface.up:
                yield _f("link-nic-down", "error", name, f"{iface.name} (link {li}) on {name} is down",
                         f"bring it up (ip link set {iface.name} up) and check the cable", link=li, nic=iface.name)
            if iface.name in nics:
                yield _f("links-share-nic", "warning", name,
                         f"links {nics[iface.name]} and {li} both use {iface.name} on {name}: they fail together",
                         "put each link on its own NIC (and switch or cable)", nic=iface.name, links=[nics[iface.name], li])
            nics.setdefault(iface.name, li)
    for li, by_node in mtus.items():
        if len(set(by_node.values())) > 1:
            yield _f("mtu-mismatch", "error", None, f"link {li} has different MTUs: " +
                     ", ".join(f"{n} {m}" for n, m in by_node.items()),
                     "set the same MTU on both ends (and on the switch between them)", link=li, mtus=by_node)


def _vip_nics(ctx: Context, vip: str, prefix: int, nics: list[str], what: str, field: str):
    """The NIC each node puts a floating address on: there, up, with an address in its subnet."""
    try:
        net = ipaddress.ip_network(f"{vip}/{prefix}", strict=False)
    except ValueError:
        return
    for i, name, f in ctx.pairs():
        if not f.interfaces or i >= len(nics):
            continue
        nic = f.interface(nics[i])
        if nic is None:
            yield _f("vip-nic-missing", "error", name, f"{name} has no interface {nics[i]} for the {what}",
                     f"set {field} to an interface `ip link` shows on " + name +
                     f" (it has: {', '.join(x.name for x in f.interfaces if x.kind != 'loopback')})",
                     nic=nics[i], address=vip)
            continue
        if not nic.up:
            yield _f("vip-nic-down", "error", name, f"{nic.name} ({what}) on {name} is down",
                     f"bring it up: ip link set {nic.name} up", nic=nic.name, address=vip)
        if not any(a.interface.ip in net for a in nic.addresses if a.family in ("inet", "inet6")):
            yield _f("vip-nic-subnet", "error", name,
                     f"{nic.name} on {name} has no address in {net}, the {what}'s subnet",
                     f"choose the NIC that carries the clients' subnet, or a {what} in its subnet",
                     nic=nic.name, address=vip)


@check_fn
def _vip(ctx: Context):
    sv = ctx.spec.services
    yield from _vip_nics(ctx, sv.vip, sv.vip_prefix, sv.vip_nics, "VIP", "services.vip_nics")
    for k, extra in enumerate(sv.extra_vips):
        yield from _vip_nics(ctx, extra.address, extra.prefix, extra.nics, f"additional VIP {extra.address}",
                             f"services.extra_vips[{k}].nics")
    for i, name, f in ctx.pairs():
        if not f.interfaces:
            continue
        for addr in sv.floating_addresses:
            if f.interface_with(addr) and not ctx.rerun:
                yield _f("vip-configured", "error", name, f"{addr} is already configured on {name}",
                         "remove it from the node's network configuration: the cluster adds and moves it",
                         address=addr)


@check_fn
def _default_route(ctx: Context):
    """The CIB's IPsrcaddr resource rewrites the source address of the default
    route (its destination 0.0.0.0/0); without one it fails "no matching route
    exists" and the whole group stops (notes/lab.md Part D.2)."""
    source = ctx.spec.services.effective_source
    family = "inet6" if ":" in source else "inet"
    for _, name, f in ctx.pairs():
        routes = f.default_routes.get(family)
        if routes is None:          # not read: facts-incomplete says why
            continue
        if not routes:
            version = "IPv6" if family == "inet6" else "IPv4"
            yield _f("default-route-missing", "error", name,
                     f"{name} has no {version} default route: the cluster sends Zabbix's checks from "
                     f"{source} by rewriting the default route's source address (IPsrcaddr), "
                     "which fails without one",
                     f"add a default route on {name} (`ip route add default via GATEWAY`) and make it "
                     "permanent in the node's network configuration", family=family, source=source)
        for route in routes:
            if route.onlink:
                # resource-agents 4.12's IPsrcaddr rebuilds the route without its
                # device, and the kernel refuses `onlink` without one
                # (corosync/corosync#773; measured on the lab).
                yield _f("default-route-onlink", "error", name,
                         f"{name}'s default route via {route.gateway} carries the onlink flag (ifupdown's "
                         f"`gateway` line adds it); the source address resource (IPsrcaddr) cannot change such a "
                         "route and fails with \"Nexthop device required for onlink\"",
                         f"in /etc/network/interfaces on {name} replace `gateway {route.gateway}` by "
                         f"`up ip route replace default via {route.gateway} dev {route.dev}`, then "
                         f"`ip route replace default via {route.gateway} dev {route.dev}`",
                         gateway=route.gateway, dev=route.dev)


@check_fn
def _ports(ctx: Context):
    wanted: dict[tuple[str, int], str] = {}
    for li in range(len(ctx.spec.links)):
        wanted[("udp", COROSYNC_BASE_PORT + li)] = f"Corosync link {li}"
    wanted[("tcp", ctx.spec.storage.port)] = "DRBD"
    for port, what in ((80, "Apache"), (443, "Apache (TLS)"), (3306, "MariaDB"), (10051, "Zabbix server")):
        wanted[("tcp", port)] = what
    # Who may hold a port before install: the stack's own service (to be taken over).
    owners = {80: ("apache2", "httpd"), 443: ("apache2", "httpd"), 3306: ("mariadbd", "mysqld"),
              10051: ("zabbix_server",)}
    for _, name, f in ctx.pairs():
        for lst in f.listeners:
            what = wanted.get((lst.proto, lst.port))
            if what is None or (lst.address.startswith("127.") or lst.address == "::1"):
                continue
            if lst.process in owners.get(lst.port, ()) or (lst.process == "corosync" and ctx.rerun):
                yield _f("port-held-by-stack", "info", name,
                         f"{lst.process} already listens on {lst.proto}/{lst.port} on {name}",
                         "the install stops it and hands it to the cluster", port=lst.port, process=lst.process)
                continue
            if ctx.rerun and what in ("DRBD",) or (ctx.rerun and what.startswith("Corosync")):
                continue
            yield _f("port-in-use", "error", name,
                     f"{lst.proto}/{lst.port} ({what}) is taken on {name} by {lst.process or 'an unknown process'} "
                     f"on {lst.address}", f"stop or move that service, or choose another port for {what}",
                     port=lst.port, proto=lst.proto, process=lst.process)


# ---------------------------------------------------------------------------
# resources

@check_fn
def _memory(ctx: Context):
    tier = TIERS.get(ctx.spec.zabbix.sizing)
    for _, name, f in ctx.pairs():
        if tier and f.memory_mib and f.memory_mib < tier.min_memory_mib:
            fits = [t.name for t in TIERS.values() if t.min_memory_mib <= f.memory_mib]
            smallest = next(iter(TIERS.values()))
            fix = (f"add memory, or choose the {fits[-1]} sizing tier (zabbix.sizing)" if fits else
                   f"add memory: even the smallest tier ({smallest.name}) wants {smallest.min_memory_mib} MiB")
            yield _f("memory-low", "warning", name, f"{name} has {f.memory_mib} MiB of memory; the {tier.name} "
                     f"tier wants {tier.min_memory_mib} MiB", fix, memory_mib=f.memory_mib,
                     needed=tier.min_memory_mib)
        if f.cpus and f.cpus < 2:
            yield _f("cpus-low", "warning", name, f"{name} has {f.cpus} CPU", "give each node at least 2 CPUs",
                     cpus=f.cpus)


# ---------------------------------------------------------------------------
# what is already there

def _applied_answers(name: str, applied_text: str):
    """(the answers the node keeps as applied, or None; why they cannot be read, or "")."""
    import yaml

    from wizard.answers import AnswersError, parse_answers

    if not applied_text.strip():
        return None, ""
    try:
        data = yaml.safe_load(applied_text)
        return parse_answers(data if isinstance(data, dict) else {}, f"{name}:/etc/zabbix-ha/cluster.yaml"), ""
    except (yaml.YAMLError, AnswersError) as exc:
        return None, str(exc)[:200]


def _fixed_changes(spec, name: str, applied_text: str, said: set):
    """Answers changing what the running cluster cannot change in place, against the applied
    answers read from the node (so a rerun from another machine is refused like one on a node)."""
    from wizard.rerun import fixed_changes

    applied, why = _applied_answers(name, applied_text)
    if why:
        yield _f("applied-answers-unreadable", "warning", name,
                 f"{name}'s applied answers (/etc/zabbix-ha/cluster.yaml) cannot be read: {why}",
                 "copy the file from the other node (both keep the same) so a rerun can be compared with it")
        return
    if applied is None:
        return
    if applied.name != spec.name:
        return                              # another cluster: other-zabbix-ha-cluster says so
    for change in fixed_changes(applied, spec):
        if change.message in said:          # both nodes keep the same answers: say it once
            continue
        said.add(change.message)
        # Never forceable: there is no in-place change to force.
        yield _f("fixed-answer-changed", "error", name, change.message,
                 f"put {change.field} back to {change.was!r} (the applied answers on {name}); to move the data "
                 "or rename a node, build a new cluster and migrate Zabbix's database",
                 field=change.field, was=change.was, now=change.now)


@check_fn
def _existing(ctx: Context):
    rerun = ctx.rerun
    res = ctx.spec.storage.resource
    said: set = set()
    for _, name, f in ctx.pairs():
        st = f.state
        other = ctx.other_cluster(f)
        if other:
            # Never forceable: these answers would turn a node of one cluster into a node of another.
            yield _f("other-zabbix-ha-cluster", "error", name,
                     f"{name} belongs to cluster {other!r} (its /etc/zabbix-ha/cluster.yaml); these answers "
                     f"are for cluster {ctx.spec.name!r}",
                     f"to change {other!r}, use its applied answers (/etc/zabbix-ha/cluster.yaml on its nodes); "
                     f"otherwise pass the answers file of the cluster {name} belongs to",
                     cluster=other, answers=ctx.spec.name)
        elif st.zabbix_ha_spec:
            yield _f("rerun", "info", name, f"{name} holds the spec of an earlier zabbix-ha run",
                     "the plan compares and changes only what differs; nothing is overwritten silently")
            yield from _fixed_changes(ctx.spec, name, st.zabbix_ha_answers, said)
        if st.corosync_conf and not st.corosync_is_package_default and not rerun:
            yield _f("existing-cluster", "error", name,
                     f"{name} already has a cluster configuration (cluster {st.corosync_cluster_name or '?'}, "
                     f"nodes {', '.join(st.corosync_nodes) or '?'})",
                     "zabbix-ha never overwrites a cluster it did not make: remove it "
                     "(pcs cluster destroy / crm cluster remove) or use another pair of servers",
                     cluster=st.corosync_cluster_name, nodes=list(st.corosync_nodes))
        elif st.cib and not rerun and st.corosync_is_package_default:
            # Debian's corosync package starts a one-node cluster on install;
            # its CIB is that throwaway cluster's (the install replaces it).
            yield _f("package-default-cib", "info", name,
                     f"{name} has the CIB of the one-node cluster its corosync package started",
                     "nothing to do: the install stops that cluster and starts this one with a fresh CIB")
        elif st.cib and not rerun:
            yield _f("existing-cib", "error", name, f"{name} has a Pacemaker CIB from an earlier cluster",
                     "remove /var/lib/pacemaker/cib/* after checking it is not in use")
        if res in st.drbd_resources and not rerun:
            yield _f("existing-drbd-resource", "error", name, f"{name} already defines DRBD resource {res!r}",
                     f"choose another resource name, or remove /etc/drbd.d/{res}.res if it is unused", resource=res)
        minor = ctx.spec.storage.minor
        if any(m.minor == minor for m in f.drbd.minors) and not rerun:
            yield _f("drbd-minor-in-use", "error", name, f"/dev/drbd{minor} is active on {name}",
                     "choose another minor, or bring the old resource down (drbdadm down)", minor=minor)
        if st.database_names:
            yield _f("existing-database", "warning", name,
                     f"{name}'s MariaDB data directory holds databases: {', '.join(st.database_names)}",
                     "the cluster's database lives on DRBD; back these up, they stay on the local disk",
                     databases=list(st.database_names))
        running = [u for u in ("corosync", "pacemaker") if st.service(u) == "active"]
        if running and not rerun and st.corosync_conf and st.corosync_is_package_default:
            yield _f("package-default-cluster-running", "info", name,
                     f"{', '.join(running)} run the one-node cluster {name}'s corosync package started",
                     "nothing to do: the install stops it and starts this cluster instead", units=running)
        elif running and not rerun:
            yield _f("cluster-services-running", "error", name, f"{', '.join(running)} already running on {name}",
                     "stop them first (systemctl stop pacemaker corosync) after checking what they run",
                     units=running)


# ---------------------------------------------------------------------------
# probes: traffic between the nodes, addresses, BMCs, package source

@check_fn
def _paths(ctx: Context):
    p = ctx.probes
    if p is None:
        yield _f("connectivity-not-probed", "info", None, "the connectivity matrix was not probed",
                 "run preflight with both nodes reachable")
        return
    what = {"icmp": "ping", "udp": "Corosync (knet, UDP)", "tcp": "DRBD (TCP)", "mtu": "full-size packets (MTU)"}
    for r in p.paths:
        addr = ctx.spec.links[r.link].addresses
        if r.ok is False:
            sev = "warning" if r.kind == "icmp" else "error"
            fix = {"icmp": "ICMP may be filtered; check the cable/VLAN if the other probes fail too",
                   "udp": f"open UDP {r.port} between {addr[0]} and {addr[1]} in both directions (firewall)",
                   "tcp": f"open TCP {r.port} between the replication addresses in both directions (firewall)",
                   "mtu": "set the same MTU on both NICs and every switch port between them"}[r.kind]
            yield _f(f"path-{r.kind}-failed", sev, r.src,
                     f"link {r.link}: {r.src} cannot reach {r.dst} by {what[r.kind]}"
                     + (f" on port {r.port}" if r.port and r.kind in ('udp', 'tcp') else "")
                     + (f" ({r.detail})" if r.detail else ""), fix,
                     link=r.link, src=r.src, dst=r.dst, port=r.port)
        elif r.ok is None:
            yield _f(f"path-{r.kind}-untested", "warning", r.src,
                     f"link {r.link}: {what[r.kind]} from {r.src} to {r.dst} could not be tested: {r.detail}",
                     "check it by hand, or install the missing tool (perl, ping)", link=r.link, port=r.port)


@check_fn
def _address_use(ctx: Context):
    if ctx.probes is None:
        return
    own = {a for link in ctx.spec.links for a in link.addresses} | {n.address for n in ctx.spec.nodes}
    if ctx.rerun:
        # The running cluster answers on its own addresses: only one no node carries yet and the
        # applied answers never had (an added extra VIP, a changed VIP) is new. The applied answers
        # count too because an address may be moving between the nodes while the facts are read.
        if ctx.both is None:
            return
        own |= {a for _, _, f in ctx.pairs() for a in ctx.spec.services.floating_addresses if f.interface_with(a)}
        for _, name, f in ctx.pairs():
            applied, _ = _applied_answers(name, f.state.zabbix_ha_answers)
            if applied is not None and applied.name == ctx.spec.name:
                own |= set(applied.services.floating_addresses)
    seen = set()
    for use in ctx.probes.addresses:
        if use.in_use and use.address not in own and use.address not in seen:
            seen.add(use.address)
            how = "answers ping" if use.answers_ping else "answers ARP"
            yield _f("address-in-use", "error", use.node, f"{use.address} is already in use: it {how} (seen from {use.node})",
                     "choose a free address for the VIP/source address, or find and remove the host using it",
                     address=use.address)


@check_fn
def _ipmi(ctx: Context):
    f = ctx.spec.fencing
    if f.method != "ipmi":
        return
    if ctx.secrets is not None:
        for node in ctx.names:
            if node not in ctx.secrets.ipmi or not ctx.secrets.ipmi[node]:
                yield _f("ipmi-secret-missing", "error", node, f"no IPMI password for {node}'s BMC",
                         "add it to the secrets file under ipmi:", fenced=node)
    if ctx.probes is None or not ctx.probes.ipmi:
        # Say why, and name what to do about that cause: a run that could not
        # reach the nodes is not missing the BMC passwords.
        if ctx.secrets is None:
            yield _f("ipmi-not-probed", "warning", None, "the BMCs were not asked for their power status: "
                     "no BMC passwords were given", "give the BMC passwords (the secrets file) so preflight "
                     "can test fencing")
        else:
            yield _f("ipmi-not-probed", "warning", None, "the BMCs were not asked for their power status: "
                     "the nodes that would ask them were not reached or probes were skipped",
                     "fix the connection findings above and run preflight again")
        return
    for r in ctx.probes.ipmi:
        if r.ok is False:
            yield _f("ipmi-unreachable", "error", r.node, f"{node_label(r)}: the BMC did not answer: {r.detail}",
                     "check the BMC address, user, password and lanplus setting, and that UDP 623 is open",
                     fenced=r.target)
        elif r.ok is None:
            yield _f("ipmi-untested", "warning", r.node, f"{node_label(r)}: {r.detail}",
                     "it is tested again after the packages are installed", fenced=r.target)


def node_label(r) -> str:
    # The finding's node (the one that asked) is shown beside the message by
    # every view: naming it again here doubled it.
    return f"fencing {r.target}"


@check_fn
def _sources(ctx: Context):
    if ctx.probes is None or not ctx.probes.sources_probed:
        return
    for r in ctx.probes.sources:
        if r.ok is False:
            yield _f("package-source-unreachable", "error", r.node, f"{r.node} cannot reach {r.target}: {r.detail}",
                     "allow the nodes to reach the package source (proxy, firewall) or use a local mirror "
                     "(zabbix.package_source: mirror)", url=r.target)
    if not ctx.probes.sources and ctx.spec.zabbix.package_source == "os":
        yield _f("package-source-unknown", "warning", None, "no package source found in the nodes' apt configuration",
                 "configure apt sources on both nodes or use a local mirror")


# ---------------------------------------------------------------------------

def check(spec: ClusterSpec, facts_by_node: dict[str, NodeFacts | None], secrets: Secrets | None = None, *,
          probes: Probes | None = None, forced: frozenset[str] | set[str] = frozenset()) -> list[Finding]:
    """Every finding, errors first, then warnings, then infos (stable within a severity)."""
    ctx = Context(spec, [facts_by_node.get(n) for n in spec.hostnames], secrets, probes, frozenset(forced))
    findings: list[Finding] = []
    for fn in CHECKS:
        findings.extend(fn(ctx))
    findings.extend(_unmatched_forces(ctx.forced, findings))
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda x: order[x.severity])


def _unmatched_forces(forced: frozenset[str], findings: list[Finding]) -> Iterator[Finding]:
    """A force code that matches nothing is most likely a typo: say so rather than ignore it."""
    offered = {f.force_code for f in findings if f.force_code}
    for code in sorted(forced - offered):
        yield _f("force-unmatched", "warning", None, f"the force code {code} matches no finding, so it accepted nothing",
                 "forceable here: " + (", ".join(sorted(offered)) if offered else "nothing") +
                 "; a wipe is accepted per node and device: wipe-disk:NODE:/dev/DEVICE", force=code)


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


def codes() -> list[str]:
    """Every finding code this module can produce (read from the source, for docs and tests)."""
    import inspect
    import re
    src = inspect.getsource(__import__(__name__, fromlist=["x"]))
    found = set(re.findall(r'_f\(\s*"([a-z0-9-]+)"', src))
    found |= {f"{c}-{s}" for c in ("disk", "meta-disk") for s in
              ("missing", "mounted", "has-children", "read-only", "signature", "unprobed")}
    found |= {f"path-{k}-{s}" for k in ("icmp", "udp", "tcp", "mtu") for s in ("failed", "untested")}
    return sorted(found)
