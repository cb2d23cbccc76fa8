"""Failover outages through the VIP, per scenario and probe, beside the anchors.

Reads a report of `zabbix-ha failover-test --json` (a file, or with
--from-lab the newest one on the VM lab's node1, where the install e2e's
drill saves it) and prints, per scenario, each probe's outage, the worst of
them, and its ratio to the anchors recorded in ../shared/notes/lab.md:

- 171 s: the API lost through the VIP on a standby switchover when the
  rendered stack was applied by hand on the VM lab (Part D; the baseline to
  beat);
- 28.5 s: a DRBD-only switchover with crmsh on the VM lab;
- 3.5 s: a standby switchover of VIP + filesystem + Apache on the container
  lab.

The anchors were measured once, on the same lab and emulation (TCG), not in
this run: this script says so beside every ratio. The drill itself measures
its scenarios side by side in one run (same cluster, same probes).

    .venv/bin/python benchmarks/failover.py REPORT.json
    .venv/bin/python benchmarks/failover.py --from-lab
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ANCHORS = (("by-hand stack, standby switchover, VM lab (baseline)", 171.0),
           ("crmsh DRBD-only switchover, VM lab", 28.5),
           ("VIP+fs+apache standby switchover, container lab", 3.5))
REPORT_DIR = "/var/lib/zabbix-ha/failover"


def newest_lab_report() -> dict:
    from wizard.answers import load_answers
    from wizard.lab.paths import ANSWERS_FILE
    from wizard.lab.ssh import ssh_run

    node1 = load_answers(ANSWERS_FILE).nodes[0].address
    name = ssh_run(node1, ["sh", "-c", f"ls -1t {REPORT_DIR}/*.json | head -n 1"], timeout=60).stdout.strip()
    if not name:
        raise SystemExit(f"no failover report on the lab's node1 in {REPORT_DIR}: run the drill first")
    return json.loads(ssh_run(node1, ["cat", name], timeout=60).stdout)


def lines(report: dict) -> list[str]:
    from wizard.failover.probes import TIMEOUT     # what reports from before the option used

    out = [f"Failover test of {report['cluster']} started {report['started']} (zabbix-ha {report['version']})",
           f"a probe not answered within {report.get('probe_timeout', TIMEOUT):g} s counted as down", ""]
    for s in report["scenarios"]:
        if s["skipped"]:
            out.append(f"{s['name']:<14} skipped: {s['skipped']}")
            continue
        outages = {p: t["outage_seconds"] for p, t in s["timelines"].items()}
        shown = "  ".join(f"{p} {'never back' if v is None else f'{v:.1f} s'}" for p, v in outages.items())
        out.append(f"{s['name']:<14} {'PASS' if s['ok'] else 'FAIL'}  {shown}")
        known = [v for v in outages.values() if v is not None]
        if known and len(known) == len(outages):
            worst = max(known)
            for what, anchor in ANCHORS:
                out.append(f"{'':<14} worst {worst:.1f} s = {worst / anchor:.2f} x {anchor:g} s ({what}; "
                           "recorded, not this run)")
        slowest = sorted((o for o in s.get("resources", []) if o.get("seconds")), key=lambda o: -o["seconds"])[:3]
        for o in slowest:
            out.append(f"{'':<14} slowest: {o['resource']} {o['op']} on {o['node']} {o['seconds']:.1f} s")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("report", nargs="?", help="a report saved by zabbix-ha failover-test --json")
    parser.add_argument("--from-lab", action="store_true", help="the newest report on the VM lab's node1")
    args = parser.parse_args()
    if args.from_lab:
        report = newest_lab_report()
    elif args.report:
        report = json.loads(Path(args.report).read_text())
    else:
        parser.error("give a report file or --from-lab")
    print("\n".join(lines(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
