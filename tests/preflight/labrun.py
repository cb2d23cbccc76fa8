"""Shared by test_lab_container.py and test_lab_vm.py: preflight against the real lab nodes.

Container lab: the nodes have no DRBD module (a container cannot load one):
preflight must say so, as an error with its fix, and exit 1.
VM lab: real Debian 12 servers with DRBD 8.4: no errors.

Uses the lab fixtures of tests/lab/conftest.py (imported: this file lives
outside tests/lab). It is skipped when a run ignores tests/lab, the way the
quick runs do, so it never brings a lab up on its own.
"""

from __future__ import annotations

import argparse
import json


def _args(tmp_path, **kw):
    from wizard.lab.paths import KNOWN_HOSTS, SSH_KEY

    base = dict(json=False, accept_host_key=[], known_hosts=[str(KNOWN_HOSTS)], ssh_key=str(SSH_KEY),
                trust_dir=str(tmp_path / "trust"), all_ssh=True, no_probe=False, skip_source_probe=False,
                force=[], journal=None)
    base.update(kw)
    return argparse.Namespace(**base)


def _run(tmp_path):
    from wizard.answers import load_answers, load_secrets
    from wizard.lab.paths import ANSWERS_FILE, SECRETS_FILE
    from wizard.preflight.command import collect, format_table

    spec, secrets = load_answers(ANSWERS_FILE), load_secrets(SECRETS_FILE)
    findings, facts, journal, timings = collect(spec, secrets, _args(tmp_path))
    print(format_table(findings, 120))
    print("timings:", {k: round(v, 2) for k, v in timings.items()}, "commands:", len(journal.entries))
    return findings, facts, timings


def _cli(tmp_path, capsys):
    from wizard import cli
    from wizard.lab.paths import ANSWERS_FILE, KNOWN_HOSTS, SECRETS_FILE, SSH_KEY

    capsys.readouterr()                 # drop what _run printed
    rc = cli.main(["preflight", "--answers", str(ANSWERS_FILE), "--secrets", str(SECRETS_FILE), "--json",
                   "--ssh-key", str(SSH_KEY), "--known-hosts", str(KNOWN_HOSTS), "--all-ssh",
                   "--trust-dir", str(tmp_path / "cli-trust")])
    return rc, json.loads(capsys.readouterr().out)

