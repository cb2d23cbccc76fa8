"""Per-OS facts in one table: packages, services, paths, versions.

Everything that differs between distributions lives here, so templates and
plans read `profile.paths.x` instead of hard-coding a Debian path.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Paths:
    drbd_dir: str = "/etc/drbd.d"
    corosync_conf: str = "/etc/corosync/corosync.conf"
    corosync_log: str = "/var/log/corosync/corosync.log"
    cib_file: str = "/etc/zabbix-ha/cib.xml"
    hosts_fragment: str = "/etc/zabbix-ha/hosts"
    mariadb_conf: str = "/etc/mysql/mariadb.conf.d/60-zabbix-ha.cnf"
    mysql_main_conf: str = "/etc/mysql/my.cnf"
    mysqld_safe: str = "/usr/bin/mysqld_safe"
    mysql_client: str = "/usr/bin/mysql"
    mysql_socket: str = "/run/mysqld/mysqld.sock"
    mysql_pid: str = "/run/mysqld/mysqld.pid"
    mysql_user: str = "mysql"
    apache_vhost: str = "/etc/apache2/sites-available/zabbix-ha.conf"
    apache_conf: str = "/etc/apache2/apache2.conf"
    apache_envvars: str = "/etc/apache2/envvars"
    apache_user: str = "www-data"
    zabbix_server_conf: str = "/etc/zabbix/zabbix_server.conf"
    zabbix_server_secrets: str = "/etc/zabbix/zabbix_server.secrets.conf"
    zabbix_server_bin: str = "/usr/sbin/zabbix_server"
    zabbix_server_pid: str = "/run/zabbix/zabbix_server.pid"
    zabbix_server_log: str = "/var/log/zabbix/zabbix_server.log"
    zabbix_frontend_conf: str = "/etc/zabbix/web/zabbix.conf.php"
    zabbix_frontend_root: str = "/usr/share/zabbix"
    zabbix_user: str = "zabbix"


@dataclass(frozen=True)
class Platform:
    id: str
    name: str
    # Zabbix LTS versions the OS itself ships (package source "os").
    os_zabbix_versions: tuple[str, ...]
    # Highest CIB schema the OS's Pacemaker validates; never claim newer
    # (a newer crm_feature_set/schema makes older pacemaker abort).
    cib_schema: str
    drbd_kernel: str                       # in-tree DRBD module version line
    # MariaDB newer than Zabbix 6.0 knows: Zabbix refuses to start without
    # AllowUnsupportedDBVersions=1 (measured: 6.0.14 vs MariaDB 10.11).
    mariadb_version: str
    paths: Paths = field(default_factory=Paths)
    packages_cluster: tuple[str, ...] = (
        "drbd-utils", "corosync", "pacemaker", "pcs", "crmsh", "resource-agents", "fence-agents",
    )
    packages_db: tuple[str, ...] = ("mariadb-server", "mariadb-client")
    packages_web: tuple[str, ...] = ("apache2", "libapache2-mod-php", "php-mysql", "curl")
    packages_zabbix: tuple[str, ...] = (
        "zabbix-server-mysql", "zabbix-frontend-php", "zabbix-agent",
    )


PLATFORMS: dict[str, Platform] = {
    p.id: p
    for p in (
        Platform("debian12", "Debian 12 (bookworm)", ("6.0",), "pacemaker-3.9", "8.4", "10.11"),
        Platform("debian13", "Debian 13 (trixie)", ("7.0",), "pacemaker-3.10", "8.4", "11.8"),
    )
}


def platform(platform_id: str) -> Platform:
    return PLATFORMS[platform_id]
