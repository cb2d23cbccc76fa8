"""Per-OS facts in one table: packages, services, paths, versions.

Everything that differs between distributions lives here, so templates and
plans read `profile.paths.x` instead of hard-coding a Debian path.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Paths:
    """Where things are on the node. Measured from the real packages with
    `apt-get download PKG && dpkg-deb -x` (Debian 12: zabbix-server-mysql,
    zabbix-agent and zabbix-frontend-php 1:6.0.14, mariadb-server 10.11.19,
    sbd 1.5.2, resource-agents 4.12; Debian 13: the same packages at 1:7.0.22,
    11.8.9, 1.5.2 and 4.16): both platforms use the same paths, so the
    defaults are Debian's. Details: ../shared/notes/packages.md. Checked
    against the installed packages by tests/validate/test_platform_paths.py
    (Debian 12, the host) and tests/validate/test_trixie.py (Debian 13, the
    validator tree)."""
    drbd_dir: str = "/etc/drbd.d"
    corosync_conf: str = "/etc/corosync/corosync.conf"
    corosync_log: str = "/var/log/corosync/corosync.log"
    cib_file: str = "/etc/zabbix-ha/cib.xml"
    hosts_fragment: str = "/etc/zabbix-ha/hosts"
    mariadb_conf: str = "/etc/mysql/mariadb.conf.d/60-zabbix-ha.cnf"
    mysql_main_conf: str = "/etc/mysql/my.cnf"
    # The set-up's own MariaDB (install/database.py) runs under mysqld_safe.
    mysqld_safe: str = "/usr/bin/mysqld_safe"       # mariadb-server (a link to mariadbd-safe on 13)
    # Pacemaker's mysql agent runs the server itself, not mysqld_safe: mysqld_safe
    # restarts a crashed mariadbd behind Pacemaker's back (the pid file is
    # rewritten), so a killed database was never seen failed (lab run 7).
    mariadbd: str = "/usr/sbin/mariadbd"            # mariadb-server-core
    mysql_client: str = "/usr/bin/mysql"            # mariadb-client-core (a link to mariadb)
    mysql_socket: str = "/run/mysqld/mysqld.sock"
    mysql_pid: str = "/run/mysqld/mysqld.pid"
    mysql_user: str = "mysql"
    # mariadbd --log-error (the mysql agent's `log`). Debian's mariadb-server
    # ships no /var/log/mysql (it logs to the journal): the install creates the
    # directory (see render.directories), the agent creates the file.
    mysql_log: str = "/var/log/mysql/error.log"
    mysql_log_dir: str = "/var/log/mysql"
    # Pacemaker's mysql agent runs its monitor query through this wrapper
    # (render.MONITOR_DB_USER explains why).
    mysql_monitor_client: str = "/usr/local/lib/zabbix-ha/mysql-monitor-client"
    setpriv: str = "/usr/bin/setpriv"               # util-linux (essential)
    apache_vhost: str = "/etc/apache2/sites-available/zabbix-ha.conf"
    apache_conf: str = "/etc/apache2/apache2.conf"
    apache_envvars: str = "/etc/apache2/envvars"
    apache_user: str = "www-data"
    zabbix_server_conf: str = "/etc/zabbix/zabbix_server.conf"
    zabbix_server_secrets: str = "/etc/zabbix/zabbix_server.secrets.conf"
    zabbix_server_bin: str = "/usr/sbin/zabbix_server"
    # Our OCF agent for the Zabbix server (templates/pacemaker/zabbix-server-agent.j2):
    # the stock heartbeat:zabbixserver with a bounded stop. OCF_ROOT/resource.d/<provider>/<type>.
    zabbix_server_agent: str = "/usr/lib/ocf/resource.d/zabbix-ha/zabbix-server"
    zabbix_server_pid: str = "/run/zabbix/zabbix_server.pid"
    # Debian's package ships /var/log/zabbix-server/ (zabbix:zabbix, covered by
    # its logrotate); a LogFile elsewhere makes zabbix_server exit at start.
    zabbix_server_log: str = "/var/log/zabbix-server/zabbix_server.log"
    zabbix_socket_dir: str = "/run/zabbix"          # tmpfiles.d: d /run/zabbix 0755 zabbix zabbix
    # Debian patches the frontend to read this one file
    # (CConfigFile::CONFIG_FILE_PATH); /etc/zabbix/web/ is the official packages' place.
    zabbix_frontend_conf: str = "/etc/zabbix/zabbix.conf.php"
    zabbix_frontend_root: str = "/usr/share/zabbix"
    zabbix_user: str = "zabbix"
    # The binaries' built-in default is /usr/sbin/fping; Debian's fping 5 is in
    # /usr/bin and handles IPv6 itself (so Fping6Location stays empty).
    fping: str = "/usr/bin/fping"
    zabbix_alert_scripts: str = "/etc/zabbix/alert.d"           # shipped by zabbix-server-mysql
    zabbix_external_scripts: str = "/etc/zabbix/externalscripts"  # the binary's default; not shipped
    zabbix_agent_conf: str = "/etc/zabbix/zabbix_agentd.conf"
    zabbix_agent_include_dir: str = "/etc/zabbix/zabbix_agentd.conf.d"
    zabbix_agent_log: str = "/var/log/zabbix-agent/zabbix_agentd.log"
    zabbix_agent_pid: str = "/run/zabbix/zabbix_agentd.pid"
    # The Zabbix schema as the server package ships it, imported in this order.
    zabbix_sql: tuple[str, ...] = (
        "/usr/share/zabbix-server-mysql/schema.sql.gz",
        "/usr/share/zabbix-server-mysql/images.sql.gz",
        "/usr/share/zabbix-server-mysql/data.sql.gz",
    )
    # DRBD's Pacemaker-aware fence-peer handler (drbd-utils) and, where the
    # platform needs it, zabbix-ha's wrapper around it (Platform.pacemaker_node_state_timestamps).
    drbd_fence_peer: str = "/usr/lib/drbd/crm-fence-peer.sh"
    drbd_fence_peer_wrapper: str = "/usr/local/lib/zabbix-ha/crm-fence-peer.sh"
    sbd_defaults: str = "/etc/default/sbd"
    # Loads the watchdog module at boot (systemd-modules-load).
    watchdog_modules_load: str = "/etc/modules-load.d/zabbix-ha-watchdog.conf"
    state_dir: str = "/etc/zabbix-ha"               # applied answers, rendered-file checksums
    journal_dir: str = "/var/lib/zabbix-ha"         # install journal, failover reports (first node)


@dataclass(frozen=True)
class Services:
    """systemd unit names. The ones Pacemaker runs are stopped, disabled and masked."""
    mariadb: tuple[str, ...] = ("mariadb.service",)
    apache: str = "apache2.service"
    zabbix_server: str = "zabbix-server.service"
    zabbix_agent: str = "zabbix-agent.service"
    corosync: str = "corosync.service"
    pacemaker: str = "pacemaker.service"
    sbd: str = "sbd.service"
    drbd: str = "drbd.service"

    def cluster_managed(self) -> tuple[str, ...]:
        return (*self.mariadb, self.apache, self.zabbix_server)


@dataclass(frozen=True)
class Platform:
    id: str
    name: str
    # Zabbix LTS versions the OS itself ships (package source "os").
    os_zabbix_versions: tuple[str, ...]
    # Highest CIB schema the OS's Pacemaker validates; never claim newer
    # (a newer crm_feature_set/schema makes older pacemaker abort). Measured
    # with `cibadmin --empty`: Pacemaker 2.1.5 (12) pacemaker-3.9, Pacemaker
    # 3.0.0 (13) pacemaker-4.0 (the schema without the syntax 3.0 removed).
    cib_schema: str
    drbd_kernel: str                       # in-tree DRBD module version line
    # MariaDB newer than Zabbix 6.0 knows: Zabbix refuses to start without
    # AllowUnsupportedDBVersions=1 (measured: 6.0.14 vs MariaDB 10.11; 7.0.22
    # accepts 11.8.9, see render.ZABBIX_MAX_MARIADB).
    mariadb_version: str
    codename: str = ""                     # the apt suite of the OS release
    # Pacemaker >= 2.1.7 (crm_feature_set 3.18) records a node_state's in_ccm and
    # crmd as "since when" timestamps ("0" = not a member / offline), no longer
    # true/false and online/offline. drbd-utils 9.22's crm-fence-peer.sh (both
    # Debian 12 and 13 ship it) reads only the old words: with Pacemaker 3.0 it
    # took every peer for "will be fenced" and polled until its --timeout, so
    # a promotion timed out and the node was fenced (lab run 11). Such platforms
    # run the handler through templates/drbd/crm-fence-peer.j2.
    pacemaker_node_state_timestamps: bool = False
    # The watchdog module SBD uses when the node has no /dev/watchdog yet:
    # softdog exists in every Debian kernel and works in VMs (the lab's too);
    # a board's hardware watchdog driver, when loaded, provides /dev/watchdog
    # itself and is preferred (it still fires when the kernel hangs).
    sbd_watchdog_module: str = "softdog"
    paths: Paths = field(default_factory=Paths)
    services: Services = field(default_factory=Services)
    # The one list of what the install puts on a node (the lab's mirror and
    # preinstalled image are derived from it, so they cannot drift).
    # Pacemaker is driven with its own tools (cibadmin, crm_resource, ...):
    # no pcs (29 extra packages, a daemon) and no crmsh on the nodes.
    # psmisc: the Filesystem agent's fuser; fping: Zabbix's ICMP checks;
    # php-mysql: zabbix-frontend-php's first alternative would be php-pgsql.
    packages_cluster: tuple[str, ...] = (
        "drbd-utils", "corosync", "pacemaker", "pacemaker-cli-utils", "resource-agents", "psmisc",
    )
    packages_db: tuple[str, ...] = ("mariadb-server", "mariadb-client")
    packages_web: tuple[str, ...] = (
        "apache2", "libapache2-mod-php", "php-mysql", "php-gd", "php-bcmath", "php-mbstring", "php-xml", "curl",
    )
    packages_zabbix: tuple[str, ...] = (
        "zabbix-server-mysql", "zabbix-frontend-php", "zabbix-agent", "fping",
    )
    # Per choice: fence_ipmilan runs ipmitool, which fence-agents does not pull in.
    packages_fencing: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        "ipmi": ("fence-agents", "ipmitool"),
        "sbd": ("fence-agents", "sbd"),
        "none": (),
    })
    packages_filesystem: dict[str, tuple[str, ...]] = field(default_factory=lambda: {
        "ext4": ("e2fsprogs",),
        "xfs": ("xfsprogs",),
    })

    # Validator tool -> this platform's package where it differs from Debian 12's
    # (wizard.validators.REQUIRED_TOOLS names Debian 12's).
    tool_packages: dict[str, str] = field(default_factory=dict)

    def packages(self, fencing: str, filesystem: str) -> tuple[str, ...]:
        """What a node of this cluster needs, in a stable order."""
        return (*self.packages_cluster, *self.packages_fencing[fencing], *self.packages_filesystem[filesystem],
                *self.packages_db, *self.packages_web, *self.packages_zabbix)

    def all_packages(self) -> tuple[str, ...]:
        """Every package any answers could need: what a local mirror must hold."""
        out: list[str] = []
        for fencing in self.packages_fencing:
            for filesystem in self.packages_filesystem:
                out += [p for p in self.packages(fencing, filesystem) if p not in out]
        return tuple(out)


PLATFORMS: dict[str, Platform] = {
    p.id: p
    for p in (
        Platform("debian12", "Debian 12 (bookworm)", ("6.0",), "pacemaker-3.9", "8.4", "10.11", "bookworm"),
        Platform("debian13", "Debian 13 (trixie)", ("7.0",), "pacemaker-4.0", "8.4", "11.8", "trixie",
                 pacemaker_node_state_timestamps=True,            # Pacemaker 3.0.0
                 # trixie split fence-agents: the old name is a transitional package for
                 # fence-agents-all (every agent, with python3-pandas, boto3, ... : measured
                 # 1.9 GB tree); a node needs only its own agent.
                 packages_fencing={"ipmi": ("fence-agents-ipmilan", "ipmitool"),
                                   "sbd": ("fence-agents-sbd", "sbd"), "none": ()},
                 tool_packages={"fence_sbd": "fence-agents-sbd"}),
    )
}


def platform(platform_id: str) -> Platform:
    return PLATFORMS[platform_id]
