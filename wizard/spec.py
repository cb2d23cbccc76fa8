"""ClusterSpec: the single source of truth for one two-node Zabbix cluster.

Screens, CLI flags and answers files all build a ClusterSpec; rendering,
preflight, plans and bundles read only it (plus discovered facts).
Secrets live apart, in `Secrets`, and never in the spec's plain data.

`validate(spec)` returns every problem at once, each naming its field path
(`links[1].addresses[0]`) and the fix; nothing acts on a spec with errors.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import posixpath
import re
import unicodedata
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from wizard.errors import UserError
from wizard.platforms import PLATFORMS
from wizard.sizing import TIERS

MetaDiskMode = Literal["indexed", "flexible", "internal"]
Filesystem = Literal["ext4", "xfs"]
ZabbixVersion = Literal["6.0", "7.0"]
PackageSource = Literal["os", "official", "mirror"]
DbEngine = Literal["mariadb", "mysql"]
FencingMethod = Literal["ipmi", "sbd", "none"]
Severity = Literal["error", "warning"]

# What a person must type to run without fencing (crmsh and pcs both
# warn here; we make the choice explicit and recorded in the answers).
NO_FENCING_ACKNOWLEDGEMENT = "I accept split-brain risk without fencing"

MAX_LINKS = 8
COROSYNC_BASE_PORT = 5405      # knet link N listens on 5405 + N
SERVICE_PORTS = {80: "Apache", 443: "Apache (TLS)", 3306: "MariaDB", 10051: "Zabbix server",
                 2224: "pcsd"}
# The DRBD filesystem is mounted on a fresh directory. Anywhere inside these
# trees it would hide (or be hidden by) what the system and its packages keep
# there: /etc/zabbix, /var/lib/dpkg, /usr/lib ...
SYSTEM_TREES = ("/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/proc",
                "/root", "/run", "/sbin", "/sys", "/tmp", "/usr", "/var")
# Directories that may hold the mount point but may not be it.
FORBIDDEN_MOUNTS = {"/", "/media", "/mnt", "/opt", "/srv"} | set(SYSTEM_TREES)


@dataclass
class Node:
    hostname: str
    address: str                     # management address, used for SSH
    ssh_user: str = "root"
    ssh_port: int = 22


@dataclass
class Link:
    """One Corosync/knet interconnect: one address per node, one subnet."""

    addresses: list[str]             # [node1, node2]
    prefix: int = 24


@dataclass
class NodeDisks:
    disk: str                        # DRBD backing device, e.g. /dev/sdb1
    meta_disk: str | None = None     # dedicated meta-data partition (None = internal)
    meta_index: int = 0              # slot on the meta-disk (indexed mode only)


@dataclass
class Storage:
    nodes: list[NodeDisks]           # [node1, node2]
    meta_disk_mode: MetaDiskMode = "indexed"
    resource: str = "r0"
    minor: int = 0
    port: int = 7788
    protocol: str = "C"
    replication_link: int = 0        # index into ClusterSpec.links
    filesystem: Filesystem = "ext4"
    mount_point: str = "/srv/zabbix-ha"


@dataclass
class ExtraVip:
    """One more floating address that follows the services (a second network's
    clients reach the frontend on it). Its own IPaddr2 resource beside the
    group, so adding or removing one restarts nothing else."""

    address: str
    prefix: int = 24
    nics: list[str] = field(default_factory=list)    # per node, like ServiceAddresses.vip_nics
    name: str = field(default="", metadata={"omit_empty": True})   # optional; names its resource (vip-extra-NAME)


@dataclass
class ServiceAddresses:
    vip: str                          # Zabbix/web listen address
    vip_prefix: int = 24
    vip_nics: list[str] = field(default_factory=lambda: ["eth0", "eth0"])   # per node
    source_address: str = ""          # Zabbix SourceIP (IPsrcaddr); "" = same as vip
    # Written to an answers file only when there are some, so the answers of a
    # cluster without any stay byte for byte what they were.
    extra_vips: list[ExtraVip] = field(default_factory=list, metadata={"omit_empty": True})

    @property
    def effective_source(self) -> str:
        return self.source_address or self.vip

    @property
    def floating_addresses(self) -> list[str]:
        """Every address the cluster moves: the VIP, the source address, the extra VIPs."""
        return list(dict.fromkeys(a for a in (self.vip, self.effective_source,
                                              *(v.address for v in self.extra_vips)) if a))


EXTRA_VIP_ID_PREFIX = "vip-extra-"


def extra_vip_id(vip: ExtraVip) -> str:
    """The CIB id of an extra VIP's resource: from its name, else from its address
    (10.213.0.101 -> vip-extra-10-213-0-101; IPv6 in its compressed form)."""
    if vip.name:
        return EXTRA_VIP_ID_PREFIX + vip.name
    addr = _ip(vip.address)
    text = addr.compressed if addr is not None else str(vip.address)
    return EXTRA_VIP_ID_PREFIX + re.sub(r"[^A-Za-z0-9]", "-", text)


@dataclass
class Zabbix:
    version: ZabbixVersion = "6.0"
    package_source: PackageSource = "os"
    mirror_url: str = ""
    db_engine: DbEngine = "mariadb"
    db_name: str = "zabbix"
    db_user: str = "zabbix"
    server_name: str = "zabbix.example.com"
    timezone: str = "UTC"
    sizing: str = "small"


@dataclass
class IpmiDevice:
    """The BMC that powers off one node (secret: Secrets.ipmi[node hostname])."""

    address: str
    user: str
    lanplus: bool = True


@dataclass
class Fencing:
    method: FencingMethod = "ipmi"
    ipmi: list[IpmiDevice] = field(default_factory=list)   # [fences node1, fences node2]
    sbd_device: str = ""
    acknowledgement: str = ""


@dataclass
class ClusterSpec:
    name: str
    nodes: list[Node]
    links: list[Link]
    storage: Storage
    services: ServiceAddresses
    zabbix: Zabbix = field(default_factory=Zabbix)
    fencing: Fencing = field(default_factory=Fencing)
    platform: str = "debian12"

    @property
    def hostnames(self) -> list[str]:
        return [n.hostname for n in self.nodes]

    @property
    def preferred_node(self) -> str:
        """Where the services run when both nodes are up: the first node."""
        return self.nodes[0].hostname

    @property
    def replication_addresses(self) -> list[str]:
        return self.links[self.storage.replication_link].addresses


class Secret:
    """A secret value that hides itself in str()/repr() and logs."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


def generate_drbd_secret() -> Secret:
    """DRBD's peer-authentication secret: 43 URL-safe characters (256 bits),
    within DRBD 8.4's 64-character limit and safe inside its quotes."""
    import secrets as pysecrets

    return Secret(pysecrets.token_urlsafe(32))


# DRBD 8.4: "shared-secret ... May be up to 64 characters" (drbd.conf-8.4(5)).
DRBD_SECRET_MAX = 64


@dataclass
class Secrets:
    db_password: Secret = field(default_factory=lambda: Secret(""))
    hacluster_password: Secret = field(default_factory=lambda: Secret(""))
    zabbix_admin_password: Secret = field(default_factory=lambda: Secret(""))
    ipmi: dict[str, Secret] = field(default_factory=dict)   # node hostname -> BMC password
    # Generated, never typed: DRBD peer authentication (cram-hmac-alg sha256).
    # Both nodes and every rerun must use the same one, so a secrets file that
    # lacks it gets it generated and saved back once (answers.load_secrets).
    drbd_secret: Secret = field(default_factory=generate_drbd_secret)

    # Fields zabbix-ha generates itself (the person never types them).
    GENERATED: ClassVar[tuple[str, ...]] = ("drbd_secret",)

    def values(self) -> list[str]:
        """Every secret in clear, for masking journals and checking outputs."""
        found = [self.db_password, self.hacluster_password, self.zabbix_admin_password,
                 *self.ipmi.values(), self.drbd_secret]
        return [s.reveal() for s in found if s]

    def typed_values(self) -> list[str]:
        """The secrets a person gave (not the generated ones)."""
        generated = {getattr(self, name).reveal() for name in self.GENERATED}
        return [v for v in self.values() if v not in generated]


@dataclass(frozen=True)
class Problem:
    field: str
    code: str
    message: str
    fix: str
    severity: Severity = "error"

    def __str__(self) -> str:
        return f"{self.field}: {self.message} (fix: {self.fix})"


class SpecError(UserError):
    """A spec with errors: carries every problem."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = [f"  {p.severity}: {p}" for p in problems]
        super().__init__("the cluster answers have problems:\n" + "\n".join(lines),
                         "correct the fields named above and run again")

    def __str__(self) -> str:
        return self.message


# ---------------------------------------------------------------------------
# validation

# Every pattern here is used with fullmatch (never match with ^...$: `$` also
# matches before a trailing newline, so "zabbix\n" would pass).
_HOSTNAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", re.IGNORECASE)
# The last label may not be all digits, so a mistyped IPv4 address
# (192.168.10.300) is not taken for a host name.
_DNS_NAME = re.compile(r"(?=.{1,253}\Z)(?!(.*\.)?[0-9]+\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*",
                       re.IGNORECASE)
_CLUSTER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
_IDENT = re.compile(r"[A-Za-z0-9_]{1,64}")
_NIC = re.compile(r"[A-Za-z0-9_.:@-]{1,15}")
_RESOURCE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}")
_EXTRA_VIP_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def error(self, field_path: str, code: str, message: str, fix: str) -> None:
        self.problems.append(Problem(field_path, code, message, fix))

    def warning(self, field_path: str, code: str, message: str, fix: str) -> None:
        self.problems.append(Problem(field_path, code, message, fix, "warning"))


def has_control(value: str) -> bool:
    """Whether text holds a control character (C0, DEL, C1) or a Unicode line
    or paragraph separator. One rule for every field and secret: a line break
    in a value ends a line in whatever file or stdin the value is written to
    (a fence agent reads `action=off` on the next line as a new option)."""
    return any(unicodedata.category(ch) == "Cc" or ch in "\u2028\u2029" for ch in value)


def text_fields(obj: object, path: str = ""):
    """(field path, value) for every string in a spec (or any dataclass tree),
    with the paths validate() uses: `nodes[0].hostname`, `fencing.ipmi[1].user`."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield from text_fields(getattr(obj, f.name), f"{path}.{f.name}" if path else f.name)
    elif isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            yield from text_fields(item, f"{path}[{i}]")
    elif isinstance(obj, dict):
        for key, item in obj.items():
            yield from text_fields(key, f"{path} (key {key!r})")
            yield from text_fields(item, f"{path}.{key}")
    elif isinstance(obj, str):
        yield path, obj


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    # No scoped IPv6 (fe80::1%eth0): the zone would be pasted into files as text.
    if not isinstance(value, str) or "%" in value:
        return None
    try:
        return ipaddress.ip_address(value)
    except (ValueError, TypeError):
        return None


def _check_ip(c: _Collector, path: str, value: str, what: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    addr = _ip(value)
    if addr is None:
        c.error(path, "invalid-ip", f"{value!r} is not a valid IP address for the {what}",
                "write an IPv4 address like 192.168.10.11 (or an IPv6 address)")
        return None
    if addr.is_loopback or addr.is_multicast or addr.is_unspecified:
        c.error(path, "unusable-ip", f"{value} is a loopback, multicast or unspecified address",
                f"use an address the other node can reach for the {what}")
        return None
    return addr


def _check_prefix(c: _Collector, path: str, prefix: int, version: int) -> bool:
    top = 32 if version == 4 else 128
    if not isinstance(prefix, int) or not 1 <= prefix <= top:
        c.error(path, "invalid-prefix", f"prefix length {prefix!r} is not between 1 and {top}",
                "write the subnet's prefix length, e.g. 24 for 255.255.255.0")
        return False
    return True


def _check_device(c: _Collector, path: str, value: str, what: str) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"/dev/[A-Za-z0-9_./:+-]+", value or "") or ".." in value:
        c.error(path, "invalid-device", f"{value!r} is not a block device path for the {what}",
                "write the full device path, e.g. /dev/sdb1 or /dev/disk/by-id/...")
        return False
    # Paths are judged in their normal form; a roundabout spelling
    # (/dev/./sda6, /dev//sda6) would slip past every comparison below.
    normal = posixpath.normpath(value)
    if normal != value:
        c.error(path, "device-not-normal", f"{value!r} is {normal} written in a roundabout way",
                f"write {normal}")
        return False
    return True


# A partition's name -> its whole disk: sdb1 -> sdb, nvme0n1p2 -> nvme0n1,
# by-id/...-part3 -> by-id/...
_PARTITION = re.compile(r"(/dev/(?:[shv]d[a-z]+|xvd[a-z]+))[0-9]+"
                        r"|(/dev/(?:nvme[0-9]+n[0-9]+|mmcblk[0-9]+|loop[0-9]+|md[0-9]+|nbd[0-9]+))p[0-9]+"
                        r"|(/dev/disk/by-[a-z-]+/.+)-part[0-9]+")


def whole_disk(device: str) -> str:
    """The disk a partition is on (by its name); a whole disk is its own."""
    m = _PARTITION.fullmatch(device)
    return next((g for g in m.groups() if g), device) if m else device


def devices_overlap(a: str, b: str) -> bool:
    """Whether two device paths share blocks: the same device, or a disk and
    one of its partitions. (Two partitions of one disk do not.)"""
    return a == b or whole_disk(a) == b or whole_disk(b) == a


def validate(spec: ClusterSpec) -> list[Problem]:
    """Every problem in the spec, errors and warnings, in field order."""
    c = _Collector()
    _validate_text(c, spec)
    _validate_cluster(c, spec)
    _validate_nodes(c, spec)
    link_nets = _validate_links(c, spec)
    _validate_storage(c, spec)
    _validate_services(c, spec, link_nets)
    _validate_zabbix(c, spec)
    _validate_fencing(c, spec)
    _validate_ports(c, spec)
    return c.problems


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def check(spec: ClusterSpec) -> list[Problem]:
    """Raise SpecError if the spec has errors; return the warnings."""
    problems = validate(spec)
    if errors(problems):
        raise SpecError(problems)
    return problems


def _validate_text(c: _Collector, spec: ClusterSpec) -> None:
    """One rule for every text field: no control characters (see has_control)."""
    for path, value in text_fields(spec):
        if has_control(value):
            c.error(path, "control-character", f"{value!r} contains a control character (line break, tab, NUL, escape)",
                    "remove it: every answer is one line of printable text")


def _validate_cluster(c: _Collector, spec: ClusterSpec) -> None:
    if not isinstance(spec.name, str) or not _CLUSTER_NAME.fullmatch(spec.name):
        c.error("name", "invalid-cluster-name", f"cluster name {spec.name!r} is not valid",
                "use 1-32 letters, digits, '-' or '_', starting with a letter or digit")
    if spec.platform not in PLATFORMS:
        c.error("platform", "unknown-platform", f"platform {spec.platform!r} is not supported",
                f"choose one of: {', '.join(PLATFORMS)}")


def _validate_nodes(c: _Collector, spec: ClusterSpec) -> None:
    if len(spec.nodes) != 2:
        c.error("nodes", "node-count", f"{len(spec.nodes)} nodes given; an active/standby cluster has exactly 2",
                "list exactly two nodes")
    for i, node in enumerate(spec.nodes):
        p = f"nodes[{i}]"
        if not isinstance(node.hostname, str) or not _HOSTNAME.fullmatch(node.hostname):
            c.error(f"{p}.hostname", "invalid-hostname", f"{node.hostname!r} is not a valid short host name",
                    "use the node's short name (letters, digits, '-', at most 63, no dots), as `hostname -s` prints it")
        if _ip(node.address) is None and isinstance(node.address, str) and _DNS_NAME.fullmatch(node.address):
            # The address goes into /etc/hosts and the Corosync nodelist,
            # which need an address; resolving here would fix it to what
            # this machine's resolver says today.
            c.error(f"{p}.address", "address-is-name",
                    f"{node.address!r} is a host name; the hosts file and the cluster need the node's IP address",
                    f"write its IP address (`getent hosts {node.address}` prints it)")
        elif _ip(node.address) is None:
            c.error(f"{p}.address", "invalid-address", f"{node.address!r} is not an IP address",
                    "write the IP address the wizard reaches this node on by SSH, e.g. 192.168.10.11")
        else:
            _check_ip(c, f"{p}.address", node.address, "management address")
        if not isinstance(node.ssh_user, str) or not _USER.fullmatch(node.ssh_user):
            c.error(f"{p}.ssh_user", "invalid-user", f"{node.ssh_user!r} is not a valid user name",
                    "use root or a sudo-capable login name")
        if not isinstance(node.ssh_port, int) or not 1 <= node.ssh_port <= 65535:
            c.error(f"{p}.ssh_port", "invalid-port", f"SSH port {node.ssh_port!r} is out of range",
                    "use a port between 1 and 65535 (usually 22)")
    if len(spec.nodes) == 2:
        a, b = spec.nodes
        if str(a.hostname).lower() == str(b.hostname).lower():
            c.error("nodes[1].hostname", "duplicate-hostname", f"both nodes are named {a.hostname!r}",
                    "give each node its own host name")
        if a.address == b.address:
            c.error("nodes[1].address", "duplicate-address", f"both nodes have the address {a.address}",
                    "give each node its own management address")


def _validate_links(c: _Collector, spec: ClusterSpec) -> list:
    """Validate links; return each link's network (or None) for later checks."""
    nets: list = []
    if not 1 <= len(spec.links) <= MAX_LINKS:
        c.error("links", "link-count", f"{len(spec.links)} interconnect links given",
                f"configure 1 to {MAX_LINKS} links; 2 on separate NICs/switches are recommended")
    elif len(spec.links) == 1:
        c.warning("links", "single-link", "only one interconnect link: one cable or switch failure splits the cluster",
                  "add a second link on a separate NIC (a direct cable is ideal)")
    seen: dict[str, str] = {}
    for i, link in enumerate(spec.links):
        p = f"links[{i}]"
        net = None
        if len(link.addresses) != 2:
            c.error(f"{p}.addresses", "link-address-count",
                    f"{len(link.addresses)} addresses given; a link needs one per node",
                    "give exactly two addresses: node 1's, then node 2's")
            nets.append(None)
            continue
        addrs = [_check_ip(c, f"{p}.addresses[{j}]", a, f"link {i}") for j, a in enumerate(link.addresses)]
        if all(addrs):
            a, b = addrs
            if a.version != b.version:
                c.error(f"{p}.addresses[1]", "mixed-family", "the two addresses of a link are of different IP families",
                        "use IPv4 on both ends or IPv6 on both ends")
            elif _check_prefix(c, f"{p}.prefix", link.prefix, a.version):
                net = ipaddress.ip_network(f"{a}/{link.prefix}", strict=False)
                if b not in net:
                    c.error(f"{p}.addresses[1]", "link-subnet",
                            f"{b} is not in {net}, the subnet of {a}: a link is one subnet",
                            "put both addresses of the link in the same subnet or fix the prefix")
                for j, addr in enumerate(addrs):
                    if net.version == 4 and net.prefixlen <= 30 and addr in (net.network_address, net.broadcast_address):
                        c.error(f"{p}.addresses[{j}]", "network-address",
                                f"{addr} is the network or broadcast address of {net}",
                                "choose a host address inside the subnet")
            if a == b:
                c.error(f"{p}.addresses[1]", "duplicate-address", f"both nodes use {a} on link {i}",
                        "give each node its own address on the link")
        for j, raw in enumerate(link.addresses):
            if raw in seen:
                c.error(f"{p}.addresses[{j}]", "address-reused", f"{raw} is already used by {seen[raw]}",
                        "every link address must be unique")
            else:
                seen[raw] = f"{p}.addresses[{j}]"
        for k, other in enumerate(nets):
            if net is not None and other is not None and net.overlaps(other):
                c.error(f"{p}.addresses", "links-share-subnet",
                        f"link {i} ({net}) overlaps link {k} ({other}); redundant links on one subnet fail together",
                        "put each link on its own subnet (and ideally its own NIC and switch)")
        nets.append(net)
    return nets


def _validate_storage(c: _Collector, spec: ClusterSpec) -> None:
    s = spec.storage
    if not isinstance(s.resource, str) or not _RESOURCE.fullmatch(s.resource):
        c.error("storage.resource", "invalid-resource", f"DRBD resource name {s.resource!r} is not valid",
                "use letters, digits, '_', '-' or '.', e.g. r0")
    if len(s.nodes) != 2:
        c.error("storage.nodes", "disk-count", f"{len(s.nodes)} disk entries given",
                "give the DRBD disks of exactly two nodes")
    if s.meta_disk_mode not in ("indexed", "flexible", "internal"):
        c.error("storage.meta_disk_mode", "invalid-meta-mode", f"meta-disk mode {s.meta_disk_mode!r} is unknown",
                "choose indexed (recommended), flexible or internal")
    elif s.meta_disk_mode == "internal":
        c.warning("storage.meta_disk_mode", "internal-meta",
                  "internal meta-data lives at the end of the backing device: a filesystem-level or image restore "
                  "of the data overwrites or misses it, and DRBD metadata must then be re-created (full resync)",
                  "use a small dedicated meta-disk partition (indexed) unless you cannot spare one")
    for i, disks in enumerate(s.nodes):
        p = f"storage.nodes[{i}]"
        disk_ok = _check_device(c, f"{p}.disk", disks.disk, "DRBD backing device")
        if s.meta_disk_mode == "internal":
            if disks.meta_disk:
                c.error(f"{p}.meta_disk", "meta-disk-with-internal",
                        "a meta-disk is given but the mode is internal",
                        "remove the meta-disk or choose the indexed/flexible mode")
            continue
        if not disks.meta_disk:
            c.error(f"{p}.meta_disk", "meta-disk-missing", f"the {s.meta_disk_mode} mode needs a meta-disk",
                    "give the dedicated meta-data partition, e.g. /dev/sda5")
            continue
        if _check_device(c, f"{p}.meta_disk", disks.meta_disk, "DRBD meta-disk") and disk_ok:
            if disks.meta_disk == disks.disk:
                c.error(f"{p}.meta_disk", "meta-equals-disk",
                        "the meta-disk is the backing device itself",
                        "use a separate partition for the meta-data, or choose internal mode")
            elif devices_overlap(disks.meta_disk, disks.disk):
                whole, part = ((disks.disk, disks.meta_disk) if whole_disk(disks.meta_disk) == disks.disk
                               else (disks.meta_disk, disks.disk))
                c.error(f"{p}.meta_disk", "meta-overlaps-disk",
                        f"{part} is a partition of {whole}: the meta-data and the data would overwrite each other",
                        "use two separate partitions (e.g. /dev/sdb1 for data, /dev/sdb2 for meta-data)")
        if s.meta_disk_mode == "indexed":
            if not isinstance(disks.meta_index, int) or not 0 <= disks.meta_index <= 127:
                c.error(f"{p}.meta_index", "invalid-meta-index", f"meta-disk index {disks.meta_index!r} is not 0-127",
                        "use the next free slot on the meta-disk, usually 0")
        elif disks.meta_index not in (0, None):
            c.error(f"{p}.meta_index", "meta-index-unused", "a meta-disk index is only used in the indexed mode",
                    "set it to 0 or choose the indexed mode")
    if not isinstance(s.minor, int) or not 0 <= s.minor <= 255:
        c.error("storage.minor", "invalid-minor", f"DRBD minor {s.minor!r} is not 0-255",
                "use 0 for /dev/drbd0 unless that minor is taken")
    if not isinstance(s.port, int) or not 1024 <= s.port <= 65535:
        c.error("storage.port", "invalid-port", f"DRBD port {s.port!r} is not 1024-65535",
                "use 7788 (DRBD's customary port) or another free port")
    if s.protocol != "C":
        c.error("storage.protocol", "async-protocol",
                f"replication protocol {s.protocol!r} acknowledges writes before the peer has them: a failover loses data",
                "use protocol C (synchronous)")
    if spec.links and (not isinstance(s.replication_link, int) or not 0 <= s.replication_link < len(spec.links)):
        c.error("storage.replication_link", "invalid-link", f"link {s.replication_link!r} does not exist",
                f"choose a link index from 0 to {len(spec.links) - 1}")
    if s.filesystem not in ("ext4", "xfs"):
        c.error("storage.filesystem", "invalid-filesystem", f"filesystem {s.filesystem!r} is not supported",
                "choose ext4 or xfs")
    _validate_mount_point(c, s.mount_point)


def _validate_mount_point(c: _Collector, mp: object) -> None:
    path = "storage.mount_point"
    if not isinstance(mp, str) or not re.fullmatch(r"/[A-Za-z0-9_./-]*", mp):
        c.error(path, "invalid-mount-point", f"mount point {mp!r} is not an absolute path",
                "use a dedicated directory such as /srv/zabbix-ha")
        return
    normal = posixpath.normpath(mp)
    if normal.startswith("//"):
        normal = normal[1:]
    if normal != mp:
        c.error(path, "mount-point-not-normal", f"mount point {mp!r} is {normal} written in a roundabout way",
                f"write {normal}" if normal not in FORBIDDEN_MOUNTS else "use a dedicated directory such as /srv/zabbix-ha")
        return
    tree = next((t for t in SYSTEM_TREES if mp == t or mp.startswith(t + "/")), None)
    if tree is not None:
        c.error(path, "system-mount-point",
                f"{mp} is inside {tree}, a system directory tree: mounting the DRBD device there hides what "
                "the system keeps there (and the standby node would not have it)",
                "use a fresh directory outside " + ", ".join(SYSTEM_TREES) + ", such as /srv/zabbix-ha")
    elif mp in FORBIDDEN_MOUNTS:
        c.error(path, "system-mount-point", f"mounting the DRBD device on {mp} hides everything under it",
                "use a fresh directory below it, such as /srv/zabbix-ha")


def _validate_services(c: _Collector, spec: ClusterSpec, link_nets: list) -> None:
    sv = spec.services
    node_addrs = {n.address for n in spec.nodes}
    link_addrs = {a for link in spec.links for a in link.addresses}
    vip = _check_ip(c, "services.vip", sv.vip, "service address (VIP)")
    prefix_ok = vip is not None and _check_prefix(c, "services.vip_prefix", sv.vip_prefix, vip.version)
    if prefix_ok:
        if sv.vip in node_addrs or sv.vip in link_addrs:
            c.error("services.vip", "vip-is-node-address", f"{sv.vip} is already a node's own address",
                    "choose a free address for the VIP in the nodes' service subnet")
        net = ipaddress.ip_network(f"{vip}/{sv.vip_prefix}", strict=False)
        if vip in (net.network_address, net.broadcast_address) and net.prefixlen <= 30 and vip.version == 4:
            c.error("services.vip", "network-address", f"{vip} is the network or broadcast address of {net}",
                    "choose a host address inside the subnet")
        _check_floating_subnet(c, spec, "services.vip", vip, sv.vip_prefix, "VIP")
    if len(sv.vip_nics) != 2:
        c.error("services.vip_nics", "nic-count", f"{len(sv.vip_nics)} NIC names given for the VIP",
                "give the VIP's NIC on each node (e.g. [eth0, eth0])")
    for i, nic in enumerate(sv.vip_nics):
        if not isinstance(nic, str) or not _NIC.fullmatch(nic):
            c.error(f"services.vip_nics[{i}]", "invalid-nic", f"{nic!r} is not a network interface name",
                    "write the interface name as `ip link` shows it, e.g. eth0 or ens18")
    if sv.source_address and sv.source_address != sv.vip:
        src = _check_ip(c, "services.source_address", sv.source_address, "Zabbix source address")
        if src is not None:
            if sv.source_address in node_addrs or sv.source_address in link_addrs:
                c.error("services.source_address", "source-is-node-address",
                        f"{src} is a node's own address; it would not move with the services",
                        "use a floating address (it may equal the VIP)")
            if vip is not None and src.version != vip.version:
                c.error("services.source_address", "mixed-family", "source address and VIP are of different IP families",
                        "use the same IP family for both")
            elif prefix_ok:
                # IPaddr2 puts it up with the VIP's prefix: it needs a subnet the nodes are in, too.
                _check_floating_subnet(c, spec, "services.source_address", src, sv.vip_prefix, "source address")
    _validate_extra_vips(c, spec)


def _validate_extra_vips(c: _Collector, spec: ClusterSpec) -> None:
    """services.extra_vips: each one like the VIP (a free host address in a node subnet,
    a NIC per node), none the same as the VIP, the source address or another one."""
    sv = spec.services
    node_addrs = {n.address for n in spec.nodes}
    link_addrs = {a for link in spec.links for a in link.addresses}
    taken: dict = {}                 # address -> the field that has it
    for path, value in (("services.vip", sv.vip), ("services.source_address", sv.source_address)):
        addr = _ip(value)
        if addr is not None:
            taken.setdefault(addr, path)
    ids: dict[str, str] = {}
    for i, ev in enumerate(sv.extra_vips):
        p = f"services.extra_vips[{i}]"
        addr = _check_ip(c, f"{p}.address", ev.address, "additional VIP")
        duplicate = addr is not None and addr in taken
        if addr is not None:
            if ev.address in node_addrs or ev.address in link_addrs:
                c.error(f"{p}.address", "vip-is-node-address", f"{ev.address} is already a node's own address",
                        "choose a free address in the subnet the additional VIP serves")
            elif addr in taken:
                c.error(f"{p}.address", "duplicate-vip", f"{ev.address} is already {taken[addr]}",
                        "give each additional VIP an address of its own, or remove this entry")
            else:
                taken[addr] = f"{p}.address"
            if _check_prefix(c, f"{p}.prefix", ev.prefix, addr.version):
                net = ipaddress.ip_network(f"{addr}/{ev.prefix}", strict=False)
                if addr in (net.network_address, net.broadcast_address) and net.prefixlen <= 30 and addr.version == 4:
                    c.error(f"{p}.address", "network-address", f"{addr} is the network or broadcast address of {net}",
                            "choose a host address inside the subnet")
                _check_floating_subnet(c, spec, f"{p}.address", addr, ev.prefix, "free address for the additional VIP",
                                       code="extra-vip-outside-subnets")
        if not isinstance(ev.nics, list) or len(ev.nics) != 2:
            count = len(ev.nics) if isinstance(ev.nics, list) else 0
            c.error(f"{p}.nics", "nic-count", f"{count} NIC names given for the additional VIP {ev.address}",
                    "give its NIC on each node, node 1's first (e.g. [eth1, eth1])")
        for j, nic in enumerate(ev.nics):
            if not isinstance(nic, str) or not _NIC.fullmatch(nic):
                c.error(f"{p}.nics[{j}]", "invalid-nic", f"{nic!r} is not a network interface name",
                        "write the interface name as `ip link` shows it, e.g. eth1 or ens19")
        if ev.name and not (isinstance(ev.name, str) and _EXTRA_VIP_NAME.fullmatch(ev.name)):
            c.error(f"{p}.name", "invalid-vip-name", f"name {ev.name!r} is not valid for a cluster resource",
                    "use 1-32 letters, digits, '-' or '_', starting with a letter or digit (or leave it empty)")
            continue
        rid = extra_vip_id(ev)
        if rid in ids and not duplicate:       # the same address: duplicate-vip said it
            c.error(f"{p}.name" if ev.name else f"{p}.address", "duplicate-vip-name",
                    f"its cluster resource would be {rid}, the same as {ids[rid]}'s",
                    "give the two additional VIPs different names")
        else:
            ids[rid] = p


def _check_floating_subnet(c: _Collector, spec: ClusterSpec, path: str, addr, prefix: int, what: str,
                           code: str = "") -> None:
    """A floating address must sit in a subnet each node has an address in,
    otherwise IPaddr2 has no interface to put it on. A node whose own
    address is invalid is left out: its own field names that problem."""
    net = ipaddress.ip_network(f"{addr}/{prefix}", strict=False)
    for i, node in enumerate(spec.nodes):
        if _ip(node.address) is None:
            continue
        candidates = [node.address] + [link.addresses[i] for link in spec.links if i < len(link.addresses)]
        if not any(_ip(a) is not None and _ip(a) in net for a in candidates):
            code = code or ("vip-outside-subnets" if path == "services.vip" else "source-outside-subnets")
            c.error(path, code, f"{addr}/{prefix} is not in any subnet node {node.hostname!r} has an address in",
                    f"choose a {what} in the subnet of the NIC that serves clients (usually the management subnet)")


def _validate_zabbix(c: _Collector, spec: ClusterSpec) -> None:
    z = spec.zabbix
    if z.version not in ("6.0", "7.0"):
        c.error("zabbix.version", "unsupported-version", f"Zabbix {z.version!r} is not supported",
                "choose an LTS release: 6.0 or 7.0")
    if z.package_source not in ("os", "official", "mirror"):
        c.error("zabbix.package_source", "invalid-source", f"package source {z.package_source!r} is unknown",
                "choose os, official or mirror")
    elif z.package_source == "mirror":
        if not re.fullmatch(r"(https?|file)://\S+", z.mirror_url or ""):
            c.error("zabbix.mirror_url", "invalid-mirror-url", f"mirror URL {z.mirror_url!r} is not an http(s) or file URL",
                    "give the URL of the local package mirror, e.g. http://mirror.example.lan/debian")
    elif z.package_source == "os" and spec.platform in PLATFORMS:
        shipped = PLATFORMS[spec.platform].os_zabbix_versions
        if z.version in ("6.0", "7.0") and z.version not in shipped:
            c.error("zabbix.version", "version-not-in-os",
                    f"{PLATFORMS[spec.platform].name} ships Zabbix {', '.join(shipped)}, not {z.version}",
                    f"choose {shipped[0]} or the official repository / a local mirror as the package source")
    if z.package_source != "mirror" and z.mirror_url:
        c.error("zabbix.mirror_url", "mirror-url-unused", "a mirror URL is given but the package source is not mirror",
                "remove the mirror URL or set package_source: mirror")
    if z.db_engine not in ("mariadb", "mysql"):
        c.error("zabbix.db_engine", "invalid-db-engine", f"database engine {z.db_engine!r} is unknown",
                "choose mariadb (or mysql where the OS ships MySQL 8)")
    elif z.db_engine == "mysql" and spec.platform.startswith("debian"):
        c.error("zabbix.db_engine", "engine-not-in-os", "Debian ships MariaDB, not MySQL",
                "choose mariadb")
    for name in ("db_name", "db_user"):
        value = getattr(z, name)
        if not isinstance(value, str) or not _IDENT.fullmatch(value):
            c.error(f"zabbix.{name}", "invalid-identifier", f"{value!r} is not a valid database identifier",
                    "use 1-64 letters, digits or '_'")
    if not isinstance(z.server_name, str) or not _DNS_NAME.fullmatch(z.server_name):
        c.error("zabbix.server_name", "invalid-server-name", f"{z.server_name!r} is not a valid DNS name",
                "write the name users type to reach the frontend, e.g. zabbix.example.com")
    if not _valid_timezone(z.timezone):
        c.error("zabbix.timezone", "invalid-timezone", f"{z.timezone!r} is not a known time zone",
                "use an IANA name such as Europe/Berlin, Asia/Tokyo or UTC")
    if z.sizing not in TIERS:
        c.error("zabbix.sizing", "invalid-sizing", f"sizing tier {z.sizing!r} is unknown",
                "choose " + ", ".join(f"{t.name} (≤{t.max_hosts} hosts)" for t in TIERS.values()))


def _valid_timezone(name: object) -> bool:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*", name):
        return False
    if name == "UTC":
        return True
    try:
        from zoneinfo import ZoneInfo
        ZoneInfo(name)
        return True
    except Exception:  # ZoneInfoNotFoundError, ValueError on odd keys
        return False


def _validate_fencing(c: _Collector, spec: ClusterSpec) -> None:
    f = spec.fencing
    if f.method not in ("ipmi", "sbd", "none"):
        c.error("fencing.method", "invalid-fencing", f"fencing method {f.method!r} is unknown",
                "choose ipmi, sbd or none")
        return
    if f.method == "ipmi":
        if len(f.ipmi) != 2:
            c.error("fencing.ipmi", "ipmi-count", f"{len(f.ipmi)} IPMI devices given",
                    "give the BMC (IPMI/iLO/iDRAC) of each of the two nodes")
        node_addrs = {n.address for n in spec.nodes}
        cluster_addrs = {a: f"link {i} address" for i, link in enumerate(spec.links) for a in link.addresses}
        cluster_addrs.update({v.address: f"additional VIP (services.extra_vips[{i}])"
                              for i, v in enumerate(spec.services.extra_vips)})
        cluster_addrs.update({spec.services.effective_source: "source address", spec.services.vip: "VIP"})
        for i, dev in enumerate(f.ipmi):
            p = f"fencing.ipmi[{i}]"
            addr = _ip(dev.address)
            if addr is None and not (isinstance(dev.address, str) and _DNS_NAME.fullmatch(dev.address)):
                c.error(f"{p}.address", "invalid-address", f"{dev.address!r} is not a BMC address",
                        "write the IP address or name of the node's BMC")
            elif dev.address in node_addrs:
                c.error(f"{p}.address", "bmc-is-node", f"{dev.address} is a node's own address, not its BMC",
                        "give the address of the BMC (out-of-band management) of the node")
            elif dev.address in cluster_addrs:
                c.error(f"{p}.address", "bmc-is-cluster-address",
                        f"{dev.address} is the cluster's {cluster_addrs[dev.address]}, not a BMC",
                        "give the address of the BMC (out-of-band management) of the node")
            if not isinstance(dev.user, str) or not dev.user.strip():
                c.error(f"{p}.user", "missing-user", "the BMC user is empty", "give the IPMI user name")
        if len(f.ipmi) == 2 and f.ipmi[0].address == f.ipmi[1].address:
            c.error("fencing.ipmi[1].address", "duplicate-bmc", "both nodes name the same BMC",
                    "each node has its own BMC: give node 2's")
    elif f.method == "sbd":
        if not f.sbd_device or not _check_device(c, "fencing.sbd_device", f.sbd_device, "SBD device"):
            if not f.sbd_device:
                c.error("fencing.sbd_device", "missing-sbd-device", "SBD fencing needs a shared disk",
                        "give a small shared LUN seen by both nodes, by a stable path (/dev/disk/by-id/...)")
        else:
            drbd = [d for n in spec.storage.nodes for d in (n.disk, n.meta_disk) if isinstance(d, str) and d]
            hit = next((d for d in drbd if devices_overlap(f.sbd_device, d)), None)
            if hit is not None:
                c.error("fencing.sbd_device", "sbd-is-drbd-disk",
                        f"{f.sbd_device} is a DRBD disk" if hit == f.sbd_device
                        else f"{f.sbd_device} shares blocks with the DRBD disk {hit}",
                        "use a separate shared disk for SBD")
    elif f.method == "none":
        if f.acknowledgement != NO_FENCING_ACKNOWLEDGEMENT:
            c.error("fencing.acknowledgement", "fencing-not-acknowledged",
                    "running without fencing needs a typed acknowledgement: without it two nodes that lose sight "
                    "of each other can both promote DRBD and run the database (split brain)",
                    f"configure IPMI or SBD, or type exactly: {NO_FENCING_ACKNOWLEDGEMENT}")
        else:
            c.warning("fencing.method", "no-fencing",
                      "no fencing: DRBD resource-level fencing is the only guard against split brain",
                      "add IPMI or SBD fencing when you can")


def _validate_ports(c: _Collector, spec: ClusterSpec) -> None:
    port = spec.storage.port
    if not isinstance(port, int):
        return
    corosync = {COROSYNC_BASE_PORT + i for i in range(len(spec.links))}
    if port in corosync:
        c.error("storage.port", "port-conflict", f"DRBD port {port} is used by Corosync link {port - COROSYNC_BASE_PORT}",
                "use 7788")
    elif port in SERVICE_PORTS:
        c.error("storage.port", "port-conflict", f"DRBD port {port} is the {SERVICE_PORTS[port]} port",
                "use 7788")
    elif spec.nodes and port == spec.nodes[0].ssh_port:
        c.error("storage.port", "port-conflict", f"DRBD port {port} is the SSH port", "use 7788")


def validate_secrets(spec: ClusterSpec, secrets: Secrets) -> list[Problem]:
    """Problems with the secrets (field paths start with `secrets.`)."""
    c = _Collector()
    for name in ("db_password", "hacluster_password", "zabbix_admin_password"):
        value = getattr(secrets, name).reveal()
        _check_secret(c, f"secrets.{name}", value)
    if spec.fencing.method == "ipmi":
        for node in spec.hostnames:
            if node not in secrets.ipmi:
                c.error(f"secrets.ipmi.{node}", "missing-secret", f"no IPMI password for {node}",
                        "add the BMC password of that node to the secrets file")
            else:
                _check_secret(c, f"secrets.ipmi.{node}", secrets.ipmi[node].reveal(), min_length=1)
    drbd = secrets.drbd_secret.reveal()
    if not drbd:
        c.error("secrets.drbd_secret", "missing-secret", "the DRBD peer secret is empty",
                "delete the drbd_secret line: zabbix-ha generates a new one when it loads the file")
    elif len(drbd) > DRBD_SECRET_MAX or len(drbd) < 16 or not re.fullmatch(r"[A-Za-z0-9_.~+/=-]+", drbd):
        c.error("secrets.drbd_secret", "invalid-secret",
                f"the DRBD peer secret must be 16-{DRBD_SECRET_MAX} letters, digits or -_.~+/=",
                "delete the drbd_secret line: zabbix-ha generates a new one when it loads the file")
    for node in secrets.ipmi:
        if node not in spec.hostnames:
            c.error(f"secrets.ipmi.{node}", "unknown-node", f"{node!r} is not a node of this cluster",
                    f"use one of: {', '.join(spec.hostnames)}")
    return c.problems


def _check_secret(c: _Collector, path: str, value: str, min_length: int = 8) -> None:
    if not value:
        c.error(path, "missing-secret", "the password is empty", "set it in the secrets file")
    elif len(value) < min_length:
        c.error(path, "weak-secret", f"the password is shorter than {min_length} characters",
                f"use at least {min_length} characters")
    elif has_control(value):
        c.error(path, "invalid-secret", "the password contains a control character (line break, tab, NUL, escape)",
                "use printable characters only")
    elif value != value.strip():
        # Zabbix's config parser strips spaces around DBPassword=...; PHP,
        # MariaDB and chpasswd keep them: the consumers would disagree.
        c.error(path, "secret-edge-space",
                "the password begins or ends with a space, which Zabbix's config reader drops but PHP and "
                "MariaDB keep: the server and the frontend would use different passwords",
                "remove the spaces at the start and end (spaces inside are fine)")
