"""`zabbix-ha failover-test`: the guided failover drill without the TUI, also for periodic drills from cron.

It refuses a cluster that cannot fail over (naming what and the fix),
explains each scenario and asks before it (or takes --yes), prints each
probe's state changes as they happen, and saves the report as JSON and text
on the first node (/var/lib/zabbix-ha/failover/). Ctrl-C aborts the running
scenario, which then restores the starting state; a second Ctrl-C leaves
at once. Exit 0: every scenario that ran passed; 1: one failed or the
cluster was refused; 2: bad input.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

REPORT_DIR = "/var/lib/zabbix-ha/failover"
PROBE_TIMEOUT_RANGE = (1.0, 60.0)     # seconds a probe through the VIP may take before it counts as down


def register(subparsers) -> None:
    from wizard.failover.probes import TIMEOUT as PROBE_TIMEOUT
    from wizard.failover.scenarios import SCENARIOS
    from wizard.install.command import _common

    names = [s.name for s in SCENARIOS]
    p = subparsers.add_parser("failover-test", help="prove the cluster fails over, measuring the outage through the VIP",
                              description="Check that the cluster can fail over, then run failover scenarios "
                                          "while probing the frontend, the API and the Zabbix server through the "
                                          "VIP. Every scenario restores the starting state. Scenarios, in order: "
                                          + ", ".join(names) + ".")
    _common(p)
    p.add_argument("--scenario", action="append", choices=names, default=[], metavar="NAME",
                   help="run this scenario (repeatable; default: all, in the order above)")
    p.add_argument("--list", action="store_true", help="list the scenarios with what each does, and exit")
    p.add_argument("--yes", action="store_true", default=argparse.SUPPRESS,
                   help="do not ask before each scenario (periodic drills)")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of text")
    p.add_argument("--probe-timeout", type=_probe_timeout, default=PROBE_TIMEOUT, metavar="SECONDS",
                   help=f"a probe through the VIP not answered within this counts as down (default "
                        f"{PROBE_TIMEOUT:g}; {PROBE_TIMEOUT_RANGE[0]:g}-{PROBE_TIMEOUT_RANGE[1]:g}): raise it "
                        "where a slow answer is not an outage, e.g. emulated test nodes")
    p.set_defaults(func=run)


def _probe_timeout(text: str) -> float:
    low, high = PROBE_TIMEOUT_RANGE
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:        # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from {low:g} to {high:g}")
    return value


def _describe() -> str:
    import textwrap

    from wizard.failover.scenarios import SCENARIOS

    out = []
    for s in SCENARIOS:
        out.append(f"{s.name}: {s.title}")
        out += textwrap.wrap(s.explain, 76, initial_indent="    ", subsequent_indent="    ")
    return "\n".join(out) + "\n"


class Printer:
    """Messages with a clock; for probes only their changes (down / back)."""

    def __init__(self, out=sys.stdout) -> None:
        self.out = out
        self.state: dict[str, bool] = {}
        self.lock = threading.Lock()

    def __call__(self, event) -> None:
        from wizard.failover.drill import Message, ProbeSample

        with self.lock:
            if isinstance(event, Message):
                print(f"{time.strftime('%H:%M:%S')} {event.text}", file=self.out, flush=True)
            elif isinstance(event, ProbeSample):
                s = event.sample
                if self.state.get(event.probe) != s.ok:
                    if event.probe in self.state or not s.ok:
                        word = "back" if s.ok else "DOWN"
                        print(f"{time.strftime('%H:%M:%S')}   {event.probe:<9} {word} at {s.t:.1f} s"
                              + ("" if s.ok else f": {s.detail}"), file=self.out, flush=True)
                    self.state[event.probe] = s.ok


def _confirm(args, out):
    import textwrap

    def ask(sc) -> bool:
        print(f"\n== {sc.title} ==", file=out)
        print("\n".join(textwrap.wrap(sc.explain, 78)), file=out, flush=True)
        if getattr(args, "yes", False):
            return True
        out.write("Run it? [y/N] ")
        out.flush()
        answer = sys.stdin.readline().strip().lower()
        return answer in ("y", "yes")
    return ask


def _admin_password(args) -> str:
    from pathlib import Path

    from wizard.answers import load_secrets
    from wizard.errors import UserError
    from wizard.install.final import SECRETS
    from wizard.platforms import Paths

    path = getattr(args, "secrets", None)
    applied = f"{Paths().state_dir}/{SECRETS}"
    if not path and Path(applied).is_file():
        path = applied
    if not path:
        raise UserError("the failover test logs in to Zabbix as Admin and needs the secrets file",
                        "run: zabbix-ha failover-test --answers FILE --secrets FILE (on a node of the cluster "
                        f"the install's copy in {applied} is used)")
    secret = load_secrets(path).zabbix_admin_password
    if secret is None:
        raise UserError(f"{path} has no zabbix_admin_password", "add it (the password the install set for Admin)")
    return secret.reveal()


def save_report(executors: dict, nodes: list[str], report) -> str:
    """Write the report on the first node that takes it; where it went, or why nowhere."""
    from wizard.failover.report import format_text

    stamp = report.started.replace(":", "").replace("-", "").replace("+0000", "Z")
    why = "no node reached"
    for node in nodes:
        ex = executors.get(node)
        if ex is None:
            continue
        try:
            ex.run(["mkdir", "-p", "-m", "0750", REPORT_DIR], timeout=30)
            ex.put(f"{REPORT_DIR}/{stamp}.json", report.as_json(), 0o640)
            ex.put(f"{REPORT_DIR}/{stamp}.txt", format_text(report), 0o640)
            return f"report saved on {node}: {REPORT_DIR}/{stamp}.json and .txt"
        except Exception as exc:     # the report is also printed; saving is best effort per node
            why = f"{node}: {getattr(exc, 'message', exc)}"
    return f"report not saved ({why})"


def run(args) -> int:
    from wizard import __version__
    from wizard.errors import UserError
    from wizard.failover.api import ApiError
    from wizard.failover.cluster import ClusterOps, DrillFailed
    from wizard.failover.drill import Drill, run_drill
    from wizard.failover.report import format_text
    from wizard.failover.scenarios import SCENARIOS, by_name
    from wizard.install.command import _inputs, connect_nodes
    from wizard.journal import Journal
    from wizard.remote import LocalExecutor
    from wizard.status.command import applied_answers

    if args.list:
        sys.stdout.write(_describe())
        return 0
    if not getattr(args, "yes", False) and not sys.stdin.isatty():
        raise UserError("failover-test asks before each scenario, and there is no terminal to ask on",
                        "run it in a terminal, or add --yes for an unattended drill")
    if not getattr(args, "answers", None):
        from pathlib import Path

        if Path(applied_answers()).is_file():
            args.answers = applied_answers()
    spec, _ = _inputs(args, need_secrets=False)
    password = _admin_password(args)
    scenarios = [by_name(n) for n in args.scenario] if args.scenario else list(SCENARIOS)
    executors = connect_nodes(spec, args, Journal())
    local = next((n for n, ex in executors.items() if isinstance(ex, LocalExecutor)), None)
    out = sys.stderr if args.json else sys.stdout        # --json: stdout holds the report only
    printer = Printer(out)
    ops = ClusterOps(spec, executors, local, log=lambda m: printer(_message(m)))
    drill = Drill(ops, password, on_event=printer, probe_timeout=args.probe_timeout)
    box: dict = {}

    def work():
        try:
            box["report"] = run_drill(drill, scenarios, confirm=_confirm(args, out), version=__version__)
        except (DrillFailed, ApiError) as exc:     # a slow or unreachable API through the VIP: said, no traceback
            box["error"] = str(exc)
        except BaseException as exc:         # reported by the main thread
            box["crash"] = exc

    worker = threading.Thread(target=work, name="failover-drill", daemon=True)
    worker.start()
    interrupts = 0
    while worker.is_alive():
        try:
            worker.join(0.5)
        except KeyboardInterrupt:
            interrupts += 1
            if interrupts == 1:
                drill.stop.set()
                print("\naborting: the running scenario restores the starting state (Ctrl-C again leaves now)",
                      file=sys.stderr, flush=True)
            else:
                print("left without restoring: check `zabbix-ha status` (a standby node, a downed link or a "
                      "fail count may be left)", file=sys.stderr)
                for ex in executors.values():
                    ex.close()
                return 130
    try:
        if "crash" in box:
            raise box["crash"]
        if "error" in box:
            print(f"failover test stopped: {box['error']}", file=sys.stderr)
            return 1
        report = box["report"]
        note = save_report(executors, spec.hostnames, report) if report.scenarios or report.refused else ""
    finally:
        for ex in executors.values():
            ex.close()
    sys.stdout.write(report.as_json() if args.json else "\n" + format_text(report))
    if note:
        print(note, file=sys.stderr)
    ran = [s for s in report.scenarios if not s.skipped]
    return 0 if report.ok and ran else 1


def _message(text: str):
    from wizard.failover.drill import Message
    return Message(text)
