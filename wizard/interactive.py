"""`zabbix-ha` with no subcommand: the wizard in one of three modes.

- TUI (default): the Textual screens in screens/.
- `--plain`: the same questions as line prompts (questionary), for serial
  consoles and dumb terminals.
- `--answers FILE --yes`: unattended; load, validate, save, print where.

All three build the same ClusterSpec and save it with the same function, so
the same choices give the same answers file. Textual and questionary are
imported inside the functions that need them: `--yes` never loads either,
and the core (wizard/) stays free of UI imports.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import sys
from pathlib import Path

from wizard.errors import UserError
from wizard.i18n import _

DEFAULT_ANSWERS_NAME = "zabbix-ha.yaml"
EXAMPLE_ANSWERS = Path(__file__).resolve().parent.parent / "examples" / "two-node.yaml"


def default_answers_out() -> Path:
    """Where answers are saved unless the person says otherwise: the current
    directory, never over the file they were loaded from (it may hold comments)."""
    return Path.cwd() / DEFAULT_ANSWERS_NAME


def secrets_path_for(answers: Path) -> Path:
    """The secrets file that goes with an answers file: `x.yaml` -> `x.secrets.yaml`."""
    answers = Path(answers)
    return answers.with_name(f"{answers.stem}.secrets.yaml")


def default_spec():
    """The documented example's answers: the starting point of a new cluster."""
    from wizard.answers import load_answers

    return load_answers(EXAMPLE_ANSWERS)


def lab_answers() -> Path | None:
    """The local two-node lab's answers file, when a lab is up and has written one.

    `zabbix-ha lab up` writes it (wizard/lab/answers.py) at the path
    `zabbix-ha lab answers` prints; with no lab up the wizard does not offer it.
    """
    paths = _lab_paths()
    answers = getattr(paths, "ANSWERS_FILE", None)
    return Path(answers) if answers and Path(answers).is_file() else None


def lab_secrets() -> Path | None:
    paths = _lab_paths()
    secrets = getattr(paths, "SECRETS_FILE", None)
    return Path(secrets) if secrets and Path(secrets).is_file() else None


def _lab_paths():
    try:
        return importlib.import_module("wizard.lab.paths")
    except ImportError:     # the lab is optional (and built by its own issue)
        return None


def save_all(spec, secrets, answers_out: Path) -> list[Path]:
    """Save the answers, and the secrets (0600) when any is set. Returns the paths written."""
    from wizard.answers import save_answers, save_secrets

    answers_out = Path(answers_out)
    save_answers(spec, answers_out)
    written = [answers_out]
    if secrets is not None and secrets.values():
        path = secrets_path_for(answers_out)
        save_secrets(secrets, path)
        written.append(path)
    return written


def _load(args: argparse.Namespace):
    """(spec, secrets, source) from --answers/--secrets, else the example defaults."""
    from wizard.answers import load_answers, load_secrets
    from wizard.spec import Secrets

    if args.answers:
        spec = load_answers(args.answers)
        source = str(args.answers)
    else:
        spec = default_spec()
        source = ""
    secrets = load_secrets(args.secrets) if getattr(args, "secrets", None) else Secrets()
    return spec, secrets, source


def run(args: argparse.Namespace) -> int:
    if getattr(args, "yes", False):
        return run_unattended(args)
    if getattr(args, "plain", False):
        from wizard.plain_prompts import run_plain

        return run_plain(args)
    return run_tui(args)


# ---------------------------------------------------------------------------
# unattended

def run_unattended(args: argparse.Namespace, answers_out: Path | None = None, out=None) -> int:
    """Load, validate, save, print where. Exit 2 with field + fix on bad answers."""
    from wizard.answers import load_answers, load_secrets
    from wizard.spec import errors, validate, validate_secrets

    out = out or sys.stdout
    if not args.answers:
        raise UserError(_("--yes needs an answers file: nothing to take unattended"),
                        _("run: zabbix-ha --answers FILE --yes (or leave out --yes to be asked)"))
    spec = load_answers(args.answers)
    secrets = load_secrets(args.secrets) if args.secrets else None
    problems = validate(spec) + (validate_secrets(spec, secrets) if secrets is not None else [])
    bad = errors(problems)
    if bad:
        print(_("zabbix-ha: the answers in {path} have {n} problem(s):").format(path=args.answers, n=len(bad)),
              file=sys.stderr)
        for p in bad:
            print(f"  {p.field}: {p.message}\n    fix: {p.fix}", file=sys.stderr)
        return 2
    for p in problems:
        if p.severity == "warning":
            print(_("warning: {field}: {message} (fix: {fix})").format(field=p.field, message=p.message, fix=p.fix),
                  file=sys.stderr)
    target = Path(answers_out) if answers_out else default_answers_out()
    written = save_all(spec, secrets, target)
    print(_("answers saved to {path}").format(path=written[0]), file=out)
    if len(written) > 1:
        print(_("secrets saved to {path} (mode 0600)").format(path=written[1]), file=out)
    elif secrets is None:
        print(_("no --secrets given: no secrets file written"), file=out)
    return 0


# ---------------------------------------------------------------------------
# TUI

_FIND = object()


def build_app(args: argparse.Namespace | None = None, *, answers_out: Path | None = None,
              start_at: str = "welcome", spec=None, secrets=None, lab=_FIND):
    """The Textual app for these arguments (tests and the benchmark build it here)."""
    from screens.app import WizardApp

    source = ""
    if spec is None:
        args = args or argparse.Namespace(answers=None, secrets=None)
        spec, loaded_secrets, source = _load(args)
        secrets = secrets if secrets is not None else loaded_secrets
    return WizardApp(copy.deepcopy(spec), secrets, answers_out=answers_out or default_answers_out(),
                     source=source, lab_answers=lab_answers() if lab is _FIND else lab, start_at=start_at)


def run_tui(args: argparse.Namespace) -> int:
    app = build_app(args)
    result = app.run()
    return result if isinstance(result, int) else 0
