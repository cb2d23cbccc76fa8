"""`zabbix-ha plan` and `zabbix-ha install`: the install without the TUI.

`plan` prints every step per node, marks the destructive ones and changes
nothing; when the nodes are reachable it runs each step's read-only check
and says which are already done. `install` runs preflight first (errors
stop it), asks to type YES for every device it will write (or takes
`--yes`), then runs the plan on both nodes side by side, one line per
finished step, and keeps a journal (secrets masked) on the first node.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--answers", metavar="FILE", default=argparse.SUPPRESS, help="answers file (YAML)")
    p.add_argument("--secrets", metavar="FILE", default=argparse.SUPPRESS, help="secrets file (YAML, mode 0600)")
    ssh_arguments(p)


def ssh_arguments(p) -> None:
    """How to reach the nodes: what connect_nodes reads (also `export --nodes`; p may be an argument group)."""
    p.add_argument("--accept-host-key", metavar="SHA256:...", action="append", default=[],
                   help="trust a node's SSH host key with this fingerprint on first contact (repeatable)")
    p.add_argument("--known-hosts", metavar="FILE", action="append", default=[],
                   help="also trust the host keys in this known_hosts file (read only)")
    p.add_argument("--ssh-key", metavar="FILE", help="log in with this existing private key")
    p.add_argument("--trust-dir", metavar="DIR", help="where zabbix-ha keeps its SSH key and known_hosts")
    p.add_argument("--all-ssh", action="store_true", help="reach the first node by SSH too, even if it is this machine")


def register(subparsers) -> None:
    p = subparsers.add_parser("plan", help="print every install step per node; changes nothing",
                              description="Print the install as steps per node, marking the destructive ones. "
                                          "When the nodes are reachable, say which steps are already done.")
    _common(p)
    p.add_argument("--offline", action="store_true", help="do not contact the nodes")
    p.add_argument("--diff", action="store_true",
                   help="also show, per node, the unified diff of every file the install would change, and "
                        "the change to the cluster configuration (CIB); files holding secrets are not shown")
    p.set_defaults(func=cmd_plan)

    p = subparsers.add_parser("install", help="install the cluster on both nodes (preflight first)",
                              description="Run preflight, confirm the devices to be written, then install both "
                                          "nodes. Running it again resumes an interrupted install and changes "
                                          "only what differs.")
    _common(p)
    p.add_argument("--yes", action="store_true", default=argparse.SUPPRESS,
                   help="do not ask: unattended (destructive steps still refuse disks with data unless --force)")
    p.add_argument("--force", metavar="CODE", action="append", default=[],
                   help="accept a forceable finding, e.g. wipe-disk:NODE:/dev/DEVICE (repeatable)")
    p.add_argument("--serial", action="store_true", help="one step at a time, never both nodes at once")
    p.add_argument("--journal", metavar="FILE", help="where to append the command journal "
                                                     "(default: /var/lib/zabbix-ha/journal.jsonl on the first node)")
    p.set_defaults(func=cmd_install)


def _inputs(args, need_secrets: bool):
    from wizard.answers import load_answers, load_secrets
    from wizard.applied import refuse_fixed_changes, refuse_other_cluster
    from wizard.errors import UserError
    from wizard.spec import SpecError, errors, validate, validate_secrets

    answers = getattr(args, "answers", None)
    if not answers:
        raise UserError(f"{args.command} needs the answers file", f"run: zabbix-ha {args.command} --answers FILE")
    spec = load_answers(answers)
    # On a node of another cluster, these answers would make it this one's (exit 2, nothing done).
    refuse_other_cluster(spec, answers, f"{args.command} ")
    # On a node of this cluster: no answer it cannot change in place (a new DRBD disk, a node renamed).
    refuse_fixed_changes(spec)
    problems = errors(validate(spec))
    if problems:
        raise SpecError(problems)
    secrets_path = getattr(args, "secrets", None)
    if not secrets_path:
        if need_secrets:
            raise UserError("install needs the secrets file (database, hacluster and Zabbix Admin passwords)",
                            f"run: zabbix-ha install --answers {answers} --secrets FILE")
        return spec, None
    secrets = load_secrets(secrets_path)
    problems = errors(validate_secrets(spec, secrets))
    if problems:
        raise SpecError(problems)
    return spec, secrets


def connect_nodes(spec, args, journal) -> dict:
    """Executors for both nodes (this machine locally). Raises UserError naming the node."""
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    from wizard.errors import EnvironmentProblem
    from wizard.preflight.checks import Finding
    from wizard.preflight.command import _acceptor, _connect
    from wizard.sshtrust import TrustStore, default_dir

    args.json = getattr(args, "json", False)
    trust = TrustStore(Path(args.trust_dir) if args.trust_dir else default_dir(),
                       extra_known_hosts=tuple(args.known_hosts))
    accept = _acceptor(args)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda n: _connect(spec, n, trust, args, journal, accept), spec.nodes))
    problems = [r for r in results if isinstance(r, Finding)]
    if problems:
        for r in results:
            if not isinstance(r, Finding):
                r.close()
        raise EnvironmentProblem("; ".join(f"{f.node}: {f.message}" for f in problems),
                                 " / ".join(f.fix for f in problems))
    return {n.hostname: r for n, r in zip(spec.nodes, results)}


def contexts_for(spec, secrets, executors, on_event, accept_wipe=frozenset()):
    from wizard.install.step import Context, Shared, load_state
    from wizard.platforms import platform
    from wizard.render import render
    from wizard.spec import Secrets

    secrets = secrets or Secrets()
    tree = render(spec, secrets)
    shared = Shared(accept_wipe=frozenset(accept_wipe))
    shared.state.update(load_state(executors[spec.hostnames[0]], platform(spec.platform)))
    return {n: Context(spec, secrets, n, executors, tree, shared, on_event) for n in spec.hostnames}


# -- plan ------------------------------------------------------------------------

def cmd_plan(args) -> int:
    from wizard.journal import Journal

    spec, secrets = _inputs(args, need_secrets=False)
    text = None
    note = ""
    if not args.offline:
        try:
            executors = connect_nodes(spec, args, Journal(secrets.values() if secrets else ()))
        except Exception as exc:           # unreachable nodes: the plan is still worth printing
            note = f"(nodes not reached, so no step is marked done: {getattr(exc, 'message', exc)})"
        else:
            try:
                text = plan_text(spec, secrets, executors, diff=args.diff)
            finally:
                for ex in executors.values():
                    ex.close()
    else:
        note = "(--offline: the nodes were not contacted)"
    sys.stdout.write(text if text is not None else plan_text(spec))
    if note:
        print(note)
    return 0


def plan_text(spec, secrets=None, executors=None, diff: bool = False) -> str:
    """What `plan` prints: the steps per node, marked done/to do when `executors` reach the nodes,
    and with `diff` the file and CIB diffs. Also the bundle's live/plan-diff.txt (`export --nodes`)."""
    from wizard.install.plan import build_plan, plan_lines

    plan = build_plan(spec)
    status: dict[str, str] = {}
    diffs: list[str] = []
    if executors:
        contexts = contexts_for(spec, secrets, executors, lambda _e: None)
        status = _check_all(plan, contexts)
        if diff:
            diffs = _diffs(spec, contexts)
    out = "\n".join(plan_lines(plan, spec.hostnames, status)) + "\n"
    if diffs:
        out += "\n" + "".join(diffs)
    elif diff and status:
        out += "\nno file and no cluster configuration would change\n"
    if status:
        todo = sum(1 for v in status.values() if v == "todo")
        out += (f"\n{todo} step(s) would change something; "
                f"{sum(1 for v in status.values() if v == 'done')} already in place.\n")
    return out


def _diffs(spec, contexts) -> list[str]:
    from wizard.install.diff import cib_diff, effects, file_diffs
    from wizard.install.files import differing

    out: list[str] = []
    changed = {node: differing(contexts[node]) for node in spec.hostnames}    # asked once per node
    for node in spec.hostnames:
        out += file_diffs(contexts[node], changed[node])
    out += cib_diff(contexts[spec.hostnames[0]])
    if out:
        out += effects(contexts, spec.hostnames, changed)
    return out


def _check_all(plan, contexts) -> dict[str, str]:
    """Every step's read-only check; each node's in a thread of its own (the install runs the
    nodes side by side too), so a slow node does not double the wait."""
    from concurrent.futures import ThreadPoolExecutor

    def node_checks(node: str) -> dict[str, str]:
        out = {}
        for step in (s for s in plan.steps if s.node == node):
            if step.check is None:
                out[step.key] = "verify" if step.apply is None else "todo"
                continue
            try:
                out[step.key] = "done" if step.check(contexts[node]) else "todo"
            except Exception:
                out[step.key] = "todo"
        return out

    nodes = list(dict.fromkeys(step.node for step in plan.steps))
    with ThreadPoolExecutor(max_workers=max(1, len(nodes))) as pool:
        found = dict(zip(nodes, pool.map(node_checks, nodes)))
    return {step.key: found[step.node][step.key] for step in plan.steps}


# -- install ---------------------------------------------------------------------

class LinePrinter:
    """One line per finished step per node; progress lines indented; failures in full."""

    def __init__(self, out=sys.stdout) -> None:
        self.out = out
        self.lock = threading.Lock()

    def __call__(self, event) -> None:
        from wizard.install.events import InstallFinished, StepFinished, StepOutput

        with self.lock:
            if isinstance(event, StepFinished):
                mark = {"done": "ok     ", "changed": "CHANGED", "failed": "FAILED ", "skipped": "skipped"}[event.status]
                tail = f": {event.message}" if event.message and event.status != "done" else ""
                print(f"{time.strftime('%H:%M:%S')} {event.node:<10} {mark} {event.title} "
                      f"({event.seconds:.1f} s){tail}", file=self.out, flush=True)
                if event.status == "failed":
                    if event.output.strip():
                        for line in event.output.strip().splitlines()[-15:]:
                            print(f"{'':>20}| {line}", file=self.out)
                    if event.fix:
                        print(f"{'':>20}fix: {event.fix}", file=self.out, flush=True)
            elif isinstance(event, StepOutput):
                print(f"{time.strftime('%H:%M:%S')} {event.node:<10}         … {event.line}", file=self.out, flush=True)
            elif isinstance(event, InstallFinished):
                print(f"\ninstall {'finished' if event.ok else 'STOPPED'} in {event.seconds:.0f} s: "
                      f"{event.changed} step(s) changed something"
                      + (f"; failed: {', '.join(f'{n} {s}' for n, s in event.failed)}" if event.failed else ""),
                      file=self.out, flush=True)


def _preflight(spec, secrets, args) -> None:
    from wizard.errors import EnvironmentProblem
    from wizard.preflight.command import collect, format_table

    print("preflight: checking both nodes ...", flush=True)
    findings, _, _, timings = collect(spec, secrets, collect_options(args, args.force))
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        sys.stdout.write(format_table(errors))
        raise EnvironmentProblem(f"preflight found {len(errors)} error(s); nothing was installed",
                                 "fix them (or accept a listed one with --force CODE), then run install again")
    warnings = [f for f in findings if f.severity == "warning"]
    if warnings:
        sys.stdout.write(format_table(warnings))
    print(f"preflight: no errors ({len(warnings)} warning(s), {timings['total']:.1f} s)", flush=True)


def collect_options(args, force=()) -> argparse.Namespace:
    """Preflight's collect() options from a command's ssh_arguments: every probe, no journal file."""
    return argparse.Namespace(journal=None, trust_dir=args.trust_dir, known_hosts=args.known_hosts,
                              accept_host_key=args.accept_host_key, all_ssh=args.all_ssh, ssh_key=args.ssh_key,
                              no_probe=False, skip_source_probe=False, force=list(force),
                              json=getattr(args, "json", False))


def _confirm(destruction: list[str], args) -> None:
    from wizard.errors import UserError

    if not destruction:
        return
    text = "; ".join(destruction)
    if getattr(args, "yes", False):
        print(f"will {text} (--yes given)", flush=True)
        return
    if not sys.stdin.isatty():
        raise UserError(f"the install would {text}, and there is no terminal to confirm it",
                        "run it on a terminal, or pass --yes to confirm unattended")
    answer = input(f"The install will {text}.\nType YES to go on: ")
    if answer.strip() != "YES":
        raise UserError("not confirmed; nothing was changed", "run install again and type YES to go on")


def cmd_install(args) -> int:
    from wizard.install.plan import build_plan
    from wizard.install.session import open_session
    from wizard.remote import LocalExecutor

    spec, secrets = _inputs(args, need_secrets=True)
    plan = build_plan(spec)
    _preflight(spec, secrets, args)
    session = open_session(spec, secrets, args, LinePrinter(), plan=plan, accept_wipe=args.force,
                           journal_path=args.journal)
    try:
        _confirm(session.destruction(), args)
        summary, _record, note = session.run(serial=args.serial)
        if note:
            print(note)
    finally:
        session.close()
    if session.journal.path:
        first_local = isinstance(session.executors[spec.hostnames[0]], LocalExecutor)
        print(f"journal (secrets masked): {session.journal.path} on "
              f"{spec.hostnames[0] if first_local else 'this machine'}")
    if not summary.ok:
        print("Fix the failure above, then run the same install command again: it resumes where it stopped.")
    return 0 if summary.ok else 1
