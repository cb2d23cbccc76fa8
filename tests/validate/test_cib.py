import dataclasses

import pytest

from wizard.validators import check_cib, simulate
from wizard.validators.pacemaker import installed_limits

from .conftest import NODE1, NODE2, assert_all_ok, assert_rejected, mutate, sample

pytestmark = pytest.mark.validators

CIB = sample("cib.xml")
CIB_STONITH = sample("cib-stonith.xml")
GROUP = ["fs_data", "mysql", "vip", "srcaddr", "apache", "zabbix"]
COLOCATION = ('<rsc_colocation id="col_g_zabbix_with_drbd" rsc="g_zabbix" with-rsc="drbd_r0-clone" '
              'with-rsc-role="Promoted" score="INFINITY"/>')


def everything_on(placement, node):
    """The assertion the lead's rendered CIB must meet: DRBD Promoted and the group on node."""
    promoted = [n for n, role in placement["drbd_r0"] if role == "Promoted"]
    return promoted == [node] and all(placement.get(r) == [(node, "Started")] for r in GROUP)


@pytest.mark.parametrize("text", [CIB, CIB_STONITH], ids=["no-stonith", "ipmi-stonith"])
def test_good_cib_passes_every_tool(ctx, text):
    verdicts = check_cib(text, ctx, NODE1)
    assert [v.tool for v in verdicts] == ["crm_verify", "crm configure verify", "python", "crm_simulate"]
    assert_all_ok(verdicts)


def test_scenarios_place_everything_where_expected(ctx):
    sim = simulate(CIB, ctx)
    assert sim.ok, sim
    assert set(sim.scenarios) == {"both-online", "preferred-standby", "preferred-failed", "preferred-outdated"}
    online = sim.scenarios["both-online"].placement
    assert online["drbd_r0"] == [(NODE1, "Promoted"), (NODE2, "Unpromoted")]
    assert all(online[r] == [(NODE1, "Started")] for r in GROUP)
    for name in ("preferred-standby", "preferred-failed", "preferred-outdated"):
        assert everything_on(sim.scenarios[name].placement, NODE2), name
    # The group starts in order, after DRBD is promoted.
    actions = sim.scenarios["both-online"].actions
    assert actions[0] == ("drbd_r0", "promote", NODE1)
    assert [r for r, op, n in actions if op == "start"] == GROUP


def test_preferring_the_second_node(ctx):
    cib = mutate(CIB, 'node="zbx-node1" score="100"', 'node="zbx-node2" score="100"')
    sim = simulate(cib, dataclasses.replace(ctx, preferred=NODE2))
    assert sim.ok, sim
    assert everything_on(sim.scenarios["both-online"].placement, NODE2)
    assert everything_on(sim.scenarios["preferred-failed"].placement, NODE1)


def test_location_score_too_weak_to_matter(ctx):
    # Score 0 for zbx-node2 decides nothing; the tie goes to zbx-node1.
    cib = mutate(CIB, 'node="zbx-node1" score="100"', 'node="zbx-node2" score="0"')
    want_node2 = dataclasses.replace(ctx, preferred=NODE2)
    assert_all_ok([v for v in check_cib(cib, want_node2, NODE1) if v.tool != "crm_simulate"])
    sim = simulate(cib, want_node2)
    assert everything_on(sim.scenarios["both-online"].placement, NODE1)
    assert not sim.scenarios["both-online"].ok
    assert_rejected(check_cib(cib, want_node2, NODE1), "crm_simulate",
                    "both-online: DRBD (drbd_r0) is Promoted on ['zbx-node1'], expected zbx-node2")


@pytest.mark.parametrize("colocation", [
    "",                                                           # removed
    COLOCATION.replace(' with-rsc-role="Promoted"', ""),          # with any clone instance
    COLOCATION.replace('score="INFINITY"', 'score="50"'),         # weaker than the location
], ids=["removed", "no-role", "weak-score"])
def test_broken_colocation_leaves_the_group_behind(ctx, colocation):
    cib = mutate(CIB, COLOCATION, colocation)
    sim = simulate(cib, ctx)
    # Both-up, standby and failure look right by luck of the tie ...
    assert everything_on(sim.scenarios["both-online"].placement, NODE1)
    # ... but when only the other node's data is UpToDate, DRBD is promoted
    # there and the group stays on the preferred node, away from its data.
    outdated = sim.scenarios["preferred-outdated"].placement
    assert outdated["drbd_r0"] == [(NODE1, "Unpromoted"), (NODE2, "Promoted")]
    assert outdated["fs_data"] == [(NODE1, "Started")]
    assert not sim.ok
    assert_rejected(check_cib(cib, ctx, NODE1), "crm_simulate",
                    "preferred-outdated: fs_data is Started on zbx-node1, expected Started on zbx-node2")


def test_colocation_with_the_unpromoted_role(ctx):
    cib = mutate(CIB, 'with-rsc-role="Promoted"', 'with-rsc-role="Unpromoted"')
    sim = simulate(cib, ctx)
    assert sim.scenarios["both-online"].placement["fs_data"] == [(NODE2, "Started")]
    assert not sim.scenarios["both-online"].ok


def test_missing_order_constraint_starts_the_filesystem_too_early(ctx):
    cib = mutate(CIB, '<rsc_order id="ord_drbd_before_g_zabbix" first="drbd_r0-clone" first-action="promote" '
                      'then="g_zabbix" then-action="start" kind="Mandatory"/>', "")
    assert_rejected(check_cib(cib, ctx, NODE1), "crm_simulate", "fs_data starts before DRBD is promoted")


def test_truncated_xml(ctx):
    bad = CIB[: CIB.index("<constraints>") + 40]
    verdicts = check_cib(bad, ctx, NODE1)
    assert_rejected(verdicts, "crm_verify", "XML")
    assert_rejected(verdicts, "python", "not well-formed XML")
    assert_rejected(verdicts, "crm_simulate", "not simulated")


def test_dangling_reference(ctx):
    bad = mutate(CIB, 'with-rsc="drbd_r0-clone"', 'with-rsc="drbd_r0-clonee"')
    assert_rejected(check_cib(bad, ctx, NODE1), "crm_verify", 'references an unknown ID "drbd_r0-clonee"')


def test_duplicate_id(ctx):
    bad = mutate(CIB, 'id="mysql-monitor-20s"', 'id="fs_data-monitor-20s"')
    assert_rejected(check_cib(bad, ctx, NODE1), "crm_verify", "fs_data-monitor-20s redefined")


def test_stonith_enabled_without_a_device(ctx):
    bad = mutate(CIB, 'name="stonith-enabled" value="false"', 'name="stonith-enabled" value="true"')
    assert_rejected(check_cib(bad, ctx, NODE1), "crm_verify", "no STONITH resources have been defined")


def test_unknown_agent_and_missing_parameter_need_crmsh(ctx):
    bad = mutate(CIB, 'type="IPaddr2"', 'type="IPaddr3"')
    verdicts = check_cib(bad, ctx, NODE1)
    assert verdicts[0].ok  # the trap: crm_verify never reads agent metadata
    assert_rejected(verdicts, "crm configure verify", "IPaddr3")


def test_apache_without_statusurl(ctx):
    bad = mutate(CIB, '<nvpair id="apache-params-statusurl" name="statusurl" '
                      'value="http://192.168.10.50/server-status"/>', "")
    assert_rejected(check_cib(bad, ctx, NODE1), "python", "has no statusurl")


def test_feature_set_newer_than_installed_pacemaker(ctx):
    have = installed_limits()[0]
    major, minor, patch = (int(x) for x in have.split("."))
    newer = f"{major}.{minor}.{patch + 1}"
    bad = mutate(CIB, '<cib validate-with=', f'<cib crm_feature_set="{newer}" validate-with=')
    verdicts = check_cib(bad, ctx, NODE1)
    assert_rejected(verdicts, "python", f"crm_feature_set {newer} is newer")
    assert_rejected(verdicts, "crm_simulate", "not simulated")


def test_fence_devices_without_a_delay(ctx):
    bad = mutate(CIB_STONITH, '<nvpair id="fence_zbx-node1-params-pcmk_delay_max" '
                              'name="pcmk_delay_max" value="15s"/>', "")
    assert_rejected(check_cib(bad, ctx, NODE1), "python", "pcmk_delay_max")


def test_invalid_date_is_an_error_even_though_crm_verify_exits_0(ctx):
    rule = ('<rsc_location id="loc_g_zabbix_prefers_zbx-node1" rsc="g_zabbix">'
            '<rule id="loc-rule" score="100"><date_expression id="loc-rule-date" operation="gt" '
            'start="2024-13-45"/></rule></rsc_location>')
    bad = mutate(CIB, '<rsc_location id="loc_g_zabbix_prefers_zbx-node1" rsc="g_zabbix" node="zbx-node1" score="100"/>',
                 rule)
    assert_rejected(check_cib(bad, ctx, NODE1), "crm_verify", "not a valid ISO 8601")


# -- fence agents: crmsh reads their metadata; a missing agent is a failure --------

def _rendered_cib(spec, secrets, method: str) -> str:
    from wizard.render import render

    if method == "sbd":
        spec.fencing.method, spec.fencing.ipmi, spec.fencing.sbd_device = "sbd", [], "/dev/disk/by-id/shared-sbd"
        secrets.ipmi = {}
    tree = render(spec, secrets)
    return next(f.text for path, f in tree[NODE1].items() if path.endswith(".xml") and "<cib " in f.text)


@pytest.mark.parametrize("method,good,bad", [("ipmi", 'name="password_script"', 'name="pasword_script"'),
                                             ("sbd", 'name="devices"', 'name="device"')])
def test_misspelt_fence_parameter_is_rejected(ctx, spec, secrets, method, good, bad):
    for agent in ("fence_ipmilan", "fence_sbd"):
        from wizard.validators.core import find_tool

        assert find_tool(agent), f"{agent} is missing (.ci/packages/validators.txt: fence-agents, sbd)"
    cib = _rendered_cib(spec, secrets, method)
    assert_all_ok(check_cib(cib, ctx, NODE1))
    wrong = bad.split('"')[1]
    assert_rejected(check_cib(mutate(cib, good, bad), ctx, NODE1), "crm configure verify", wrong)


def test_a_fence_agent_crmsh_cannot_read_fails_the_check(ctx, monkeypatch):
    """Where the agent is not installed crmsh says 'got no meta-data': that is
    not a pass (its parameters went unchecked)."""
    from wizard.validators import Host

    real_run, real_find = Host.run, Host.find

    def run(self, argv, *a, **kw):
        res = real_run(self, argv, *a, **kw)
        if "configure" in argv:
            return dataclasses.replace(res, rc=1, stdout=res.stdout + "ERROR: stonith:fence_ipmilan: got no meta-data\n")
        return res

    monkeypatch.setattr(Host, "run", run)
    monkeypatch.setattr(Host, "find", lambda self, name: None if name == "fence_ipmilan" else real_find(self, name))
    v = next(v for v in check_cib(CIB_STONITH, ctx, NODE1) if v.tool == "crm configure verify")
    assert not v.ok and "fence-agents" in v.skipped_reason
