"""The hostile-input table: the real `zabbix-ha` CLI fed what a careless or
hostile person might give it. Every case names its input, the exit code it
expects and the field (or file, or option) the message must name; no case
may print a Python traceback (issue 14, items 1-6).

All cases run as subprocesses (`python -m wizard`), in parallel, once per
module; each case is then its own test.
"""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tests.conftest import EXAMPLE_ANSWERS, ROOT

EXAMPLE = yaml.safe_load(EXAMPLE_ANSWERS.read_text())
GOOD_SECRETS = {"format": 1, "db_password": "db-secret-1", "hacluster_password": "ha-secret-1",
                "zabbix_admin_password": "admin-secret-1",
                "ipmi": {"zbx-node1": "bmc-secret-1", "zbx-node2": "bmc-secret-2"}}


@dataclass
class Case:
    id: str
    named: str                       # must appear in stderr
    answers: object = None           # dict -> YAML; str/bytes -> written as is; None -> the example
    secrets: object = None           # dict -> YAML (0600); str/bytes as is; None -> no --secrets
    command: str = "render"          # render | validate | export | preflight | wizard-yes
    extra: list = field(default_factory=list)
    code: int = 2
    secrets_mode: int = 0o600


def edit(path: str, value) -> dict:
    """The example answers with one value replaced; path like `nodes[0].address`."""
    data = copy.deepcopy(EXAMPLE)
    parts = path.replace("]", "").replace("[", ".").split(".")
    target = data
    for part in parts[:-1]:
        target = target[int(part)] if part.isdigit() else target[part]
    last = parts[-1]
    if last.isdigit():
        target[int(last)] = value
    else:
        target[last] = value
    return data


def drop(path: str) -> dict:
    data = copy.deepcopy(EXAMPLE)
    parts = path.split(".")
    target = data
    for part in parts[:-1]:
        target = target[part]
    del target[parts[-1]]
    return data


TEXT_FIELDS = ["name", "platform", "nodes[0].hostname", "nodes[1].address", "nodes[0].ssh_user",
               "links[0].addresses[1]", "storage.nodes[0].disk", "storage.nodes[1].meta_disk", "storage.resource",
               "storage.mount_point", "storage.protocol", "services.vip", "services.vip_nics[1]",
               "services.source_address", "zabbix.db_name", "zabbix.db_user", "zabbix.server_name",
               "zabbix.timezone", "fencing.ipmi[0].user", "fencing.ipmi[1].address"]


def _value_at(path: str):
    data = EXAMPLE
    for part in path.replace("]", "").replace("[", ".").split("."):
        data = data[int(part)] if part.isdigit() else data[part]
    return data


CASES: list[Case] = []
# 1/2: control characters in every kind of text field, one rule naming the field.
for _path in TEXT_FIELDS:
    for _name, _bad in (("newline", "\n"), ("nul", "\x00"), ("escape", "\x1b")):
        CASES.append(Case(f"control-{_name}-{_path}", _path, edit(_path, str(_value_at(_path)) + _bad)))
CASES += [
    Case("bmc-user-action-off", "fencing.ipmi[0].user", edit("fencing.ipmi[0].user", "fence\naction=off")),
    Case("bmc-user-action-off-preflight", "fencing.ipmi[0].user", edit("fencing.ipmi[0].user", "fence\naction=off"),
         command="preflight"),
    Case("db-name-trailing-newline-validate", "zabbix.db_name", edit("zabbix.db_name", "zabbix\n"), command="validate"),
    Case("resource-trailing-newline", "storage.resource", edit("storage.resource", "r0\n")),
    Case("cluster-name-tab", "name", edit("name", "zbx\tcluster")),
    Case("hostname-line-separator", "nodes[1].hostname", edit("nodes[1].hostname", "zbx-node2\u2028")),
    # 3: paths normalised before they are judged
    Case("disk-dot", "storage.nodes[0].disk", edit("storage.nodes[0].disk", "/dev/./sda6")),
    Case("disk-double-slash", "storage.nodes[0].disk", edit("storage.nodes[0].disk", "/dev//sda6")),
    Case("meta-dot-equals-disk", "storage.nodes[1].meta_disk", edit("storage.nodes[1].meta_disk", "/dev/./sda6")),
    Case("whole-disk-data-partition-meta", "storage.nodes[0].meta_disk",
         edit("storage.nodes[0].disk", "/dev/sda")),
    Case("partition-of-data-as-meta", "storage.nodes[1].meta_disk",
         {**edit("storage.nodes[1].disk", "/dev/sdb"),
          "storage": {**edit("storage.nodes[1].disk", "/dev/sdb")["storage"],
                      "nodes": [EXAMPLE["storage"]["nodes"][0], {"disk": "/dev/sdb", "meta_disk": "/dev/sdb2",
                                                                 "meta_index": 0}]}}),
    Case("disk-dotdot", "storage.nodes[0].disk", edit("storage.nodes[0].disk", "/dev/../etc/passwd")),
    Case("disk-not-dev", "storage.nodes[0].disk", edit("storage.nodes[0].disk", "/etc/passwd")),
    Case("mount-slash-dot", "storage.mount_point", edit("storage.mount_point", "/.")),
    Case("mount-etc-dot", "storage.mount_point", edit("storage.mount_point", "/etc/.")),
    Case("mount-usr-lib", "storage.mount_point", edit("storage.mount_point", "/usr/lib")),
    Case("mount-etc-zabbix", "storage.mount_point", edit("storage.mount_point", "/etc/zabbix")),
    Case("mount-var-lib-dpkg", "storage.mount_point", edit("storage.mount_point", "/var/lib/dpkg")),
    Case("mount-relative", "storage.mount_point", edit("storage.mount_point", "srv/zabbix")),
    Case("mount-root", "storage.mount_point", edit("storage.mount_point", "/")),
    Case("source-outside-subnets", "services.source_address", edit("services.source_address", "10.99.0.5")),
    Case("bmc-equals-vip", "fencing.ipmi[0].address", edit("fencing.ipmi[0].address", "192.168.10.10")),
    Case("bmc-equals-source", "fencing.ipmi[1].address", edit("fencing.ipmi[1].address", "192.168.10.20")),
    Case("bmc-equals-link", "fencing.ipmi[1].address", edit("fencing.ipmi[1].address", "172.16.1.2")),
    Case("bmc-equals-node", "fencing.ipmi[0].address", edit("fencing.ipmi[0].address", "192.168.10.11")),
    # 5: DNS names where an address is needed, named at their own field
    Case("node-address-dns", "nodes[0].address", edit("nodes[0].address", "zbx-node1.example.com")),
    Case("node-address-dns-preflight", "nodes[1].address", edit("nodes[1].address", "node-b.invalid"),
         command="preflight"),
    Case("vip-scoped-ipv6", "services.vip", edit("services.vip", "fe80::1%eth0")),
    Case("vip-loopback", "services.vip", edit("services.vip", "127.0.0.1")),
    Case("link-address-300", "links[0].addresses[0]", edit("links[0].addresses[0]", "172.16.1.300")),
    # 4: structure and files
    Case("three-nodes", "nodes", edit("nodes", EXAMPLE["nodes"] + [{"hostname": "n3", "address": "192.168.10.13"}])),
    Case("one-node", "nodes", edit("nodes", EXAMPLE["nodes"][:1])),
    Case("three-disk-entries", "storage.nodes", edit("storage.nodes", EXAMPLE["storage"]["nodes"] * 2)),
    Case("three-link-addresses", "links[0].addresses", edit("links[0].addresses", ["172.16.1.1"] * 3)),
    Case("no-links", "links", edit("links", [])),
    Case("nine-links", "links", edit("links", [{"addresses": [f"10.{i}.0.1", f"10.{i}.0.2"]} for i in range(9)])),
    Case("one-vip-nic", "services.vip_nics", edit("services.vip_nics", ["eth0"])),
    Case("one-bmc", "fencing.ipmi", edit("fencing.ipmi", EXAMPLE["fencing"]["ipmi"][:1])),
    Case("replication-link-missing", "storage.replication_link", edit("storage.replication_link", 7)),
    Case("format-true", "format", edit("format", True)),
    Case("format-two", "format", edit("format", 2)),
    Case("format-string", "format", edit("format", "1")),
    Case("format-missing", "format", drop("format")),
    Case("unknown-key", "zabbix.sizeing", {**EXAMPLE, "zabbix": {**EXAMPLE["zabbix"], "sizeing": "small"}}),
    Case("missing-required", "nodes", drop("nodes")),
    Case("port-text", "nodes[0].ssh_port", edit("nodes[0].ssh_port", "22x")),
    Case("port-bool", "nodes[0].ssh_port", edit("nodes[0].ssh_port", True)),
    Case("port-huge", "nodes[0].ssh_port", edit("nodes[0].ssh_port", 10**30)),
    Case("prefix-float", "links[0].prefix", edit("links[0].prefix", 24.5)),
    Case("prefix-negative", "links[0].prefix", edit("links[0].prefix", -1)),
    Case("lanplus-yes-string", "fencing.ipmi[0].lanplus", edit("fencing.ipmi[0].lanplus", "yes")),
    Case("nodes-mapping", "nodes", edit("nodes", {"a": 1})),
    Case("nodes-text", "nodes", edit("nodes", "zbx-node1")),
    Case("storage-list", "storage", edit("storage", ["x"])),
    Case("hostname-null", "nodes[0].hostname", edit("nodes[0].hostname", None)),
    Case("hostname-list", "nodes[0].hostname", edit("nodes[0].hostname", ["a"])),
    Case("timezone-date", "zabbix.timezone", "format: 1\n" + yaml.safe_dump({k: v for k, v in EXAMPLE.items()
                                                                          if k != "format"}).replace(
        "timezone: Europe/Berlin", "timezone: 2024-01-01")),
    Case("meta-mode-unknown", "storage.meta_disk_mode", edit("storage.meta_disk_mode", "external")),
    Case("platform-unknown", "platform", edit("platform", "windows")),
    Case("version-float", "zabbix.version", edit("zabbix.version", 6.5)),
    Case("duplicate-top-key", "name", EXAMPLE_ANSWERS.read_text() + "\nname: other\n"),
    Case("duplicate-nested-key", "db_name", EXAMPLE_ANSWERS.read_text().replace(
        "  db_name: zabbix\n", "  db_name: zabbix\n  db_name: other\n")),
    Case("alias-bomb", "aliases", "format: 1\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a]\n"
                                  "c: &c [*b, *b, *b, *b, *b, *b]\nname: *c\n"),
    Case("deep-nesting", "nested too deeply", "format: 1\nname: " + "[" * 20000 + "]" * 20000 + "\n"),
    Case("binary-answers", "answers", b"\xff\xfe\x00\x01binary\x80\x81"),
    Case("latin1-answers", "answers", EXAMPLE_ANSWERS.read_text().replace("# zabbix-ha", "# zabbix-h\xe4").encode(
        "latin-1")),
    Case("huge-answers", "larger than", "format: 1\n" + "# padding\n" * 120_000),
    Case("empty-answers", "answers", ""),
    Case("null-answers", "answers", "~\n"),
    Case("list-answers", "answers", "- a\n- b\n"),
    Case("bad-yaml", "line", "format: 1\nname: [unclosed\n"),
    Case("tab-indented-yaml", "line", "format: 1\nnodes:\n\t- hostname: a\n"),
    Case("answers-missing", "does not exist", None, extra=["--answers", "/nonexistent/zha.yaml"]),
    Case("answers-is-dir", "cannot be read", None, extra=["--answers", "/"]),
    Case("answers-dev-zero", "/dev/zero", None, extra=["--answers", "/dev/zero"]),
    Case("out-is-a-file", "--out", None, extra=["--out", str(EXAMPLE_ANSWERS)]),
    Case("out-under-a-file", "--out", None, extra=["--out", str(EXAMPLE_ANSWERS / "sub")]),
    Case("out-in-proc", "--out", None, extra=["--out", "/proc/zabbix-ha-out"]),
    # A non-empty directory render did not write (no manifest of its own there).
    Case("out-foreign-directory", "--out", None, extra=["--out", str(ROOT / "examples")]),
    Case("export-out-is-a-directory", "--out", None, command="export", extra=["--out", str(ROOT / "examples")]),
    Case("export-out-under-a-file", "--out", None, command="export", extra=["--out", str(EXAMPLE_ANSWERS / "b")]),
    Case("export-bad-secrets", "secrets.db_password", command="export",
         secrets={**GOOD_SECRETS, "db_password": "short"}),
    # 6 and secrets files
    Case("secret-leading-space", "secrets.db_password", secrets={**GOOD_SECRETS, "db_password": " db-secret-1"}),
    Case("secret-trailing-space", "secrets.hacluster_password",
         secrets={**GOOD_SECRETS, "hacluster_password": "ha-secret-1 "}),
    Case("secret-newline", "secrets.zabbix_admin_password",
         secrets={**GOOD_SECRETS, "zabbix_admin_password": "admin\nsecret"}),
    Case("secret-escape", "secrets.db_password", secrets={**GOOD_SECRETS, "db_password": "db-secret\x1b[2J"}),
    Case("bmc-password-newline-preflight", "secrets.ipmi.zbx-node1",
         secrets={**GOOD_SECRETS, "ipmi": {"zbx-node1": "pw\naction=off", "zbx-node2": "bmc-secret-2"}},
         command="preflight"),
    Case("secret-short", "secrets.db_password", secrets={**GOOD_SECRETS, "db_password": "short"}),
    Case("secret-missing-bmc", "secrets.ipmi.zbx-node2", secrets={**GOOD_SECRETS, "ipmi": {"zbx-node1": "bmc-1"}}),
    Case("secret-unknown-node", "secrets.ipmi.zbx-node9",
         secrets={**GOOD_SECRETS, "ipmi": {**GOOD_SECRETS["ipmi"], "zbx-node9": "bmc-secret-9"}}),
    Case("secret-number", "db_password", secrets={**GOOD_SECRETS, "db_password": 12345678}),
    Case("secret-unknown-key", "db_pasword", secrets={**GOOD_SECRETS, "db_pasword": "x"}),
    Case("secrets-world-readable", "chmod 600", secrets=GOOD_SECRETS, secrets_mode=0o644),
    Case("secrets-binary", "secrets", secrets=b"\xff\x00\xfe"),
    Case("secrets-duplicate-key", "db_password", secrets=yaml.safe_dump(GOOD_SECRETS) + "db_password: again\n"),
    Case("secrets-format-true", "format", secrets={**GOOD_SECRETS, "format": True}),
    # The wizard's unattended mode and the other commands
    Case("yes-without-answers", "--answers", None, command="wizard-yes-bare"),
    Case("yes-bad-answers", "nodes[0].address", edit("nodes[0].address", "zbx-node1.example.com"),
         command="wizard-yes"),
    Case("yes-three-nodes", "nodes", edit("nodes", EXAMPLE["nodes"] * 2), command="wizard-yes"),
    Case("yes-binary", "answers", b"\x00\xff", command="wizard-yes"),
    Case("validate-control", "services.vip_nics[0]", edit("services.vip_nics[0]", "eth0\x1b"), command="validate"),
    Case("preflight-without-answers", "--answers", None, command="preflight-bare"),
    Case("preflight-mount-etc", "storage.mount_point", edit("storage.mount_point", "/etc/zabbix"),
         command="preflight"),
]


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def _write(path: Path, content, mode: int = 0o644) -> Path:
    if isinstance(content, dict):
        content = yaml.dump(content, Dumper=_NoAliases, sort_keys=False, allow_unicode=False)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(content if isinstance(content, bytes) else content.encode())
    os.chmod(path, mode)
    return path


def _argv(case: Case, work: Path) -> list[str]:
    argv: list[str] = []
    if not any(a == "--answers" for a in case.extra):
        answers = EXAMPLE_ANSWERS if case.answers is None else _write(work / "answers.yaml", case.answers)
        argv += ["--answers", str(answers)]
    if case.secrets is not None:
        argv += ["--secrets", str(_write(work / "answers.secrets.yaml", case.secrets, case.secrets_mode))]
    argv += case.extra
    if case.command in ("render",):
        if "--out" not in argv:
            argv += ["--out", str(work / "out")]
        return ["render", *argv]
    if case.command == "validate":
        return ["validate", *argv]
    if case.command == "export":
        if "--out" not in argv:
            argv += ["--out", str(work / "out")]
        return ["export", *argv]
    if case.command == "preflight":
        return ["preflight", *argv, "--trust-dir", str(work / "trust"), "--no-probe"]
    if case.command == "preflight-bare":
        return ["preflight", "--trust-dir", str(work / "trust")]
    if case.command == "wizard-yes":
        return [*argv, "--yes"]
    if case.command == "wizard-yes-bare":
        return ["--yes"]
    raise AssertionError(case.command)


def _run(case: Case, base: Path):
    work = base / case.id.replace("/", "_")
    work.mkdir()
    argv = _argv(case, work)
    env = {**os.environ, "HOME": str(work), "XDG_CONFIG_HOME": str(work / ".config"),
           "XDG_DATA_HOME": str(work / ".local"), "LANGUAGE": "C", "LANG": "C.UTF-8"}
    r = subprocess.run([sys.executable, "-m", "wizard", *argv], cwd=work, capture_output=True, text=True,
                       timeout=120, env=env, stdin=subprocess.DEVNULL)
    return argv, r, work


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    with ThreadPoolExecutor(max_workers=8) as pool:
        return dict(zip((c.id for c in CASES), pool.map(lambda c: _run(c, base), CASES)))


def test_the_table_is_large_and_unique():
    assert len(CASES) >= 100
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(results, case):
    argv, r, work = results[case.id]
    shown = f"zabbix-ha {' '.join(argv)}\nrc={r.returncode}\nstdout: {r.stdout[-500:]}\nstderr: {r.stderr[-1500:]}"
    assert "Traceback" not in r.stderr + r.stdout, shown
    assert r.returncode == case.code, shown
    assert case.named in r.stderr, shown
    # Nothing was written: no rendered tree, no saved answers.
    assert not (work / "out").exists(), shown
    assert not (work / "zabbix-ha.yaml").exists(), shown
    # A secret never comes back in the output.
    if isinstance(case.secrets, dict):
        for value in [case.secrets.get(k) for k in ("db_password", "hacluster_password", "zabbix_admin_password")]:
            if isinstance(value, str) and len(value.strip()) >= 8:
                assert value.strip() not in r.stderr + r.stdout, shown
