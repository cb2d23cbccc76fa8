"""The cluster's health, UI-neutral: read it (gather), understand it (parse, model), judge it (health).

    executors -> gather.gather_raw -> model.status_from_raw -> Status
              -> health.problems(status) / health.failover_ready(status) -> [Problem]

`zabbix-ha status` (wizard.status.command) prints it; the failover test
calls `failover_ready` before any scenario and refuses while it lists
anything. Nothing here changes the cluster.
"""

# Imported on first use: `zabbix-ha --help` imports wizard.status.command and must stay fast.
_API = {"read_status": "gather", "Problem": "health", "failover_ready": "health", "healthy": "health",
        "problems": "health", "Expect": "model", "NodeStatus": "model", "Status": "model", "status_from_raw": "model"}

__all__ = sorted(_API)


def __getattr__(name: str):
    if name in _API:
        import importlib

        return getattr(importlib.import_module(f"wizard.status.{_API[name]}"), name)
    raise AttributeError(name)
