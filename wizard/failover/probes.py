"""Probes through the VIP, each sampled once a second on its own timeline.

Four ways a user meets Zabbix: the frontend page, the API's unauthenticated
`apiinfo.version`, an authenticated API call (the session lives in the
database, so it must survive a failover), and the trapper (a value sent to
the Zabbix server itself). A Prober runs one thread per probe; every sample
is bounded by the probe's timeout, and the whole run by `limit` seconds.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Callable

from wizard.failover.api import Api, ApiError, base_url
from wizard.failover.sender import send_value

INTERVAL = 1.0
TIMEOUT = 3.0


@dataclass(frozen=True)
class Sample:
    t: float                 # seconds since the prober started
    ok: bool
    detail: str = ""


@dataclass
class Timeline:
    probe: str
    samples: list[Sample] = field(default_factory=list)

    def outages(self) -> list[tuple[float, float | None]]:
        """(first failed sample, first good one after it); None: not back by the end."""
        out: list[tuple[float, float | None]] = []
        start = None
        for s in self.samples:
            if not s.ok and start is None:
                start = s.t
            elif s.ok and start is not None:
                out.append((start, s.t))
                start = None
        if start is not None:
            out.append((start, None))
        return out

    def outage_seconds(self) -> float | None:
        """Total time down; None when it never came back."""
        total = 0.0
        for start, end in self.outages():
            if end is None:
                return None
            total += end - start
        return total

    def recovered(self) -> bool:
        return bool(self.samples) and self.samples[-1].ok

    def as_dict(self) -> dict:
        changes = []
        last = None
        for s in self.samples:            # only the changes: a timeline, not thousands of lines
            if s.ok != last:
                changes.append({"t": round(s.t, 2), "ok": s.ok, "detail": s.detail})
                last = s.ok
        return {"probe": self.probe, "samples": len(self.samples), "changes": changes,
                "outages": [[round(a, 2), None if b is None else round(b, 2)] for a, b in self.outages()],
                "outage_seconds": None if self.outage_seconds() is None else round(self.outage_seconds(), 2)}


Probe = Callable[[], tuple[bool, str]]


def frontend_probe(url: str, timeout: float = TIMEOUT) -> Probe:
    """`url`: the frontend's address through the VIP (api.base_url)."""

    def probe() -> tuple[bool, str]:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                body = resp.read(65536).decode("utf-8", "replace")
                if resp.status != 200:
                    return False, f"HTTP {resp.status}"
                if "setup.php" in resp.url:
                    return False, "redirected to setup.php"
                if 'name="password"' not in body:
                    return False, "no login form in the page"
                return True, "login page"
        except urllib.error.HTTPError as exc:
            return False, f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            return False, str(getattr(exc, "reason", exc))[:120]
    return probe


def api_probe(vip: str, timeout: float = TIMEOUT) -> Probe:
    api = Api.for_vip(vip, timeout)

    def probe() -> tuple[bool, str]:
        try:
            return True, api.version()
        except ApiError as exc:
            return False, str(exc)
    return probe


def api_auth_probe(api: Api) -> Probe:
    """An authenticated call with the drill's session (made before the scenario)."""
    def probe() -> tuple[bool, str]:
        try:
            count = api.call("host.get", {"countOutput": True})
            return True, f"{count} hosts"
        except ApiError as exc:
            return False, str(exc)
    return probe


def trapper_probe(vip: str, host: str, key: str, sent: list[tuple[float, int]], clock=time.monotonic,
                  timeout: float = TIMEOUT) -> Probe:
    """Sends 1, 2, 3, ...; `sent` records what the server accepted (read back after the scenario)."""
    counter = [0]
    lock = threading.Lock()

    def probe() -> tuple[bool, str]:
        with lock:
            counter[0] += 1
            value = counter[0]
        ok, info = send_value(vip, host, key, str(value), timeout=timeout)
        if ok:
            sent.append((clock(), value))
        return ok, info if not ok else f"value {value} accepted"
    return probe


class Prober:
    """One thread per probe, sampling every `interval` s until stopped or `limit` s passed."""

    def __init__(self, probes: dict[str, Probe], *, interval: float = INTERVAL, limit: float = 1800,
                 on_sample: Callable[[str, Sample], None] | None = None, probe_timeout: float = TIMEOUT) -> None:
        self.probes = probes
        self.probe_timeout = probe_timeout      # the probes' own: how long stop() waits for a sample under way
        self.interval = interval
        self.limit = limit
        self.on_sample = on_sample
        self.timelines = {name: Timeline(name) for name in probes}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.started = 0.0

    def start(self) -> "Prober":
        self.started = time.monotonic()
        for name, fn in self.probes.items():
            t = threading.Thread(target=self._loop, args=(name, fn), daemon=True, name=f"probe-{name}")
            t.start()
            self._threads.append(t)
        return self

    def _loop(self, name: str, fn: Probe) -> None:
        end = self.started + self.limit
        next_at = self.started
        while not self._stop.is_set() and time.monotonic() < end:
            began = time.monotonic()
            try:
                ok, detail = fn()
            except Exception as exc:     # a probe's own bug is a failed sample, never a dead thread
                ok, detail = False, f"{type(exc).__name__}: {exc}"[:160]
            took = time.monotonic() - began
            sample = Sample(began - self.started, ok, detail)
            self.timelines[name].samples.append(sample)
            if self.on_sample:
                self.on_sample(name, sample)
            # A slow answer means a busy server: the next probe waits at least as long as this one
            # took, so the probes never keep it busy more than half the time (lab run 6: four 1 Hz
            # probes of PHP pages saturated an emulated node until Pacemaker's monitors timed out).
            next_at = max(next_at + self.interval, time.monotonic() + took)
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def all_good_since(self, seconds: float) -> bool:
        """Every probe answered, and has for the last `seconds`."""
        now = self.elapsed()
        for tl in self.timelines.values():
            if not tl.samples or not tl.samples[-1].ok:
                return False
            bad = [s.t for s in tl.samples if not s.ok]
            if bad and now - max(bad) < seconds:
                return False
        return True

    def stop(self) -> dict[str, Timeline]:
        self._stop.set()
        for t in self._threads:
            t.join(self.probe_timeout + self.interval + 2)
        return self.timelines
