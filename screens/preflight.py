"""Step 9: preflight (see screens.later)."""

from screens.later import PreflightScreen

__all__ = ["PreflightScreen"]
