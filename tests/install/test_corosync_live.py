"""A changed corosync.conf taken live: two real corosync 3 processes on this machine.

Each node is a network namespace of its own (three veth pairs between them,
one per possible link) and a private mount namespace for /etc/corosync, its
log and /run; nothing of the machine's own network or files is touched.
The cluster starts with the rendered two-link corosync.conf; the answers
gain a third link; the install's step must see it, reload it without
restarting corosync, and both nodes must then run three connected links.
"""

from __future__ import annotations

import copy
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from wizard.install import corosync_live
from wizard.install.step import Context, Shared, StepFailed
from wizard.remote import LocalExecutor
from wizard.render import render
from wizard.spec import Link
from wizard.status.parse import parse_cfgtool

SUBNETS = ("10.79.1", "10.79.2", "10.79.3")
NODE_SH = """set -e
mount -t tmpfs tmpfs /run
mount --bind "$1/etc" /etc/corosync
mount --bind "$1/log" /var/log/corosync
exec corosync -f
"""


def _sh(*argv, check=True, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=check, **kw)


class NamespaceExecutor(LocalExecutor):
    """A command run inside one node's network and mount namespaces (those of its corosync)."""

    def __init__(self, node: str, pid: int) -> None:
        super().__init__(node)
        self.pid = pid

    def _exec(self, argv, stdin, timeout):
        return super()._exec(["nsenter", "-t", str(self.pid), "-n", "-m", "--", *argv], stdin, timeout)


def _spec(spec, links: int):
    s = copy.deepcopy(spec)
    s.links = [Link([f"{net}.1", f"{net}.2"]) for net in SUBNETS[:links]]
    return s


@pytest.fixture
def two_corosyncs(spec, tmp_path):
    if os.geteuid() != 0:
        pytest.fail("this test runs corosync in network namespaces: it needs root (CI runs as root)")
    tag = f"zhc{os.getpid() % 100000}"
    names = [f"{tag}a", f"{tag}b"]
    procs = []
    spec2 = _spec(spec, 2)
    key = os.urandom(128)
    try:
        for ns in names:
            _sh("ip", "netns", "add", ns)
        for i, net in enumerate(SUBNETS):
            a, b = f"l{i}a", f"l{i}b"
            _sh("ip", "-n", names[0], "link", "add", a, "type", "veth", "peer", "name", b, "netns", names[1])
            for ns, dev, host in ((names[0], a, 1), (names[1], b, 2)):
                _sh("ip", "-n", ns, "addr", "add", f"{net}.{host}/24", "dev", dev)
                _sh("ip", "-n", ns, "link", "set", dev, "up")
        for ns in names:
            _sh("ip", "-n", ns, "link", "set", "lo", "up")
        tree = render(spec2)
        dirs = {}
        for ns, node in zip(names, spec2.hostnames):
            d = tmp_path / node
            (d / "etc").mkdir(parents=True)
            (d / "log").mkdir()
            (d / "etc" / "authkey").write_bytes(key)
            (d / "etc" / "authkey").chmod(0o400)
            (d / "etc" / "corosync.conf").write_text(tree[node]["/etc/corosync/corosync.conf"].text)
            procs.append(subprocess.Popen(["ip", "netns", "exec", ns, "unshare", "-m", "--propagation", "private",
                                           "sh", "-c", NODE_SH, "node", str(d)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
            dirs[node] = d
        # The pid of each corosync (the shell execs it, unshare too): the Popen's own pid.
        executors = {node: NamespaceExecutor(node, p.pid) for node, p in zip(spec2.hostnames, procs)}
        deadline = time.monotonic() + 60
        while True:
            states = [executors[n].run(["corosync-cfgtool", "-s"], check=False) for n in spec2.hostnames]
            if all(s.ok and len([ln for ln in parse_cfgtool(s.stdout).links if ln.connected]) == 2 for s in states):
                break
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                errors = [p.stderr.read().decode() if p.poll() is not None else "running" for p in procs]
                pytest.fail(f"the two corosyncs did not connect both links in 60 s: {errors} "
                            f"{[s.stdout + s.stderr for s in states]}")
            time.sleep(1)
        yield spec2, executors, dirs, procs
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        for ns in names:
            _sh("ip", "netns", "delete", ns, check=False)


def test_an_added_link_is_reloaded_live_without_restarting_corosync(two_corosyncs):
    spec2, executors, dirs, procs = two_corosyncs
    first = spec2.hostnames[0]
    ctx2 = Context(spec2, None, first, executors, render(spec2), Shared())
    # The file and the running cluster agree: the real cmap read the way the step reads it.
    assert corosync_live.in_place(ctx2)

    spec3 = _spec(spec2, 3)
    tree3 = render(spec3)
    for node, d in dirs.items():
        (d / "etc" / "corosync.conf").write_text(tree3[node]["/etc/corosync/corosync.conf"].text)
    ctx3 = Context(spec3, None, first, executors, tree3, Shared())
    assert not corosync_live.in_place(ctx3)
    said = corosync_live.reload(ctx3)
    assert "ring2_addr" in said and "reloaded live" in said
    assert corosync_live.in_place(ctx3)
    # Both nodes: three links, all connected (knet may take a few seconds to bring a new one up).
    deadline = time.monotonic() + 60
    while True:
        links = [parse_cfgtool(executors[n].run(["corosync-cfgtool", "-s"]).stdout).links for n in spec3.hostnames]
        if all(len(ls) == 3 and all(ln.connected for ln in ls) for ls in links) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert [[(ln.id, ln.connected) for ln in ls] for ls in links] == [[(0, True), (1, True), (2, True)]] * 2

    # And back: the answers drop the third link again; reloaded, no link 2 remains.
    for node, d in dirs.items():
        (d / "etc" / "corosync.conf").write_text(ctx2.tree[node]["/etc/corosync/corosync.conf"].text)
    assert "ring2_addr" in "".join(k for keys in corosync_live.stale(ctx2).values() for k in keys)
    corosync_live.reload(ctx2)
    assert corosync_live.in_place(ctx2)
    links = [parse_cfgtool(executors[n].run(["corosync-cfgtool", "-s"]).stdout).links for n in spec2.hostnames]
    assert [[ln.id for ln in ls] for ls in links] == [[0, 1]] * 2
    assert all(p.poll() is None for p in procs)          # never restarted


def test_a_node_that_missed_the_reload_request_is_asked_again(two_corosyncs):
    # Node2 re-reads its file when node1's request arrives, but that file is still the old one
    # (as if node2 had been between memberships and never heard the request): the step must ask
    # node2 itself once its file is the new one, not wait out its bound.
    spec2, executors, dirs, procs = two_corosyncs
    first, second = spec2.hostnames
    spec3 = _spec(spec2, 3)
    tree3 = render(spec3)
    (dirs[first] / "etc" / "corosync.conf").write_text(tree3[first]["/etc/corosync/corosync.conf"].text)
    late = threading.Timer(5, lambda: (dirs[second] / "etc" / "corosync.conf").write_text(
        tree3[second]["/etc/corosync/corosync.conf"].text))
    late.start()
    try:
        said = corosync_live.reload(Context(spec3, None, first, executors, tree3, Shared()))
    finally:
        late.cancel()
    assert "ring2_addr" in said
    assert corosync_live.in_place(Context(spec3, None, first, executors, tree3, Shared()))
    assert all(p.poll() is None for p in procs)


def test_a_change_corosync_cannot_take_live_is_refused_and_nothing_is_reloaded(two_corosyncs):
    spec2, executors, dirs, procs = two_corosyncs
    renamed = copy.deepcopy(spec2)
    renamed.name = "other-cluster"
    tree = render(renamed)
    for node, d in dirs.items():
        (d / "etc" / "corosync.conf").write_text(tree[node]["/etc/corosync/corosync.conf"].text)
    ctx = Context(renamed, None, renamed.hostnames[0], executors, tree, Shared())
    with pytest.raises(StepFailed, match="totem.cluster_name") as err:
        corosync_live.reload(ctx)
    assert "running cluster" in err.value.fix
    running = corosync_live.parse_cmap(executors[renamed.hostnames[0]].run(["corosync-cmapctl"]).stdout)
    assert running["totem.cluster_name"] == spec2.name


def test_flatten_names_keys_as_cmap_does(spec):
    text = render(_spec(spec, 3))[spec.hostnames[0]]["/etc/corosync/corosync.conf"].text
    keys = corosync_live.flatten(text)
    assert keys["totem.interface.2.knet_link_priority"] == "1" and keys["totem.interface.0.knet_link_priority"] == "3"
    assert keys["nodelist.node.1.ring2_addr"] == "10.79.3.2" and keys["nodelist.node.0.name"] == spec.hostnames[0]
    assert "totem.interface.0.linknumber" not in keys and keys["quorum.two_node"] == "1"
    # A link the file no longer names is a difference too.
    running = dict(keys, **{"nodelist.node.0.ring3_addr": "10.79.4.1"})
    assert corosync_live.differences(keys, running) == ["nodelist.node.0.ring3_addr"]
    assert corosync_live.fixed(["totem.cluster_name", "totem.token", "nodelist.node.0.nodeid"]) == \
        ["totem.cluster_name", "nodelist.node.0.nodeid"]
