"""Plain prompts and unattended mode, in process (the three modes through their real
entry points, for two sets of choices: test_three_modes.py)."""

from __future__ import annotations

import argparse

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from tests.tui.test_flow import expected_spec
from screens import plain
from wizard import interactive, steps
from wizard.answers import dump_answers, save_answers
from wizard.spec import NO_FENCING_ACKNOWLEDGEMENT

CLEAR = "\x15"          # ctrl+u: clear the pre-filled default
DOWN = "\x1b[B"
KEEP = "\r"             # Enter keeps the value shown


def plain_keys(save_to) -> list[str]:
    """The keys a person types in --plain mode for the flow's choices, one item per question."""
    nodes = [CLEAR + "prod-zbx\r", KEEP,                       # name, OS
             CLEAR + "zbx-a\r", KEEP, KEEP, KEEP,              # node 1
             CLEAR + "zbx-b\r", KEEP, KEEP, KEEP,              # node 2
             "hacluster-secret\r"]
    disks = [KEEP] + [KEEP] * 6 + [KEEP] * 5                   # mode, 2x(disk, meta, slot), fs..port
    interconnect = [KEEP] + [KEEP] * 6 + [KEEP]                # count, 2x(a, b, prefix), replication
    services = [CLEAR + "192.168.10.50\r", KEEP, KEEP, KEEP, KEEP, KEEP]      # ..., source, more VIPs
    zabbix = [KEEP, KEEP, DOWN + "\r", KEEP, KEEP, KEEP, "db-secret-123\r", KEEP, KEEP, "admin-secret-123\r"]
    fencing = [DOWN + DOWN + "\r", NO_FENCING_ACKNOWLEDGEMENT + "\r"]
    return [KEEP] + nodes + disks + interconnect + services + zabbix + fencing + [CLEAR + f"{save_to}\r"]


@pytest.fixture(autouse=True)
def no_lab(monkeypatch):
    # Whether a lab is up on this machine must not change the questions.
    monkeypatch.setattr(steps, "lab_answers", lambda: None)
    # A new cluster starts from the example here, whatever this machine's time zone and NIC.
    monkeypatch.setattr(steps, "machine_defaults", lambda spec: spec)


def run_plain_with(answers: list[str], args) -> int:
    """Run plain mode, typing each answer only when its question is asked.

    Typing everything ahead lets prompt_toolkit drop keys between two
    prompts now and then (seen under load: a later question then waits for
    ever), so the keys go into the pipe one question at a time. A question
    beyond the given answers fails the test instead of hanging it.
    """
    pending = list(answers)

    with create_pipe_input() as pipe:
        class TypedPrompts(plain.LinePrompts):
            def _type_next(self):
                assert pending, "plain mode asked more questions than the test answers"
                pipe.send_text(pending.pop(0))

            def text(self, *a, **kw):
                self._type_next()
                return super().text(*a, **kw)

            def password(self, *a, **kw):
                self._type_next()
                return super().password(*a, **kw)

            def select(self, *a, **kw):
                self._type_next()
                return super().select(*a, **kw)

            def confirm(self, *a, **kw):
                self._type_next()
                return super().confirm(*a, **kw)

        original = plain.LinePrompts
        plain.LinePrompts = TypedPrompts
        try:
            rc = plain.run_plain(args, io={"input": pipe, "output": DummyOutput()})
        finally:
            plain.LinePrompts = original
    assert pending == [], f"plain mode did not ask for {pending}"
    return rc


def test_plain_mode_saves_the_flow_answers(tmp_path, example_spec, capsys):
    out = tmp_path / "plain.yaml"
    args = argparse.Namespace(answers=None, secrets=None, plain=True, yes=False)
    assert run_plain_with(plain_keys(out), args) == 0
    assert out.read_text() == dump_answers(expected_spec(example_spec))
    assert "answers saved to" in capsys.readouterr().out


def test_plain_mode_asks_again_what_is_wrong(tmp_path, example_spec, capsys):
    out = tmp_path / "plain.yaml"
    keys = plain_keys(out)
    keys[keys.index(CLEAR + "zbx-a\r")] = CLEAR + "zbx_a!\r"
    # After the node questions the validator names nodes[0].hostname: only it is asked again.
    keys.insert(keys.index("hacluster-secret\r") + 1, CLEAR + "zbx-a\r")
    args = argparse.Namespace(answers=None, secrets=None, plain=True, yes=False)
    assert run_plain_with(keys, args) == 0
    printed = capsys.readouterr().out
    assert "nodes[0].hostname" in printed and "not a valid short host name" in printed
    assert out.read_text() == dump_answers(expected_spec(example_spec))


def test_unattended_saves_the_same_file(tmp_path, example_spec, capsys):
    given = tmp_path / "given.yaml"
    save_answers(expected_spec(example_spec), given)
    out = tmp_path / "unattended.yaml"
    args = argparse.Namespace(answers=str(given), secrets=None, plain=False, yes=True)
    assert interactive.run_unattended(args, answers_out=out) == 0
    assert out.read_text() == dump_answers(expected_spec(example_spec))
    assert f"answers saved to {out}" in capsys.readouterr().out


def test_unattended_bad_answers_exit_2_naming_field_and_fix(tmp_path, example_spec, capsys):
    spec = expected_spec(example_spec)
    spec.links[1].addresses[1] = "10.0.0.300"
    given = tmp_path / "bad.yaml"
    save_answers(spec, given)
    args = argparse.Namespace(answers=str(given), secrets=None, plain=False, yes=True)
    assert interactive.run_unattended(args, answers_out=tmp_path / "out.yaml") == 2
    err = capsys.readouterr().err
    assert "links[1].addresses[1]" in err and "fix:" in err
    assert "Traceback" not in err
    assert not (tmp_path / "out.yaml").exists()


def test_cli_yes_without_answers_is_a_user_error(tmp_path, monkeypatch, capsys):
    from wizard.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["--yes"]) == 2
    assert "--yes needs an answers file" in capsys.readouterr().err


def test_cli_unreadable_answers_exit_2_without_traceback(tmp_path, monkeypatch, capsys):
    from wizard.cli import main

    monkeypatch.chdir(tmp_path)
    broken = tmp_path / "broken.yaml"
    broken.write_text("format: 1\nname: x\nnodez: []\n")
    assert main(["--answers", str(broken), "--yes"]) == 2
    err = capsys.readouterr().err
    assert "nodez" in err and "Traceback" not in err


def test_unattended_mode_loads_no_ui_toolkit(tmp_path):
    import subprocess
    import sys

    from wizard.answers import save_answers as save

    from wizard.steps import default_spec
    given = tmp_path / "a.yaml"
    save(default_spec(), given)
    code = ("import sys, wizard.cli as c; rc = c.main(['--answers', sys.argv[1], '--yes']); "
            "print('textual' in sys.modules, 'questionary' in sys.modules); sys.exit(rc)")
    run = subprocess.run([sys.executable, "-c", code, str(given)], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith("False False")


@pytest.mark.parametrize("argv, words", [([], "the wizard needs a terminal"),
                                         (["--plain"], "--plain asks questions and needs a terminal")])
def test_without_a_terminal_the_wizard_says_what_to_use(tmp_path, argv, words):
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "wizard", *argv], cwd=tmp_path, stdin=subprocess.DEVNULL,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert words in run.stderr and "--answers FILE --yes" in run.stderr
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("keys,expected", [("abc\r", "abc"), ("\r", "zbx-cluster"), ("\x7fX\r", "zbx-clusteX"),
                                           ("\x15new\r", "new"), ("\x1b[DY\r", "zbx-clusteYr")])
def test_plain_typing_replaces_the_value_shown(keys, expected):
    """Issue 14 item 10: typing replaces the default (as the TUI's selected field
    does) instead of appending to it; editing keys still edit it."""
    with create_pipe_input() as pipe:
        pipe.send_text(keys)
        ask = plain.LinePrompts({"input": pipe, "output": DummyOutput()})
        assert ask.text("Cluster name", "zbx-cluster") == expected
