"""Run the real tools (and Python checks for what they miss) on rendered files.

    verdicts = validate_tree(tree, context)   # tree: {node: {path: obj with .text, .kind}}

Each rendered file has a `kind`; one checker per kind returns one Verdict per
tool (`check_<kind>(text, ctx, node, path=..., ...) -> list[Verdict]`).
Checks that do not depend on the node run once per distinct file text and
are reported for every node that has that text; DRBD's `-d up` and
`corosync -t` pretend to be the node, so they run per node. Everything runs
in a thread pool (the tools are subprocesses). A tool that is not installed
gives ok=False with skipped_reason set: an unchecked file is never valid.

Whose tools: the context's platform picks them (tree.tools_for): the host's
for Debian 12 (this machine's own release), a cached Debian 13 root tree run
with systemd-nspawn for Debian 13. A platform whose tree is not built fails
every tool check with the command that builds it; it never falls back to the
host's tools (a check by the wrong version is not a check).

Extra data for tests and screens:
    simulate(cib_text, ctx) -> Simulation   # crm_simulate scenarios, placement per resource
    run_mariadbd(cnf_text) -> MariadbResult # MariaDB's effective values after reading the file
    missing_tools() -> {tool: package}

Facts behind every check: ../shared/notes/validators.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from .agent import check_monitor_client, check_zabbix_agent
from .apache import check_apache
from .core import REQUIRED_TOOLS, ValidationContext, Verdict
from .corosync import check_corosync
from .drbd import check_drbd_global, check_drbd_resource
from .fence_peer import check_fence_peer_handler
from .hosts import check_hosts
from .mariadb import MariadbResult, run_mariadbd, check_mariadb
from .ocf_agent import check_ocf_agent
from .pacemaker import Placement, Scenario, Simulation, check_cib, simulate
from .sbd import check_sbd_defaults
from .tree import Host, Tree, TreeMissing, tools_for
from .zabbix import (check_password_file, check_zabbix_frontend, check_zabbix_secrets,
                     check_zabbix_server)

__all__ = [
    "ValidationContext", "Verdict", "validate_tree", "CHECKERS", "REQUIRED_TOOLS", "missing_tools",
    "check_drbd_global", "check_drbd_resource", "check_corosync", "check_cib", "simulate",
    "Simulation", "Scenario", "Placement", "check_apache", "check_mariadb", "run_mariadbd",
    "MariadbResult", "check_zabbix_server", "check_zabbix_frontend", "check_zabbix_secrets",
    "check_password_file", "check_hosts", "check_zabbix_agent", "check_monitor_client",
    "check_sbd_defaults", "check_fence_peer_handler", "Host", "Tree", "TreeMissing", "tools_for",
]


class Rendered(Protocol):
    text: str
    kind: str


Checker = Callable[..., list[Verdict]]

CHECKERS: dict[str, Checker] = {
    "drbd-global": check_drbd_global,
    "drbd-resource": check_drbd_resource,
    "corosync": check_corosync,
    "cib": check_cib,
    "mariadb": check_mariadb,
    "apache": check_apache,
    "zabbix-server": check_zabbix_server,
    "zabbix-frontend": check_zabbix_frontend,
    "hosts": check_hosts,
    "zabbix-server-secrets": check_zabbix_secrets,
    "ipmi-password": check_password_file,
    "zabbix-agent": check_zabbix_agent,
    "mysql-monitor-client": check_monitor_client,
    "zabbix-server-agent": check_ocf_agent,
    "sbd": check_sbd_defaults,
    "drbd-fence-peer": check_fence_peer_handler,
}
# Kinds whose checks pretend to be the node: run once per node.
NODE_SPECIFIC = frozenset({"drbd-resource", "corosync", "zabbix-agent"})
# Files the two nodes must share byte for byte (DRBD and corosync compare
# their peers' settings; the CIB is one cluster-wide document).
IDENTICAL_ON_BOTH = frozenset({"drbd-global", "drbd-resource", "corosync", "cib", "drbd-fence-peer"})

def missing_tools(platform: str = "debian12") -> dict[str, str]:
    """Tools missing where the platform's files are checked -> Debian package
    that provides them (raises TreeMissing when the platform's tree is not built)."""
    tools = tools_for(platform)
    return {tool: pkg for tool, pkg in REQUIRED_TOOLS.items() if tools.find(tool) is None}


def _jobs(tree: Mapping[str, Mapping[str, Rendered]], ctx: ValidationContext):
    """(key, node, path, kind, callable) per check; equal keys run once."""
    for node, files in tree.items():
        global_common = next((f.text for f in files.values() if f.kind == "drbd-global"), None)
        secrets = next((f.text for f in files.values() if f.kind == "zabbix-server-secrets"), None)
        cib = next((f.text for f in files.values() if f.kind == "cib"), None)
        for path, obj in files.items():
            kind = obj.kind
            checker = CHECKERS.get(kind)
            if checker is None:
                yield (("unknown", node, path), node, path, kind, None)
                continue
            kwargs: dict[str, Any] = {"path": path}
            if kind == "drbd-resource":
                kwargs["global_common"] = global_common
            if kind == "zabbix-server":
                kwargs["secrets"] = secrets   # the real include instead of a stand-in
            if kind == "drbd-fence-peer":
                kwargs["cib"] = cib           # what the handler reads through cibadmin
            run_as = node if kind in NODE_SPECIFIC else ctx.preferred
            key = (kind, path, obj.text, run_as, kwargs.get("global_common"), kwargs.get("secrets"),
                   kwargs.get("cib"))
            yield (key, node, path, kind,
                   lambda c=checker, t=obj.text, n=run_as, kw=kwargs: c(t, ctx, n, **kw))


def _identical(tree: Mapping[str, Mapping[str, Rendered]], ctx: ValidationContext) -> list[Verdict]:
    verdicts = []
    nodes = list(tree)
    paths = {p: f.kind for files in tree.values() for p, f in files.items()
             if f.kind in IDENTICAL_ON_BOTH}
    for path, kind in sorted(paths.items()):
        texts = {n: tree[n][path].text for n in nodes if path in tree[n]}
        missing = [n for n in ctx.nodes if n not in texts]
        for node in texts:
            problems = []
            if missing:
                problems.append(f"{path} exists on {node} but not on {', '.join(missing)}")
            elif len(set(texts.values())) > 1:
                problems.append(f"{path} differs between {' and '.join(texts)}; "
                                f"the nodes must share it byte for byte")
            verdicts.append(Verdict(node, path, kind, "python:identical", not problems, problems))
    return verdicts


def validate_tree(tree: Mapping[str, Mapping[str, Rendered]], context: ValidationContext,
                  max_workers: int = 8) -> list[Verdict]:
    """Validate every rendered file of every node; one verdict per (node, file, tool).

    Order: nodes as given, then paths sorted, then tools as each checker
    returns them, then the cross-node `python:identical` verdicts.
    """
    jobs = list(_jobs(tree, context))
    unique: dict[Any, Callable[[], list[Verdict]] | None] = {}
    for key, _node, _path, _kind, fn in jobs:
        unique.setdefault(key, fn)
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        futures = {key: pool.submit(fn) for key, fn in unique.items() if fn is not None}
        results = {}
        for key, fut in futures.items():
            try:
                results[key] = fut.result()
            except TreeMissing as exc:   # never checked by other tools instead: a failure saying how to fix it
                results[key] = [Verdict("", "", key[0], f"{context.platform} tools", False, [], str(exc))]
            except Exception as exc:  # a bug here must fail the file, not the whole run
                results[key] = [Verdict("", "", key[0], f"{key[0]} validator", False,
                                        [f"validator crashed: {type(exc).__name__}: {exc}"])]
    verdicts: list[Verdict] = []
    for key, node, path, kind, fn in sorted(jobs, key=lambda j: (list(tree).index(j[1]), j[2])):
        if fn is None:
            verdicts.append(Verdict(node, path, kind, "none", False, [],
                                    f"no validator for kind '{kind}'"))
            continue
        verdicts += [dataclasses.replace(v, node=node, path=path) for v in results[key]]
    return verdicts + _identical(tree, context)
