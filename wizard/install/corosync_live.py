"""A changed corosync.conf taken live by the running cluster, without a restart.

Corosync keeps its configuration in cmap; `corosync-cfgtool -R` makes every
node re-read its own corosync.conf, and knet adds, removes and re-prioritises
links and changes timing on the fly (corosync.conf(5), "adding a node";
corosync PR #245). So a rerun that adds an interconnect link never stops
corosync, and the services keep running. The check compares the file with
cmap on both nodes (state, not "what this run wrote": a rerun after a killed
one still finds a file the cluster never loaded). What corosync cannot take
live (cluster name, transport, crypto, node ids and names) is refused with
the reason: zabbix-ha's answers never change those on a running cluster.
"""

from __future__ import annotations

import re
import time

from wizard.install.step import Context, StepFailed, wait_for

RELOAD_TIMEOUT = 60
ASK_AGAIN_AFTER = 15      # seconds a node may take to re-read its file before it is asked itself
# Keys a reload cannot change (corosync reads them once, at start).
_FIXED = re.compile(r"(totem\.(cluster_name|transport|crypto_cipher|crypto_hash|secauth|version|ip_version)"
                    r"|nodelist\.node\.\d+\.(nodeid|name)|quorum\.provider)")
# cmap keys that exist only while the file has them: a link the file no longer names.
# (Corosync adds keys of its own, e.g. totem.interface.N.bindnetaddr: not these.)
_LINK_KEY = re.compile(r"(nodelist\.node\.\d+\.ring\d+_addr|totem\.interface\.\d+\.knet_link_priority)")
_CMAP_LINE = re.compile(r"(\S+) \([a-z0-9]+\) = (.*)")


def flatten(text: str) -> dict[str, str]:
    """corosync.conf as cmap names its keys: totem.interface.<linknumber>.x, nodelist.node.<index>.x."""
    out: dict[str, str] = {}
    stack: list[tuple[str, dict[str, str]]] = []
    counters: dict[str, int] = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.endswith("{"):
            stack.append((line[:-1].strip(), {}))
        elif line == "}":
            name, keys = stack.pop()
            path = ".".join(n for n, _ in stack)
            if name == "interface":
                prefix = f"{path}.interface.{keys.get('linknumber', '0')}"
            elif name == "node":
                index = counters.get(path, 0)
                counters[path] = index + 1
                prefix = f"{path}.node.{index}"
            else:
                prefix = f"{path}.{name}" if path else name
            if name == "logger_subsys":
                continue                 # several, keyed by subsys: not ours to compare
            for key, value in keys.items():
                if name == "interface" and key == "linknumber":
                    continue             # the index itself
                out[f"{prefix}.{key}"] = value
        elif ":" in line and stack:
            key, _, value = line.partition(":")
            stack[-1][1][key.strip()] = value.strip()
    return out


def parse_cmap(text: str) -> dict[str, str]:
    """`corosync-cmapctl` output: "key (type) = value" per line."""
    out = {}
    for line in text.splitlines():
        m = _CMAP_LINE.fullmatch(line.strip())
        if m:
            out[m.group(1)] = m.group(2)
    return out


def differences(wanted: dict[str, str], running: dict[str, str]) -> list[str]:
    """Keys whose running value is not the file's; links the file dropped count too."""
    out = [k for k, v in wanted.items() if running.get(k) != v]
    out += [k for k in running if _LINK_KEY.fullmatch(k) and k not in wanted]
    return sorted(out)


def fixed(keys: list[str]) -> list[str]:
    return [k for k in keys if _FIXED.fullmatch(k)]


def _running(ctx: Context) -> dict[str, str]:
    res = ctx.run(["corosync-cmapctl"], check=False, timeout=60)
    if not res.ok:
        raise StepFailed(f"on {ctx.node}: corosync-cmapctl did not answer ({res.stderr.strip()[:200]})",
                         "is corosync running? `systemctl status corosync` on that node")
    return parse_cmap(res.stdout)


def stale(ctx: Context) -> dict[str, list[str]]:
    """node -> keys its running corosync has not taken from its file (only nodes that differ)."""
    out = {}
    for node in ctx.spec.hostnames:
        on = ctx.on(node)
        diff = differences(flatten(on.file("corosync").text), _running(on))
        if diff:
            out[node] = diff
    return out


def in_place(ctx: Context) -> bool:
    return not stale(ctx)


def reload(ctx: Context) -> str:
    keys = sorted({k for diff in stale(ctx).values() for k in diff})
    blocked = fixed(keys)
    if blocked:
        raise StepFailed(f"corosync cannot take this change while it runs: {', '.join(blocked)}",
                         "these are set when a cluster is created; zabbix-ha does not change them on a running "
                         "cluster (build it again, or restore the answers it was installed with)")
    # Told once, every node re-reads its own file (both have the new one by now).
    ctx.run(["corosync-cfgtool", "-R"], timeout=60)
    # The request travels as a cluster message: a node that was between memberships when it was
    # sent never hears it (seen once on 2 busy cores). Such a node is told again, itself.
    asked_again = {node: time.monotonic() for node in ctx.spec.hostnames}

    def probe():
        left = stale(ctx)
        for node in left:
            if time.monotonic() - asked_again[node] >= ASK_AGAIN_AFTER:
                ctx.on(node).run(["corosync-cfgtool", "-R"], check=False, timeout=60)
                asked_again[node] = time.monotonic()
        return True if not left else "; ".join(f"{n}: {', '.join(k)}" for n, k in left.items())
    wait_for(ctx, "corosync running with the new corosync.conf on both nodes", probe, timeout=RELOAD_TIMEOUT,
             interval=2, fix="`journalctl -u corosync` on each node says what it refused")
    return f"reloaded live on both nodes (corosync-cfgtool -R): {', '.join(keys)}"
