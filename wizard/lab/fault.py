"""Fault injection: interconnect links down/up, a node cut off, power."""

from __future__ import annotations

from wizard.lab import state
from wizard.lab.lab import LAB_LOCK, LOCK_WAIT, _backend, layout_of, require_host
from wizard.lab.lock import locked

INTERCONNECTS = ("ic1", "ic2")


def inject(fault: str, node: str, link: str | None = None, log=print) -> None:
    require_host()
    with locked(LAB_LOCK, timeout=LOCK_WAIT, what="the lab"):
        _inject(fault, node, link, log)


def _inject(fault: str, node: str, link: str | None, log) -> None:
    st = state.require()
    layout = layout_of(st)
    backend = _backend(st.flavour)
    if fault in ("link-down", "link-up"):
        backend.set_link(layout, node, link, fault == "link-up")
        log(f"{node} {link}: {'up' if fault == 'link-up' else 'down'}")
    elif fault in ("cut", "heal"):
        for net in INTERCONNECTS:
            backend.set_link(layout, node, net, fault == "heal")
        log(f"{node}: all interconnects {'restored' if fault == 'heal' else 'cut'}")
    elif fault == "power-off":
        backend.power_off(node)
        log(f"{node}: powered off (hard)")
    elif fault == "power-on":
        backend.power_on(node)
        log(f"{node}: powered on")
