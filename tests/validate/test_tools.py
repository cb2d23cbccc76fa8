import pytest

from wizard.validators import missing_tools

pytestmark = pytest.mark.validators


def test_every_validator_is_installed():
    # A missing validator is a failure: CI must install .ci/packages/validators.txt.
    assert missing_tools() == {}
