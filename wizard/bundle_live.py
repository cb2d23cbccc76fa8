"""The live/ part of a review bundle (`zabbix-ha export --nodes`): what the nodes say now.

Reads only, and through the functions `zabbix-ha preflight` and `plan --diff`
print from, so live/ holds what those commands would have shown; plus the
newest failover test reports from the first node. It lays out nothing
(wizard/bundle.py does) and writes nothing. A node not reached stops it
before anything is written: a bundle is whole or not made. Every text leaves
through the journal's mask of the known secrets (raw, JSON- and
XML-escaped): the preflight journal and the diffs hold none by themselves
(a file holding one is only said to differ); the mask is the second lock.
"""

from __future__ import annotations

import html
import json
import re
import time

from wizard.bundle import Live
from wizard.errors import EnvironmentProblem

# The newest reports only (each a .json and a .txt): the recent drills, not the cluster's history.
FAILOVER_REPORTS = 5
# What failover-test's save_report writes: <stamp>.json and <stamp>.txt, the stamp
# sorting by time (20261128T140311Z). Any other file there is not a report.
_REPORT = re.compile(r"([0-9A-Za-z][0-9A-Za-z+_-]*)\.(json|txt)")
# Preflight findings that mean a node was not reached (it connects on its own).
_UNREACHED = ("host-key-unknown", "host-key-changed", "ssh-auth-failed", "ssh-unreachable", "ssh-lost")


def take_live(spec, secrets, args) -> Live:
    """Preflight, plan --diff and the failover reports, with `args` as `zabbix-ha plan` takes them
    (ssh_arguments). Raises EnvironmentProblem (exit 1) naming a node that was not reached."""
    from wizard.failover.command import REPORT_DIR
    from wizard.install.command import connect_nodes, plan_text
    from wizard.journal import Journal

    try:
        executors = connect_nodes(spec, args, Journal(secrets.values() if secrets else ()))
    except EnvironmentProblem as exc:
        raise _unreached(exc.message, exc.fix) from None
    try:
        taken = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        preflight = _preflight(spec, secrets, args)
        plan = plan_text(spec, secrets, executors, diff=True)
        first = spec.hostnames[0]
        reports = failover_reports(executors[first], REPORT_DIR)
    finally:
        for ex in executors.values():
            ex.close()
    mask = _masker(secrets.values() if secrets else ())
    return Live(taken=taken, preflight=mask(preflight), plan_diff=mask(plan), failover_from=f"{first}:{REPORT_DIR}",
                failover={name: mask(text) for name, text in reports.items()})


def _preflight(spec, secrets, args) -> str:
    from wizard.install.command import collect_options
    from wizard.preflight.command import collect, format_report

    findings, _facts, journal, timings = collect(spec, secrets, collect_options(args))
    lost = [f for f in findings if f.code in _UNREACHED]
    if lost:
        raise _unreached("; ".join(f"{f.node}: {f.message}" for f in lost), " / ".join(f.fix for f in lost))
    return format_report(findings, journal, timings)


def failover_reports(ex, directory: str) -> dict[str, str]:
    """The newest FAILOVER_REPORTS reports in `directory` on the node: file name -> text, oldest first."""
    if not ex.run(["test", "-d", directory], check=False, timeout=30).ok:
        return {}                      # no drill has saved a report on this node yet
    names = [n for n in ex.run(["ls", "-1", "--", directory], timeout=30).stdout.splitlines() if _REPORT.fullmatch(n)]
    newest = sorted({_REPORT.fullmatch(n).group(1) for n in names})[-FAILOVER_REPORTS:]
    return {n: ex.get(f"{directory}/{n}", timeout=60) for n in sorted(names) if _REPORT.fullmatch(n).group(1) in newest}


def _masker(values):
    """The journal's mask, also over the JSON and XML spellings of each secret: a report
    is JSON, a diff may be XML, and a secret there would be escaped."""
    from wizard.journal import Journal

    journal = Journal()
    for value in values:
        for form in (value, json.dumps(value)[1:-1], html.escape(value), html.escape(value, quote=False)):
            journal.add_secret(form)
    return journal.mask


def _unreached(message: str, fix: str) -> EnvironmentProblem:
    return EnvironmentProblem(f"export --nodes: a node was not reached ({message}); no bundle was written",
                              f"{fix}; or leave out --nodes for the offline bundle")
