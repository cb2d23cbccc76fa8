"""A failover drill: health gate, test item and marker, scenarios with probes running, checks, clean-up.

The CLI (`zabbix-ha failover-test`) and the wizard's Failover step both
drive a Drill. Nothing here prints or prompts: `on_event` receives what
happens (messages and probe samples) and `confirm` is asked before each
scenario. A drill never starts on a cluster that cannot fail over
(wizard.status.failover_ready), and every scenario restores its starting
state, also when it fails or is aborted.
"""

from __future__ import annotations

import datetime as dt
import secrets as pysecrets
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from wizard.failover.api import Api, ApiError, base_url
from wizard.failover.cluster import ClusterOps, DrillFailed
from wizard.failover.probes import TIMEOUT as PROBE_TIMEOUT
from wizard.failover.probes import Prober, Sample, api_auth_probe, api_probe, frontend_probe, trapper_probe
from wizard.failover.report import Report, ScenarioResult
from wizard.failover.resources import read as resource_operations
from wizard.failover.scenarios import Run, Scenario, unexpected_fences
from wizard.status.health import failover_ready

TEST_HOST = "Zabbix server"            # the host every Zabbix install has
ITEM_KEY = "zabbix-ha.drill"
MARKER = "{$ZABBIX_HA_DRILL}"
TRAPPER_READY_TIMEOUT = 150            # a new item reaches the server's config cache (default 60 s refresh)
SETTLE = 5                             # every probe answering this long = recovered
BASELINE = 3                           # probes answering before a scenario starts
READY_TIMEOUT = 900                    # the cluster able to fail over again after a scenario


@dataclass
class Message:
    text: str


@dataclass
class ProbeSample:
    probe: str
    sample: Sample


@dataclass
class Drill:
    ops: ClusterOps
    admin_password: str
    on_event: Callable[[object], None] = lambda _e: None
    stop: threading.Event = field(default_factory=threading.Event)
    api: Api | None = None
    # A probe without an answer within this many seconds counts as down. 3 s on real servers; the
    # emulated lab's nodes are some 20 times slower, and a slow login page is not an outage there.
    probe_timeout: float = PROBE_TIMEOUT
    item_id: str = ""
    marker_id: str = ""

    def say(self, text: str) -> None:
        self.on_event(Message(text))

    # -- before -----------------------------------------------------------------

    def gate(self) -> list:
        """Why the cluster cannot fail over now (wizard.status.health.Problem); empty: go."""
        return failover_ready(self.ops.status())

    def prepare(self) -> None:
        """Log in through the VIP, create the trapper test item, wait until the server takes values."""
        vip = self.ops.spec.services.vip
        # 30 s: set-up calls on a busy node took over 10 s on the VM lab (the probes keep 3 s).
        self.api = Api.for_vip(vip, timeout=30)
        try:
            self.api.login("Admin", self.admin_password)
        except ApiError as exc:
            raise DrillFailed(f"the Zabbix API at {vip} refused Admin: {exc}") from None
        hosts = self.api.call("host.get", {"filter": {"host": [TEST_HOST]}, "output": ["hostid"]})
        if not hosts:
            raise DrillFailed(f"no host named {TEST_HOST!r} in Zabbix to hang the drill's test item on")
        hostid = hosts[0]["hostid"]
        self._remove_leftovers(hostid)
        self.item_id = self.api.call("item.create", {
            "hostid": hostid, "name": "zabbix-ha failover drill", "key_": ITEM_KEY, "type": 2,
            "value_type": 3, "history": "1d", "trends": "0"})["itemids"][0]
        self.say(f"test item {ITEM_KEY} created on {TEST_HOST}; waiting for the Zabbix server to take values")
        active = self.ops.active_node()
        if active:      # the server picks new items up at its next config sync; ask for it now
            self.ops.run(active, ["zabbix_server", "-R", "config_cache_reload"], check=False)
        deadline = time.monotonic() + TRAPPER_READY_TIMEOUT
        from wizard.failover.sender import send_value
        while True:
            ok, info = send_value(vip, TEST_HOST, ITEM_KEY, "0")
            if ok:
                break
            if time.monotonic() > deadline:
                raise DrillFailed(f"the Zabbix server at {vip}:10051 did not take a value for the test item "
                                  f"within {TRAPPER_READY_TIMEOUT} s ({info})")
            time.sleep(3)
        self.say("the Zabbix server takes values for the test item")

    def _remove_leftovers(self, hostid: str) -> None:
        """A drill that was killed leaves its item and marker: remove them first."""
        old = self.api.call("item.get", {"hostids": [hostid], "filter": {"key_": ITEM_KEY}, "output": ["itemid"]})
        if old:
            self.api.call("item.delete", [i["itemid"] for i in old])
        macros = self.api.call("usermacro.get", {"globalmacro": True, "filter": {"macro": MARKER},
                                                 "output": ["globalmacroid"]})
        if macros:
            self.api.call("usermacro.deleteglobal", [m["globalmacroid"] for m in macros])

    def _write_marker(self, value: str) -> None:
        if self.marker_id:
            self.api.call("usermacro.updateglobal", {"globalmacroid": self.marker_id, "value": value})
        else:
            self.marker_id = self.api.call("usermacro.createglobal",
                                           {"macro": MARKER, "value": value})["globalmacroids"][0]

    def _read_marker(self) -> str | None:
        found = self.api.call("usermacro.get", {"globalmacro": True, "globalmacroids": [self.marker_id],
                                                "output": ["value"]})
        return found[0]["value"] if found else None

    def _history_has(self, value: int, timeout: float = 90) -> bool:
        """The value reached the database (the history syncer writes within seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.api.call("history.get", {"itemids": [self.item_id], "history": 3, "output": ["value"],
                                                 "sortfield": "clock", "sortorder": "DESC", "limit": 50})
            if any(r["value"] == str(value) for r in rows):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(3)

    # -- one scenario -------------------------------------------------------------

    def run_scenario(self, sc: Scenario) -> ScenarioResult:
        from wizard.failover.sender import send_value

        vip = self.ops.spec.services.vip
        started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        t0 = time.monotonic()
        result = ScenarioResult(sc.name, sc.title, False, started, 0.0)
        status = self.ops.status()
        active = self.ops.group_node(status)
        why_not = sc.applicable(self.ops, active)
        if why_not:
            result.skipped = why_not
            result.seconds = round(time.monotonic() - t0, 1)
            return result
        run = Run(self.ops, self.stop, self.say)
        run.memo["active"] = active
        token = f"{sc.name}-{pysecrets.token_hex(4)}"
        self._write_marker(token)
        sent: list[tuple[float, int]] = []
        wall0 = time.time()              # the probes' zero, and the window of Pacemaker's log read after
        wait = self.probe_timeout
        prober = Prober({"frontend": frontend_probe(base_url(vip), wait), "api": api_probe(vip, wait),
                         "api-auth": api_auth_probe(Api(self.api.url, wait, self.api.token, self.api.bearer)),
                         "trapper": trapper_probe(vip, TEST_HOST, ITEM_KEY, sent, timeout=wait)},
                        on_sample=lambda name, s: self.on_event(ProbeSample(name, s)), probe_timeout=wait).start()
        try:
            self._wait_probes(prober, BASELINE, 60, "every probe answering before the scenario starts")
            run.note(f"{sc.title}: starting (services on {active})")
            sc.act(run)
            self._wait_probes(prober, SETTLE, 300, "every probe answering through the VIP again")
            run.note("every probe answers through the VIP")
        except DrillFailed as exc:
            result.error = str(exc)
        except Exception as exc:      # a lost connection mid-scenario: reported, and still restored
            result.error = f"{type(exc).__name__}: {exc}"
        finally:
            timelines = prober.stop()
            try:
                sc.restore(run)
            except Exception as exc:
                result.error = (result.error + "; " if result.error else "") + f"restoring failed: {exc}"
        result.timelines = {name: tl.as_dict() for name, tl in timelines.items()}
        result.resources = resource_operations(self.ops, wall0, time.time())
        result.events = run.events
        result.checks = self._checks(sc, result, sent)
        result.ok = not result.error and all(ok for _, ok, _ in result.checks)
        result.seconds = round(time.monotonic() - t0, 1)
        return result

    def _wait_probes(self, prober: Prober, settle: float, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not prober.all_good_since(settle) or prober.elapsed() < settle:
            if self.stop.is_set():
                raise DrillFailed(f"{what}: aborted")
            if time.monotonic() > deadline:
                bad = [n for n, tl in prober.timelines.items() if not tl.recovered()]
                raise DrillFailed(f"{what}: not within {timeout:.0f} s (still failing: {', '.join(bad) or 'flapping'})")
            time.sleep(0.5)

    def _checks(self, sc: Scenario, result: ScenarioResult, sent) -> list:
        checks = []
        try:
            value = self._read_marker()
            checks.append(("marker written before the scenario read back after", value is not None
                           and value.startswith(sc.name + "-"), "" if value else "marker missing"))
        except ApiError as exc:
            checks.append(("marker written before the scenario read back after", False, str(exc)))
        if sent:
            last = sent[-1][1]
            checks.append((f"value {last} sent to the trapper stored in the database", self._history_has(last), ""))
        else:
            checks.append(("a value sent to the trapper was accepted", False, "none accepted"))
        if not sc.expect_outage:
            worst = max((t["outage_seconds"] or 0 for t in result.timelines.values()), default=0)
            down = [n for n, t in result.timelines.items() if t["outage_seconds"] != 0]
            checks.append(("no outage through the VIP", not down, f"{', '.join(down)} down {worst:.1f} s" if down else ""))
        if not sc.expect_fence:
            fenced = unexpected_fences(sc, result.resources)
            checks.append(("nobody fenced", not fenced, "; ".join(fenced)))
        try:
            self.ops.wait_ready(timeout=READY_TIMEOUT)
            checks.append(("cluster able to fail over again (both online, DRBD UpToDate, no failures)", True, ""))
        except DrillFailed as exc:
            checks.append(("cluster able to fail over again", False, str(exc)))
        leftover = [c for c in self.ops.status().constraints]
        checks.append(("no move/ban constraint left behind", not leftover,
                       ", ".join(c.id for c in leftover) if leftover else ""))
        return checks

    # -- after ----------------------------------------------------------------------

    def cleanup(self) -> None:
        """Remove the test item and the marker, log out. Never raises: the report matters more."""
        if self.api is None:
            return
        try:
            if self.item_id:
                self.api.call("item.delete", [self.item_id])
            if self.marker_id:
                self.api.call("usermacro.deleteglobal", [self.marker_id])
            self.say("test item and marker removed")
        except ApiError as exc:
            self.say(f"could not remove the test item/marker ({exc}); the next drill removes them")
        self.api.logout()


def run_drill(drill: Drill, scenarios: list[Scenario], *, confirm: Callable[[Scenario], bool],
              version: str) -> Report:
    """Gate, prepare, each confirmed scenario in turn (stopping at the first failure), clean-up."""
    report = Report(drill.ops.spec.name, version,
                    dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), probe_timeout=drill.probe_timeout)
    problems = drill.gate()
    if problems:
        report.refused = [p.as_dict() for p in problems]
        return report
    try:
        drill.prepare()
        for sc in scenarios:
            if drill.stop.is_set():
                break
            if not confirm(sc):
                drill.say(f"{sc.name}: skipped")
                continue
            problems = drill.gate()
            if problems:
                report.refused = [p.as_dict() for p in problems]
                break
            result = drill.run_scenario(sc)
            report.scenarios.append(result)
            drill.say(f"{sc.name}: {result.verdict}" + (f" ({result.error or result.skipped})"
                                                          if result.error or result.skipped else ""))
            if result.verdict == "FAIL":
                break
    finally:
        drill.cleanup()
    return report
