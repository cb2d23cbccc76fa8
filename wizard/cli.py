"""The `zabbix-ha` entry point.

With no subcommand it starts the TUI wizard; subcommands do the same work
without it, for automation and review. Each subcommand lives in its own
module exposing `register(subparsers)`; this file only wires them up.
Exit codes: 0 done, 1 findings/failure, 2 bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from wizard import __version__
from wizard.errors import UserError

# Modules that add subcommands. Imported at start-up, so they must keep their
# own heavy imports (paramiko, textual, jinja2) inside the command functions.
COMMAND_MODULES = (
    "wizard.commands",
    "wizard.lab.cli",
    "wizard.login",
    "wizard.preflight.command",
    "wizard.install.command",
    "wizard.status.command",
    "wizard.failover.command",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zabbix-ha",
        description="Install an active/standby Zabbix cluster on two servers.",
    )
    parser.add_argument("--version", action="version", version=f"zabbix-ha {__version__}")
    parser.add_argument("--plain", action="store_true",
                        help="ask the questions as plain line prompts (serial consoles, dumb terminals)")
    parser.add_argument("--answers", metavar="FILE", help="answers file (YAML) to start from")
    parser.add_argument("--secrets", metavar="FILE", help="secrets file (YAML, mode 0600)")
    parser.add_argument("--yes", action="store_true",
                        help="unattended: take the answers file as it is, ask nothing")
    parser.add_argument("--force", action="store_true",
                        help="with --yes: replace saved answers that differ (otherwise they are kept and it stops)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # subsystem not built yet
        module.register(subparsers)
    parser.set_defaults(func=run_wizard)
    return parser


def run_wizard(args: argparse.Namespace) -> int:
    from wizard.interactive import run

    return run(args)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UserError as exc:
        print(f"zabbix-ha: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("zabbix-ha: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
