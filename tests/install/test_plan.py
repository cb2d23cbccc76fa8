"""The plan: every step in a valid order for both nodes, destructive steps named."""

import pytest

from wizard.install.plan import STAGES, build_plan, dependency_keys
from wizard.spec import NO_FENCING_ACKNOWLEDGEMENT


def _variants(spec):
    ipmi = spec
    import copy
    sbd = copy.deepcopy(spec)
    sbd.fencing.method, sbd.fencing.ipmi, sbd.fencing.sbd_device = "sbd", [], "/dev/disk/by-id/shared-sbd"
    none = copy.deepcopy(spec)
    none.fencing.method, none.fencing.ipmi, none.fencing.acknowledgement = "none", [], NO_FENCING_ACKNOWLEDGEMENT
    return {"ipmi": ipmi, "sbd": sbd, "none": none}


@pytest.mark.parametrize("method", ["ipmi", "sbd", "none"])
def test_every_dependency_comes_earlier_and_names_a_real_step(spec, method):
    s = _variants(spec)[method]
    plan = build_plan(s)
    keys = [st.key for st in plan.steps]
    assert len(keys) == len(set(keys))
    for i, st in enumerate(plan.steps):
        for dep in dependency_keys(st):
            assert dep in keys, f"{st.key} waits for unknown {dep}"
            assert keys.index(dep) < i, f"{st.key} waits for {dep}, planned later"


def test_destructive_steps_are_exactly_the_ones_that_write_disks(spec):
    sbd = _variants(spec)["sbd"]
    for s, expected in ((spec, {"drbd.metadata", "drbd.filesystem"}),
                        (sbd, {"drbd.metadata", "drbd.filesystem", "fencing.sbd-disk"})):
        assert {st.id for st in build_plan(s).steps if st.destructive} == expected


def test_fencing_steps_follow_the_method(spec):
    v = _variants(spec)
    ids = {m: {st.id for st in build_plan(s).steps} for m, s in v.items()}
    assert "fencing.ipmi" in ids["ipmi"] and not any(i.startswith("fencing.") for i in ids["none"])
    assert {"fencing.watchdog", "fencing.sbd-disk", "fencing.sbd-seen"} <= ids["sbd"]
    assert "fencing.ipmi" not in ids["sbd"]


def test_one_time_data_steps_run_on_the_first_node_only(spec):
    plan = build_plan(spec)
    first, second = spec.hostnames
    second_ids = {st.id for st in plan.for_node(second)}
    for step_id in ("drbd.sync", "drbd.filesystem", "db.datadir", "db.zabbix", "db.handover", "cib.apply"):
        assert step_id not in second_ids
        assert plan.find(f"{first}:{step_id}")


def test_the_answers_mark_the_nodes_before_anything_else(spec):
    """A resumed install (and preflight) must recognise half-made state as ours."""
    plan = build_plan(spec)
    for node in spec.hostnames:
        assert plan.for_node(node)[0].id == "state.answers"
    assert STAGES[0] == "state"
