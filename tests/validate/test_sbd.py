"""/etc/default/sbd against the installed sbd package's own settings."""

import pytest

from wizard.validators import check_sbd_defaults

from .conftest import NODE1, assert_all_ok, assert_rejected, mutate, sample

pytestmark = pytest.mark.validators

SBD = sample("sbd")


def test_good_defaults_pass(ctx):
    verdicts = check_sbd_defaults(SBD, ctx, NODE1)
    assert [v.tool for v in verdicts] == ["sh -n", "python"]
    assert_all_ok(verdicts)


def test_misspelt_setting_is_refused(ctx):
    # sbd would silently run with its default watchdog timeout.
    bad = mutate(SBD, "SBD_WATCHDOG_TIMEOUT=15", "SBD_WATCHDOG_TIMOUT=15")
    assert_rejected(check_sbd_defaults(bad, ctx, NODE1), "python", "SBD_WATCHDOG_TIMOUT is not an sbd setting")


def test_no_device_or_no_pacemaker_is_refused(ctx):
    no_device = mutate(SBD, 'SBD_DEVICE="/dev/disk/by-id/scsi-shared-sbd"\n', "")
    assert_rejected(check_sbd_defaults(no_device, ctx, NODE1), "python", "SBD_DEVICE is not set")
    no_pcmk = mutate(SBD, "SBD_PACEMAKER=yes", "SBD_PACEMAKER=no")
    assert_rejected(check_sbd_defaults(no_pcmk, ctx, NODE1), "python", "SBD_PACEMAKER must be yes")


def test_shell_syntax_error_is_refused(ctx):
    bad = mutate(SBD, 'SBD_DEVICE="/dev/disk/by-id/scsi-shared-sbd"', 'SBD_DEVICE="/dev/disk/by-id/scsi-shared-sbd')
    assert_rejected(check_sbd_defaults(bad, ctx, NODE1), "sh -n", "")
