"""zabbix-ha core: spec, rendering, checks, plans. Never imports a UI toolkit."""

__version__ = "0.1.0"
