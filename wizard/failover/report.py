"""What a drill measured, and what it means for availability.

The availability classes are the source design's table: a class allows
(100 - a) % of a year as downtime; one failover with the measured outage
fits that many times a year into it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from wizard.failover.probes import TIMEOUT as PROBE_TIMEOUT

YEAR_SECONDS = 365.25 * 86400
CLASSES = ("99", "99.9", "99.99", "99.999", "99.9999")


def allowed_downtime(availability: str) -> float:
    """Seconds of downtime per year the class allows."""
    return (100 - float(availability)) / 100 * YEAR_SECONDS


def failovers_per_year(outage: float, availability: str) -> int | None:
    """How many outages of this length fit in a year of the class; None: no outage measured."""
    if outage <= 0:
        return None
    return int(allowed_downtime(availability) // outage)


def human_seconds(s: float) -> str:
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


@dataclass
class ScenarioResult:
    name: str
    title: str
    ok: bool
    started: str                          # wall clock, ISO 8601
    seconds: float                        # the whole scenario, restore included
    timelines: dict = field(default_factory=dict)     # probe -> Timeline.as_dict()
    checks: list = field(default_factory=list)        # (what, ok, detail) after the scenario
    error: str = ""
    events: list = field(default_factory=list)        # (t, what happened) from the drill's side
    skipped: str = ""                                 # why it could not run on this cluster now
    resources: list = field(default_factory=list)     # Pacemaker's operations in its window (resources.py)

    @property
    def verdict(self) -> str:
        return "SKIP" if self.skipped else "PASS" if self.ok else "FAIL"

    @property
    def worst_outage(self) -> float | None:
        values = [t["outage_seconds"] for t in self.timelines.values()]
        if any(v is None for v in values):
            return None
        return max(values, default=0.0)

    @property
    def server_outage(self) -> float | None:
        """The Zabbix server's own downtime: what its trapper saw."""
        t = self.timelines.get("trapper")
        return None if t is None else t["outage_seconds"]


@dataclass
class Report:
    cluster: str
    version: str                          # zabbix-ha's
    started: str
    scenarios: list[ScenarioResult] = field(default_factory=list)
    refused: list = field(default_factory=list)       # health-gate problems when it refused to start
    probe_timeout: float = PROBE_TIMEOUT  # a probe without an answer within it counted as down

    @property
    def ok(self) -> bool:
        return not self.refused and all(s.ok for s in self.scenarios if not s.skipped)

    def as_json(self) -> str:
        data = asdict(self)
        data["ok"] = self.ok
        return json.dumps(data, indent=2) + "\n"


def availability_lines(outage: float) -> list[str]:
    out = []
    for a in CLASSES:
        n = failovers_per_year(outage, a)
        allowed = human_seconds(allowed_downtime(a))
        out.append(f"    {a:>8} %  allows {allowed:>9}/year  ->  "
                   + (f"{n} such failovers a year" if n is not None else "no outage measured"))
    return out


def format_text(report: Report) -> str:
    lines = [f"Failover test of cluster {report.cluster} (zabbix-ha {report.version}), started {report.started}", ""]
    if report.refused:
        lines.append("REFUSED: the cluster cannot fail over now; nothing was tested.")
        lines += [f"  - {p['message']}\n    fix: {p['fix']}" for p in report.refused]
        return "\n".join(lines) + "\n"
    lines += [f"Probes through the VIP once a second; no answer within {report.probe_timeout:g} s counts as down.", ""]
    for s in report.scenarios:
        lines.append(f"{s.verdict}  {s.title}" + ("" if s.skipped else f" ({s.seconds:.0f} s)"))
        if s.error or s.skipped:
            lines.append(f"      {s.error or s.skipped}")
        for name, t in s.timelines.items():
            out = t["outage_seconds"]
            shown = "never came back" if out is None else ("no outage" if out == 0 else f"down {out:.1f} s")
            windows = ", ".join(f"{a:.1f}-{'end' if b is None else f'{b:.1f}'} s" for a, b in t["outages"])
            lines.append(f"      {name:<10} {shown}" + (f"  ({windows})" if windows else ""))
        if s.resources:
            from wizard.failover.resources import format_lines

            lines.append("      Pacemaker's operations (end, resource, operation, how long, result):")
            lines += format_lines(s.resources)
        for what, ok, detail in s.checks:
            lines.append(f"      {'ok ' if ok else 'BAD'} {what}" + (f": {detail}" if detail else ""))
        worst = s.worst_outage
        if worst:
            lines.append(f"      worst outage {worst:.1f} s; at that length per failover:")
            lines += availability_lines(worst)
        lines.append("")
    ran = [s for s in report.scenarios if not s.skipped]
    lines.append("No scenario ran." if not ran else "Every scenario that ran passed." if report.ok
                 else "Some scenarios FAILED: see above.")
    return "\n".join(lines) + "\n"
