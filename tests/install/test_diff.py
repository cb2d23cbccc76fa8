"""`zabbix-ha plan --diff`: what would change, as diffs; never a secret file's content."""

from __future__ import annotations

import hashlib

from tests.install.fake import RecordingExecutor
from wizard.install.diff import cib_diff, file_diffs
from wizard.install.step import Context, Shared
from wizard.render import render


class FakeNode:
    """A node's files: path -> (text, "mode owner group"); everything else missing."""

    def __init__(self, files):
        self.files = files

    def __call__(self, argv, stdin):
        if argv[:2] == ["sh", "-c"] and "sha256sum" in argv[2]:
            out = []
            for path in argv[4:]:
                if path in self.files:
                    text, state = self.files[path]
                    out.append(f"{hashlib.sha256(text.encode()).hexdigest()} {state}")
                else:
                    out.append("missing")
            return 0, "\n".join(out) + "\n", ""
        if argv[:2] == ["sh", "-c"] and "stat -c" in argv[2]:
            return 0, "\n".join(self.files[p][1] if p in self.files else "missing" for p in argv[4:]) + "\n", ""
        if argv[0] == "cat":
            return 0, self.files[argv[-1]][0], ""
        return 1, "", "not a command this fake knows"


def _ctx(spec, secrets, files):
    node = spec.hostnames[0]
    tree = render(spec, secrets)
    ex = RecordingExecutor(node, [(r".", FakeNode(files(tree[node])))])
    return Context(spec, secrets, node, {node: ex}, tree, Shared()), ex


def test_diff_shows_changed_lines_new_files_and_mode_changes_but_no_secret(spec, secrets):
    def files(tree):
        out = {}
        for path, f in tree.items():
            state = f"{f.mode:o} {f.owner} {f.group}"
            if f.kind == "corosync":
                out[path] = (f.text.replace("token: ", "token: 1"), state)         # a changed line
            elif f.kind == "zabbix-server-secrets":
                out[path] = ("DBPassword=old\n", state)                            # a secret file that differs
            elif f.kind == "hosts":
                out[path] = (f.text, "644 root root" if state != "644 root root" else "600 root root")
            elif f.kind != "apache":
                out[path] = (f.text, state)                                        # apache: missing
        return out
    ctx, _ex = _ctx(spec, secrets, files)
    text = "".join(file_diffs(ctx))
    assert "--- zbx-node1:/etc/corosync/corosync.conf (now)" in text and "\n-" in text and "\n+" in text
    assert "+++ /etc/apache2/sites-available/zabbix-ha.conf: new file" in text
    assert "/etc/zabbix-ha/hosts: mode/owner" in text
    assert "zabbix_server.secrets.conf: holds secrets" in text
    for value in secrets.values():
        assert value not in text
    assert "DBPassword" not in text


def test_nothing_differs_nothing_shown(spec, secrets):
    ctx, ex = _ctx(spec, secrets, lambda tree: {p: (f.text, f"{f.mode:o} {f.owner} {f.group}") for p, f in tree.items()})
    assert file_diffs(ctx) == []
    assert not any(argv[0] == "cat" for argv, _ in ex.calls)       # no file was read without need


def test_no_cluster_yet_means_no_cib_diff(spec, secrets):
    ctx, _ = _ctx(spec, secrets, lambda tree: {})
    assert cib_diff(ctx) == []


def test_plan_says_which_resources_restart_from_crm_simulate_on_the_live_status(spec, secrets, tmp_path,
                                                                                monkeypatch):
    # A running cluster (crm_simulate'd, real tools); the answers move the VIP: Pacemaker restarts
    # the VIP and what starts after it in the group, never the filesystem or MariaDB before it.
    import copy

    from tests.data.status.simulate import running
    from wizard.install.diff import transition
    from wizard.remote import LocalExecutor

    monkeypatch.setenv("CIB_file", str(running(tmp_path, "ipmi")))
    node = spec.hostnames[0]
    same = Context(spec, secrets, node, {node: LocalExecutor(node)}, render(spec, secrets), Shared())
    assert transition(same) == []
    moved = copy.deepcopy(spec)
    moved.services.vip = moved.services.vip.rsplit(".", 1)[0] + ".77"
    ctx = Context(moved, secrets, node, {node: LocalExecutor(node)}, render(moved, secrets), Shared())
    lines = transition(ctx)
    restarted = {line.split()[2] for line in lines if line.startswith("* Restart")}
    assert "zabbix-vip" in restarted and "zabbix-server" in restarted, lines
    assert not restarted & {"zabbix-fs", "zabbix-db"}, lines


def test_effects_name_what_restarts_per_changed_file(spec, secrets, monkeypatch):
    from wizard.install import diff

    def files(tree):
        out = {f.path: (f.text, f"{f.mode:o} {f.owner} {f.group}") for f in tree.values()}
        for f in tree.values():
            if f.kind in ("zabbix-server", "apache"):
                out[f.path] = (f.text + "# older\n", out[f.path][1])
        return out
    ctx, _ = _ctx(spec, secrets, files)
    monkeypatch.setattr(diff, "transition", lambda c: ["* Restart    zabbix-vip    ( zbx-node1 )  due to ..."])
    text = "".join(diff.effects({ctx.node: ctx}, [ctx.node]))
    assert "zabbix_server.conf: the Zabbix server restarts in place" in text
    assert "Apache reloads gracefully" in text and "zabbix-vip" in text
    assert "MariaDB restarts" not in text                  # MariaDB's file did not change
