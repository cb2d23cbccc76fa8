"""DRBD 8.4 files: drbdadm's own parser plus the checks it does not make.

Debian's kernel ships DRBD 8.4, so drbdadm (9.x utils) execs drbdadm-84 at
runtime; DRBD_DRIVER_VERSION_OVERRIDE=8.4.11 picks that same parser here
without a kernel module (and silences the modinfo noise). `dump all` needs no
host name; `-d up <res>` pretends to be a node via __DRBD_NODE__ and prints
the drbdsetup commands, which proves the node's `on` section and the peer
connection resolve. The 8.4 parser lets bad enum values, bad IPv4 octets and
relative disk paths through (notes §1), so Python checks those.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tempfile

from .core import (Target, ValidationContext, Verdict, bad_ipv4_literals, clean_lines,
                   write)
from .tree import tools_for

PACKAGE = "drbd-utils"
_ENV = {"DRBD_DRIVER_VERSION_OVERRIDE": "8.4.11"}
_NOISE = ("found __DRBD_NODE__ in environment", "PRETENDING that I am",
          re.compile(r"^# "))

# DRBD 8.4 enum options (drbd.conf-8.4(5)); drbdadm-84 passes unknown values
# through to drbdsetup, which would only refuse them on the live node.
ENUMS_84: dict[str, frozenset[str]] = {
    "after-sb-0pri": frozenset({"disconnect", "discard-younger-primary", "discard-older-primary",
                               "discard-zero-changes", "discard-least-changes", "discard-local",
                               "discard-remote"}),
    "after-sb-1pri": frozenset({"disconnect", "consensus", "violently-as0p", "discard-secondary",
                               "call-pri-lost-after-sb"}),
    "after-sb-2pri": frozenset({"disconnect", "violently-as0p", "call-pri-lost-after-sb"}),
    "rr-conflict": frozenset({"disconnect", "call-pri-lost", "violently"}),
    "on-io-error": frozenset({"pass_on", "call-local-io-error", "detach"}),
    "fencing": frozenset({"dont-care", "resource-only", "resource-and-stonith"}),
    "protocol": frozenset({"A", "B", "C"}),
    "on-no-data-accessible": frozenset({"io-error", "suspend-io"}),
    "usage-count": frozenset({"yes", "no", "ask"}),
}
_OPTION = re.compile(r"^\s*([a-z0-9-]+)\s+([^;{}\s]+)\s*;")
_ON = re.compile(r"^\s*on\s+(\S+)\s*\{")
_RESOURCE = re.compile(r"^\s*resource\s+(\S+)\s*\{")
_CONNECT = re.compile(r"\bconnect\s+(\S+)\s+(ipv[46]):(\S+):(\d+)\s+(ipv[46]):(\S+):(\d+)")


def _strip_comment(line: str) -> str:
    return line.split("#", 1)[0]


# drbd.conf-8.4(5): al-extents max 6433 with the default 32 kB activity-log
# ring (drbdadm-84 lets 99999 through); shared-secret up to 64 characters.
AL_EXTENTS_RANGE = (7, 6433)
SHARED_SECRET_MAX = 64
_SECRET = re.compile(r'^\s*shared-secret\s+"([^"]*)"')


def shared_secrets(text: str) -> list[str]:
    """The shared-secret values of a file, to keep them out of every message."""
    return [m.group(1) for line in text.splitlines() if (m := _SECRET.match(_strip_comment(line)))]


def mask(lines: list[str], secrets: list[str]) -> list[str]:
    """Hide every secret, and the first characters drbdadm echoes of a long
    token ("but got 'sample-peer-secret-0...'")."""
    out = []
    for line in lines:
        for secret in (s for s in secrets if s):
            for n in range(len(secret), min(len(secret), 6) - 1, -1):
                line = line.replace(secret[:n], "********")
        out.append(line)
    return out


def python_checks(text: str, filename: str) -> list[str]:
    """IPv4 octets, 8.4 enum values, absolute device paths, al-extents, peer auth."""
    problems = bad_ipv4_literals(text, filename) + _brace_problems(text, filename)
    keys = set()
    for number, raw in enumerate(text.splitlines(), 1):
        line = _strip_comment(raw)
        secret = _SECRET.match(line)
        if secret:
            keys.add("shared-secret")
            if not secret.group(1) or len(secret.group(1)) > SHARED_SECRET_MAX:
                problems.append(f"{filename}:{number}: shared-secret must be 1-{SHARED_SECRET_MAX} characters")
            continue
        match = _OPTION.match(line)
        if not match:
            continue
        key, value = match.group(1), match.group(2).strip('"')
        keys.add(key)
        if key == "al-extents" and not (value.isdigit() and AL_EXTENTS_RANGE[0] <= int(value) <= AL_EXTENTS_RANGE[1]):
            problems.append(f"{filename}:{number}: al-extents {value} is outside "
                            f"{AL_EXTENTS_RANGE[0]}..{AL_EXTENTS_RANGE[1]} (32 kB activity log)")
        allowed = ENUMS_84.get(key)
        if allowed is not None and value not in allowed:
            problems.append(f"{filename}:{number}: {key} '{value}' is not a DRBD 8.4 value "
                            f"(allowed: {', '.join(sorted(allowed))})")
        if key in ("disk", "device", "meta-disk") and value != "internal" \
                and not value.startswith("/dev/"):
            # drbdadm accepts `disk sda6`; the node would fail to attach.
            problems.append(f"{filename}:{number}: {key} '{value}' must be an absolute /dev path")
    if "shared-secret" in keys and "cram-hmac-alg" not in keys:
        problems.append(f"{filename}: shared-secret without cram-hmac-alg: DRBD does not authenticate the peer")
    return problems


def _brace_problems(text: str, filename: str) -> list[str]:
    """drbdadm-84 accepts a file that ends inside `resource r0 {` (notes §1)."""
    depth = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = re.sub(r'"[^"]*"', "", _strip_comment(raw))
        for char in line:
            depth += {"{": 1, "}": -1}.get(char, 0)
            if depth < 0:
                return [f"{filename}:{number}: '}}' without a matching '{{'"]
    return [f"{filename}: {depth} unclosed '{{' at end of file"] if depth else []


def _context_checks(text: str, ctx: ValidationContext, filename: str) -> list[str]:
    problems = []
    resources = [m.group(1) for line in text.splitlines()
                 if (m := _RESOURCE.match(_strip_comment(line)))]
    if ctx.drbd_resource not in resources:
        problems.append(f"{filename}: no 'resource {ctx.drbd_resource}' section "
                        f"(found: {', '.join(resources) or 'none'})")
    hosts = [m.group(1) for line in text.splitlines() if (m := _ON.match(_strip_comment(line)))]
    for host in hosts:
        if host not in ctx.nodes:
            problems.append(f"{filename}: 'on {host}' is not a cluster node ({', '.join(ctx.nodes)})")
    for node in ctx.nodes:
        if node not in hosts:
            problems.append(f"{filename}: no 'on {node}' section")
    return problems


def _layout(tmp: str, path: str, text: str, global_common: str | None) -> tuple[str, dict[str, str]]:
    """Write the files like /etc/drbd.conf + /etc/drbd.d/ and return (conf, temp->real names)."""
    names = {}
    includes = []
    if global_common is not None:
        gc = write(tmp, "drbd.d/global_common.conf", global_common)
        names[gc] = "/etc/drbd.d/global_common.conf"
        names["drbd.d/global_common.conf"] = "/etc/drbd.d/global_common.conf"
        includes.append('include "drbd.d/global_common.conf";')
    base = os.path.basename(path) or "resource.res"
    if base != "global_common.conf" or global_common is None:
        f = write(tmp, f"drbd.d/{base}", text)
        names[f] = path
        names[f"drbd.d/{base}"] = path   # drbdadm names included files as written
        includes.append(f'include "drbd.d/{base}";')
    conf = write(tmp, "drbd.conf", "\n".join(includes) + "\n")
    names[conf] = "drbd.conf (test wrapper)"
    return conf, names


def _join(stderr: str) -> str:
    """drbdadm continues a message on a tab-indented line: make it one line."""
    return stderr.replace("\n\t", " ")


def _relabel(lines: list[str], names: dict[str, str]) -> list[str]:
    out = []
    for line in lines:
        for tmp_name, real in names.items():
            line = line.replace(tmp_name, real)
        out.append(line)
    return out


def _dump(target: Target, tools, drbdadm: str, conf: str, names: dict[str, str]) -> Verdict:
    res = tools.run([drbdadm, "-c", conf, "dump", "all"], env=_ENV)
    messages = _relabel(clean_lines(_join(res.stderr), _NOISE), names)
    ok = res.rc == 0 and not any("error" in m.lower() for m in messages)
    if res.rc != 0 and not messages:
        messages = [f"drbdadm dump all exited with {res.rc}"]
    return target.verdict("drbdadm dump", ok, messages, seconds=res.seconds)


def check_drbd_global(text: str, ctx: ValidationContext, node: str,
                      path: str = "/etc/drbd.d/global_common.conf") -> list[Verdict]:
    """global_common.conf alone: 8.4 parser (`dump all`) + Python enum/IP checks."""
    target = Target(node, path, "drbd-global")
    verdicts = [target.verdict("python", not (p := python_checks(text, path)), p)]
    tools = tools_for(ctx.platform)
    drbdadm = tools.find("drbdadm")
    if drbdadm is None:
        return [target.missing("drbdadm dump", PACKAGE)] + verdicts
    with tempfile.TemporaryDirectory(prefix="zbxha-drbd-") as tmp:
        conf, names = _layout(tmp, path, text, None)
        verdicts.insert(0, _dump(target, tools, drbdadm, conf, names))
    return verdicts


def check_drbd_resource(text: str, ctx: ValidationContext, node: str,
                        path: str | None = None,
                        global_common: str | None = None) -> list[Verdict]:
    """A resource file (with the node's global_common.conf when given).

    Verdicts: `drbdadm dump` (8.4 parser and cross-checks: duplicate IP:port,
    minor, disk, meta-disk index), `drbdadm -d up` as `node` (the node's
    section resolves and a `connect <res> ipv4:<local> ipv4:<peer>` results,
    with the local address one of the node's interconnect addresses), and
    `python` (enums, IPv4 octets, /dev paths, node and resource names).
    """
    path = path or f"/etc/drbd.d/{ctx.drbd_resource}.res"
    target = Target(node, path, "drbd-resource")
    problems = python_checks(text, path) + _context_checks(text, ctx, path)
    if global_common is not None:
        problems += python_checks(global_common, "/etc/drbd.d/global_common.conf")
    verdicts = [target.verdict("python", not problems, problems)]
    tools = tools_for(ctx.platform)
    drbdadm = tools.find("drbdadm")
    if drbdadm is None:
        return [target.missing("drbdadm dump", PACKAGE), target.missing("drbdadm -d up", PACKAGE)] + verdicts
    with tempfile.TemporaryDirectory(prefix="zbxha-drbd-") as tmp:
        conf, names = _layout(tmp, path, text, global_common)
        verdicts.insert(0, _dump(target, tools, drbdadm, conf, names))
        verdicts.insert(1, _dry_up(target, tools, drbdadm, conf, names, ctx, node))
    # The resource file holds the peer secret: never let a tool echo it.
    hidden = shared_secrets(text) + shared_secrets(global_common or "")
    return [dataclasses.replace(v, messages=mask(v.messages, hidden)) for v in verdicts]


def _dry_up(target: Target, tools, drbdadm: str, conf: str, names: dict[str, str],
            ctx: ValidationContext, node: str) -> Verdict:
    res_name = ctx.drbd_resource
    res = tools.run([drbdadm, "-c", conf, "-d", "up", res_name], env={**_ENV, "__DRBD_NODE__": node})
    messages = _relabel(clean_lines(_join(res.stderr), _NOISE), names)
    ok = res.rc == 0
    # drbdadm-84 only warns (rc 0) when the peer's `on` section is missing.
    if any("Missing section" in m for m in messages):
        ok = False
    connect = _CONNECT.search(res.stdout)
    if ok and (connect is None or connect.group(1) != res_name):
        ok = False
        messages.append(f"as {node}, 'drbdadm -d up {res_name}' printed no "
                        f"'connect {res_name} ipv4:...' command")
    if ok and connect is not None:
        # drbdsetup prints IPv6 addresses bracketed (and sometimes escaped): ipv6:\[fd00::1\]:7788
        local, peer = (connect.group(i).replace("\\", "").strip("[]") for i in (3, 6))
        mine, theirs = ctx.addresses(node), ctx.addresses(ctx.peer(node))
        if mine and local not in mine:
            ok = False
            messages.append(f"as {node}, DRBD connects from {local}, which is not one of "
                            f"{node}'s interconnect addresses ({', '.join(mine)})")
        if theirs and peer not in theirs:
            ok = False
            messages.append(f"as {node}, DRBD connects to {peer}, which is not one of "
                            f"the peer's interconnect addresses ({', '.join(theirs)})")
    if res.rc != 0 and not messages:
        messages = [f"drbdadm -d up {res_name} exited with {res.rc}"]
    return target.verdict("drbdadm -d up", ok, messages, seconds=res.seconds)
