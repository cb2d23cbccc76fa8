"""`zabbix-ha render`, `validate` and `export`: the core without the TUI."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    from wizard.install.command import ssh_arguments

    render = subparsers.add_parser(
        "render", help="write every generated file, one tree per node",
        description="Render the configuration files of both nodes into DIR/<node>/<path>.")
    answers_arguments(render)
    render.add_argument("--out", required=True, metavar="DIR", help="directory to write the trees into")
    render.set_defaults(func=cmd_render)

    validate = subparsers.add_parser(
        "validate", help="render to a temporary directory and check every file with the real tools",
        description="Check every generated file with the tool that will read it "
                    "(drbdadm, corosync, crm_verify/crm_simulate, apache2ctl, mariadbd, zabbix_server).")
    answers_arguments(validate)
    validate.set_defaults(func=cmd_validate)

    export = subparsers.add_parser(
        "export", help="write a review bundle (.tar.gz): files per node, plan, answers; no secrets",
        description="Write what the install would put on the nodes as one archive for review: the files "
                    "per node, the install steps, the answers, a MANIFEST of SHA-256 sums and a README. "
                    "Needs no node. Holds no password (files that hold one show a placeholder). The "
                    "same answers always give a byte-identical archive. With --nodes it also reads both "
                    "nodes (read-only) and adds live/: the preflight findings, the plan with its file and "
                    "CIB diffs, the newest failover test reports, and the time they were taken.")
    answers_arguments(export, secrets_help="secrets file (YAML, mode 0600): checked to be complete for these "
                                           "answers; nothing of it goes into the bundle")
    export.add_argument("--out", required=True, metavar="FILE", help="the archive to write, e.g. bundle.tar.gz")
    export.add_argument("--nodes", action="store_true",
                        help="also read both nodes, as `plan` and `preflight` do, into live/ (then the archive "
                             "is no longer byte-identical to another); a node not reached: exit 1, nothing written")
    ssh_arguments(export.add_argument_group("reaching the nodes (with --nodes; as for `zabbix-ha plan`)"))
    export.set_defaults(func=cmd_export)


def answers_arguments(parser: argparse.ArgumentParser,
                      secrets_help: str = "secrets file (YAML, mode 0600); "
                                          "without it files holding secrets are left out") -> None:
    parser.add_argument("--answers", required=True, metavar="FILE", help="answers file (YAML)")
    parser.add_argument("--secrets", metavar="FILE", help=secrets_help)


def load_inputs(args: argparse.Namespace):
    """(spec, secrets or None, warnings) from --answers/--secrets; raises UserError."""
    from wizard.answers import load_answers, load_secrets
    from wizard.spec import SpecError, check, errors, validate_secrets

    spec = load_answers(args.answers)
    warnings = check(spec)
    secrets = None
    if args.secrets:
        secrets = load_secrets(args.secrets)
        problems = errors(validate_secrets(spec, secrets))
        if problems:
            raise SpecError(problems)
    return spec, secrets, warnings


def print_warnings(warnings) -> None:
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)


def cmd_render(args: argparse.Namespace) -> int:
    from wizard.outdir import open_out_dir, write_tree
    from wizard.render import render

    out = Path(args.out)
    outdir = open_out_dir(out)
    spec, secrets, warnings = load_inputs(args)
    print_warnings(warnings)
    tree = render(spec, secrets)
    result = write_tree(tree, outdir)
    for node, files in tree.items():
        print(f"{node}: {len(files)} files in {out / node}")
    for path in result.removed:
        print(f"removed {path} (an earlier render wrote it; this one does not)")
    if secrets is None:
        print("note: no --secrets given; files that hold passwords were not rendered", file=sys.stderr)
    return 0 if result.written else 1


def validation_context(spec):
    from wizard.validators import ValidationContext

    return ValidationContext(
        nodes=tuple(spec.hostnames),
        preferred=spec.preferred_node,
        link_addresses=tuple(tuple(link.addresses[i] for link in spec.links) for i in range(len(spec.nodes))),
        drbd_resource=spec.storage.resource,
        platform=spec.platform,
    )


def cmd_validate(args: argparse.Namespace) -> int:
    from wizard.render import render

    spec, secrets, warnings = load_inputs(args)
    print_warnings(warnings)
    tree = render(spec, secrets)
    from wizard.validators import validate_tree  # after the input checks: runs tools

    verdicts = validate_tree(tree, validation_context(spec))
    failed = 0
    for v in verdicts:
        if v.ok:
            status = "valid"
        elif v.skipped_reason:
            status = f"NOT CHECKED ({v.skipped_reason})"
        else:
            status = "INVALID"
        if not v.ok:
            failed += 1
        print(f"{v.node:<12} {v.path:<46} {v.tool:<26} {status}")
        for message in ([] if v.ok else v.messages):
            print(f"    {message}")
    print(f"{len(verdicts) - failed} valid, {failed} invalid or unchecked")
    return 1 if failed else 0


def cmd_export(args: argparse.Namespace) -> int:
    import hashlib

    from wizard.bundle import build_bundle, check_bundle_out, write_bundle

    out = Path(args.out)
    check_bundle_out(out)
    # The secrets are loaded to refuse a wrong or incomplete file, as render
    # does, and with --nodes for preflight's BMC test and to mask what the
    # nodes say; build_bundle is never given them, so none can end up inside.
    spec, secrets, warnings = load_inputs(args)
    print_warnings(warnings)
    live = None
    if args.nodes:
        from wizard.bundle_live import take_live

        print("reading both nodes: preflight, plan --diff, failover reports ...", file=sys.stderr, flush=True)
        live = take_live(spec, secrets, args)
    data = build_bundle(spec, live)
    write_bundle(data, out)
    print(f"{out}: review bundle of {spec.name} ({len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()})")
    if live is not None:
        print(f"live/ taken from the nodes at {live.taken}: this archive is not byte-identical to another",
              file=sys.stderr)
    print("it holds no secret; read README.txt inside for how to review it", file=sys.stderr)
    return 0
