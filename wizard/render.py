"""Render every configuration file of the cluster from a ClusterSpec.

Python makes the decisions (fencing mode, which handlers, which sizing,
whether Zabbix must accept the OS's MariaDB); the jinja2 templates in
templates/ only lay them out. StrictUndefined turns a missing value into an
error naming the template line instead of an empty string in a config file.

`render(spec, secrets)` -> {node hostname: {absolute path: RenderedFile}}.
Files holding secrets are marked `secret=True` (mode 0600/0640) and are only
rendered when secrets are given; every other file is free of secret values.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import jinja2

from wizard import __version__
from wizard.errors import UserError
from wizard.platforms import Platform, platform
from wizard.sizing import TIERS
from wizard.spec import ClusterSpec, Secrets, check, extra_vip_id

# ---- fencing -------------------------------------------------------------
# When the interconnect breaks both nodes race to fence each other. The side
# that is to survive must shoot first, so fencing the preferred node waits.
FENCE_DELAY_S = 15
# IPMI: each node has its own device, so the device that fences the preferred
# node gets a FIXED delay (pcmk_delay_base): the preferred node always wins.
# A random delay (pcmk_delay_max) there would make the winner a coin toss.
# SBD: one shared device fences either node; a fixed delay on it delays both
# sides alike, so only a random delay (pcmk_delay_max) breaks the tie.
FENCE_DELAY_IS_RANDOM = {"ipmi": False, "sbd": True}
# Pacemaker's dynamic tie-break: fencing the node that runs the resources
# waits this long. It must clearly exceed FENCE_DELAY_S (Pacemaker docs), so
# after a failover the node now running Zabbix wins a race even against the
# preferred node's fixed delay.
PRIORITY_FENCING_DELAY_S = 2 * FENCE_DELAY_S
# Start/monitor of a fence device talk to the BMC: fence_ipmilan's status over
# lanplus took longer than Pacemaker's default 20 s on the lab (notes/lab.md
# Part D.3), and real BMCs are slow too. A monitor timeout fails the device.
FENCE_OP_TIMEOUT_S = 120
# What one IPMI reboot may take: power off, power_wait, power on, status. Generous: a fence that
# succeeds after the timeout counts as failed, and Pacemaker fences the node again (lab run 9: a
# reboot through the lab's BMC took 108 s on an emulated node, past a 60 s budget; node2 was
# rebooted twice more and the services waited 4 minutes). A quick BMC costs nothing extra.
IPMI_REBOOT_S = 120
# ---- DRBD 8.4 (drbd.conf-8.4(5)) -------------------------------------------------
# Activity-log extents (4 MiB each): what a Primary crash leaves to resync.
# More extents = fewer metadata writes; the man page asks to keep the hot area
# resyncable in about 5 minutes: 3389 x 4 MiB = 13.2 GiB, 2-3 min at 110 MB/s.
# (Maximum with the default 32 kB AL ring: 6433.)
DRBD_AL_EXTENTS = 3389
# The dynamic resync controller (off by default in 8.4: a fixed 250 KiB/s).
# Plan 2 s ahead (>= 5x the RTT of any LAN), keep 100 KiB in flight (the man
# page's range for a regular data path is 4k-100k) ...
DRBD_C_PLAN_AHEAD = 20
DRBD_C_FILL_TARGET = "100k"
# ... at most what a dedicated 1 GbE replication link carries (raise for 10 GbE) ...
DRBD_C_MAX_RATE_MB = 110
# ... and at least this much while the application writes: 8.4's default
# (250 KiB/s) never finishes a resync under Zabbix's steady write load.
DRBD_C_MIN_RATE = "10M"
# Peer authentication (challenge-response); the secret is Secrets.drbd_secret.
DRBD_CRAM_HMAC_ALG = "sha256"
# ---- SBD (fencing.method sbd) -------------------------------------------------
# Written into the device header by `sbd create` (sbd_create_argv): a node that
# loses the disk or hangs is reset by its watchdog after SBD_WATCHDOG_TIMEOUT_S;
# a poison pill counts as delivered after SBD_MSGWAIT_S (2x the watchdog, the
# sbd(8) default ratio). 15/30 s tolerate a multipath failover on the disk.
SBD_WATCHDOG_TIMEOUT_S = 15
SBD_MSGWAIT_S = 2 * SBD_WATCHDOG_TIMEOUT_S
# The watchdog module the install loads (and persists) when a node has no
# /dev/watchdog yet: softdog works on every machine and VM (the lab too);
# a board's hardware watchdog (iTCO_wdt, ipmi_watchdog, i6300esb) is better
# and is used when its driver already provides /dev/watchdog.
SBD_WATCHDOG_DEVICE = "/dev/watchdog"
# ---- operation timeouts ---------------------------------------------------------
# A stop that overruns its timeout is a stop failure, and a stop failure gets
# the node fenced, during a planned move too. Zabbix flushes its history and
# trend caches to the DB on stop (minutes with large caches); MariaDB flushes
# the buffer pool on stop and may run crash recovery on start after a failover.
ZABBIX_STOP_TIMEOUT_S = 300
# Apache with mod_php: the agent's start waits for the status page, which took
# over 60 s on a busy emulated node right after MariaDB started (measured on the
# lab: zabbix-web_start_0 timed out at 60 s). Stops get the same margin: a stop
# that times out fences the node. The filesystem's stop too (umount flushes).
WEB_START_TIMEOUT_S = 120
WEB_STOP_TIMEOUT_S = 120
FS_STOP_TIMEOUT_S = 120
ZABBIX_START_TIMEOUT_S = 120
DB_START_TIMEOUT_S = 300
DB_STOP_TIMEOUT_S = 300
# ---- group ------------------------------------------------------------------------
# After this many failures of a member on a node the group moves to the other
# node instead of restarting in place forever ...
GROUP_MIGRATION_THRESHOLD = 3
# ... and the failures are forgotten after this long (checked at Pacemaker's
# cluster-recheck-interval), so that node may host the group again.
GROUP_FAILURE_TIMEOUT_S = 600
# ---- MariaDB monitor ------------------------------------------------------------
# The mysql agent's deep monitor (OCF_CHECK_LEVEL=10) runs
#   <client_binary> -S <socket> --user=<test_user> --password=<test_passwd> -e "SELECT COUNT(*) FROM <test_table>"
# so a password would sit in the CIB and in argv. MariaDB 10.11's unix_socket
# only admits an account whose name equals the connecting OS user (no mapping;
# measured), and the agent runs as root. So client_binary is a wrapper that
# runs the client as the system user MONITOR_DB_USER (setpriv), and the
# account of that name is authenticated by unix_socket and may only SELECT
# from Zabbix's one-row dbversion table: no secret exists anywhere.
MONITOR_DB_USER = "zha_monitor"
# Its OS group: monitor_os_user_argv creates a group of the same name.
MONITOR_OS_GROUP = MONITOR_DB_USER
MONITOR_TABLE = "dbversion"
MONITOR_INTERVAL_S = 20
MONITOR_TIMEOUT_S = 60
# Every other monitor's bound. A timeout is a failure Pacemaker recovers from
# by restarting the resource (or moving the group), so it must not be hit by a
# slow but healthy node: DRBD's 20 s monitor timed out on a busy emulated node
# right after the first promotion (measured on the lab).
CHECK_TIMEOUT_S = 60
# Zabbix 6.0 knows MariaDB up to 10.10; Debian 12 ships 10.11 and Zabbix then
# refuses to start (measured) unless told to accept it. Zabbix 7.0.22 (Debian
# 13's) starts against Debian 13's MariaDB 11.8.9 without the flag (measured
# in the trixie validator tree: tests/validate/test_trixie.py).
ZABBIX_MAX_MARIADB = {"6.0": (10, 10), "7.0": (11, 8)}
# MariaDB 11.0 deprecated innodb_file_per_table (always on): 11.8 warns
# "--innodb-file-per-table is deprecated and will be removed" (measured).
MARIADB_FILE_PER_TABLE_UNTIL = (11, 0)
COROSYNC_TOKEN_MS = 3000
HEADER = f"Generated by zabbix-ha {__version__}; edit the answers file and re-render instead of this file."


@dataclass(frozen=True)
class RenderedFile:
    path: str
    text: str
    kind: str
    mode: int = 0o644
    owner: str = "root"
    group: str = "root"
    secret: bool = False


@dataclass(frozen=True)
class _Template:
    kind: str
    template: str
    secret: bool | None = False     # None: secret exactly when secrets are given


class TemplateError(UserError):
    exit_code = 1


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    # importlib.resources finds templates/ in the source tree, an installed
    # wheel and the PyInstaller bundle alike.
    root = resources.files("templates")
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: (root / name).read_text(encoding="utf-8")),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )


def _render_template(name: str, context: dict) -> str:
    try:
        return _environment().get_template(name).render(context)
    except jinja2.TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f"{name}:{line}" if line else name
        raise TemplateError(f"template {where} failed: {exc}",
                            "this is a bug in zabbix-ha; please report it with the answers file") from exc


def drbd_address(ip: str, port: int) -> str:
    addr = ipaddress.ip_address(ip)
    return f"ipv6 [{addr}]:{port}" if addr.version == 6 else f"{addr}:{port}"


def meta_disk_value(spec: ClusterSpec, index: int) -> str:
    disks = spec.storage.nodes[index]
    mode = spec.storage.meta_disk_mode
    if mode == "internal":
        return "internal"
    if mode == "indexed":
        return f"{disks.meta_disk}[{disks.meta_index}]"
    return disks.meta_disk or ""


def _mariadb(profile: Platform) -> tuple[int, int]:
    major, minor = (int(x) for x in profile.mariadb_version.split(".")[:2])
    return major, minor


def needs_unsupported_db_flag(spec: ClusterSpec, profile: Platform) -> bool:
    return _mariadb(profile) > ZABBIX_MAX_MARIADB[spec.zabbix.version]


def php_quote(value: str) -> str:
    """A PHP single-quoted string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fence_delay_parameter(spec: ClusterSpec) -> str:
    """pcmk_delay_base (fixed) or pcmk_delay_max (random): see FENCE_DELAY_IS_RANDOM."""
    return "pcmk_delay_max" if FENCE_DELAY_IS_RANDOM[spec.fencing.method] else "pcmk_delay_base"


def stonith_timeout_s(spec: ClusterSpec) -> int:
    """Pacemaker's stonith-timeout: the delays a fence may wait plus the fence itself.

    SBD: a poison pill is only taken as delivered after msgwait, and sbd(8)
    asks for stonith-timeout >= msgwait + 20 %. IPMI: one reboot through the BMC.
    """
    if spec.fencing.method == "sbd":
        action = SBD_MSGWAIT_S + -(-SBD_MSGWAIT_S // 5)
    else:
        action = IPMI_REBOOT_S
    return PRIORITY_FENCING_DELAY_S + FENCE_DELAY_S + action


# crm-fence-peer.sh --timeout: how long the DRBD Primary, having lost the peer,
# polls the cluster until the peer is confirmed fenced (I/O frozen meanwhile
# with resource-and-stonith). Shorter than "the cluster noticed, waited its
# fencing delays and rebooted the peer" and the handler gives up while the
# fence is still under way. The margin covers corosync's token timeout and a
# DC election. --dc-timeout must exceed --timeout (the script's own advice).
FENCE_PEER_MARGIN_S = 30


def fence_peer_timeouts_s(spec: ClusterSpec) -> tuple[int, int]:
    """(--timeout, --dc-timeout) of crm-fence-peer.sh when a fence device exists."""
    timeout = stonith_timeout_s(spec) + COROSYNC_TOKEN_MS // 1000 + FENCE_PEER_MARGIN_S
    return timeout, timeout + FENCE_PEER_MARGIN_S


def sbd_watchdog_module(spec: ClusterSpec) -> str:
    """The kernel module the install loads (and lists in modules-load.d) on a
    node without /dev/watchdog, for fencing.method sbd: the platform's
    default (softdog; see Platform.sbd_watchdog_module)."""
    return platform(spec.platform).sbd_watchdog_module


def sbd_create_argv(spec: ClusterSpec) -> list[str]:
    """`sbd create` with the timeouts the rest of the config assumes (-1
    watchdog, -4 msgwait), run once from one node on the shared disk."""
    return ["sbd", "-d", spec.fencing.sbd_device, "-1", str(SBD_WATCHDOG_TIMEOUT_S),
            "-4", str(SBD_MSGWAIT_S), "create"]


def monitor_table(spec: ClusterSpec) -> str:
    return f"{spec.zabbix.db_name}.{MONITOR_TABLE}"


def monitor_user_sql(spec: ClusterSpec) -> list[str]:
    """SQL the install runs once (as root over the socket, on the node holding
    the DRBD filesystem, AFTER the Zabbix schema is imported: a table grant
    needs the table) so the CIB's deep MariaDB monitor can log in.

    The account has no password: unix_socket admits only a client running as
    the OS user of the same name (monitor_os_user_argv creates it on both
    nodes; the grant tables live in the datadir on DRBD, so one run covers
    both). Idempotent: safe on every rerun.
    """
    account = f"'{MONITOR_DB_USER}'@'localhost'"
    return [
        f"CREATE USER IF NOT EXISTS {account} IDENTIFIED VIA unix_socket",
        f"ALTER USER {account} IDENTIFIED VIA unix_socket WITH MAX_USER_CONNECTIONS 2",
        f"GRANT SELECT ON `{spec.zabbix.db_name}`.`{MONITOR_TABLE}` TO {account}",
    ]


def monitor_os_user_argv(spec: ClusterSpec) -> list[str]:
    """The command that creates the monitor's system user on a node (both
    nodes; skip it when `getent passwd zha_monitor` already answers)."""
    return ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
            "--shell", "/usr/sbin/nologin", "--comment", "zabbix-ha MariaDB monitor", MONITOR_DB_USER]


@dataclass(frozen=True)
class Directory:
    path: str
    mode: int
    owner: str
    group: str


def directories(spec: ClusterSpec) -> list[Directory]:
    """Directories the install creates on both nodes before the files.

    Debian's mariadb-server ships no /var/log/mysql (the mysql agent's log
    goes there; 2750 mysql:adm as Debian's own comment in 50-server.cnf says);
    the Zabbix binary's ExternalScripts default is not shipped either.
    """
    p = platform(spec.platform).paths
    return [
        Directory(p.mysql_log_dir, 0o2750, p.mysql_user, "adm"),
        Directory(p.zabbix_external_scripts, 0o755, "root", "root"),
        Directory(p.zabbix_alert_scripts, 0o755, "root", "root"),
    ]


def ipmi_password_file(hostname: str) -> str:
    """Where the node that fences HOSTNAME keeps its BMC password (0600; the CIB reads it by password_script)."""
    return f"/etc/zabbix-ha/ipmi-password-{hostname}"


def fence_device_id(hostname: str) -> str:
    """The CIB's stonith resource that fences HOSTNAME (IPMI)."""
    return f"fence-{hostname}"


def context(spec: ClusterSpec, secrets: Secrets | None = None) -> dict:
    """Everything the templates need, decided here."""
    profile = platform(spec.platform)
    s = spec.storage
    fencing = spec.fencing.method != "none"
    vip_nics = spec.services.vip_nics
    nodes = []
    for i, node in enumerate(spec.nodes):
        nodes.append({
            "hostname": node.hostname,
            "address": node.address,
            "nodeid": i + 1,
            "links": [link.addresses[i] for link in spec.links],
            "drbd_disk": s.nodes[i].disk,
            "drbd_meta_disk": meta_disk_value(spec, i),
            "drbd_address": drbd_address(spec.replication_addresses[i], s.port),
            "vip_nic": vip_nics[i],
            "ipmi": spec.fencing.ipmi[i] if spec.fencing.method == "ipmi" else None,
            "ipmi_password_file": ipmi_password_file(node.hostname),
        })
    source = spec.services.effective_source
    # Each its own IPaddr2 primitive beside the group (cib.xml.j2): adding or
    # removing one touches no other resource.
    extra_vips = [{"id": extra_vip_id(v), "address": v.address, "prefix": v.prefix,
                   "nic_common": v.nics[0] if len(set(v.nics)) == 1 else None,
                   "nics": [{"hostname": n.hostname, "nic": v.nics[i]} for i, n in enumerate(spec.nodes)]}
                  for v in spec.services.extra_vips]
    return {
        "header": HEADER,
        "spec": spec,
        "paths": profile.paths,
        "profile": profile,
        "nodes": nodes,
        "preferred": spec.preferred_node,
        "drbd_device": f"/dev/drbd{s.minor}",
        # With a fence device DRBD may freeze I/O and have Pacemaker shoot the
        # peer; without one, resource-level fencing (a CIB constraint) is the floor.
        "drbd_fencing": "resource-and-stonith" if fencing else "resource-only",
        "stonith_enabled": fencing,
        "fence_delay_parameter": fence_delay_parameter(spec) if fencing else None,
        "fence_delay": f"{FENCE_DELAY_S}s",
        "fence_op_timeout": f"{FENCE_OP_TIMEOUT_S}s",
        "priority_fencing_delay": f"{PRIORITY_FENCING_DELAY_S}s",
        "stonith_timeout": f"{stonith_timeout_s(spec)}s" if fencing else None,
        "fence_peer_timeouts": fence_peer_timeouts_s(spec) if fencing else None,
        "fence_peer_handler": (profile.paths.drbd_fence_peer_wrapper if profile.pacemaker_node_state_timestamps
                               else profile.paths.drbd_fence_peer),
        "drbd": {
            "al_extents": DRBD_AL_EXTENTS,
            "al_resync_minutes": -(-DRBD_AL_EXTENTS * 4 // DRBD_C_MAX_RATE_MB // 60),
            "c_plan_ahead": DRBD_C_PLAN_AHEAD,
            "c_fill_target": DRBD_C_FILL_TARGET,
            "c_max_rate": f"{DRBD_C_MAX_RATE_MB}M",
            "c_min_rate": DRBD_C_MIN_RATE,
            "cram_hmac_alg": DRBD_CRAM_HMAC_ALG,
        },
        "drbd_secret": secrets.drbd_secret.reveal() if secrets else None,
        "sbd": {
            "watchdog_timeout": SBD_WATCHDOG_TIMEOUT_S,
            "msgwait": SBD_MSGWAIT_S,
            "watchdog_device": SBD_WATCHDOG_DEVICE,
            "watchdog_module": sbd_watchdog_module(spec),
        },
        "zabbix_start_timeout": f"{ZABBIX_START_TIMEOUT_S}s",
        "web_start_timeout": f"{WEB_START_TIMEOUT_S}s",
        "web_stop_timeout": f"{WEB_STOP_TIMEOUT_S}s",
        "fs_stop_timeout": f"{FS_STOP_TIMEOUT_S}s",
        "zabbix_stop_timeout": f"{ZABBIX_STOP_TIMEOUT_S}s",
        "db_start_timeout": f"{DB_START_TIMEOUT_S}s",
        "db_stop_timeout": f"{DB_STOP_TIMEOUT_S}s",
        "group_migration_threshold": GROUP_MIGRATION_THRESHOLD,
        "group_failure_timeout": f"{GROUP_FAILURE_TIMEOUT_S}s",
        "monitor_user": MONITOR_DB_USER,
        "monitor_group": MONITOR_OS_GROUP,
        "monitor_table": monitor_table(spec),
        "monitor_interval": f"{MONITOR_INTERVAL_S}s",
        "monitor_timeout": f"{MONITOR_TIMEOUT_S}s",
        "check_timeout": f"{CHECK_TIMEOUT_S}s",
        # Passive checks arrive from 127.0.0.1 (the frontend's, zabbix_get),
        # the VIP, or the source address (SourceIP applies to 127.0.0.1 too).
        "agent_servers": list(dict.fromkeys(["127.0.0.1", spec.services.vip, source])),
        "corosync_token": COROSYNC_TOKEN_MS,
        "link_priorities": [len(spec.links) - i for i in range(len(spec.links))],
        "vip_nic_common": vip_nics[0] if len(set(vip_nics)) == 1 else None,
        "source_separate": source != spec.services.vip,
        "source_address": source,
        "extra_vips": extra_vips,
        "datadir": f"{s.mount_point.rstrip('/')}/mysql",
        "tier": TIERS[spec.zabbix.sizing],
        "allow_unsupported_db": needs_unsupported_db_flag(spec, profile),
        "innodb_file_per_table": _mariadb(profile) < MARIADB_FILE_PER_TABLE_UNTIL,
        "db_password": php_quote(secrets.db_password.reveal()) if secrets else None,
        "db_password_raw": secrets.db_password.reveal() if secrets else None,
        "ipmi_passwords": {k: v.reveal() for k, v in secrets.ipmi.items()} if secrets else {},
    }


# Files every node gets. Path comes from the platform profile (see _path).
_FILES = (
    _Template("drbd-global", "drbd/global_common.conf.j2"),
    # Holds the DRBD peer secret when secrets are given (then 0600, secret);
    # without secrets it is rendered without peer authentication, for review.
    _Template("drbd-resource", "drbd/resource.res.j2", secret=None),
    _Template("corosync", "corosync/corosync.conf.j2"),
    _Template("cib", "pacemaker/cib.xml.j2"),
    _Template("mariadb", "mariadb/zabbix-ha.cnf.j2"),
    _Template("apache", "apache/zabbix-ha.conf.j2"),
    _Template("zabbix-server", "zabbix/zabbix_server.conf.j2"),
    _Template("hosts", "hosts.j2"),
    _Template("zabbix-agent", "zabbix/zabbix_agentd.conf.j2"),
    _Template("mysql-monitor-client", "zabbix/mysql-monitor-client.j2"),
    _Template("zabbix-server-agent", "pacemaker/zabbix-server-agent.j2"),
    _Template("zabbix-server-secrets", "zabbix/zabbix_server.secrets.conf.j2", secret=True),
    _Template("zabbix-frontend", "zabbix/zabbix.conf.php.j2", secret=True),
    _Template("sbd", "sbd/sbd.j2"),
    _Template("drbd-fence-peer", "drbd/crm-fence-peer.j2"),
)
# Files only one fencing method needs.
_ONLY_WITH = {"sbd": "sbd"}
# Files only some platforms need.
_ONLY_ON = {"drbd-fence-peer": lambda profile: profile.pacemaker_node_state_timestamps}


def _target(kind: str, spec: ClusterSpec, profile: Platform) -> tuple[str, int, str, str]:
    """(path, mode, owner, group) of a file kind on a node."""
    p = profile.paths
    return {
        "drbd-global": (f"{p.drbd_dir}/global_common.conf", 0o644, "root", "root"),
        "drbd-resource": (f"{p.drbd_dir}/{spec.storage.resource}.res", 0o600, "root", "root"),
        "corosync": (p.corosync_conf, 0o644, "root", "root"),
        "cib": (p.cib_file, 0o640, "root", "root"),
        "mariadb": (p.mariadb_conf, 0o644, "root", "root"),
        "apache": (p.apache_vhost, 0o644, "root", "root"),
        "zabbix-server": (p.zabbix_server_conf, 0o640, "root", p.zabbix_user),
        "hosts": (p.hosts_fragment, 0o644, "root", "root"),
        "zabbix-agent": (p.zabbix_agent_conf, 0o644, "root", "root"),
        "mysql-monitor-client": (p.mysql_monitor_client, 0o755, "root", "root"),
        "zabbix-server-agent": (p.zabbix_server_agent, 0o755, "root", "root"),
        "drbd-fence-peer": (p.drbd_fence_peer_wrapper, 0o755, "root", "root"),
        "sbd": (p.sbd_defaults, 0o644, "root", "root"),
        "zabbix-server-secrets": (p.zabbix_server_secrets, 0o640, "root", p.zabbix_user),
        "zabbix-frontend": (p.zabbix_frontend_conf, 0o640, "root", p.apache_user),
    }[kind]


def render(spec: ClusterSpec, secrets: Secrets | None = None) -> dict[str, dict[str, RenderedFile]]:
    """Render every file for both nodes. Raises SpecError on an invalid spec."""
    check(spec)
    profile = platform(spec.platform)
    ctx = context(spec, secrets)
    tree: dict[str, dict[str, RenderedFile]] = {}
    for node in ctx["nodes"]:
        files: dict[str, RenderedFile] = {}
        for item in _FILES:
            if item.secret and secrets is None:
                continue
            if item.kind in _ONLY_WITH and spec.fencing.method != _ONLY_WITH[item.kind]:
                continue
            if item.kind in _ONLY_ON and not _ONLY_ON[item.kind](profile):
                continue
            path, mode, owner, group = _target(item.kind, spec, profile)
            text = _render_template(item.template, {**ctx, "node": node})
            secret = item.secret if item.secret is not None else secrets is not None
            files[path] = RenderedFile(path, text, item.kind, mode, owner, group, secret)
        if secrets is not None and spec.fencing.method == "ipmi":
            # fence_ipmilan reads the BMC password through password_script, so
            # the CIB (replicated, dumped by crm_report) never holds it.
            for other in ctx["nodes"]:
                pw = ctx["ipmi_passwords"].get(other["hostname"], "")
                files[other["ipmi_password_file"]] = RenderedFile(
                    other["ipmi_password_file"], pw + "\n", "ipmi-password", 0o600, "root", "root", True)
        tree[node["hostname"]] = files
    return tree
