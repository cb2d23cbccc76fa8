"""The Session both front ends drive: the report on the first node, a failed report as a note, closing."""

import json

import wizard.install.command as command
from wizard.errors import UserError
from tests.install.fake import RecordingExecutor
from wizard.install.plan import Plan
from wizard.install.session import Session, open_session
from wizard.install.step import Context, Shared, Step
from wizard.journal import Journal


def _session(spec, answers=None):
    nodes = spec.hostnames
    executors = {n: RecordingExecutor(n, answers if n == nodes[0] else None, journal=Journal()) for n in nodes}
    shared = Shared()
    contexts = {n: Context(spec, None, n, executors, {}, shared) for n in nodes}
    plan = Plan([Step(nodes[1], "made", "Made", check=lambda c: False, apply=lambda c: "made it"),
                 Step(nodes[0], "there", "There", check=lambda c: True)])
    return Session(plan, contexts, executors), executors


def test_the_report_lands_on_the_first_node_whichever_node_the_plan_starts_with(spec):
    session, executors = _session(spec)
    summary, record, note = session.run()
    assert summary.ok and note == ""
    puts = [(argv, stdin) for argv, stdin in executors[spec.hostnames[0]].calls if "install-report.json" in " ".join(argv)]
    assert len(puts) == 1
    report = json.loads(puts[0][1])
    assert report["ok"] is True and report["changed"] == 1
    assert report["steps"][f"{spec.hostnames[1]}:made"]["status"] == "changed"
    assert not any("install-report.json" in " ".join(argv) for argv, _ in executors[spec.hostnames[1]].calls)


def test_a_report_that_cannot_be_written_is_a_note_and_the_result_stands(spec):
    session, _ = _session(spec, answers=[("install-report", (1, "", "No space left on device"))])
    summary, _record, note = session.run()
    assert summary.ok
    assert note.startswith(f"note: could not save the install report on {spec.hostnames[0]}")


def test_opening_closes_the_connections_when_reading_the_state_fails(spec, monkeypatch):
    closed = []

    class Closing(RecordingExecutor):
        def close(self):
            closed.append(self.node)

    executors = {n: Closing(n) for n in spec.hostnames}
    monkeypatch.setattr(command, "connect_nodes", lambda spec, args, journal: executors)

    def broken(*args, **kwargs):
        raise UserError("install-state.json on zbx-node1 is not valid JSON", "move it away")

    monkeypatch.setattr(command, "contexts_for", broken)
    try:
        open_session(spec, None, None, lambda e: None, journal_path="")
    except UserError as exc:
        assert "not valid JSON" in exc.message
    else:
        raise AssertionError("open_session did not raise")
    assert sorted(closed) == sorted(spec.hostnames)
