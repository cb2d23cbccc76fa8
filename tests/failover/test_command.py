"""`zabbix-ha failover-test`'s options: what a person types, refused with the reason where it is wrong."""

from __future__ import annotations

import pytest

from wizard.cli import build_parser
from wizard.failover.probes import TIMEOUT


def parse(*argv: str):
    return build_parser().parse_args(["failover-test", *argv])


def test_probe_timeout_defaults_to_the_probes_own_and_takes_seconds():
    assert parse().probe_timeout == TIMEOUT == 3.0
    assert parse("--probe-timeout", "15").probe_timeout == 15.0
    assert parse("--probe-timeout", "1.5").probe_timeout == 1.5


@pytest.mark.parametrize("bad", ["0.5", "61", "nan", "inf", "-3", "ten", ""])
def test_probe_timeout_outside_one_to_sixty_seconds_is_refused_with_the_range(bad, capsys):
    with pytest.raises(SystemExit) as exc:
        parse("--probe-timeout", bad)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--probe-timeout" in err and "from 1 to 60" in err and "Traceback" not in err
