"""Pure parsers: raw command output -> facts dataclasses.

Each parser takes the text a command printed (and sometimes its exit code)
and returns plain data; no parser runs anything. Tests feed them outputs
captured from real machines (tests/data/facts/).
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from dataclasses import dataclass


class ParseError(ValueError):
    pass


# ---------------------------------------------------------------------------
# dataclasses

@dataclass(frozen=True)
class OsInfo:
    id: str = ""
    version_id: str = ""
    id_like: tuple[str, ...] = ()
    pretty_name: str = ""
    codename: str = ""

    @property
    def family(self) -> str:
        """debian or rhel: decides dpkg-query vs rpm.

        Not every RPM distribution says ID_LIKE: Oracle Linux 7 has ID="ol"
        and no ID_LIKE at all, so the known ids are listed.
        """
        ids = (self.id, *self.id_like)
        if "debian" in ids or "ubuntu" in ids:
            return "debian"
        if self.id in RPM_IDS or any(i in ids for i in ("rhel", "fedora", "centos")):
            return "rhel"
        return self.id or "unknown"

    @property
    def platform_id(self) -> str:
        """The wizard.platforms id this OS would be (debian12, rhel9, fedora30, ...).

        RHEL and its rebuilds are one platform, rhel<major>; Fedora and
        Amazon Linux use rpm too but are their own platforms (fedora30 is
        not RHEL 30).
        """
        major = self.version_id.split(".")[0]
        rebuild = self.id in RHEL_REBUILD_IDS or (
            self.id not in RPM_IDS and any(i in self.id_like for i in ("rhel", "centos")))
        base = "rhel" if rebuild else self.id
        return f"{base}{major}"


# os-release IDs of RHEL and its rebuilds (Scientific Linux 7 says ID="rhel" itself).
# Others that say ID_LIKE="rhel ..." count as rebuilds too.
RHEL_REBUILD_IDS = frozenset({
    "rhel", "centos", "rocky", "almalinux", "ol", "cloudlinux", "scientific", "miraclelinux",
})
# Every ID that means rpm packages, including the non-RHEL ones.
RPM_IDS = RHEL_REBUILD_IDS | {"fedora", "amzn"}


@dataclass(frozen=True)
class DrbdMinor:
    minor: int
    cs: str          # connection state
    ro: str          # roles, local/peer
    ds: str          # disk states, local/peer


@dataclass(frozen=True)
class DrbdInfo:
    module_available: bool = False        # modinfo found a module, or it is loaded
    module_version: str | None = None     # from modinfo (version:)
    loaded_version: str | None = None     # from /proc/drbd first line
    minors: tuple[DrbdMinor, ...] = ()


@dataclass(frozen=True)
class BlockDevice:
    name: str
    path: str
    size: int
    type: str                       # disk, part, lvm, raid1, loop, rom, ...
    fstype: str | None
    mountpoints: tuple[str, ...]
    parent: str | None              # kernel name of the parent (PKNAME), None for top level
    ro: bool = False
    pttype: str | None = None
    label: str | None = None
    uuid: str | None = None
    children: tuple[str, ...] = ()  # names of devices built on this one


@dataclass(frozen=True)
class Address:
    address: str
    prefix: int
    family: str                     # inet, inet6
    scope: str = "global"

    @property
    def interface(self) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface:
        return ipaddress.ip_interface(f"{self.address}/{self.prefix}")


@dataclass(frozen=True)
class Interface:
    name: str
    mtu: int
    up: bool
    flags: tuple[str, ...]
    mac: str
    addresses: tuple[Address, ...]
    kind: str = ""                  # link_type: ether, loopback, ...


@dataclass(frozen=True)
class Route:
    """A default route: `ip -j route show default`."""
    gateway: str
    dev: str
    onlink: bool = False            # ifupdown's `gateway` adds the route with this flag


@dataclass(frozen=True)
class TimeSync:
    known: bool = False             # False: timedatectl unavailable (no systemd/dbus)
    ntp_enabled: bool | None = None
    synchronized: bool | None = None
    timezone: str = ""


@dataclass(frozen=True)
class Listener:
    proto: str                      # tcp, udp
    address: str                    # 0.0.0.0, ::, 127.0.0.1, * ...
    port: int
    process: str = ""               # first process name, if ss could tell

    @property
    def wildcard(self) -> bool:
        return self.address in ("0.0.0.0", "::", "*", "[::]")


@dataclass(frozen=True)
class ExistingState:
    corosync_conf: bool = False
    corosync_cluster_name: str = ""
    corosync_nodes: tuple[str, ...] = ()
    corosync_addresses: tuple[str, ...] = ()
    cib: bool = False
    drbd_resources: tuple[str, ...] = ()     # resource names in /etc/drbd.d/*.res
    datadir_entries: tuple[str, ...] = ()    # /var/lib/mysql
    zabbix_ha_spec: bool = False             # /etc/zabbix-ha/cluster.yaml: our own earlier run
    zabbix_ha_name: str = ""                 # the cluster that file names ("": not known)
    zabbix_ha_answers: str = ""              # that file's text (answers only: the secrets are apart)
    services: tuple[tuple[str, str], ...] = ()   # (unit, is-active answer)
    apt_uris: tuple[str, ...] = ()

    @property
    def corosync_is_package_default(self) -> bool:
        """Debian's corosync package ships a one-node 127.0.0.1 config: not a cluster."""
        return self.corosync_conf and all(a.startswith("127.") for a in self.corosync_addresses) \
            and len(self.corosync_nodes) <= 1

    @property
    def database_names(self) -> tuple[str, ...]:
        """Databases (directories, `ls -p` marks them with /) beyond MariaDB's own."""
        system = {"mysql", "performance_schema", "sys", "lost+found"}
        return tuple(e.rstrip("/") for e in self.datadir_entries
                     if e.endswith("/") and e.rstrip("/") not in system and not e.startswith("#"))

    def service(self, unit: str) -> str:
        return dict(self.services).get(unit, "unknown")


# ---------------------------------------------------------------------------
# parsers

def parse_os_release(text: str) -> OsInfo:
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            parts = shlex.split(raw)
        except ValueError:
            parts = [raw.strip("\"'")]
        values[key] = parts[0] if parts else ""
    return OsInfo(id=values.get("ID", "").lower(), version_id=values.get("VERSION_ID", ""),
                  id_like=tuple(values.get("ID_LIKE", "").lower().split()),
                  pretty_name=values.get("PRETTY_NAME", ""), codename=values.get("VERSION_CODENAME", ""))


def parse_modinfo(text: str, rc: int) -> tuple[bool, str | None]:
    """(available, version) from `modinfo drbd`."""
    if rc != 0:
        return False, None
    version = None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "version":
            version = value.strip()
            break
    return True, version


_PROC_VERSION = re.compile(r"^version:\s*(\S+)")
_PROC_MINOR = re.compile(r"^\s*(\d+):\s+cs:(\S+)\s+ro:(\S+)\s+ds:(\S+)")


def parse_proc_drbd(text: str, rc: int) -> tuple[str | None, tuple[DrbdMinor, ...]]:
    """(loaded version, minors) from /proc/drbd (DRBD 8.4 format)."""
    if rc != 0:
        return None, ()
    version = None
    minors = []
    for line in text.splitlines():
        if m := _PROC_VERSION.match(line):
            version = m.group(1)
        elif m := _PROC_MINOR.match(line):
            minors.append(DrbdMinor(int(m.group(1)), m.group(2), m.group(3), m.group(4)))
    return version, tuple(minors)


def parse_lsblk(text: str) -> list[BlockDevice]:
    """Flatten `lsblk -J -b -o ...` into a list, parents before children."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"lsblk output is not JSON: {exc}") from None
    out: list[BlockDevice] = []
    seen: set[str] = set()

    def walk(node: dict, parent: str | None) -> None:
        children = node.get("children") or []
        mps = tuple(m for m in (node.get("mountpoints") or []) if m)
        if not mps and node.get("mountpoint"):       # older util-linux: MOUNTPOINT only
            mps = (node["mountpoint"],)
        name = node.get("name") or ""
        dev = BlockDevice(
            name=name,
            path=node.get("path") or f"/dev/{name}",
            size=int(node.get("size") or 0),
            type=node.get("type") or "",
            fstype=node.get("fstype") or None,
            mountpoints=mps,
            parent=node.get("pkname") or parent,
            ro=_truthy(node.get("ro")),
            pttype=node.get("pttype") or None,
            label=node.get("label") or None,
            uuid=node.get("uuid") or None,
            children=tuple(c.get("name") or "" for c in children),
        )
        # A device can appear under several parents (RAID, LVM on two PVs): keep one entry.
        if dev.path not in seen:
            seen.add(dev.path)
            out.append(dev)
        for child in children:
            walk(child, name)

    for node in data.get("blockdevices") or []:
        walk(node, None)
    return out


def _truthy(value: object) -> bool:
    return value in (True, 1, "1", "true")


def parse_ip_addr(text: str) -> list[Interface]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(f"`ip -j addr` output is not JSON: {exc}") from None
    out = []
    for item in data:
        if not item.get("ifname"):
            continue
        addrs = tuple(Address(a["local"], int(a["prefixlen"]), a.get("family", ""), a.get("scope", ""))
                      for a in item.get("addr_info") or [] if "local" in a)
        flags = tuple(item.get("flags") or [])
        out.append(Interface(name=item["ifname"], mtu=int(item.get("mtu") or 0),
                             up="UP" in flags and "LOWER_UP" in flags, flags=flags,
                             mac=item.get("address") or "", addresses=addrs, kind=item.get("link_type") or ""))
    return out


def parse_default_routes(text: str) -> tuple[Route, ...]:
    """`ip -j [-6] route show default` -> its default routes ("[]" when there is none)."""
    try:
        data = json.loads(text or "[]")
    except json.JSONDecodeError as exc:
        raise ParseError(f"`ip -j route` output is not JSON: {exc}") from None
    return tuple(Route(r.get("gateway", ""), r.get("dev", ""), "onlink" in (r.get("flags") or []))
                 for r in data if r.get("dst") == "default")


def parse_meminfo(text: str) -> int:
    """MemTotal in MiB."""
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    raise ParseError("no MemTotal line in /proc/meminfo")


def parse_timedatectl(text: str, rc: int) -> TimeSync:
    if rc != 0:
        return TimeSync(known=False)
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    return TimeSync(known=True, ntp_enabled=values.get("NTP") == "yes",
                    synchronized=values.get("NTPSynchronized") == "yes", timezone=values.get("Timezone", ""))


_SS_PROCESS = re.compile(r'users:\(\("([^"]+)"')


def parse_ss(text: str) -> list[Listener]:
    """`ss -Hltnup`: one listening TCP or bound UDP socket per line."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 5 or parts[0] not in ("tcp", "udp"):
            continue
        local = parts[4]
        host, _, port = local.rpartition(":")
        if not port.isdigit():
            continue
        host = host.split("%")[0]                      # 127.0.0.53%lo
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        m = _SS_PROCESS.search(line)
        out.append(Listener(parts[0], host, int(port), m.group(1) if m else ""))
    return out


def parse_dpkg_query(text: str) -> dict[str, str]:
    """Installed packages -> version from `dpkg-query -W -f '${Package}\\t${Version}\\t${db:Status-Abbrev}\\n'`."""
    out = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and fields[2].startswith("ii") and fields[1]:
            out[fields[0].split(":")[0]] = fields[1]
    return out


def parse_rpm_query(text: str) -> dict[str, str]:
    """Installed packages from `rpm -q --qf '%{NAME}\\t%{VERSION}-%{RELEASE}\\n' ...`."""
    out = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) == 2 and fields[1]:
            out[fields[0]] = fields[1]
    return out


def parse_getent(text: str) -> dict[str, tuple[str, ...]]:
    """Output of the resolve script: `@@ name` then `getent hosts name` lines."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("@@ "):
            current = line[3:].strip()
            out[current] = []
        elif current is not None and line.strip():
            out[current].append(line.split()[0])
    return {k: tuple(v) for k, v in out.items()}


def parse_wipefs(text: str, rc: int) -> tuple[str, ...] | None:
    """Signature types on a device from `wipefs -J DEV` (None: device missing/unreadable)."""
    if rc != 0:
        return None
    if not text.strip():
        return ()
    data = json.loads(text)
    types: list[str] = []
    for sig in data.get("signatures") or []:
        if sig.get("type") and sig["type"] not in types:
            types.append(sig["type"])
    return tuple(types)


def parse_clock(text: str, before: float, after: float) -> tuple[float, float]:
    """(offset of the node's clock from ours, uncertainty), from `date +%s.%N` run between before and after."""
    remote = float(text.strip())
    mid = (before + after) / 2
    return remote - mid, (after - before) / 2


def split_sections(text: str) -> dict[str, str]:
    """Split the state script's output at `@@@ name` lines."""
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("@@@ "):
            current = line[4:].strip()
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return {k: "\n".join(v).strip("\n") for k, v in out.items()}


_COROSYNC_NAME = re.compile(r"^\s*name\s*:\s*(\S+)", re.M)
_COROSYNC_ADDR = re.compile(r"^\s*ring\d+_addr\s*:\s*(\S+)", re.M)
_COROSYNC_CLUSTER = re.compile(r"^\s*cluster_name\s*:\s*(\S+)", re.M)
_DRBD_RESOURCE = re.compile(r"^\s*resource\s+([A-Za-z0-9_.-]+)", re.M)


def parse_state(text: str) -> ExistingState:
    s = split_sections(text)
    corosync = s.get("corosync.conf", "")
    conf_no_comments = "\n".join(line.split("#", 1)[0] for line in corosync.splitlines())
    cluster = _COROSYNC_CLUSTER.search(conf_no_comments)
    services = []
    for line in s.get("services", "").splitlines():
        unit, _, state = line.partition(" ")
        if unit:
            services.append((unit, state.strip() or "unknown"))
    return ExistingState(
        corosync_conf=bool(corosync.strip()),
        corosync_cluster_name=cluster.group(1) if cluster else "",
        corosync_nodes=tuple(_COROSYNC_NAME.findall(conf_no_comments)),
        corosync_addresses=tuple(_COROSYNC_ADDR.findall(conf_no_comments)),
        cib=bool(s.get("cib", "").strip()),
        drbd_resources=tuple(dict.fromkeys(_DRBD_RESOURCE.findall(
            "\n".join(line.split("#", 1)[0] for line in s.get("drbd-resources", "").splitlines())))),
        datadir_entries=tuple(x for x in s.get("datadir", "").splitlines() if x),
        zabbix_ha_spec=bool(s.get("zabbix-ha", "").strip()),
        zabbix_ha_name=applied_name(s.get("zabbix-ha-name", "")),
        zabbix_ha_answers=s.get("zabbix-ha-answers", ""),
        services=tuple(services),
        apt_uris=tuple(parse_apt_uris(s.get("apt-sources", ""))),
    )


def applied_name(line: str) -> str:
    """The cluster name from the `name:` line of /etc/zabbix-ha/cluster.yaml ("" when not known)."""
    import yaml

    try:
        data = yaml.safe_load(line.strip()) if line.strip() else None
    except yaml.YAMLError:
        return ""
    name = data.get("name") if isinstance(data, dict) else None
    return "" if name is None else str(name)


def parse_apt_uris(text: str) -> list[str]:
    """Repository URIs from one-line (.list) and deb822 (.sources) apt sources."""
    uris: list[str] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith(("deb ", "deb-src ")):
            parts = re.sub(r"\[[^\]]*\]", " ", line).split()
            if len(parts) >= 2:
                uris.append(parts[1])
        elif line.lower().startswith("uris:"):
            uris.extend(line.split(":", 1)[1].split())
    return list(dict.fromkeys(uris))
