"""Step 11: failover test (see screens.later)."""

from screens.later import FailoverScreen

__all__ = ["FailoverScreen"]
