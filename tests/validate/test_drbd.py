import pytest

from wizard.validators import check_drbd_global, check_drbd_resource

from .conftest import NODE1, NODE2, assert_all_ok, assert_rejected, mutate, sample

pytestmark = pytest.mark.validators

RES = sample("r0.res")
GLOBAL = sample("global_common.conf")


@pytest.mark.parametrize("node", [NODE1, NODE2])
def test_good_resource_passes_as_each_node(ctx, node):
    verdicts = check_drbd_resource(RES, ctx, node, global_common=GLOBAL)
    assert [v.tool for v in verdicts] == ["drbdadm dump", "drbdadm -d up", "python"]
    assert_all_ok(verdicts)


def test_good_global_common_passes(ctx):
    assert_all_ok(check_drbd_global(GLOBAL, ctx, NODE1))


def test_missing_semicolon_is_a_parse_error(ctx):
    bad = mutate(RES, "device /dev/drbd0;", "device /dev/drbd0")
    v = assert_rejected(check_drbd_resource(bad, ctx, NODE1), "drbdadm dump", "Parse error")
    # Messages name the real path, not the temp copy.
    assert any(m.startswith("/etc/drbd.d/r0.res:") for m in v.messages)


def test_drbd9_syntax_is_refused_by_the_84_parser(ctx):
    bad = mutate(RES, "    on zbx-node1 {", "    connection-mesh { hosts zbx-node1 zbx-node2; }\n    on zbx-node1 {")
    assert_rejected(check_drbd_resource(bad, ctx, NODE1), "drbdadm dump", "connection-mesh")


def test_meta_disk_index_must_be_a_number(ctx):
    bad = mutate(RES, "/dev/sdb2[0]", "/dev/sdb2[x]")
    assert_rejected(check_drbd_resource(bad, ctx, NODE1), "drbdadm dump", "TK_INTEGER")


def test_unterminated_resource_is_caught_in_python(ctx):
    # drbdadm-84 accepts EOF inside `resource r0 {`: dump and -d up both pass.
    bad = RES.rstrip().rsplit("}", 1)[0]
    verdicts = check_drbd_resource(bad, ctx, NODE1)
    assert [v.ok for v in verdicts if v.tool.startswith("drbdadm")] == [True, True]  # the trap
    assert_rejected(verdicts, "python", "1 unclosed '{'")


def test_missing_peer_section_fails_the_dry_run(ctx):
    bad = mutate(RES, "    on zbx-node2 {\n        address ipv4 172.16.2.2:7788;\n    }\n", "")
    verdicts = check_drbd_resource(bad, ctx, NODE1)
    assert_rejected(verdicts, "drbdadm -d up", "Missing section")
    assert_rejected(verdicts, "python", "no 'on zbx-node2' section")


def test_bad_enum_that_drbdadm_84_passes_is_caught_in_python(ctx):
    bad = mutate(GLOBAL, "after-sb-0pri discard-zero-changes", "after-sb-0pri discard-everything")
    verdicts = check_drbd_global(bad, ctx, NODE1)
    assert [v.ok for v in verdicts if v.tool == "drbdadm dump"] == [True]  # the trap
    assert_rejected(verdicts, "python", "after-sb-0pri 'discard-everything'")


def test_bad_ip_octet_is_caught_in_python(ctx):
    bad = mutate(RES, "172.16.2.2:7788", "172.16.2.300:7788")
    assert_rejected(check_drbd_resource(bad, ctx, NODE1), "python", "'172.16.2.300' is not a valid IPv4")


def test_address_not_on_the_interconnect_is_caught(ctx):
    bad = RES.replace("172.16.2.", "10.9.9.")
    assert_rejected(check_drbd_resource(bad, ctx, NODE2), "drbdadm -d up", "not one of zbx-node2's interconnect")


def test_same_address_on_both_hosts(ctx):
    bad = mutate(RES, "172.16.2.2:7788", "172.16.2.1:7788")
    assert_rejected(check_drbd_resource(bad, ctx, NODE1), "drbdadm dump", "conflicting use of IP")


SECRET = "sample-peer-secret-0123456789"


def test_peer_secret_never_appears_in_messages(ctx):
    # The secret as an unexpected token: drbdadm echoes its first 20 characters.
    bad = mutate(RES, f'shared-secret "{SECRET}";', f'shared-secret "{SECRET}"\n "{SECRET}";')
    verdicts = check_drbd_resource(bad, ctx, NODE1, global_common=GLOBAL)
    v = assert_rejected(verdicts, "drbdadm dump", "Parse error")
    assert any("but got '********" in m for m in v.messages), v.messages
    assert not any(SECRET[:6] in m for x in verdicts for m in x.messages), v.messages


def test_secret_without_hmac_and_overlong_secret_are_refused(ctx):
    no_alg = mutate(RES, "        cram-hmac-alg sha256;\n", "")
    assert_rejected(check_drbd_resource(no_alg, ctx, NODE1), "python", "without cram-hmac-alg")
    long = mutate(RES, SECRET, "s" * 65)
    assert_rejected(check_drbd_resource(long, ctx, NODE1), "python", "shared-secret must be 1-64 characters")


def test_al_extents_beyond_the_activity_log_is_refused(ctx):
    # drbdadm-84 passes 99999 through; the kernel would refuse it on attach.
    bad = mutate(GLOBAL, "al-extents 3389;", "al-extents 99999;")
    assert_rejected(check_drbd_global(bad, ctx, NODE1), "python", "al-extents 99999 is outside 7..6433")


def test_resync_rate_out_of_range_is_refused_by_the_parser(ctx):
    bad = mutate(GLOBAL, "c-max-rate 110M;", "c-max-rate 110G;")
    assert_rejected(check_drbd_global(bad, ctx, NODE1), "drbdadm dump", "c-max-rate 110G")
