"""`zabbix-ha` with no subcommand: picks the wizard's mode, and is the unattended one.

- TUI (default): the Textual screens, screens.app.
- `--plain`: the same questions as line prompts, screens.plain, for serial
  consoles and dumb terminals.
- `--answers FILE --yes`: unattended; load, validate, save, print where.

The two views sit over one step model (wizard.steps) and save with the same
function, so the same choices give the same answers file. A view is loaded
by name (VIEWS) like a subcommand: wizard/ holds no import of a UI toolkit
or of a view, and `--yes` never loads either.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from wizard.errors import UserError
from wizard.i18n import _
from wizard.steps import default_answers_out, next_steps, save_all, secrets_beside

# The views over wizard.steps, as "module:function(args) -> exit code".
VIEWS = {"tui": "screens.app:run_tui", "plain": "screens.plain:run_plain"}


def view(name: str):
    module, _sep, function = VIEWS[name].partition(":")
    return getattr(importlib.import_module(module), function)


def take_secrets_beside(args: argparse.Namespace, err=None) -> None:
    """An answers file given without --secrets brings the secrets file saved
    beside it (said on stderr): saving must not lose the passwords in it."""
    beside = None if getattr(args, "secrets", None) else secrets_beside(getattr(args, "answers", None))
    if beside is not None:
        args.secrets = str(beside)
        print(_("zabbix-ha: using the secrets file beside the answers: {path}").format(path=beside),
              file=err or sys.stderr)


def run(args: argparse.Namespace) -> int:
    take_secrets_beside(args)
    if getattr(args, "yes", False):
        return run_unattended(args)
    if getattr(args, "plain", False):
        if not sys.stdin.isatty():
            raise UserError(_("--plain asks questions and needs a terminal"),
                            _("run it at a terminal, or use --answers FILE --yes for scripts"))
        try:
            return view("plain")(args)
        except EOFError:
            raise UserError(_("the input ended before every question was answered; nothing was saved"),
                            _("answer at a terminal, or use --answers FILE --yes for scripts")) from None
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UserError(_("the wizard needs a terminal"),
                        _("use --plain on a serial console, or --answers FILE --yes for scripts"))
    return view("tui")(args)


# ---------------------------------------------------------------------------
# unattended

def run_unattended(args: argparse.Namespace, answers_out: Path | None = None, out=None) -> int:
    """Load, validate, save, print where. Exit 2 with field + fix on bad answers."""
    from wizard.answers import load_answers, load_secrets
    from wizard.applied import refuse_other_cluster
    from wizard.spec import errors, validate, validate_secrets

    out = out or sys.stdout
    if not args.answers:
        raise UserError(_("--yes needs an answers file: nothing to take unattended"),
                        _("run: zabbix-ha --answers FILE --yes (or leave out --yes to be asked)"))
    spec = load_answers(args.answers)
    refuse_other_cluster(spec, args.answers)
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
    try:
        # Unattended, a file holding other answers is replaced only with --force.
        written = save_all(spec, secrets, target, overwrite=bool(getattr(args, "force", False)),
                           secrets_loaded_from=args.secrets)
    except OSError as exc:
        raise UserError(_("cannot save the answers to {path}: {error}").format(path=target, error=exc.strerror),
                        _("run it in a directory you can write to")) from None
    for line in next_steps(written):
        print(line, file=out)
    if len(written) == 1 and secrets is None:
        print(_("no --secrets given: no secrets file written"), file=out)
    return 0
