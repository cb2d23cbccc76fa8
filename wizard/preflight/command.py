"""`zabbix-ha preflight --answers F [--secrets S] [--json]`.

Connects to both nodes (the local one without SSH), gathers facts in
parallel, probes the paths between them, and prints every finding with its
fix. Exit 0 when there is no error, 1 otherwise, 2 for bad input.
paramiko and the checks are imported inside the command: start-up time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "preflight", help="check both servers and the network between them; print every problem with its fix",
        description="Discover both nodes, probe the links between them and list every finding "
                    "(error/warning/info) with its fix. Exit 1 if any error. Changes nothing on the nodes.")
    # SUPPRESS: do not clobber `zabbix-ha --answers F preflight` given before the subcommand.
    p.add_argument("--answers", metavar="FILE", default=argparse.SUPPRESS, help="answers file (YAML)")
    p.add_argument("--secrets", metavar="FILE", default=argparse.SUPPRESS,
                   help="secrets file (0600); needed to test the IPMI fence devices")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--accept-host-key", metavar="SHA256:...", action="append", default=[],
                   help="trust a node's SSH host key with this fingerprint on first contact (repeatable)")
    p.add_argument("--known-hosts", metavar="FILE", action="append", default=[],
                   help="also trust the host keys in this known_hosts file (read only)")
    p.add_argument("--ssh-key", metavar="FILE", help="log in with this existing private key")
    p.add_argument("--trust-dir", metavar="DIR",
                   help="where zabbix-ha keeps its SSH key and known_hosts (default /etc/zabbix-ha/ssh as root)")
    p.add_argument("--all-ssh", action="store_true", help="reach the first node by SSH too, even if it is this machine")
    p.add_argument("--no-probe", action="store_true", help="skip the traffic probes between the nodes")
    p.add_argument("--skip-source-probe", action="store_true", help="do not test the package source from the nodes")
    p.add_argument("--force", metavar="CODE", action="append", default=[],
                   help="accept a forceable finding, as its table line names it (repeatable); "
                        "e.g. wipe-disk:NODE:/dev/DEVICE accepts erasing that one device's signatures")
    p.add_argument("--journal", metavar="FILE", help="append every command run (secrets masked) to FILE")
    p.set_defaults(func=run)




def _connect(spec, node, trust, args, journal, accept):
    """An executor for `node`, or a Finding saying why not."""
    from wizard.preflight.checks import Finding
    from wizard.remote import AuthFailed, ConnectFailed, LocalExecutor, SSHExecutor, is_local_address
    from wizard.sshtrust import HostKeyChanged, HostKeyUnknown, connect

    if not args.all_ssh and node is spec.nodes[0] and is_local_address(node.address):
        return LocalExecutor(node.hostname, journal=journal)
    try:
        if args.ssh_key:
            ex = SSHExecutor(node.address, trust=trust, node=node.hostname, port=node.ssh_port, user=node.ssh_user,
                             key_paths=[args.ssh_key], journal=journal, accept_host_key=accept)
            ex.connect()
            return ex
        try:
            return connect(node, trust, accept_host_key=accept, journal=journal)
        except AuthFailed:
            # Prompt only on a terminal and never in --json mode (the TUI calls
            # collect() with json=True from a worker thread: it must not prompt).
            if not sys.stdin.isatty() or getattr(args, "json", False):
                raise
            import getpass

            from wizard.spec import Secret
            password = Secret(getpass.getpass(f"SSH password for {node.ssh_user}@{node.address} (asked once; "
                                              "zabbix-ha installs its own key): "))
            return connect(node, trust, password=password, accept_host_key=accept, journal=journal)
    except HostKeyUnknown as exc:
        return Finding("host-key-unknown", "error", node.hostname, exc.message, exc.fix,
                       {"fingerprint": exc.info.fingerprint, "key_type": exc.info.key_type})
    except HostKeyChanged as exc:
        return Finding("host-key-changed", "error", node.hostname, exc.message, exc.fix,
                       {"expected": exc.expected, "got": exc.got})
    except AuthFailed as exc:
        return Finding("ssh-auth-failed", "error", node.hostname, unprefixed(exc.message, node.hostname), exc.fix, {})
    except ConnectFailed as exc:
        return Finding("ssh-unreachable", "error", node.hostname, unprefixed(exc.message, node.hostname), exc.fix,
                       {})


def unprefixed(message: str, node: str) -> str:
    """A connection error's message without its leading "node: " (a finding shows its node itself)."""
    return message.removeprefix(f"{node}: ")


def _acceptor(args):
    from wizard.sshtrust import HostKeyInfo

    wanted = set(args.accept_host_key)

    def accept(info: HostKeyInfo) -> bool:
        if info.fingerprint in wanted:
            return True
        if sys.stdin.isatty() and not args.json:
            answer = input(f"First contact with {info.host}:{info.port}: host key {info.key_type} "
                           f"{info.fingerprint}\nCompare it on the node's console "
                           "(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub). Trust it? [y/N] ")
            return answer.strip().lower() in ("y", "yes")
        return False

    return accept


def collect(spec, secrets, args):
    """(findings, facts_by_node, journal, timings) for the spec; the heart of the command."""
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    from wizard.preflight import checks as preflight
    from wizard.journal import Journal
    from wizard.platforms import PLATFORMS
    from wizard.preflight.checks import Finding
    from wizard.preflight.probes import probe
    from wizard.sshtrust import TrustStore, default_dir

    timings: dict[str, float] = {}
    t0 = time.monotonic()
    journal = Journal(secrets.values() if secrets else (), path=args.journal)
    trust = TrustStore(Path(args.trust_dir) if args.trust_dir else default_dir(),
                       extra_known_hosts=tuple(args.known_hosts))
    accept = _acceptor(args)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda n: _connect(spec, n, trust, args, journal, accept), spec.nodes))
    timings["connect"] = time.monotonic() - t0
    executors = {n.hostname: r for n, r in zip(spec.nodes, results) if not isinstance(r, Finding)}
    conn_findings = [r for r in results if isinstance(r, Finding)]
    try:
        platform = PLATFORMS.get(spec.platform) or next(iter(PLATFORMS.values()))
        packages = platform.packages(spec.fencing.method, spec.storage.filesystem)
        devices = {n.hostname: [d for d in (spec.storage.nodes[i].disk, spec.storage.nodes[i].meta_disk) if d]
                   for i, n in enumerate(spec.nodes) if i < len(spec.storage.nodes)}
        t1 = time.monotonic()
        facts, lost = _gather(executors, packages, spec.hostnames, devices)
        conn_findings += lost
        for f in lost:
            executors.pop(f.node).close()
        timings["facts"] = time.monotonic() - t1
        probes = None
        if len(executors) == 2 and not args.no_probe:
            t2 = time.monotonic()
            probes = probe(spec, executors, facts, secrets, probe_sources=not args.skip_source_probe)
            timings["probes"] = time.monotonic() - t2
        findings = conn_findings + preflight.check(spec, facts, secrets, probes=probes, forced=set(args.force))
        if conn_findings:
            # A node we could not reach has no facts: say so once, via the connection finding.
            unreachable = {f.node for f in conn_findings}
            findings = [f for f in findings if not (f.code == "facts-missing" and f.node in unreachable)]
    finally:
        for ex in executors.values():
            ex.close()
    timings["total"] = time.monotonic() - t0
    order = {"error": 0, "warning": 1, "info": 2}
    findings.sort(key=lambda f: order[f.severity])
    return findings, facts, journal, timings


def _gather(executors, packages, names, devices):
    """Facts of every reachable node; a node lost on the way becomes a finding."""
    from concurrent.futures import ThreadPoolExecutor

    from wizard.errors import UserError
    from wizard.preflight.facts import gather
    from wizard.preflight.checks import Finding

    def one(item):
        node, ex = item
        try:
            return node, gather(ex, packages=packages, names=names, devices=devices.get(node, ()), node=node)
        except UserError as exc:        # ConnectFailed, CommandTimeout, AuthFailed (sudo)
            return node, Finding("ssh-lost", "error", node, unprefixed(exc.message, node), exc.fix, {})

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(pool.map(one, executors.items()))
    facts = {n: r for n, r in results.items() if not isinstance(r, Finding)}
    return facts, [r for r in results.values() if isinstance(r, Finding)]


def format_table(findings, width: int = 100) -> str:
    import textwrap

    if not findings:
        return "No findings: both nodes are ready.\n"
    node_w = max([len("NODE")] + [len(f.node or "both") for f in findings])
    code_w = max([len("CODE")] + [len(f.code) for f in findings])
    indent = 9 + node_w + 2 + code_w + 2
    text_w = max(width - indent, 30)
    lines = [f"{'SEVERITY':<9}{'NODE':<{node_w + 2}}{'CODE':<{code_w + 2}}MESSAGE / FIX"]
    for f in findings:
        msg = textwrap.wrap(f.beside_node(), text_w) or [""]
        fix = textwrap.wrap("fix: " + f.fix, text_w) if f.fix else []
        if f.force_code and f.severity == "error":
            fix += textwrap.wrap(f"or, after checking, accept it: --force {f.force_code}", text_w)
        lines.append(f"{f.severity:<9}{(f.node or 'both'):<{node_w + 2}}{f.code:<{code_w + 2}}{msg[0]}")
        lines += [" " * indent + m for m in msg[1:] + fix]
    return "\n".join(lines) + "\n"


def run(args) -> int:
    from wizard.answers import load_answers, load_secrets
    from wizard.errors import UserError
    from wizard.spec import SpecError, errors, validate, validate_secrets

    answers = getattr(args, "answers", None)
    if not answers:
        raise UserError("preflight needs the answers file", "run: zabbix-ha preflight --answers FILE")
    spec = load_answers(answers)
    problems = validate(spec)
    if errors(problems):
        raise SpecError(problems)
    secrets_path = getattr(args, "secrets", None)
    secrets = load_secrets(secrets_path) if secrets_path else None
    # Secrets reach the nodes (the BMC password on a fence agent's stdin):
    # they are judged before anything runs, like the answers.
    if secrets is not None and errors(validate_secrets(spec, secrets)):
        raise SpecError(errors(validate_secrets(spec, secrets)))
    findings, _, journal, timings = collect(spec, secrets, args)
    n_err, n_warn, n_info = _counts(findings)
    if args.json:
        json.dump({"findings": [f.as_dict() for f in findings],
                   "summary": {"errors": n_err, "warnings": n_warn, "infos": n_info},
                   "timings": {k: round(v, 3) for k, v in timings.items()},
                   "commands": len(journal.entries)}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        import shutil

        sys.stdout.write(format_report(findings, journal, timings, shutil.get_terminal_size((100, 24)).columns))
    return 1 if n_err else 0


def _counts(findings) -> tuple[int, int, int]:
    n_err = sum(f.severity == "error" for f in findings)
    n_warn = sum(f.severity == "warning" for f in findings)
    return n_err, n_warn, len(findings) - n_err - n_warn


def format_report(findings, journal, timings, width: int = 100) -> str:
    """The table and the summary line, as `zabbix-ha preflight` prints them (and `export --nodes` keeps them)."""
    n_err, n_warn, n_info = _counts(findings)
    return (format_table(findings, width) + f"\n{n_err} error(s), {n_warn} warning(s), {n_info} info(s); "
            f"{len(journal.entries)} commands in {timings['total']:.1f} s\n")
