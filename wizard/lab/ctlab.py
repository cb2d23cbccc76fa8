"""Lab backend for the `container` flavour (systemd-nspawn). Not built yet."""

from __future__ import annotations

from wizard.lab.proc import LabError


def create(*args, **kwargs) -> None:
    raise LabError("the container flavour is not built yet", "use --flavour vm")


def running(node: str) -> bool:
    return False


def destroy() -> list[str]:
    return []
