"""`zabbix-ha lab ...`: a real two-node lab on this machine.

Heavy work is imported inside the command functions: this module is
imported every time `zabbix-ha` starts.
"""

from __future__ import annotations

import argparse
import json
import sys

FAULTS = ("link-down", "link-up", "cut", "heal", "power-off", "power-on")


def register(subparsers) -> None:
    from wizard.lab.paths import DEFAULT_PLATFORM
    from wizard.platforms import PLATFORMS

    lab = subparsers.add_parser("lab", help="a real two-node lab on this machine (VMs or containers)",
                                description="Create, use and remove two lab nodes on this machine. Needs root.")
    verbs = lab.add_subparsers(dest="lab_command", metavar="VERB", required=True)

    p = verbs.add_parser("up", help="build (once) and boot two nodes; writes a ready answers file")
    p.add_argument("--flavour", choices=("vm", "container"), default="vm",
                   help="vm: qemu VMs with real DRBD (default); container: fast systemd-nspawn nodes, no DRBD")
    p.add_argument("--platform", choices=tuple(PLATFORMS), default=DEFAULT_PLATFORM,
                   help=f"the nodes' OS: {', '.join(f'{k} = {v.name}' for k, v in PLATFORMS.items())} "
                        f"(default {DEFAULT_PLATFORM})")
    p.add_argument("--no-fencing", action="store_true", help="vm: do not start the simulated BMCs")
    p.add_argument("--preinstalled", action="store_true",
                   help="boot nodes whose image already holds every package of the platform table "
                        "(built once from the local mirror, cached); the mirror is served all the same")
    p.set_defaults(func=cmd_up)

    p = verbs.add_parser("down", help="remove everything the lab created (also after a crash)")
    p.set_defaults(func=cmd_down)

    p = verbs.add_parser("status", help="show the lab's nodes, addresses and links")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_status)

    p = verbs.add_parser("ssh", help="SSH to a node (host key checked), optionally run a command")
    p.add_argument("node", choices=("node1", "node2"))
    p.add_argument("remote", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="command to run on the node")
    p.set_defaults(func=cmd_ssh)

    p = verbs.add_parser("exec", help="run a command on the lab's host side (inside its network namespace)",
                         description="Runs COMMAND inside the lab's network namespace, where the lab's "
                                     "addresses, the VIP and the mirror are reachable, e.g. "
                                     "`zabbix-ha lab exec -- curl http://VIP/`.")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND")
    p.set_defaults(func=cmd_exec)

    p = verbs.add_parser("shell", help="a shell on the lab's host side (inside its network namespace)")
    p.set_defaults(func=cmd_shell)

    # Internal: the mirror's HTTP server, started by `lab up` as its own
    # process. A verb of ours rather than `python -m http.server` because in
    # the one-file binary sys.executable is zabbix-ha, not a Python.
    p = verbs.add_parser("serve-repo")
    p.add_argument("--bind", required=True)
    p.add_argument("--directory", required=True)
    p.add_argument("port", type=int)
    p.set_defaults(func=cmd_serve_repo)

    p = verbs.add_parser("reset", help="give both nodes fresh disks and boot them again")
    p.set_defaults(func=cmd_reset)

    p = verbs.add_parser("fault", help="inject a fault",
                         description="link-down/link-up NODE LINK: one interconnect (ic1|ic2) of a node; "
                                     "cut/heal NODE: all interconnects of a node; "
                                     "power-off/power-on NODE: pull the plug / switch on again.")
    p.add_argument("fault", choices=FAULTS)
    p.add_argument("node", choices=("node1", "node2"))
    p.add_argument("link", nargs="?", choices=("ic1", "ic2"))
    p.set_defaults(func=cmd_fault)

    p = verbs.add_parser("answers", help="print the path of the lab's answers file")
    p.add_argument("--fencing", choices=("default", "sbd"), default="default",
                   help="sbd: the variant fenced by SBD on the VMs' shared disk instead of IPMI")
    p.add_argument("--root-password-file", action="store_true",
                   help="print the path of the file (0600) holding the nodes' root password instead")
    p.set_defaults(func=cmd_answers)


def cmd_up(args) -> int:
    from wizard.lab import lab

    lab.up(args.flavour, fencing=not args.no_fencing, preinstalled=args.preinstalled, platform_id=args.platform)
    return 0


def cmd_down(args) -> int:
    from wizard.lab import lab

    lab.down()
    return 0


def cmd_status(args) -> int:
    from wizard.lab import lab

    info = lab.status()
    if args.json:
        print(json.dumps(info, indent=2))
        return 0 if info["up"] else 1
    if not info["up"]:
        left = info.get("leftovers") or []
        print("no lab is up" + (f"; leftover links: {', '.join(left)} (run `zabbix-ha lab down`)" if left else ""))
        return 1
    print(f"{info['platform']} {info['flavour']} lab{' (' + info['accel'] + ')' if info['accel'] else ''}"
          f"{', packages preinstalled' if info['preinstalled'] else ''}, "
          f"package mirror {info['repo_url']}, answers {info['answers']}")
    print(f"host side in network namespace {info['netns']} (`zabbix-ha lab exec -- CMD`, `zabbix-ha lab shell`); "
          f"root password file {info['root_password_file']}")
    for node, n in info["nodes"].items():
        links = " ".join(f"{net}={addr}{'' if n['links'][net] else ' (DOWN)'}" for net, addr in n["addresses"].items())
        key = info["host_keys"].get(n["addresses"]["mgmt"], "")
        print(f"  {node}: {'running' if n['running'] else 'POWERED OFF'}  {links}  {key}")
    return 0


def cmd_ssh(args) -> int:
    import os

    from wizard.lab import state
    from wizard.lab.lab import layout_of, require_host
    from wizard.lab.ssh import ssh_argv

    require_host()
    st = state.require()
    remote = args.remote[1:] if args.remote[:1] == ["--"] else args.remote
    argv = ssh_argv(layout_of(st).node_address("mgmt", args.node), remote or None,
                    tty=not remote and sys.stdin.isatty())
    os.execvp(argv[0], argv)


def _exec_in_lab(argv: list[str]) -> int:
    import os

    from wizard.lab import netns, state
    from wizard.lab.lab import require_host

    require_host()
    state.require()
    if not netns.exists():
        from wizard.errors import EnvironmentProblem
        raise EnvironmentProblem(f"the lab's network namespace {netns.NAME} is missing",
                                 "`zabbix-ha lab down`, then `zabbix-ha lab up`")
    full = netns.host_argv(argv)
    os.execvp(full[0], full)


def cmd_exec(args) -> int:
    from wizard.errors import UserError

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise UserError("lab exec needs a command", "e.g. zabbix-ha lab exec -- ip -br addr")
    return _exec_in_lab(command)


def cmd_shell(args) -> int:
    import os

    shell = os.environ.get("SHELL") or "/bin/sh"
    print("zabbix-ha lab: a shell inside the lab's network namespace; `exit` leaves it", file=sys.stderr)
    return _exec_in_lab([shell])


def cmd_reset(args) -> int:
    from wizard.lab import lab

    lab.reset()
    return 0


def cmd_fault(args) -> int:
    from wizard.errors import UserError
    from wizard.lab import fault

    if args.fault in ("link-down", "link-up") and not args.link:
        raise UserError(f"{args.fault} needs the link: ic1 or ic2", f"e.g. zabbix-ha lab fault {args.fault} {args.node} ic1")
    fault.inject(args.fault, args.node, args.link)
    return 0


def cmd_answers(args) -> int:
    from wizard.errors import UserError
    from wizard.lab.answers import SBD_ANSWERS_FILE
    from wizard.lab.paths import ANSWERS_FILE, ROOT_PASSWORD_FILE, SECRETS_FILE

    if args.root_password_file:
        if not ROOT_PASSWORD_FILE.exists():
            raise UserError("the lab has no root password file", "run `zabbix-ha lab up` first")
        print(ROOT_PASSWORD_FILE)
        return 0
    path = SBD_ANSWERS_FILE if args.fencing == "sbd" else ANSWERS_FILE
    if not path.exists():
        raise UserError(f"the lab has no answers file {path.name}",
                        "run `zabbix-ha lab up` first (the SBD variant exists for the vm flavour only)")
    print(path)
    print(f"# secrets: {SECRETS_FILE}", file=sys.stderr)
    return 0


def cmd_serve_repo(args: argparse.Namespace) -> int:
    import functools
    import http.server

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=args.directory)
    with http.server.ThreadingHTTPServer((args.bind, args.port), handler) as server:
        server.serve_forever()
    return 0
