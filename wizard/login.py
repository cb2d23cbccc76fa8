"""`zabbix-ha login --answers F (--password-file FILE | --password-stdin)`.

Sets up zabbix-ha's own SSH login to the nodes without prompts: for every
node that is not this machine, log in once with the given password, install
zabbix-ha's own key (wizard.sshtrust.connect) and check that the key alone
works. The password never comes from argv. Host keys follow the usual rule:
a node seen for the first time must be confirmed, here with
--accept-host-key and its fingerprint (the lab's nodes are trusted already).
Exit 0 when every node is reachable with our key, 1 when one is not (named),
2 for bad input.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "login", help="set up zabbix-ha's own SSH login to the nodes once, with a password from a file or stdin",
        description="For each node that is not this machine: log in once with the password, install "
                    "zabbix-ha's own key, and use only the key from then on. The password is never taken "
                    "from the command line.")
    p.add_argument("--answers", metavar="FILE", default=argparse.SUPPRESS, help="answers file (YAML)")
    p.add_argument("--node", metavar="NAME", action="append", default=[],
                   help="only this node (hostname from the answers; repeatable); default: every node")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--password-file", metavar="FILE",
                     help="file holding the SSH password (first line; the file must not be readable by others)")
    src.add_argument("--password-stdin", action="store_true", help="read the SSH password from standard input")
    p.add_argument("--accept-host-key", metavar="SHA256:...", action="append", default=[],
                   help="trust a node's SSH host key with this fingerprint on first contact (repeatable)")
    p.add_argument("--trust-dir", metavar="DIR",
                   help="where zabbix-ha keeps its SSH key and known_hosts (default /etc/zabbix-ha/ssh as root)")
    p.set_defaults(func=run)


def read_password(args) -> str:
    from wizard.errors import UserError

    if args.password_stdin:
        text = sys.stdin.readline()
        where = "standard input"
    else:
        path = args.password_file
        try:
            info = os.stat(path)
            if stat.S_ISREG(info.st_mode) and info.st_mode & 0o077:
                raise UserError(f"--password-file {path} is readable by others (mode {info.st_mode & 0o777:04o})",
                                f"chmod 600 {path}")
            with open(path, encoding="utf-8") as f:
                text = f.readline()
        except UnicodeDecodeError:
            raise UserError(f"--password-file {path} is not text", "put the password on the file's first line") from None
        except OSError as exc:
            raise UserError(f"--password-file {path}: {exc.strerror}", "give a readable file") from None
        where = f"--password-file {path}"
    password = text.rstrip("\r\n")
    if not password:
        raise UserError(f"no password in {where}", "give the SSH password on the first line")
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        raise UserError(f"the password in {where} holds a control character", "give the password alone on one line")
    return password


def _load(path):
    from wizard.answers import load_answers
    from wizard.spec import SpecError, errors, validate

    spec = load_answers(path)
    problems = validate(spec)
    if errors(problems):
        raise SpecError(problems)
    return spec


def _select(spec, names):
    from wizard.errors import UserError

    known = [n.hostname for n in spec.nodes]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UserError(f"--node {unknown[0]}: no such node in the answers (nodes: {', '.join(known)})",
                        "use a hostname from the answers file's nodes")
    return [n for n in spec.nodes if not names or n.hostname in names]


def login_node(node, trust, password, accept) -> str:
    """What was done, as one line; raises UserError (naming the host) on failure."""
    from wizard.remote import AuthFailed, is_local_address
    from wizard.sshtrust import connect

    if is_local_address(node.address):
        return f"{node.hostname}: this machine ({node.address}); no SSH login needed"
    target = f"{node.ssh_user}@{node.address}"
    try:
        with connect(node, trust, accept_host_key=accept):
            return f"{node.hostname}: zabbix-ha's key already works for {target}; nothing to do"
    except AuthFailed:
        pass
    with connect(node, trust, password=password, accept_host_key=accept):
        return f"{node.hostname}: logged in to {target} with the password once, installed zabbix-ha's key; " \
               "the key alone works now"


def run(args) -> int:
    from pathlib import Path

    from wizard.errors import UserError
    from wizard.spec import Secret
    from wizard.sshtrust import HostKeyUnknown, TrustStore, accept_fingerprints, default_dir

    answers = getattr(args, "answers", None)
    if not answers:
        raise UserError("login needs the answers file", "run: zabbix-ha login --answers FILE --password-file FILE")
    for fp in args.accept_host_key:
        if not fp.startswith("SHA256:") or len(fp) < 20:
            raise UserError(f"--accept-host-key {fp!r} is not a SHA256 fingerprint",
                            "give it as ssh-keygen -lf prints it: SHA256:...")
    spec = _load(answers)
    nodes = _select(spec, args.node)
    password = Secret(read_password(args))
    trust = TrustStore(Path(args.trust_dir) if args.trust_dir else default_dir())
    accept = accept_fingerprints(args.accept_host_key)
    failed = 0
    for node in nodes:
        try:
            print(login_node(node, trust, password, accept), flush=True)
        except HostKeyUnknown as exc:
            failed += 1
            print(f"zabbix-ha: {node.hostname} ({node.address}): not logged in: {exc.message}\n"
                  f"  fix: check the fingerprint on the node's console, then add --accept-host-key "
                  f"{exc.info.fingerprint}", file=sys.stderr)
        except UserError as exc:
            failed += 1
            print(f"zabbix-ha: {node.hostname} ({node.address}): not logged in: {exc}", file=sys.stderr)
    return 1 if failed else 0
