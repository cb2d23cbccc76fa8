"""Lines to merge into /etc/hosts: no tool reads them offline, so Python does."""

from __future__ import annotations

from .core import Target, ValidationContext, Verdict, valid_hostname, valid_ip


def python_checks(text: str, ctx: ValidationContext, filename: str) -> list[str]:
    problems = []
    names: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if not valid_ip(fields[0]):
            problems.append(f"{filename}:{number}: '{fields[0]}' is not an IP address")
        if len(fields) < 2:
            problems.append(f"{filename}:{number}: no host name after {fields[0]}")
        for name in fields[1:]:
            if not valid_hostname(name):
                problems.append(f"{filename}:{number}: '{name}' is not a valid host name")
            elif name in names and names[name] != fields[0]:
                problems.append(f"{filename}:{number}: {name} maps to {fields[0]} and {names[name]}")
            names.setdefault(name, fields[0])
    for node in ctx.nodes:
        if node not in names:
            problems.append(f"{filename}: no line for node {node}")
    return problems


def check_hosts(text: str, ctx: ValidationContext, node: str,
                path: str = "/etc/zabbix-ha/hosts") -> list[Verdict]:
    problems = python_checks(text, ctx, path)
    return [Target(node, path, "hosts").verdict("python", not problems, problems)]
