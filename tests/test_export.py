"""`zabbix-ha export`: the review bundle (issue 12 item 4).

No secret in any spelling inside (the archive and what it unpacks to), the
same answers give the same bytes whether a secrets file is given or not, the
MANIFEST's sums match the members, the files are the ones render writes
(secret ones with placeholders) and the plan is the one `plan --offline`
prints; a bad --out is refused with exit 2 and nothing written.

`export --nodes` (live/) runs as the CLI in a network namespace of the test's
own (test_leaks' two_node_namespace): the first node is this machine, the
second a real sshd on an address of the namespace, so every probe runs and
no packet leaves it; there too a node that refuses. take_live's masking and
its choice of failover reports are tested with its sources replaced.
"""

from __future__ import annotations

import argparse
import copy
import gzip
import hashlib
import io
import json
import re
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_ANSWERS
from tests.preflight import sshd as sshd_helper
from tests.test_leaks import NASTY, NODE_ADDRESSES, _cli, leaks, two_node_namespace  # noqa: F401 (a fixture)
from wizard import bundle
from wizard.answers import load_answers, save_answers, save_secrets
from wizard.bundle import MANIFEST, MTIME, build_bundle
from wizard.cli import main
from wizard.journal import MASK, Journal
from wizard.render import render

TOP = "zbx-cluster-zabbix-ha-review"


def _members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def _export(tmp_path, out, *extra):
    return _cli("export", "--answers", EXAMPLE_ANSWERS, *extra, "--out", out, cwd=tmp_path)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """One export with the hostile secrets file, one without: (with, without, result)."""
    tmp = tmp_path_factory.mktemp("export")
    secrets = tmp / "s.yaml"
    save_secrets(NASTY, secrets)
    r = _export(tmp, tmp / "with.tar.gz", "--secrets", secrets)
    assert r.returncode == 0, r.stderr
    plain = _export(tmp, tmp / "without.tar.gz")
    assert plain.returncode == 0, plain.stderr
    return tmp / "with.tar.gz", tmp / "without.tar.gz", r


def _no_secret_inside(data: bytes, into) -> None:
    """No spelling of a NASTY secret in the archive's bytes nor in any file it unpacks to (under `into`)."""
    # Every secret is ASCII: latin-1 maps each byte to one character, so a
    # spelling in any member or header is found exactly where it stands.
    assert leaks(gzip.decompress(data).decode("latin-1"), NASTY) == []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(into, filter="data")
    extracted = [p for p in into.rglob("*") if p.is_file()]
    assert len(extracted) > 20
    for p in extracted:
        assert leaks(p.read_text(), NASTY) == [], p


def test_no_spelling_of_any_secret_in_the_bundle(exported, tmp_path):
    path, _, result = exported
    _no_secret_inside(path.read_bytes(), tmp_path)
    assert leaks(result.stdout + result.stderr, NASTY) == []
    # The files that hold a password on the node are in it, with the placeholder where it goes.
    php = (tmp_path / TOP / "nodes/zbx-node1/etc/zabbix/zabbix.conf.php").read_text()
    assert "$DB['PASSWORD'] = 'REDACTED-db_password';" in php
    assert 'shared-secret "REDACTED-drbd_secret";' in (tmp_path / TOP / "nodes/zbx-node2/etc/drbd.d/r0.res").read_text()
    # Hence 0644 is right for it.
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_the_leak_check_would_see_secrets_rendered_into_the_bundle(spec, monkeypatch):
    """The same check on a bundle rendered with the real secrets finds them: the test above can fail."""
    monkeypatch.setattr(bundle, "placeholder_secrets", lambda _spec: NASTY)
    raw = gzip.decompress(build_bundle(spec)).decode("latin-1")
    assert len(leaks(raw, NASTY)) >= 5


def test_same_bundle_with_or_without_the_secrets_file(exported):
    with_secrets, without, _ = exported
    assert with_secrets.read_bytes() == without.read_bytes()


def test_same_input_same_bytes(exported, tmp_path, spec):
    _, first, _ = exported
    again = tmp_path / "again.tar.gz"
    assert _export(tmp_path, again).returncode == 0
    assert again.read_bytes() == first.read_bytes()
    assert build_bundle(copy.deepcopy(spec)) == build_bundle(spec)
    # ... and different input, different bytes (the sameness is not a constant).
    spec.zabbix.sizing = "large"
    assert build_bundle(spec) != first.read_bytes()


def test_archive_headers_are_fixed(exported):
    data = exported[1].read_bytes()
    flags, mtime = data[3], int.from_bytes(data[4:8], "little")
    assert flags & 0x08 == 0 and mtime == 0                 # gzip: no file name, no time
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        infos = tar.getmembers()
    assert {(i.mtime, i.uid, i.gid, i.uname, i.gname) for i in infos} == {(MTIME, 0, 0, "root", "root")}
    names = [i.name for i in infos]
    assert names == sorted(names, key=lambda n: n.split("/"))
    assert all(n == TOP or n.startswith(TOP + "/") for n in names)


def test_manifest_sums_match_every_member(exported):
    members = _members(exported[1].read_bytes())
    lines = members.pop(f"{TOP}/{MANIFEST}").decode().splitlines()
    assert any(line.startswith("# zabbix-ha ") and "0." in line for line in lines)   # the version
    listed = dict(reversed(line.split("  ", 1)) for line in lines if not line.startswith("#"))
    assert {f"{TOP}/{name}" for name in listed} == set(members)
    for name, digest in listed.items():
        assert hashlib.sha256(members[f"{TOP}/{name}"]).hexdigest() == digest, name


def test_files_are_what_render_writes_secret_ones_with_placeholders(exported, spec):
    members = _members(exported[1].read_bytes())
    plain = render(spec)                                     # what render writes without secrets
    redacted = render(spec, bundle.placeholder_secrets(spec))
    for node, files in redacted.items():
        for path, f in files.items():
            text = members[f"{TOP}/nodes/{node}{path}"].decode()
            if path in plain[node] and not f.secret:
                assert text == plain[node][path].text, path
            else:
                assert "REDACTED-" in text, path
    node_files = [n for n in members if "/nodes/" in n]
    assert len(node_files) == sum(len(files) for files in redacted.values())


def test_plan_is_what_plan_offline_prints(exported, capsys):
    members = _members(exported[1].read_bytes())
    assert main(["plan", "--answers", str(EXAMPLE_ANSWERS), "--offline"]) == 0
    printed = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("(")]
    in_bundle = [line for line in members[f"{TOP}/plan.txt"].decode().splitlines() if not line.startswith("#")]
    assert in_bundle == printed and any("DESTRUCTIVE" in line for line in printed)


def test_answers_and_readme_inside(exported):
    members = _members(exported[1].read_bytes())
    assert members[f"{TOP}/answers.yaml"].decode().count("zbx-node1") >= 1
    readme = members[f"{TOP}/README.txt"].decode()
    assert "sha256sum -c MANIFEST" in readme and "zbx-cluster" in readme
    redacted = members[f"{TOP}/secrets.redacted.yaml"].decode()
    assert "db_password: REDACTED-db_password" in redacted and "zbx-node2: REDACTED-ipmi-zbx-node2" in redacted


def test_out_that_is_a_directory_is_refused(tmp_path):
    r = _export(tmp_path, tmp_path)
    assert r.returncode == 2, r.stderr
    assert f"--out {tmp_path} is a directory" in r.stderr and "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_out_under_a_file_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    r = _export(tmp_path, tmp_path / "f" / "b.tar.gz")
    assert r.returncode == 2 and "is a file, not a directory" in r.stderr and "Traceback" not in r.stderr


def test_rewrite_replaces_the_file_and_leaves_no_temp(tmp_path):
    out = tmp_path / "b.tar.gz"
    out.write_bytes(b"old")
    assert main(["export", "--answers", str(EXAMPLE_ANSWERS), "--out", str(out)]) == 0
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    assert [p.name for p in tmp_path.iterdir()] == ["b.tar.gz"]


# -- export --nodes: live/ -----------------------------------------------------------

def _namespace_answers(tmp_path, ssh_port: int = 22):
    """The example answers with both nodes in the test's own namespace (as test_leaks does)."""
    spec = load_answers(EXAMPLE_ANSWERS)
    spec.nodes[0].address, spec.nodes[1].address = NODE_ADDRESSES
    spec.nodes[1].ssh_port = ssh_port
    spec.services.vip = "172.16.1.10"
    spec.services.source_address = ""
    spec.fencing.ipmi[0].address, spec.fencing.ipmi[1].address = "172.16.9.1", "172.16.9.2"
    answers = tmp_path / "a.yaml"
    save_answers(spec, answers)
    return answers


def test_export_nodes_reads_both_nodes_into_live_and_holds_no_secret(tmp_path, two_node_namespace):
    """A real pair: the first node is this machine reached locally, the second an address of a namespace
    of the test's own with a real sshd on it; every probe runs (the hostile secrets given, so the BMC one
    too) and no packet leaves the namespace. live/ holds what preflight and plan --diff print."""
    from wizard.failover.command import REPORT_DIR
    from wizard.sshtrust import TrustStore

    server = sshd_helper.start(tmp_path / "sshd", listen=NODE_ADDRESSES[1], prefix=tuple(two_node_namespace))
    try:
        server.authorized_keys.write_text(TrustStore(tmp_path / "trust").ensure_key() + "\n")
        fingerprint = subprocess.run(["ssh-keygen", "-lf", f"{server.host_key}.pub"], capture_output=True,
                                     text=True, check=True).stdout.split()[1]
        answers, secrets = _namespace_answers(tmp_path, server.port), tmp_path / "s.yaml"
        save_secrets(NASTY, secrets)
        reach = ["--answers", answers, "--secrets", secrets, "--accept-host-key", fingerprint,
                 "--trust-dir", tmp_path / "trust"]
        out = tmp_path / "b.tar.gz"
        r = _cli("export", *reach, "--out", out, "--nodes", cwd=tmp_path, stdin=subprocess.DEVNULL,
                 prefix=two_node_namespace)
        assert r.returncode == 0, r.stderr
        plan = _cli("plan", *reach, "--diff", cwd=tmp_path, stdin=subprocess.DEVNULL, prefix=two_node_namespace)
    finally:
        server.stop()
    assert "live/ taken from the nodes at " in r.stderr and leaks(r.stdout + r.stderr, NASTY) == []
    data = out.read_bytes()
    _no_secret_inside(data, tmp_path / "unpacked")
    members = {n.removeprefix(TOP + "/"): v.decode() for n, v in _members(data).items()}

    taken = members["live/TAKEN"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n", taken)
    readme = members["README.txt"]
    assert f"Taken from the nodes at {taken.strip()} UTC" in readme and "Not in this bundle" not in readme
    assert "live/TAKEN          that time. With live/ this bundle is not byte-identical" in readme
    assert f"\n                      zbx-node1:{REPORT_DIR}\n" in readme
    if not Path(REPORT_DIR).exists():                  # this machine, the first node, has run no drill
        assert "empty: no failover test report was found" in readme
        assert not [n for n in members if n.startswith("live/failover/")]

    preflight = members["live/preflight.txt"]
    assert preflight.startswith("# zabbix-ha ") and "zabbix-ha preflight\n" in preflight.splitlines(True)[0]
    assert re.search(r"^SEVERITY +NODE +CODE +MESSAGE / FIX$", preflight, re.M)
    assert re.search(r"^\d+ error\(s\), \d+ warning\(s\), \d+ info\(s\); \d+ commands in ", preflight, re.M)
    assert "zbx-node2" in preflight and "fix: " in preflight

    header, _, body = members["live/plan-diff.txt"].partition("\n")
    assert "zabbix-ha plan --diff" in header and body.startswith("zbx-node1:\n")
    assert re.search(r"^  \[(done |to do)", body, re.M)
    assert re.search(r"^\d+ step\(s\) would change something; \d+ already in place\.$", body, re.M)
    assert plan.returncode == 0 and plan.stdout == body                    # what `plan --diff` prints

    listed = {line.split("  ", 1)[1] for line in members[MANIFEST].splitlines() if not line.startswith("#")}
    assert {"live/TAKEN", "live/preflight.txt", "live/plan-diff.txt"} <= listed


STAMPS = [f"202611{day:02d}T100000Z" for day in range(1, 8)]        # seven drills, oldest first


def test_take_live_masks_what_the_nodes_say_and_keeps_the_newest_five_reports(spec, tmp_path, monkeypatch):
    """take_live itself, its sources replaced: LocalExecutors for the nodes, a preflight finding and a
    plan text that (as a bug might) carry a password, and a failover directory of the test's own."""
    import wizard.install.command as install
    from wizard import bundle_live
    from wizard.failover import command as failover
    from wizard.preflight import command as preflight
    from wizard.preflight.checks import Finding
    from wizard.remote import LocalExecutor

    admin = NASTY.zabbix_admin_password.reveal()
    reports = tmp_path / "failover"
    reports.mkdir()
    for stamp in STAMPS:
        (reports / f"{stamp}.json").write_text(f'{{"started": "{stamp}"}}\n')
        (reports / f"{stamp}.txt").write_text(f"Failover test started {stamp}\n")
    (reports / f"{STAMPS[-1]}.txt").write_text(f"login failed for Admin with {admin}\n")
    (reports / f"{STAMPS[-1]}.json").write_text(json.dumps({"error": f"login failed with {admin}"}) + "\n")
    (reports / "notes.md").write_text("not a report\n")
    monkeypatch.setattr(failover, "REPORT_DIR", str(reports))
    closed = []

    class Local(LocalExecutor):
        def close(self):
            closed.append(self.node)

    monkeypatch.setattr(install, "connect_nodes", lambda spec_, args, journal: {n: Local(n) for n in spec.hostnames})
    finding = Finding("bmc-refused", "error", "zbx-node1", f"the BMC refused {NASTY.ipmi['zbx-node1'].reveal()}",
                      "check it", {})
    monkeypatch.setattr(preflight, "collect", lambda *a: ([finding], {}, Journal(), {"total": 1.0}))
    monkeypatch.setattr(install, "plan_text", lambda *a, **k: f"+DBPassword={NASTY.db_password.reveal()}\n")
    args = argparse.Namespace(trust_dir=None, known_hosts=[], accept_host_key=[], ssh_key=None, all_ssh=False)

    live = bundle_live.take_live(spec, NASTY, args)
    assert sorted(closed) == sorted(spec.hostnames)
    assert list(live.failover) == [f"{s}.{ext}" for s in STAMPS[-5:] for ext in ("json", "txt")]
    texts = [live.preflight, live.plan_diff, *live.failover.values()]
    assert [leaks(t, NASTY) for t in texts] == [[]] * len(texts)
    assert f"login failed for Admin with {MASK}" in live.failover[f"{STAMPS[-1]}.txt"]
    assert MASK in live.preflight and f"+DBPassword={MASK}" in live.plan_diff
    assert json.loads(live.failover[f"{STAMPS[-1]}.json"]) == {"error": f"login failed with {MASK}"}
    assert live.failover_from == f"zbx-node1:{reports}"


def test_no_report_directory_means_no_reports(tmp_path):
    from wizard.bundle_live import failover_reports
    from wizard.remote import LocalExecutor

    assert failover_reports(LocalExecutor("zbx-node1"), str(tmp_path / "none")) == {}


def test_offline_readme_says_how_to_get_the_live_part(exported):
    readme = _members(exported[1].read_bytes())[f"{TOP}/README.txt"].decode()
    assert "`export --nodes` adds them as live/" in readme and "/var/lib/zabbix-ha/failover/" in readme
    assert not any("/live/" in n for n in _members(exported[1].read_bytes()))


def test_a_node_not_reached_is_exit_1_naming_it_and_nothing_is_written(tmp_path, two_node_namespace):
    """The first node is reached locally, the second (an address of the namespace, no sshd there) refuses:
    exit 1, the node and the fix named, no traceback, and the old archive untouched, no temp file."""
    answers = _namespace_answers(tmp_path)
    out = tmp_path / "b.tar.gz"
    out.write_bytes(b"old")
    r = _cli("export", "--answers", answers, "--out", out, "--nodes", "--trust-dir", tmp_path / "trust",
             cwd=tmp_path, stdin=subprocess.DEVNULL, prefix=two_node_namespace)
    assert r.returncode == 1, r.stderr
    assert "export --nodes: a node was not reached (zbx-node2" in r.stderr and "no bundle was written" in r.stderr
    assert "fix: " in r.stderr and "leave out --nodes" in r.stderr and "Traceback" not in r.stderr
    assert out.read_bytes() == b"old"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".b.tar.gz")]      # write_atomic's temp
