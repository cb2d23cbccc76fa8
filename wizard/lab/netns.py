"""Running host-side commands where the lab's network is.

`host_argv(argv)` is the command line that runs `argv` on the lab's host
side, where the lab's addresses, the VIP and the mirror are reachable.
"""

from __future__ import annotations


def host_argv(argv: list[str]) -> list[str]:
    return list(argv)
