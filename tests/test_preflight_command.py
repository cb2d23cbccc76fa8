"""`zabbix-ha preflight` end to end against a real sshd on 127.0.0.1.

Both "nodes" are this machine reached over SSH (the answers validator
rightly refuses loopback addresses, so these tests build the spec in code
and call the command's collect(); run() is tested for its input errors).
"""

from __future__ import annotations

import argparse
import json
import subprocess

import pytest

from tests.preflight import factory
from tests.preflight import sshd as sshd_helper
from tests.preflight.sshd import free_port
from wizard import cli
from wizard.preflight.command import collect, format_table
from wizard.spec import Link
from wizard.sshtrust import TrustStore

@pytest.fixture(scope="module")
def sshd(tmp_path_factory):
    server = sshd_helper.start(tmp_path_factory.mktemp("sshd-cli"))
    yield server
    server.stop()


def _fp(sshd) -> str:
    return subprocess.run(["ssh-keygen", "-lf", f"{sshd.host_key}.pub"], capture_output=True, text=True,
                          check=True).stdout.split()[1]


def _args(tmp_path, **kw):
    base = dict(json=False, accept_host_key=[], known_hosts=[], ssh_key=None, trust_dir=str(tmp_path / "trust"),
                all_ssh=True, no_probe=False, skip_source_probe=True, force=[], journal=None)
    base.update(kw)
    return argparse.Namespace(**base)


def _spec(sshd):
    s = factory.spec()
    for n in s.nodes:
        n.address, n.ssh_port = "127.0.0.1", sshd.port
    s.links = [Link(["127.0.0.1", "127.0.0.2"], 8), Link(["127.0.0.3", "127.0.0.4"], 8)]
    s.storage.port = free_port()
    s.services.vip = "127.0.0.9"      # the VIP probe pings it: keep that on loopback too
    return s


def test_unknown_host_key_is_a_finding_with_the_fingerprint(sshd, tmp_path):
    trust = TrustStore(tmp_path / "trust")
    sshd.authorized_keys.write_text(trust.ensure_key() + "\n")
    findings, facts, _, _ = collect(_spec(sshd), None, _args(tmp_path))
    hits = [f for f in findings if f.code == "host-key-unknown"]
    assert len(hits) == 2 and hits[0].payload["fingerprint"] == _fp(sshd)
    assert facts == {} or all(v is None for v in facts.values()) or not facts


def test_collect_over_ssh_reports_real_findings(sshd, tmp_path, monkeypatch):
    # The BMC probe runs (its password goes on stdin over SSH and must not reach
    # the journal) but finds no agent: no IPMI packet may leave this machine
    # for the factory's BMC addresses.
    from wizard.preflight import probes

    monkeypatch.setattr(probes, "FENCE_SCRIPT", "PATH=/nonexistent; " + probes.FENCE_SCRIPT)
    trust = TrustStore(tmp_path / "trust")
    sshd.authorized_keys.write_text(trust.ensure_key() + "\n")
    journal_path = tmp_path / "journal.jsonl"
    findings, facts, journal, timings = collect(_spec(sshd), factory.secrets(),
                                                _args(tmp_path, accept_host_key=[_fp(sshd)],
                                                      journal=str(journal_path)))
    codes = {(f.code, f.node) for f in findings}
    # This machine is no DRBD node: the same answer a container lab gives.
    assert ("drbd-module-missing", "zbx-node1") in codes and ("drbd-module-missing", "zbx-node2") in codes
    assert ("hostname-mismatch", "zbx-node1") in codes
    assert ("disk-missing", "zbx-node2") in codes
    failed_paths = [f.message for f in findings if f.code.startswith("path-") and f.code.endswith("failed")]
    assert not failed_paths, failed_paths
    assert set(facts) == {"zbx-node1", "zbx-node2"} and facts["zbx-node1"].os.id == "debian"
    assert set(timings) >= {"connect", "facts", "probes", "total"}      # speed is measured in benchmarks/
    assert any(f.code == "ipmi-untested" for f in findings), codes     # the BMC probe did run
    text = journal_path.read_text()
    assert "bmc1-pw" not in text and len(journal.entries) > 20
    table = format_table(findings, 100)
    assert "drbd-module-missing" in table and "fix: install a kernel" in table


def test_table_names_the_force_code_of_a_forceable_error_only():
    from wizard.preflight.checks import Finding
    wipe = Finding("disk-signature", "error", "zbx-node2", "the backing device /dev/vdb on zbx-node2 contains ext4",
                   "check it", {}, "wipe-disk:zbx-node2:/dev/vdb")
    accepted = Finding("disk-signature", "warning", "zbx-node1", "... WILL BE WIPED", "the install erases it", {},
                       "wipe-disk:zbx-node1:/dev/vdb")
    table = format_table([wipe, accepted], 120)
    assert "--force wipe-disk:zbx-node2:/dev/vdb" in table
    assert "--force wipe-disk:zbx-node1" not in table        # already accepted: nothing left to pass


def test_cli_bad_input_exit_codes(tmp_path, capsys):
    assert cli.main(["preflight"]) == 2
    assert "answers" in capsys.readouterr().err
    bad = tmp_path / "a.yaml"
    bad.write_text("format: 1\nname: x\n")
    assert cli.main(["preflight", "--answers", str(bad)]) == 2


def test_unreachable_nodes_are_errors_in_the_json(tmp_path):
    # Node names that cannot resolve (.invalid, RFC 2606): the connection
    # fails before any packet leaves this machine. The answers validator
    # refuses names (see the next test), so collect() gets them directly.
    s = factory.spec()
    s.nodes[0].address, s.nodes[1].address = "node-a.invalid", "node-b.invalid"
    findings, _facts, _journal, _timings = collect(s, None, _args(tmp_path, skip_source_probe=False))
    out = json.loads(json.dumps({"findings": [f.as_dict() for f in findings]}))
    errors = [f for f in out["findings"] if f["severity"] == "error"]
    assert {f["code"] for f in errors} == {"ssh-unreachable"}
    assert {f["node"] for f in errors} == {"zbx-node1", "zbx-node2"}
    assert "node-a.invalid" in errors[0]["message"] + errors[1]["message"]
    # The finding names its node; its message does not say it again ("zbx-node1: zbx-node1: ...").
    assert not any(f["message"].startswith(f["node"]) for f in errors), errors


def test_cli_refuses_a_host_name_as_node_address_exit_2(tmp_path, capsys):
    answers = tmp_path / "a.yaml"
    from wizard.answers import save_answers
    s = factory.spec()
    s.nodes[0].address = "node-a.invalid"
    save_answers(s, answers)
    rc = cli.main(["preflight", "--answers", str(answers), "--json", "--trust-dir", str(tmp_path / "t")])
    captured = capsys.readouterr()
    assert rc == 2 and captured.out == ""
    assert "nodes[0].address" in captured.err and "services.vip" not in captured.err
