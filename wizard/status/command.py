"""`zabbix-ha status --answers F [--json]`: the cluster on one screen, each problem with its fix.

Without --answers, on a node, it reads the answers the install applied
(/etc/zabbix-ha/cluster.yaml). Exit 0 healthy, 1 degraded (or a node not
reached), 2 bad input. Connects the way `zabbix-ha install` does
(wizard.install.command.connect_nodes, same options); a node that cannot be
reached is reported as a problem, and the other node still tells what it
sees. Changes nothing on the nodes.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers) -> None:
    from wizard.install.command import _common

    p = subparsers.add_parser("status", help="show the cluster's health on one screen; exit 1 if degraded",
                              description="Read both nodes (read-only) and show nodes, quorum, links, DRBD, "
                                          "resources, failed actions, leftover move/ban constraints, fencing and "
                                          "package parity, with the fix for every problem. Exit 0 healthy, "
                                          "1 degraded, 2 bad input.")
    _common(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--save-raw", metavar="DIR",
                   help="also save each command's raw output as DIR/NODE/KEY.json (for bug reports and fixtures)")
    p.add_argument("--from-raw", metavar="DIR",
                   help="do not contact the nodes: judge the outputs a --save-raw run kept in DIR")
    p.set_defaults(func=run)


def connect(spec, args, journal) -> tuple[dict, dict[str, str]]:
    """Executors for the nodes that answer, and why the others did not."""
    import dataclasses

    from wizard.errors import EnvironmentProblem
    from wizard.install.command import connect_nodes

    try:
        return connect_nodes(spec, args, journal), {}
    except EnvironmentProblem:
        pass
    executors, unreachable = {}, {}
    for node in spec.nodes:      # one at a time: the one that answers still reports the cluster
        try:
            executors.update(connect_nodes(dataclasses.replace(spec, nodes=[node]), args, journal))
        except EnvironmentProblem as exc:
            unreachable[node.hostname] = exc.message + (f" ({exc.fix})" if exc.fix else "")
    return executors, unreachable


def save_raw(raw_by_node: dict, directory: str) -> None:
    from dataclasses import asdict
    from pathlib import Path

    for node, raw in raw_by_node.items():
        d = Path(directory) / node
        d.mkdir(parents=True, exist_ok=True)
        if isinstance(raw, str):
            (d / "unreachable.txt").write_text(raw + "\n")
            continue
        for key, r in raw.items():
            data = {"key": key, **asdict(r), "argv": list(r.argv)}
            (d / f"{key}.json").write_text(json.dumps(data, indent=1) + "\n")


def load_raw(directory: str, nodes) -> dict:
    """What save_raw wrote: node -> {key: Raw}, or node -> why it was not reached."""
    from pathlib import Path

    from wizard.errors import UserError
    from wizard.preflight.facts import Raw

    out: dict = {}
    for node in nodes:
        d = Path(directory) / node
        if (d / "unreachable.txt").is_file():
            out[node] = (d / "unreachable.txt").read_text().strip()
            continue
        files = sorted(d.glob("*.json"))
        if not files:
            raise UserError(f"{d} holds no saved output of node {node}",
                            "give the directory a `zabbix-ha status --save-raw DIR` run wrote")
        raws = {}
        for f in files:
            data = json.loads(f.read_text())
            key = data.pop("key")
            data["argv"] = tuple(data["argv"])
            raws[key] = Raw(**data)
        out[node] = raws
    return out


def applied_answers() -> str:
    """Where the install keeps the applied answers on each node (wizard.install.final)."""
    from wizard.install.final import ANSWERS
    from wizard.platforms import Paths

    return f"{Paths().state_dir}/{ANSWERS}"


def run(args) -> int:
    from wizard.install.command import _inputs
    from wizard.journal import Journal
    from wizard.status.gather import gather_raw
    from wizard.status.health import problems
    from wizard.status.model import Expect, status_from_raw
    from wizard.status.view import as_json, format_screen

    if not getattr(args, "answers", None):
        from pathlib import Path

        if Path(applied_answers()).is_file():      # on a node: the answers the install applied
            args.answers = applied_answers()
    spec, _ = _inputs(args, need_secrets=False)
    expect = Expect.from_spec(spec)
    if args.from_raw:
        raw = load_raw(args.from_raw, expect.nodes)
    else:
        executors, unreachable = connect(spec, args, Journal())
        try:
            raw = gather_raw(executors, expect)
        finally:
            for ex in executors.values():
                ex.close()
        raw.update(unreachable)
    if args.save_raw:
        save_raw(raw, args.save_raw)
    status = status_from_raw(expect, raw)
    found = problems(status)
    if args.json:
        json.dump(as_json(status, found), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(format_screen(status, found))
    return 1 if any(p.severity in ("error", "warning") for p in found) else 0
