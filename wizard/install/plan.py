"""The plan: every step of both nodes, in an order that honours every dependency.

Stages run in this order; each stage lists its steps in a valid serial
order (a step that waits for the other node comes after it). A node works through its own steps one after the other; steps of the
two nodes run side by side, and a step waits only for the steps of the
other node it names. The order is also a valid serial order (`--serial`),
which `build_plan` checks.
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard.install import cib, cluster, database, drbd, fencing, files, final, packages, services, system
from wizard.install.step import Context, Step
from wizard.spec import ClusterSpec

STAGES = ("state", "packages", "files", "system", "fencing", "cluster", "drbd", "database", "cib", "final")


@dataclass(frozen=True)
class Plan:
    steps: list[Step]

    def for_node(self, node: str) -> list[Step]:
        return [s for s in self.steps if s.node == node]

    def find(self, key: str) -> Step:
        for s in self.steps:
            if s.key == key:
                return s
        raise KeyError(key)


def dependency_keys(step: Step) -> list[str]:
    return [d if ":" in d else f"{step.node}:{d}" for d in step.after]


def build_plan(spec: ClusterSpec) -> Plan:
    nodes = spec.hostnames
    staged = {
        "state": final.state_steps(nodes),
        "packages": packages.steps(nodes),
        "files": files.steps(nodes),
        "system": system.steps(nodes) + cluster.authkey_steps(nodes),
        "fencing": fencing.steps(nodes, spec.fencing.method),
        "cluster": cluster.steps(nodes),
        "drbd": drbd.steps(nodes),
        "database": database.steps(nodes),
        "cib": cib.steps(nodes) + services.steps(nodes),
        "final": final.steps(nodes),
    }
    ordered: list[Step] = []
    for stage in STAGES:
        ordered += staged[stage]
    seen: set[str] = set()
    for step in ordered:
        if step.key in seen:
            raise ValueError(f"step {step.key} appears twice in the plan")
        for dep in dependency_keys(step):
            if dep not in seen:
                raise ValueError(f"step {step.key} waits for {dep}, which does not come before it")
        seen.add(step.key)
    return Plan(ordered)


def pending_destruction(plan: Plan, contexts: dict[str, Context]) -> list[str]:
    """What the destructive steps still to be done would destroy (read-only checks)."""
    out = []
    for step in plan.steps:
        if step.destructive is None:
            continue
        ctx = contexts[step.node]
        if step.check is not None and step.check(ctx):
            continue
        out.append(step.destructive(ctx))
    return out


PLAN_MARKS = {"done": "done ", "todo": "to do", "verify": "check"}


def plan_lines(plan: Plan, nodes: list[str], status: dict[str, str] | None = None) -> list[str]:
    """The steps per node as `zabbix-ha plan` prints them; `status`: step key -> done/todo/verify."""
    status = status or {}
    lines = []
    for node in nodes:
        lines.append(f"{node}:")
        for step in plan.for_node(node):
            mark = PLAN_MARKS.get(status.get(step.key, ""), "     ")
            flag = "  DESTRUCTIVE" if step.destructive is not None else ""
            lines.append(f"  [{mark}] {step.id:<20} {step.title}{flag}")
    return lines
