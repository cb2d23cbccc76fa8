"""The sizing table: how many hosts a tier is meant for and what it sets.

The tiers follow the 2012 seed design (small ≤30 hosts, medium ≤100,
large ≤1000); the values are today's equivalents for MariaDB and Zabbix.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SizingTier:
    name: str
    max_hosts: int
    min_memory_mib: int          # per node; preflight warns below it
    innodb_buffer_pool: str      # MariaDB size strings
    innodb_log_file_size: str
    max_connections: int
    cache_size: str              # zabbix_server.conf sizes
    history_cache_size: str
    history_index_cache_size: str
    trend_cache_size: str
    value_cache_size: str
    start_pollers: int
    start_pollers_unreachable: int
    start_pingers: int
    start_trappers: int
    start_preprocessors: int


TIERS: dict[str, SizingTier] = {
    t.name: t
    for t in (
        SizingTier("small", 30, 2048, "512M", "128M", 200,
                   "32M", "16M", "4M", "4M", "64M", 5, 1, 1, 5, 3),
        SizingTier("medium", 100, 4096, "2G", "256M", 300,
                   "128M", "64M", "16M", "16M", "256M", 20, 3, 5, 10, 5),
        SizingTier("large", 1000, 16384, "8G", "1G", 500,
                   "512M", "256M", "64M", "64M", "1G", 50, 5, 10, 20, 10),
    )
}


def tier_for_hosts(hosts: int) -> SizingTier:
    """The smallest tier meant for `hosts` monitored hosts (the largest beyond it)."""
    for tier in TIERS.values():
        if hosts <= tier.max_hosts:
            return tier
    return TIERS["large"]
