"""Read the cluster's state: one batched, read-only command round trip per node, both nodes at once.

The commands ask for machine-readable output where the tool has it
(crm_mon, cibadmin and stonith_admin XML); corosync-cfgtool and /proc/drbd
have only text. Everything runs through the node's Executor
(wizard.preflight.facts.run_batch: one `sh -s` per node, each command under its own
`timeout`, each journaled); parsing is wizard.status.model's, which is pure.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from wizard.status.model import (CFGTOOL, CONSTRAINTS, CRM_MON, FENCE_HISTORY, PACKAGES, PROC_DRBD, Expect, Status,
                                 status_from_raw)

# Per command, on the node. crm_mon answers in well under a second on a
# healthy cluster; a node whose pacemaker hangs must not hang the status.
COMMAND_TIMEOUT = 20


def commands_for(expect: Expect) -> dict[str, list[str]]:
    """The read-only commands the status runs on every node, by key."""
    from wizard.preflight.facts import package_command

    cmds = {
        CRM_MON: ["crm_mon", "-1", "--output-as=xml"],
        CFGTOOL: ["corosync-cfgtool", "-s"],
        PROC_DRBD: ["cat", "/proc/drbd"],
        CONSTRAINTS: ["cibadmin", "--query", "--scope", "constraints"],
        # --verbose: without it stonith_admin leaves FAILED fence events out of the history
        # (measured on Pacemaker 2.1.5: crm_mon showed the failed reboot, this showed 0 events).
        FENCE_HISTORY: ["stonith_admin", "--history", "*", "--verbose", "--output-as=xml"],
    }
    if expect.packages:
        cmds[PACKAGES] = package_command(expect.os_family, expect.packages)
    return cmds


def gather_raw(executors: dict, expect: Expect, *, timeout: float = COMMAND_TIMEOUT) -> dict[str, dict | str]:
    """node -> {key: Raw}, or node -> why it could not be read. Both nodes in parallel."""
    from wizard.preflight.facts import run_batch

    commands = commands_for(expect)

    def one(node: str):
        ex = executors.get(node)
        if ex is None:
            return node, "not connected"
        try:
            return node, run_batch(ex, commands, timeout=timeout)
        except Exception as exc:        # connection lost, sudo refused: the node is reported, not fatal
            return node, getattr(exc, "message", None) or str(exc)

    with ThreadPoolExecutor(max_workers=max(len(expect.nodes), 1)) as pool:
        return dict(pool.map(one, expect.nodes))


def read_status(executors: dict, expect: Expect, *, unreachable: dict[str, str] | None = None) -> Status:
    """The cluster's state. `unreachable`: nodes no executor exists for, with the reason."""
    raw = gather_raw({n: e for n, e in executors.items() if n not in (unreachable or {})}, expect)
    raw.update(unreachable or {})
    return status_from_raw(expect, raw)
