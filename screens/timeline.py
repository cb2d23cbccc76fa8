"""The failover drill's probes as they run: each probe's state and a strip of its recent seconds; no drill logic.

The samples come from wizard.failover.probes (one per probe about every
second, `t` in seconds since the scenario's prober started). A track keeps
one mark per second — the worst sample of that second — and says when the
probe went down and came back; the panel draws the tracks at its width.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual.widgets import Static

from wizard.i18n import _

PROBES = ("frontend", "api", "api-auth", "trapper")     # wizard.failover.drill.Drill.run_scenario
STRIP_SECONDS = 60          # the most recent seconds a strip shows (fewer when the panel is narrow)
NAME_WIDTH = 9
STATE_WIDTH = 19            # "DOWN since 123.4 s" and a space
MARK = "▮"


@dataclass
class Track:
    """One probe's samples in the running scenario."""

    probe: str
    seconds: dict[int, bool] = field(default_factory=dict)    # second -> every sample in it answered
    last_t: float | None = None
    up: bool | None = None           # None: no sample yet
    down_since: float | None = None
    last_outage: float | None = None  # how long the last outage lasted

    def add(self, t: float, ok: bool) -> str | None:
        """Take a sample; returns "down" or "back" when the probe changed state, else None."""
        second = int(t)
        self.seconds[second] = self.seconds.get(second, True) and ok
        self.last_t = t if self.last_t is None else max(self.last_t, t)
        was, self.up = self.up, ok
        if not ok and was is not False:
            self.down_since = t
            return "down"
        if ok and was is False:
            self.last_outage = t - (self.down_since or t)
            self.down_since = None
            return "back"
        return None

    def state(self) -> Text:
        if self.up is None:
            return Text(_("waiting"), style="dim")
        if not self.up:
            return Text(_("DOWN since {t:.1f} s").format(t=self.down_since or 0.0), style="bold red")
        if self.last_outage is not None:
            return Text(_("up (was down {s:.1f} s)").format(s=self.last_outage), style="green")
        return Text(_("up"), style="green")


def strip(track: Track, now: int, width: int) -> Text:
    """The last `width` seconds up to `now`: green answered, red failed, a dot for a second without an answer."""
    out = Text(no_wrap=True)
    for second in range(now - width + 1, now + 1):
        if second < 0:
            out.append(" ")
        elif second in track.seconds:
            out.append(MARK, style="green" if track.seconds[second] else "red")
        else:
            out.append("·", style="dim")
    return out


class ProbePanel(Static):
    """The four probes, one line each: name, state, strip of recent seconds."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.tracks: dict[str, Track] = {}
        self.reset()

    def reset(self) -> None:
        """A new scenario: its prober starts again from t = 0."""
        self.tracks = {p: Track(p) for p in PROBES}
        self.refresh()

    def add(self, probe: str, t: float, ok: bool) -> str | None:
        track = self.tracks.setdefault(probe, Track(probe))
        if track.last_t is not None and t < track.last_t - 1:      # a new prober: a new scenario
            self.tracks[probe] = track = Track(probe)
        change = track.add(t, ok)
        self.refresh()
        return change

    def now(self) -> int:
        return int(max((t.last_t for t in self.tracks.values() if t.last_t is not None), default=0))

    def render(self) -> Text:
        width = max(5, min(STRIP_SECONDS, self.content_size.width - NAME_WIDTH - STATE_WIDTH))
        now = self.now()
        lines = Text(no_wrap=True, overflow="crop")
        for i, track in enumerate(self.tracks.values()):
            if i:
                lines.append("\n")
            lines.append(track.probe.ljust(NAME_WIDTH), style="bold")
            state = track.state()
            state.pad_right(STATE_WIDTH - len(state.plain))
            lines.append_text(state)
            lines.append_text(strip(track, now, width))
        return lines


__all__ = ["ProbePanel", "Track", "strip", "PROBES"]
