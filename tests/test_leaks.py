"""Secrets never leak, in any spelling (issue 14 item 15).

A password with characters every format escapes (`<&'"\\$`) is looked for
raw and in its XML, PHP, YAML, JSON and shell-quoted forms: in every file
that is not a secret file, and in what `render`, `validate` and
`preflight --json` print.
"""

from __future__ import annotations

import copy
import html
import ipaddress
import json
import os
import shlex
import subprocess
import sys
from xml.sax.saxutils import escape, quoteattr

import pytest
import yaml

from tests.conftest import EXAMPLE_ANSWERS, ROOT
from wizard.answers import load_answers, save_answers, save_secrets
from wizard.render import render
from wizard.spec import Secret, Secrets, validate, validate_secrets

NASTY = Secrets(db_password=Secret("Db<&'\"pw\\$1 x"), hacluster_password=Secret("Ha<&'\"pw\\$2 y"),
                zabbix_admin_password=Secret("Ad<&'\"pw\\$3 z"),
                ipmi={"zbx-node1": Secret("B1<&'\"pw\\$4"), "zbx-node2": Secret("B2<&'\"pw\\$5")})


def forms(value: str) -> set[str]:
    """The spellings a value takes in the files and outputs we write."""
    found = {
        value,
        escape(value, {'"': "&quot;", "'": "&apos;"}),             # XML attribute
        escape(value, {'"': "&#34;", "'": "&#39;"}),
        quoteattr(value)[1:-1],                                      # XML attribute, as the stdlib quotes it
        value.replace("\\", "\\\\").replace("'", "\\'"),            # PHP single-quoted
        yaml.safe_dump(value).strip().removesuffix("...").strip(),   # YAML scalar
        json.dumps(value)[1:-1],                                     # JSON string
        shlex.quote(value),                                          # shell
    }
    # The part before the first special character too: a value cut at a quote is still a leak.
    head = value.split("<")[0]
    if len(head) >= 2:
        found.add(head + "<")
    return {f for f in found if len(f) >= 4}


def all_forms(secrets: Secrets) -> dict[str, str]:
    return {f: v for v in secrets.values() for f in forms(v)}


def leaks(text: str, secrets: Secrets) -> list[str]:
    # Any XML/HTML entity spelling (&quot; &#34; &#x22; ...) reads back to the raw value.
    unescaped = html.unescape(text)
    found = {f"{value!r} as {form!r}" for form, value in all_forms(secrets).items() if form in text}
    found |= {f"{value!r} (entity-escaped)" for value in secrets.values() if value in unescaped}
    return sorted(found)


def test_the_nasty_secrets_are_valid(spec):
    assert not [p for p in validate_secrets(spec, NASTY) if p.severity == "error"]


def test_no_spelling_of_a_secret_in_a_file_that_is_not_secret(spec):
    tree = render(spec, NASTY)
    secret_files = 0
    for node, files in tree.items():
        for f in files.values():
            if f.secret:
                secret_files += 1
                assert f.mode & 0o077 == 0 or f.mode == 0o640, (node, f.path, oct(f.mode))
            else:
                assert leaks(f.text, NASTY) == [], f"{node}:{f.path}"
    assert secret_files >= 4


def _cli(*args, cwd, prefix=(), **kw):
    return subprocess.run([*prefix, sys.executable, "-m", "wizard", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "HOME": str(cwd)}, **kw)


def _secrets_file(tmp_path):
    path = tmp_path / "s.yaml"
    save_secrets(NASTY, path)
    return path


def test_render_and_validate_print_no_secret(tmp_path):
    secrets = _secrets_file(tmp_path)
    r = _cli("render", "--answers", EXAMPLE_ANSWERS, "--secrets", secrets, "--out", tmp_path / "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert leaks(r.stdout + r.stderr, NASTY) == []
    v = _cli("validate", "--answers", EXAMPLE_ANSWERS, "--secrets", secrets, cwd=tmp_path)
    assert "Traceback" not in v.stderr and v.stdout.strip(), v.stderr
    assert leaks(v.stdout + v.stderr, NASTY) == []


NODE_NS = "zha-test-leaks"
NODE_ADDRESSES = ("10.99.77.1", "10.99.77.2")


@pytest.fixture
def two_node_namespace():
    """A network namespace of its own holding both "node" addresses (a veth pair):
    the first node is reached locally, the second over SSH to an address of the
    same namespace; nothing can leave it, and the host's network is untouched."""
    ns = ["ip", "netns", "exec", NODE_NS]
    subprocess.run(["ip", "netns", "delete", NODE_NS], capture_output=True)
    subprocess.run(["ip", "netns", "add", NODE_NS], check=True)
    try:
        for argv in (["ip", "link", "set", "lo", "up"],
                     ["ip", "link", "add", "n1", "type", "veth", "peer", "name", "n2"],
                     ["ip", "addr", "add", f"{NODE_ADDRESSES[0]}/24", "dev", "n1"],
                     ["ip", "addr", "add", f"{NODE_ADDRESSES[1]}/24", "dev", "n2"],
                     ["ip", "link", "set", "n1", "up"], ["ip", "link", "set", "n2", "up"]):
            subprocess.run([*ns, *argv], check=True, capture_output=True)
        yield ns
    finally:
        subprocess.run(["ip", "netns", "delete", NODE_NS], capture_output=True)


def test_preflight_json_prints_no_secret(tmp_path, two_node_namespace):
    """Both nodes are addresses of a namespace of the test's own (the first is
    reached locally, the second over SSH, which finds no sshd there): no packet
    leaves it, and --no-probe asks no BMC."""
    own = list(NODE_ADDRESSES)
    spec = copy.deepcopy(load_answers(EXAMPLE_ANSWERS))
    spec.nodes[0].address, spec.nodes[1].address = own[0], own[1]
    spec.services.vip = "172.16.1.10"
    spec.services.source_address = ""
    spec.fencing.ipmi[0].address, spec.fencing.ipmi[1].address = "172.16.9.1", "172.16.9.2"
    assert not [p for p in validate(spec) if p.severity == "error"], validate(spec)
    assert all(not ipaddress.ip_address(a).is_loopback for a in own[:2])
    answers = tmp_path / "a.yaml"
    save_answers(spec, answers)
    r = _cli("preflight", "--answers", answers, "--secrets", _secrets_file(tmp_path), "--json", "--no-probe",
             "--skip-source-probe", "--trust-dir", tmp_path / "trust", cwd=tmp_path, stdin=subprocess.DEVNULL,
             prefix=two_node_namespace)
    assert r.returncode in (0, 1), r.stderr
    out = json.loads(r.stdout)
    assert out["findings"], out
    assert leaks(r.stdout + r.stderr, NASTY) == []


def test_the_leak_check_sees_every_spelling():
    """The detector itself: each escaped form is found (a hollow check would pass anything)."""
    value = NASTY.db_password.reveal()
    xml = escape(value, {'"': "&quot;"})
    for text in ('<nvpair value="' + xml + '"/>',
                 "$DB['PASSWORD'] = '" + value.replace("\\", "\\\\").replace("'", "\\'") + "';",
                 "password: " + yaml.safe_dump(value), json.dumps({"p": value}), "echo " + shlex.quote(value)):
        assert leaks(text, NASTY), text
