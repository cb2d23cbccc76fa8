"""services.extra_vips: validated like the VIP, each error naming its field and the fix;
an answers file without any stays byte for byte what it was."""

import copy

import pytest

from tests.conftest import EXAMPLE_ANSWERS
from wizard.answers import AnswersError, dump_answers, load_answers, save_answers
from wizard.render import render
from wizard.spec import ExtraVip, IpmiDevice, extra_vip_id, validate


def _extra(spec, *vips):
    spec.services.extra_vips = list(vips)
    return spec


def _ok(address="192.168.10.101", prefix=24, nics=("eth0", "eth0"), name=""):
    return ExtraVip(address, prefix, list(nics), name)


def test_a_valid_extra_vip_passes(spec):
    assert validate(_extra(spec, _ok(), _ok("192.168.10.102", 24, ["eth0", "ens18"], "backup"))) == []


@pytest.mark.parametrize("vip,field,code", [
    (_ok("192.168.10.300"), "services.extra_vips[0].address", "invalid-ip"),
    (_ok("127.0.0.1"), "services.extra_vips[0].address", "unusable-ip"),
    (_ok("192.168.10.12"), "services.extra_vips[0].address", "vip-is-node-address"),
    (_ok("172.16.1.1"), "services.extra_vips[0].address", "vip-is-node-address"),
    (_ok("192.168.10.10"), "services.extra_vips[0].address", "duplicate-vip"),
    (_ok("192.168.10.20"), "services.extra_vips[0].address", "duplicate-vip"),
    (_ok("192.168.10.255"), "services.extra_vips[0].address", "network-address"),
    (_ok("10.99.0.5"), "services.extra_vips[0].address", "extra-vip-outside-subnets"),
    (_ok(prefix=33), "services.extra_vips[0].prefix", "invalid-prefix"),
    (_ok(nics=["eth0"]), "services.extra_vips[0].nics", "nic-count"),
    (_ok(nics=[]), "services.extra_vips[0].nics", "nic-count"),
    (_ok(nics=["eth0", "bad nic!"]), "services.extra_vips[0].nics[1]", "invalid-nic"),
    (_ok(name="no spaces"), "services.extra_vips[0].name", "invalid-vip-name"),
    (_ok(name="x" * 33), "services.extra_vips[0].name", "invalid-vip-name"),
    (_ok(name="a\nb"), "services.extra_vips[0].name", "control-character"),
])
def test_bad_extra_vip_names_field_and_fix(spec, vip, field, code):
    problems = validate(_extra(spec, vip))
    hit = [p for p in problems if p.field == field and p.code == code]
    assert hit, problems
    assert all(p.fix for p in problems)


def test_duplicates_among_the_extras_name_the_later_one(spec):
    problems = validate(_extra(spec, _ok(), _ok("192.168.10.102"), _ok("192.168.10.101")))
    assert [(p.field, p.code) for p in problems] == [("services.extra_vips[2].address", "duplicate-vip")]
    assert "services.extra_vips[0].address" in problems[0].message


def test_the_same_address_spelled_twice_is_a_duplicate(spec):
    spec.nodes[0].address, spec.nodes[1].address = "fd00:10::11", "fd00:10::12"
    spec.services.vip, spec.services.source_address = "fd00:10::10", ""
    spec.services.vip_prefix = 64
    problems = validate(_extra(spec, _ok("fd00:10::a", 64), _ok("fd00:10:0::000a", 64)))
    assert ("services.extra_vips[1].address", "duplicate-vip") in [(p.field, p.code) for p in problems]


def test_two_resources_of_one_name_are_refused(spec):
    problems = validate(_extra(spec, _ok(name="web"), _ok("192.168.10.102", name="web")))
    assert [(p.field, p.code) for p in problems] == [("services.extra_vips[1].name", "duplicate-vip-name")]


def test_a_bmc_on_an_extra_vip_is_refused(spec):
    spec.fencing.ipmi[1] = IpmiDevice("192.168.10.101", "fence")
    problems = validate(_extra(spec, _ok()))
    assert ("fencing.ipmi[1].address", "bmc-is-cluster-address") in [(p.field, p.code) for p in problems]


def test_resource_ids_are_stable_and_valid():
    assert extra_vip_id(_ok("10.213.0.101")) == "vip-extra-10-213-0-101"
    assert extra_vip_id(_ok("fd00:10:0::000a")) == "vip-extra-fd00-10--a"
    assert extra_vip_id(_ok(name="backup")) == "vip-extra-backup"


def test_answers_without_extra_vips_dump_and_render_as_before(spec, secrets, tmp_path):
    text = dump_answers(spec)
    assert "extra_vips" not in text
    before = render(spec, secrets)
    empty = copy.deepcopy(spec)
    empty.services.extra_vips = []
    after = render(empty, secrets)
    assert {n: {p: f.text for p, f in files.items()} for n, files in before.items()} == \
           {n: {p: f.text for p, f in files.items()} for n, files in after.items()}


def test_answers_round_trip_with_extra_vips(spec, tmp_path):
    _extra(spec, _ok(), _ok("192.168.10.102", 24, ["eth0", "ens18"], "backup"))
    path = tmp_path / "a.yaml"
    save_answers(spec, path)
    text = path.read_text()
    assert "extra_vips:" in text and "name: backup" in text and "name: ''" not in text
    assert load_answers(path) == spec


@pytest.mark.parametrize("block,expected", [
    ("  extra_vips: 10.0.0.1\n", "services.extra_vips: expected a list"),
    ("  extra_vips:\n  - 10.0.0.1\n", "services.extra_vips[0]: expected a mapping"),
    ("  extra_vips:\n  - {adress: 10.0.0.1}\n", "services.extra_vips[0].adress: unknown key"),
    ("  extra_vips:\n  - {nics: [eth0, eth0]}\n", "services.extra_vips[0].address: required key is missing"),
    ("  extra_vips:\n  - {address: 10.0.0.1, prefix: x}\n", "services.extra_vips[0].prefix: expected a whole number"),
])
def test_bad_yaml_shapes_name_the_key(tmp_path, block, expected):
    text = EXAMPLE_ANSWERS.read_text()
    anchor = "  source_address: 192.168.10.20"
    line = next(line for line in text.splitlines() if line.startswith(anchor))
    path = tmp_path / "a.yaml"
    path.write_text(text.replace(line + "\n", line + "\n" + block, 1))
    with pytest.raises(AnswersError) as info:
        load_answers(path)
    assert expected in str(info.value) and info.value.fix


def test_the_example_documents_the_extra_vips(tmp_path):
    """The example shows them commented out (it has none, so its dump stays as it was);
    uncommented, that block loads and validates."""
    text = EXAMPLE_ANSWERS.read_text()
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("  # extra_vips:"))
    block = []
    for line in lines[start:]:
        if not line.startswith("  # "):
            break
        block.append("  " + line[4:])
    uncommented = "".join(lines[:start] + block + lines[start + len(block):])
    path = tmp_path / "a.yaml"
    path.write_text(uncommented)
    spec = load_answers(path)
    assert [v.address for v in spec.services.extra_vips] == ["192.168.10.30"]
    assert {"address", "prefix", "nics", "name"} <= set(uncommented[uncommented.index("extra_vips:"):].split("zabbix:")[0]
                                                       .replace(":", " ").split())
    assert validate(spec) == []
