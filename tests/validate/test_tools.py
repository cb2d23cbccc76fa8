import pytest

from wizard.validators import missing_tools

pytestmark = pytest.mark.validators


def test_every_validator_is_installed():
    # A missing validator is a failure: CI must install .ci/packages/validators.txt.
    assert missing_tools() == {}


def test_a_missing_tool_is_a_failed_verdict_not_a_pass(ctx, monkeypatch):
    # Pretend corosync is not installed: the lookup, not the tool, is replaced.
    from wizard.validators import Host, check_corosync

    from .conftest import NODE1, sample

    monkeypatch.setattr(Host, "find", lambda self, name: None)
    tool_verdict = check_corosync(sample("corosync.conf"), ctx, NODE1)[0]
    assert tool_verdict.tool == "corosync -t"
    assert tool_verdict.ok is False
    assert "not installed (Debian package corosync)" in tool_verdict.skipped_reason
