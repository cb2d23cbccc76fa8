"""Step 10: install (see screens.later)."""

from screens.later import InstallScreen

__all__ = ["InstallScreen"]
