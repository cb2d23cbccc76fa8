"""corosync.conf: `corosync -t` as each node, plus the checks corosync skips.

`corosync -t` (3.1+) parses strictly but (notes §2) must find the local node
(we give it the node's name in a private UTS namespace), opens the authkey
when crypto is on (we point a `keyfile:` at a `corosync-keygen -k` key in the
temp dir) and writes the logfile (we rewrite it into the temp dir). It accepts
unknown keys, a misspelt quorum provider and duplicate addresses, so a Python
allow-list and cross-checks against the context cover those.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass

from .core import (Target, ValidationContext, Verdict, bad_ipv4_literals,
                   valid_ip, write)
from .tree import tools_for

PACKAGE = "corosync"

# Keys corosync 3.1 reads, per section (corosync.conf(5), votequorum(5)).
_LOG_KEYS = {"timestamp", "fileline", "function_name", "to_stderr", "to_logfile", "to_syslog",
             "logfile", "logfile_priority", "syslog_facility", "syslog_priority", "debug",
             "blackbox", "trace"}
ALLOWED_KEYS: dict[str, set[str]] = {
    "totem": {"version", "cluster_name", "clear_node_high_bit", "crypto_model", "crypto_cipher",
              "crypto_hash", "secauth", "keyfile", "key", "link_mode", "netmtu", "transport",
              "ip_version", "token", "token_warning", "token_coefficient", "token_retransmit",
              "hold", "token_retransmits_before_loss_const", "join", "send_join", "consensus",
              "merge", "downcheck", "fail_recv_const", "seqno_unchanged_const",
              "heartbeat_failures_allowed", "max_network_delay", "window_size", "max_messages",
              "miss_count_const", "knet_pmtud_interval", "knet_mtu", "knet_compression_model",
              "knet_compression_threshold", "knet_compression_level", "block_unlisted_ips",
              "cancel_token_hold_on_retransmit", "nodeid", "threads", "config_version",
              "ip_dscp"},
    "totem.interface": {"linknumber", "knet_link_priority", "knet_ping_interval",
                        "knet_ping_timeout", "knet_ping_precision", "knet_pong_count",
                        "knet_transport", "bindnetaddr", "broadcast", "mcastaddr", "mcastport",
                        "ttl"},
    "nodelist": set(),
    "nodelist.node": {"name", "nodeid", "quorum_votes"} | {f"ring{i}_addr" for i in range(8)},
    "quorum": {"provider", "expected_votes", "two_node", "wait_for_all", "last_man_standing",
               "last_man_standing_window", "auto_tie_breaker", "auto_tie_breaker_node",
               "allow_downscale", "expected_votes_tracking"},
    "logging": _LOG_KEYS,
    "logging.logger_subsys": _LOG_KEYS | {"subsys"},
    "system": {"sched_rr", "priority", "qb_ipc_type", "move_to_root_cgroup",
               "allow_knet_handle_fallback", "state_dir"},
    "nozzle": {"name", "ipaddr", "ipprefix", "macaddr"},
    "uidgid": {"uid", "gid"},
}
# Sections whose contents are free-form or plugin-specific: not checked.
_FREE_SECTIONS = ("quorum.device", "resources")
_ENUMS = {
    "quorum.provider": {"corosync_votequorum"},
    "totem.transport": {"knet", "udp", "udpu"},
    "totem.link_mode": {"passive", "active", "rr"},
    "totem.ip_version": {"ipv4", "ipv6", "ipv4-6", "ipv6-4"},
    "totem.crypto_cipher": {"none", "aes256", "aes192", "aes128"},
    "totem.crypto_hash": {"none", "md5", "sha1", "sha256", "sha384", "sha512"},
    "logging.to_logfile": {"yes", "no", "on", "off"},
    "logging.to_syslog": {"yes", "no", "on", "off"},
    "logging.to_stderr": {"yes", "no", "on", "off"},
    "logging.timestamp": {"on", "off", "hires"},
}


@dataclass(frozen=True)
class Entry:
    section: str   # dotted path, e.g. "nodelist.node"
    index: int     # which occurrence of that section (0-based, per parent path)
    key: str
    value: str
    line: int


def parse(text: str) -> list[Entry]:
    """Flat list of key/value entries with their section path; brace problems are left to corosync."""
    entries: list[Entry] = []
    stack: list[str] = []
    counters: dict[str, int] = {}
    indexes: list[int] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("{"):
            name = line[:-1].strip()
            path = ".".join(stack + [name])
            idx = counters.get(path, 0)
            counters[path] = idx + 1
            stack.append(name)
            indexes.append(idx)
            continue
        if line == "}":
            if stack:
                stack.pop()
                indexes.pop()
            continue
        if ":" in line:
            key, value = line.split(":", 1)
            entries.append(Entry(".".join(stack), indexes[-1] if indexes else 0,
                                 key.strip(), value.strip(), number))
    return entries


def python_checks(text: str, ctx: ValidationContext | None, filename: str) -> list[str]:
    problems = bad_ipv4_literals(text, filename)
    entries = parse(text)
    for e in entries:
        if any(e.section == s or e.section.startswith(s + ".") for s in _FREE_SECTIONS):
            continue
        allowed = ALLOWED_KEYS.get(e.section)
        if allowed is None:
            problems.append(f"{filename}:{e.line}: unknown section '{e.section}'")
        elif e.key not in allowed:
            problems.append(f"{filename}:{e.line}: unknown key '{e.key}' in {e.section or 'top level'}")
        enum = _ENUMS.get(f"{e.section}.{e.key}")
        if enum is not None and e.value not in enum:
            problems.append(f"{filename}:{e.line}: {e.section}.{e.key} '{e.value}' is not one of "
                            f"{', '.join(sorted(enum))}")
    nodes: dict[int, dict[str, Entry]] = {}
    for e in entries:
        if e.section == "nodelist.node":
            nodes.setdefault(e.index, {})[e.key] = e
    seen_addr: dict[str, str] = {}
    names = []
    for fields in nodes.values():
        name = fields["name"].value if "name" in fields else "?"
        names.append(name)
        for key, e in fields.items():
            if key.startswith("ring") and key.endswith("_addr"):
                if e.value in seen_addr:
                    problems.append(f"{filename}:{e.line}: address {e.value} is used by "
                                    f"{seen_addr[e.value]} and {name}")
                seen_addr[e.value] = name
                if not valid_ip(e.value):
                    problems.append(f"{filename}:{e.line}: {key} '{e.value}' is not an IP address")
    if len(set(names)) != len(names):
        problems.append(f"{filename}: duplicate node name in nodelist ({', '.join(names)})")
    ring_numbers = {int(k[4]) for f in nodes.values() for k in f
                    if k.startswith("ring") and k.endswith("_addr")}
    for e in entries:
        if e.section == "totem.interface" and e.key == "linknumber":
            if not e.value.isdigit() or int(e.value) not in ring_numbers:
                problems.append(f"{filename}:{e.line}: interface linknumber {e.value} has no "
                                f"ring{e.value}_addr in the nodelist")
    values = {f"{e.section}.{e.key}": e.value for e in entries if e.section in ("quorum", "totem")}
    if values.get("quorum.two_node") != "1":
        problems.append(f"{filename}: quorum.two_node must be 1 for a two-node cluster")
    if ctx is not None:
        by_name = {f["name"].value: f for f in nodes.values() if "name" in f}
        if set(by_name) != set(ctx.nodes):
            problems.append(f"{filename}: nodelist names {sorted(by_name)} differ from the cluster "
                            f"nodes {list(ctx.nodes)}")
        for node in ctx.nodes:
            addrs = ctx.addresses(node)
            fields = by_name.get(node, {})
            for link, addr in enumerate(addrs):
                e = fields.get(f"ring{link}_addr")
                if e is not None and e.value != addr:
                    problems.append(f"{filename}:{e.line}: {node} ring{link}_addr is {e.value}, "
                                    f"expected {addr}")
                elif e is None and fields:
                    problems.append(f"{filename}: {node} has no ring{link}_addr (expected {addr})")
    return problems


def _test_copy(text: str, tmp: str) -> str:
    """The file with logfile moved into tmp and a keyfile in tmp.

    Line numbers stay the same (logfile rewritten in place, the keyfile added
    in a second totem block at the end, which corosync merges), so corosync's
    messages point at the right line of the original.
    """
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        key = stripped.split(":", 1)[0].strip() if ":" in stripped else ""
        indent = line[: len(line) - len(line.lstrip())]
        if key == "logfile":
            line = f"{indent}logfile: {os.path.join(tmp, 'corosync.log')}"
        elif key in ("keyfile", "key"):
            line = f"{indent}# {stripped}"
        out.append(line)
    out.append("totem {")
    out.append(f"    keyfile: {os.path.join(tmp, 'authkey')}")
    out.append("}")
    return "\n".join(out) + "\n"


_PREFIX = re.compile(r"^\w{3}\s+\d+\s+[\d:]+\s+(?:\[\d+\]\s+\S+\s+corosync\s+)?(\w+)\s+\[[^\]]*\]\s*")


def _messages(stderr: str, names: dict[str, str]) -> list[str]:
    out = []
    for raw in stderr.splitlines():
        line = raw.strip()
        if not line:
            continue
        m = _PREFIX.match(line)
        if m:
            level, line = m.group(1), line[m.end():]
            if level not in ("error", "crit", "warning", "alert", "emerg"):
                continue
        if "exiting with status" in line or "exiting normally" in line:
            continue
        for tmp_name, real in names.items():
            line = line.replace(tmp_name, real)
        out.append(line)
    return out


def check_corosync(text: str, ctx: ValidationContext, node: str,
                   path: str = "/etc/corosync/corosync.conf") -> list[Verdict]:
    """`corosync -t` as `node` (UTS namespace with that host name) + Python checks."""
    target = Target(node, path, "corosync")
    problems = python_checks(text, ctx, path)
    verdicts = [target.verdict("python", not problems, problems)]
    tools = tools_for(ctx.platform)
    corosync, keygen, unshare = tools.find("corosync"), tools.find("corosync-keygen"), tools.find("unshare")
    if corosync is None or keygen is None:
        return [target.missing("corosync -t", PACKAGE)] + verdicts
    if unshare is None:
        return [target.missing("corosync -t", "util-linux (unshare)")] + verdicts
    with tempfile.TemporaryDirectory(prefix="zbxha-corosync-") as tmp:
        key = tools.run([keygen, "-k", os.path.join(tmp, "authkey")])
        if key.rc != 0:
            return [target.verdict("corosync -t", False,
                                   [f"corosync-keygen failed: {key.stderr.strip()}"])] + verdicts
        conf = write(tmp, "corosync.conf", _test_copy(text, tmp))
        # A private UTS namespace lets corosync find `node` as the local host
        # without touching this machine's name; -r maps us to root in it when
        # we are not root. The name and paths are arguments, not shell text.
        argv = [unshare, "--uts"] + (["-r"] if os.geteuid() != 0 else []) + [
            "--", "/bin/sh", "-c", 'hostname "$1" && exec "$0" -t -c "$2"', corosync, node, conf]
        res = tools.run(argv)
        messages = _messages(res.stderr, {conf: path, os.path.join(tmp, "corosync.log"): "(logfile)"})
        ok = res.rc == 0
        if not ok and not messages:
            messages = [f"corosync -t exited with {res.rc}"]
        verdicts.insert(0, target.verdict("corosync -t", ok, messages if not ok else [],
                                          seconds=res.seconds))
    return verdicts
