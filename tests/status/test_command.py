"""`zabbix-ha status`: exit codes, one 80-column screen, JSON; the nodes replaced by captured outputs."""

from __future__ import annotations

import json

import pytest

from tests.status.conftest import EXAMPLE_ANSWERS_PATH, NODES
from tests.status.test_health import make
from wizard import cli
from wizard.status import command


@pytest.fixture
def nodes(monkeypatch):
    """Serve a Status made of captured outputs instead of connecting."""
    state = {}

    def fake_connect(spec, args, journal):
        return {}, {}

    def fake_gather(executors, expect):
        return {"_status": state["status"]}

    monkeypatch.setattr(command, "connect", fake_connect)
    monkeypatch.setattr("wizard.status.gather.gather_raw", fake_gather)
    monkeypatch.setattr("wizard.status.model.status_from_raw", lambda expect, raw: raw["_status"])
    return state


def test_registered_in_the_cli():
    args = cli.build_parser().parse_args(["status", "--answers", "a.yaml", "--json"])
    assert args.func is command.run and args.json is True


def test_healthy_exit_0_and_fits_80_columns(nodes, capsys):
    nodes["status"] = make()
    assert cli.main(["status", "--answers", EXAMPLE_ANSWERS_PATH]) == 0
    out = capsys.readouterr().out
    assert "HEALTHY, can fail over" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert len(out.splitlines()) <= 24


def test_degraded_exit_1_with_the_fix(nodes, capsys):
    nodes["status"] = make("moved")
    assert cli.main(["status", "--answers", EXAMPLE_ANSWERS_PATH]) == 1
    out = capsys.readouterr().out
    assert "DEGRADED, CANNOT fail over" in out and "crm_resource --clear --resource zabbix" in out
    assert max(len(line) for line in out.splitlines()) <= 80


def test_json(nodes, capsys):
    nodes["status"] = make("failed-action")
    assert cli.main(["status", "--answers", EXAMPLE_ANSWERS_PATH, "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert (data["healthy"], data["failover_ready"]) == (False, False)
    assert [(p["code"], p["node"], p["blocks_failover"]) for p in data["problems"]] == \
        [("failed-action", "zbx-node1", True)]
    assert [n["name"] for n in data["status"]["nodes"]] == list(NODES)


def test_bad_input_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(command, "applied_answers", lambda: str(tmp_path / "no-such-cluster.yaml"))
    assert cli.main(["status"]) == 2
    bad = tmp_path / "a.yaml"
    bad.write_text("format: 1\nname: x\n")
    assert cli.main(["status", "--answers", str(bad)]) == 2
    assert "zabbix-ha:" in capsys.readouterr().err


def test_a_node_that_cannot_be_reached_is_reported_not_fatal(monkeypatch, spec):
    from wizard.errors import EnvironmentProblem

    def connect_nodes(spec_, args, journal):
        names = [n.hostname for n in spec_.nodes]
        if "zbx-node2" in names:
            raise EnvironmentProblem("zbx-node2: no answer from 192.168.10.12:22 within 10 s", "check it is up")
        return {n: object() for n in names}

    monkeypatch.setattr("wizard.install.command.connect_nodes", connect_nodes)
    executors, unreachable = command.connect(spec, None, None)
    assert list(executors) == ["zbx-node1"]
    assert unreachable == {"zbx-node2": "zbx-node2: no answer from 192.168.10.12:22 within 10 s (check it is up)"}


def test_judging_saved_outputs_end_to_end(tmp_path, capsys):
    """The whole command on a real cluster's saved outputs (--from-raw reads what --save-raw writes)."""
    from tests.status.conftest import DATA

    # Without DRBD on the capture machine the cluster is degraded whatever else holds; the moved case
    # must name its constraint, and the exit code must say degraded.
    assert cli.main(["status", "--answers", EXAMPLE_ANSWERS_PATH, "--from-raw",
                     str(DATA / "local-cluster" / "moved"), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    got = {(p["code"], p["node"]) for p in data["problems"]}
    assert {("leftover-constraint", None), ("drbd-not-loaded", "zbx-node1"), ("drbd-not-loaded", "zbx-node2")} <= got
    assert data["status"]["cluster"]["dc"] == "zbx-node1"
    command.save_raw(command.load_raw(str(DATA / "local-cluster" / "moved"), NODES), str(tmp_path))
    assert command.load_raw(str(tmp_path), NODES) == command.load_raw(str(DATA / "local-cluster" / "moved"), NODES)


def test_from_raw_without_outputs_is_bad_input(tmp_path, capsys):
    assert cli.main(["status", "--answers", EXAMPLE_ANSWERS_PATH, "--from-raw", str(tmp_path)]) == 2


def test_on_a_node_the_applied_answers_are_the_default(monkeypatch, capsys):
    from tests.status.conftest import DATA

    monkeypatch.setattr(command, "applied_answers", lambda: EXAMPLE_ANSWERS_PATH)
    assert cli.main(["status", "--from-raw", str(DATA / "local-cluster" / "healthy"), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["status"]["view_from"] == "zbx-node1"


def test_applied_answers_path():
    assert command.applied_answers() == "/etc/zabbix-ha/cluster.yaml"
