"""Per-resource timeline of a scenario, from Pacemaker's own log: which operation took how long, where.

The probes say how long Zabbix was away through the VIP; this says where the
seconds went (the lab's hand-made baseline lost 35 s in the Zabbix server's
stop, 47 s in a fence device restarted mid-transition). pacemaker-controld
logs every operation it executes on its node, "Requesting local execution
of OP operation for RSC on NODE" when it starts and "Result of OP operation
for RSC on NODE: RESULT" when it ends; both nodes' journals are read for
the scenario's window. Probes and recurring monitors that find a resource
fine are left out; a monitor that finds it failed is kept (that is how a
kill is seen).

A fence is its own line: from the controller's request ("Requesting fencing
(reboot) of node N"; Pacemaker 3: "targeting node N") to its verdict ("Peer N
was terminated (reboot) by X ...: OK"), and the fence delay the fencer waited
first ("Delaying 'reboot' action targeting N using DEVICE for 30s") as a line
of its own: in a lost node's outage they are most of the seconds.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

_REQUEST = re.compile(r"Requesting local execution of (\w+) operation for (\S+) on (\S+)")
_RESULT = re.compile(r"Result of (\w+) operation for (\S+) on (\S+): (.+?)\s*(?:\||$)")
KEPT_OPS = ("start", "stop", "promote", "demote", "notify", "monitor")
_FENCE_REQUEST = re.compile(r"Requesting fencing \((\w+)\) (?:of|targeting) node (\S+)")
_FENCE_DELAY = re.compile(r"Delaying '(\w+)' action targeting (\S+) using \S+ for (\d+)s")
_FENCE_DONE = re.compile(r"Peer (\S+) was( not)? terminated \((\w+)\) by (\S+) on behalf of \S+: (.+)")


@dataclass(frozen=True)
class Operation:
    resource: str
    op: str
    node: str
    begin: float | None          # seconds from the scenario's start; None: began before the window
    end: float                   # when its result was logged
    result: str                  # "ok", "not running", "Timed Out", ...

    @property
    def seconds(self) -> float | None:
        return None if self.begin is None else round(self.end - self.begin, 1)


def parse_journal(text: str, since: float) -> list[Operation]:
    """`journalctl -o short-unix` lines of pacemaker.service -> the operations they show, in order."""
    begun: dict[tuple[str, str, str], float] = {}
    fence_begun: dict[str, float] = {}          # target -> when its fencing was requested here
    out = []
    for line in text.splitlines():
        stamp, _, rest = line.partition(" ")
        try:
            t = float(stamp) - since
        except ValueError:
            continue
        if t < 0:
            continue                   # before the window (journalctl's --since is per second)
        if m := _REQUEST.search(rest):
            begun[(m.group(2), m.group(1), m.group(3))] = t
        elif m := _FENCE_REQUEST.search(rest):
            fence_begun[m.group(2)] = t
        elif m := _FENCE_DELAY.search(rest):
            target, delay = m.group(2), int(m.group(3))
            out.append(Operation(f"fence {target}", "delay", _host(rest), round(t, 1), round(t + delay, 1), "waited"))
            if target in fence_begun:
                fence_begun[target] = t + delay      # the fence itself runs after the delay
        elif m := _FENCE_DONE.search(rest):
            target, refused, action, executor, verdict = m.groups()
            if target not in fence_begun:
                continue                             # requested by the other node: its journal has it
            begin = fence_begun.pop(target)
            ok = not refused and verdict.strip().startswith("OK")
            out.append(Operation(f"fence {target}", action, executor, round(begin, 1), round(t, 1),
                                 "ok" if ok else verdict.strip()))
        elif m := _RESULT.search(rest):
            op, resource, node, result = m.group(1), m.group(2), m.group(3), m.group(4).strip()
            if op not in KEPT_OPS:
                continue
            begin = begun.pop((resource, op, node), None)
            if op == "monitor" and result.lower() in ("ok", "promoted"):
                continue               # a recurring check that found it fine (promoted: DRBD's primary;
                                       # Pacemaker 3 logs them "OK", "Promoted")
            out.append(Operation(resource, op, node, None if begin is None else round(begin, 1), round(t, 1),
                                 result))
    return out


def _host(line_rest: str) -> str:
    """The node a journal line was logged on (`node1 pacemaker-fenced[1]: ...`)."""
    return line_rest.split(" ", 1)[0]


def read(ops, since: float, until: float) -> list[dict]:
    """Both nodes' operations in [since, until] (wall clock, epoch seconds), by end time; a node
    that does not answer (crashed, rebooting) contributes nothing."""
    found: list[Operation] = []
    for node in ops.nodes:
        try:
            res = ops.run(node, ["journalctl", "-u", "pacemaker", "-o", "short-unix", "--no-pager", "-q",
                                 "--since", f"@{int(since)}", "--until", f"@{int(until) + 1}"],
                          timeout=60, check=False)
        except Exception:
            continue
        if res.ok:
            found += parse_journal(res.stdout, since)
    return [asdict(o) | {"seconds": o.seconds} for o in sorted(found, key=lambda o: (o.end, o.node))]


def format_lines(operations: list[dict], width: int = 80) -> list[str]:
    """"  +12.3 s  zabbix-server  stop on node1  35.2 s  ok" per operation."""
    out = []
    for o in operations:
        took = "" if o["seconds"] is None else f"{o['seconds']:.1f} s"
        line = f"        +{o['end']:6.1f} s  {o['resource']:<16} {o['op']:<7} on {o['node']:<10} {took:>8}  {o['result']}"
        out.append(line[:width])
    return out
