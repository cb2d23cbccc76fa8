"""Pure pieces of the install: /etc/hosts block, CIB merge, and where secrets travel."""

import os
import re
import subprocess
import xml.etree.ElementTree as ET

import pytest

from tests.install.fake import RecordingExecutor
from wizard.install import cib, database
from wizard.install.step import Context, Shared
from wizard.install.system import BEGIN, END, merged_hosts
from wizard.journal import Journal
from wizard.render import render


def test_hosts_block_is_appended_once_and_replaced_in_place():
    admin = "127.0.0.1 localhost\n10.0.0.5 printer\n"
    block = f"{BEGIN}\n10.0.0.11 n1\n{END}\n"
    once = merged_hosts(admin, block)
    assert once == admin + block
    assert merged_hosts(once, block) == once                    # idempotent
    newer = f"{BEGIN}\n10.0.0.12 n1\n{END}\n"
    again = merged_hosts(once + "10.0.0.9 later-admin-line\n", newer)
    assert again == admin + newer + "10.0.0.9 later-admin-line\n"   # the admin's lines stay where they are


def test_hosts_file_without_final_newline_is_not_glued_to_our_block():
    assert merged_hosts("127.0.0.1 localhost", f"{BEGIN}\nx\n{END}\n").startswith("127.0.0.1 localhost\n# BEGIN")


def _rendered_config(spec, secrets):
    tree = render(spec, secrets)
    text = next(f.text for f in tree[spec.hostnames[0]].values() if f.kind == "cib")
    return ET.fromstring(text).find("configuration")


LIVE_AFTER_START = """<configuration><crm_config><cluster_property_set id="cib-bootstrap-options">
<nvpair id="cib-bootstrap-options-have-watchdog" name="have-watchdog" value="false"/>
<nvpair id="cib-bootstrap-options-dc-version" name="dc-version" value="2.1.5-a3f44794f94"/>
<nvpair id="cib-bootstrap-options-cluster-infrastructure" name="cluster-infrastructure" value="corosync"/>
<nvpair id="cib-bootstrap-options-cluster-name" name="cluster-name" value="debian"/>
</cluster_property_set></crm_config><nodes><node id="1" uname="zbx-node1"/><node id="2" uname="zbx-node2"/></nodes>
<resources/><constraints/></configuration>"""


def test_cib_merge_keeps_pacemakers_properties_and_puts_ours_in(spec, secrets):
    new = _rendered_config(spec, secrets)
    live = ET.fromstring(LIVE_AFTER_START)
    assert "resources" in cib.differences(live, new) and "property cluster-name" in cib.differences(live, new)
    merged = cib.merged(live, new)
    props = cib._properties(merged)
    assert props["dc-version"] == "2.1.5-a3f44794f94" and props["cluster-name"] == spec.name
    assert cib.differences(merged, new) == []
    assert [c.tag for c in merged][:4] == ["crm_config", "nodes", "resources", "constraints"]


def test_cib_difference_sees_a_changed_operation_only_in_our_sections(spec, secrets):
    new = _rendered_config(spec, secrets)
    live = cib.merged(ET.fromstring(LIVE_AFTER_START), new)
    live.find(".//op").set("timeout", "1s")
    assert cib.differences(live, new) == ["resources"]
    live = cib.merged(ET.fromstring(LIVE_AFTER_START), new)
    live.find("nodes").append(ET.Element("node", {"id": "3", "uname": "x"}))   # not ours: ignored
    assert cib.differences(live, new) == []


def _restarted_the_way_crm_resource_does(config: ET.Element, tmp_path, *, delete: bool = True) -> ET.Element:
    """`crm_resource --restart` sets target-role=Stopped, waits, then deletes it: the real crm_resource on a
    CIB file does the setting and deleting (the waiting needs a live cluster)."""
    path = tmp_path / "cib.xml"
    path.write_text(f'<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">'
                    f'{ET.tostring(config, encoding="unicode")}<status/></cib>')
    env = dict(os.environ, CIB_file=str(path))
    run = ["crm_resource", "--resource", "zabbix-db", "--meta"]
    subprocess.run([*run, "--set-parameter", "target-role", "--parameter-value", "Stopped"], env=env, check=True,
                   capture_output=True, timeout=60)
    if delete:
        subprocess.run([*run, "--delete-parameter", "target-role"], env=env, check=True, capture_output=True,
                       timeout=60)
    return ET.fromstring(path.read_text()).find("configuration")


def test_the_empty_attribute_set_a_restart_leaves_behind_is_no_difference(spec, secrets, tmp_path):
    # Lab run 10: after the sizing rerun restarted MariaDB in place, the next rerun wanted to patch the CIB
    # to remove <meta_attributes id="zabbix-db-meta_attributes"/>: a rerun that restarted something was
    # never a no-op after it. An empty set sets nothing.
    new = _rendered_config(spec, secrets)
    live = _restarted_the_way_crm_resource_does(cib.merged(ET.fromstring(LIVE_AFTER_START), new), tmp_path)
    left = live.find(".//primitive[@id='zabbix-db']/meta_attributes")
    assert left is not None and len(left) == 0          # what crm_resource leaves behind
    assert cib.differences(live, new) == []
    # A target-role still set is a difference (the install puts the resource back as rendered).
    stopped = _restarted_the_way_crm_resource_does(cib.merged(ET.fromstring(LIVE_AFTER_START), new), tmp_path,
                                                   delete=False)
    assert cib.differences(stopped, new) == ["resources"]


def test_merged_configuration_passes_crm_verify(spec, secrets):
    new = _rendered_config(spec, secrets)
    merged = cib.merged(ET.fromstring(LIVE_AFTER_START), new)
    doc = (f'<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">'
           f'{ET.tostring(merged, encoding="unicode")}<status/></cib>')
    res = subprocess.run(["crm_verify", "--xml-pipe", "-V"], input=doc, capture_output=True, text=True, timeout=60)
    # With no node ever seen (empty status) it warns that it would fence them: not a config fault.
    real = [line for line in res.stderr.splitlines()
            if line.strip() and "for fencing" not in line and "Warnings found" not in line and "-V may" not in line]
    assert res.returncode in (0, 78) and real == [], res.stderr


def test_admin_password_hash_is_one_php_accepts():
    """The consumer of the hash is PHP's password_verify (the Zabbix frontend)."""
    hashed = database.admin_hash("pa'ss \\word")
    assert hashed.startswith("$2y$10$")
    code = "echo password_verify($argv[1], trim(stream_get_contents(STDIN))) ? 'yes' : 'no';"
    for candidate, expected in (("pa'ss \\word", "yes"), ("zabbix", "no")):
        res = subprocess.run(["php", "-r", code, candidate], input=hashed, capture_output=True, text=True,
                             timeout=30)
        assert res.stdout == expected, res.stderr


@pytest.mark.parametrize("value", ["plain", "it's", "back\\slash", "both\\'mixed", "nul\0byte", "ünï"])
def test_sql_string_escapes_what_mariadb_would_read_differently(value):
    literal = database.sql_string(value)
    assert literal[0] == literal[-1] == "'"
    inner = literal[1:-1]
    # every quote and backslash in the value is escaped, so the literal ends where it should
    unescaped = inner.replace("\\\\", "").replace("\\'", "").replace("\\0", "")
    assert "'" not in unescaped and "\\" not in unescaped


def test_database_passwords_travel_on_stdin_never_in_argv(spec, secrets):
    journal = Journal(secrets.values())
    first = spec.hostnames[0]
    stored = {}

    def select_hash(argv, stdin):
        return 0, stored.get("hash", ""), ""

    def remember_update(argv, stdin):
        if stdin and "UPDATE users" in stdin:
            stored["hash"] = stdin.split("passwd = '")[1].split("'")[0].replace("\\\\", "\\")
        return 0, "", ""

    ex = RecordingExecutor(first, [("SELECT passwd", select_hash), ("UPDATE users", remember_update),
                                   ("pgrep", (1, "", ""))],
                           journal=journal)
    ctx = Context(spec, secrets, first, {first: ex}, render(spec, secrets), Shared())
    database._create_database(ctx)
    argv_text = "\n".join(" ".join(a) for a, _ in ex.calls)
    stdin_text = "\n".join(i or "" for _, i in ex.calls)
    for value in (secrets.db_password.reveal(), secrets.zabbix_admin_password.reveal()):
        assert value not in argv_text
        assert value not in "\n".join(" ".join(e.argv) + e.note for e in journal.entries)
    assert database.sql_string(secrets.db_password.reveal()) in stdin_text


def test_apt_progress_lines_become_readable_progress():
    from wizard.install.packages import apt_progress

    assert apt_progress("pmstatus:mariadb-server:62.5:Installing mariadb-server (amd64)") == \
        "packages 62 %: Installing mariadb-server (amd64)"
    assert apt_progress("dlstatus:3:12.0:Retrieving file 3 of 190") == "downloading 12 %: Retrieving file 3 of 190"
    assert apt_progress("") == "" and apt_progress("Reading package lists...") == ""


def test_remembered_install_state_is_json_on_the_first_node_even_after_files_changed(spec, secrets):
    """Facts a resume needs are written as JSON; what changed in this run stays in memory."""
    from wizard.install import files

    first = spec.hostnames[0]
    def nothing_there(argv, stdin):       # the stat loops print one line per path
        return 0, "missing\n" * (len(argv) - argv.index("zabbix-ha") - 1), ""

    ex = RecordingExecutor(first, [(r"^sh -c for [fd];", nothing_there)])
    ctx = Context(spec, secrets, first, {first: ex}, render(spec, secrets), Shared())
    files._write(ctx)
    ctx.shared.remember(ctx, "drbd_fresh:" + first, True)
    [(argv, text)] = [(a, i) for a, i in ex.calls if "install-state.json" in " ".join(a)]
    import json
    assert json.loads(text)["drbd_fresh:" + first] is True
    assert "zabbix-server" in files.changed_kinds(ctx)


def test_applied_answers_are_in_place_only_when_content_mode_and_owner_match(spec, secrets):
    import hashlib

    from wizard.install import final

    first = spec.hostnames[0]
    ctx = Context(spec, secrets, first, {}, render(spec, secrets), Shared())
    files_ = final._state_files(ctx)
    exact = "".join(f"{hashlib.sha256(f.text.encode()).hexdigest()} {f.mode:o} root root\n" for f in files_)
    for answer, expected in ((exact, True), (exact.replace(" 600 ", " 644 "), False), ("missing\n" * 3, False)):
        ctx.executors[first] = RecordingExecutor(first, [(r"^sh -c for f;", (0, answer, ""))])
        assert final._state_in_place(ctx) is expected
    assert [f.mode for f in files_] == [0o640, 0o600, 0o600]
    # A checksums file that no longer matches this install's files (a change of answers) is out of date.
    ctx.tree[first] = dict(list(ctx.tree[first].items())[1:])
    ctx.executors[first] = RecordingExecutor(first, [(r"^sh -c for f;", (0, exact, ""))])
    assert final._state_in_place(ctx) is False


def test_the_checksums_kept_beside_the_answers_are_what_sha256sum_checks(spec, secrets, tmp_path):
    """files.sha256 lists every rendered file of the node (and nothing else) in
    `sha256sum -c` format: run on the node, it says which file changed by hand."""
    from wizard.install import final

    second = spec.hostnames[1]
    tree = render(spec, secrets)
    ctx = Context(spec, secrets, second, {}, tree, Shared())
    [kept] = [f for f in final._state_files(ctx) if f.path == "/etc/zabbix-ha/files.sha256"]
    listed = [line.split("  ", 1)[1] for line in kept.text.splitlines()]
    assert listed == sorted(tree[second]) and kept.mode == 0o600
    for f in tree[second].values():               # the node's files, under tmp_path
        target = tmp_path / f.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f.text)
    relative = kept.text.replace("  /", "  ./")
    ok = subprocess.run(["sha256sum", "-c", "--strict", "--quiet", "-"], input=relative, text=True,
                        capture_output=True, cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    changed = tmp_path / "etc/corosync/corosync.conf"
    changed.write_text(changed.read_text() + "# edited by hand\n")
    bad = subprocess.run(["sha256sum", "-c", "--quiet", "-"], input=relative, text=True, capture_output=True,
                         cwd=tmp_path)
    assert bad.returncode == 1 and bad.stdout.strip() == "./etc/corosync/corosync.conf: FAILED"


def test_ipmi_check_fails_naming_the_bmc_and_the_fix(spec, secrets, monkeypatch):
    from wizard.install import fencing
    from wizard.install.step import StepFailed
    from wizard.preflight import probes
    from wizard.preflight.probes import ReachResult

    first = spec.hostnames[0]
    ctx = Context(spec, secrets, first, {first: RecordingExecutor(first)}, render(spec, secrets), Shared())
    monkeypatch.setattr(probes, "ipmi", lambda *a: [ReachResult("n2", "n1", False, "timed out (3 attempts)"),
                                                    ReachResult("n1", "n2", True, "Status: ON")])
    with pytest.raises(StepFailed, match="n2 cannot query the BMC of n1: timed out") as err:
        fencing._verify_ipmi(ctx)
    assert "UDP port 623" in err.value.fix


def _crm(argv, cib_file, **kw):
    return subprocess.run(argv, env={**os.environ, "CIB_file": str(cib_file), "LC_ALL": "C"}, capture_output=True,
                          text=True, timeout=120, **kw)


def test_cib_change_is_one_patch_that_keeps_what_is_not_ours_and_restarts_nothing_else(spec, secrets, tmp_path,
                                                                                      monkeypatch):
    # A running cluster made by Pacemaker's own tools (crm_simulate), then changed as an older
    # zabbix-ha version or an administrator would have left it: one of our resources' timeouts
    # differs, and a node attribute that is not ours exists. The real crm_diff and cibadmin
    # --patch (on the file, CIB_file) must bring back our sections and keep the rest.
    from tests.data.status.simulate import running
    from wizard.remote import LocalExecutor

    live = running(tmp_path, "ipmi")
    doc = ET.parse(live)
    # A live CIB names its feature set (crm_simulate's output does not); crm_diff writes the
    # path-based patches of this format only for CIBs that carry it.
    features = subprocess.run(["pacemakerd", "--features"], capture_output=True, text=True, timeout=30).stdout
    doc.getroot().set("crm_feature_set", re.search(r"Supporting v([\d.]+)", features).group(1))
    doc.find(".//primitive[@id='zabbix-server']//op[@name='stop']").set("timeout", "61s")
    doc.find(".//nodes/node").append(ET.fromstring(
        '<instance_attributes id="admin-attrs"><nvpair id="admin-rack" name="rack" value="r7"/></instance_attributes>'))
    doc.write(live)
    status_before = ET.tostring(ET.parse(live).find("status"))
    monkeypatch.setenv("CIB_file", str(live))
    first = spec.hostnames[0]
    ctx = Context(spec, secrets, first, {first: LocalExecutor(first)}, render(spec, secrets), Shared())

    assert cib.differences(cib.live_configuration(ctx), cib.rendered_configuration(ctx)) == ["resources"]
    assert "patched in one transaction: resources" in cib._apply(ctx)
    after = ET.parse(live)
    assert cib._in_place(ctx)
    assert after.find(".//primitive[@id='zabbix-server']//op[@name='stop']").get("timeout") != "61s"
    assert after.find(".//nvpair[@id='admin-rack']").get("value") == "r7"       # the admin's attribute stays
    assert ET.tostring(after.find("status")) == status_before                   # the patch held no status
    # What the cluster would do with it: a stop timeout is no part of a resource's definition
    # digest, so nothing is stopped or restarted.
    plan = _crm(["crm_simulate", "-x", str(live), "-S"], live)
    summary = plan.stdout.split("Transition Summary:")[1].split("Executing")[0]
    assert not any(w in summary for w in ("Restart", "Stop", "Move")), summary

    # Nothing left to change: the script says so and the CIB's epoch stays.
    epoch = after.getroot().get("epoch")
    res = ctx.sh(cib.PATCH_SCRIPT, input=f"{live.read_text()}\n--zabbix-ha-new-cib--\n{live.read_text()}\n")
    assert res.stdout.strip() == "no difference" and ET.parse(live).getroot().get("epoch") == epoch


def test_drbd_adjust_runs_only_when_the_dry_run_has_something_to_do(spec, secrets):
    from wizard.install import drbd

    first = spec.hostnames[0]
    tree = render(spec, secrets)
    quiet = RecordingExecutor(first, [(r"^drbdadm -d adjust", (0, "", ""))])
    assert drbd._adjusted(Context(spec, secrets, first, {first: quiet}, tree, Shared()))
    pending = "drbdsetup-84 net r0 ipv4:10.0.0.1:7788 ipv4:10.0.0.2:7788 --protocol=C\n"
    busy = RecordingExecutor(first, [(r"^drbdadm -d adjust", (0, pending, ""))])
    ctx = Context(spec, secrets, first, {first: busy}, tree, Shared())
    assert not drbd._adjusted(ctx)
    assert "adjusted live" in drbd._adjust(ctx)
    assert ("drbdadm", "adjust", spec.storage.resource) in [argv for argv, _ in busy.calls]
    failing = RecordingExecutor(first, [(r"^drbdadm -d adjust", (10, "", "r0: no such resource"))])
    assert not drbd._adjusted(Context(spec, secrets, first, {first: failing}, tree, Shared()))
