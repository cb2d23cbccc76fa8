"""The drill's measuring parts against real sockets on loopback: timelines, the trapper protocol, the API client."""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from wizard.failover.api import Api, ApiError
from wizard.failover.probes import Prober, Sample, Timeline, frontend_probe
from wizard.failover.report import (Report, ScenarioResult, allowed_downtime, failovers_per_year, format_text)
from wizard.failover.sender import frame, send_value, unframe


def test_outage_runs_from_first_failed_to_first_good_sample():
    tl = Timeline("api", [Sample(0, True), Sample(1, False), Sample(2, False), Sample(3.5, True),
                          Sample(4, False), Sample(6, True)])
    assert tl.outages() == [(1, 3.5), (4, 6)]
    assert tl.outage_seconds() == pytest.approx(4.5)
    d = tl.as_dict()
    assert [c["ok"] for c in d["changes"]] == [True, False, True, False, True]


def test_an_outage_that_never_ends_is_not_a_number():
    tl = Timeline("frontend", [Sample(0, True), Sample(1, False)])
    assert tl.outages() == [(1, None)] and tl.outage_seconds() is None and not tl.recovered()


def test_availability_classes_match_the_design_table():
    assert allowed_downtime("99.9") == pytest.approx(8.766 * 3600, rel=1e-3)     # 8.77 h
    assert allowed_downtime("99.999") == pytest.approx(315.6, rel=1e-3)          # 5.26 min
    assert failovers_per_year(60, "99.99") == 52                                  # 52.6 min / 1 min
    assert failovers_per_year(400, "99.999") == 0
    assert failovers_per_year(0, "99.9") is None


def test_text_report_names_outages_and_skips():
    timeline = Timeline("api", [Sample(0, True), Sample(1, False), Sample(31, True)]).as_dict()
    ran = ScenarioResult("switchover", "Controlled switchover", True, "2026-11-28T12:00:00+00:00", 90,
                         {"api": timeline}, [("marker read back", True, "")])
    skipped = ScenarioResult("failback", "Failback", False, "2026-11-28T12:02:00+00:00", 0,
                             skipped="the services already run on node1")
    report = Report("zbx", "0.1.0", "2026-11-28T12:00:00+00:00", [ran, skipped], probe_timeout=15.0)
    text = format_text(report)
    assert "no answer within 15 s counts as down" in text       # what "down" meant in this run
    assert json.loads(report.as_json())["probe_timeout"] == 15.0
    assert report.ok and "PASS  Controlled switchover" in text and "down 30.0 s  (1.0-31.0 s)" in text
    assert "SKIP  Failback" in text and "already run on node1" in text
    assert "1051 such failovers a year" in text        # 99.99 %: 31557.6 s / 30 s
    assert json.loads(report.as_json())["ok"] is True


class _Trapper(threading.Thread):
    """A trapper on loopback answering like Zabbix server 6.0 for one known item."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.got = []

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                head = conn.recv(13)
                (n,) = struct.unpack("<Q", head[5:13])
                body = b""
                while len(body) < n:
                    body += conn.recv(n - len(body))
                req = json.loads(body)
                self.got.append(req)
                known = req["data"][0]["key"] == "zabbix-ha.drill"
                info = f"processed: {int(known)}; failed: {int(not known)}; total: 1; seconds spent: 0.000042"
                conn.sendall(frame({"response": "success", "info": info}))


def test_sender_speaks_the_trapper_protocol():
    srv = _Trapper()
    srv.start()
    assert send_value("127.0.0.1", "Zabbix server", "zabbix-ha.drill", "7", port=srv.port) == (
        True, "processed: 1; failed: 0; total: 1; seconds spent: 0.000042")
    ok, info = send_value("127.0.0.1", "Zabbix server", "unknown.key", "7", port=srv.port)
    assert not ok and "failed: 1" in info
    assert srv.got[0] == {"request": "sender data", "data": [{"host": "Zabbix server", "key": "zabbix-ha.drill",
                                                              "value": "7"}]}
    srv.sock.close()
    ok, why = send_value("127.0.0.1", "h", "k", "1", port=srv.port, timeout=1)
    assert not ok and why


def test_unframe_refuses_what_is_not_zabbix():
    with pytest.raises(ValueError):
        unframe(b"HTTP/1.1 400 Bad Request\r\n\r\n")
    assert unframe(frame({"a": 1})) == {"a": 1}


class _Handler(BaseHTTPRequestHandler):
    version = "6.0.14"

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path == "/slow/":                # a busy node's login page
            time.sleep(1.5)
        body = b'<form><input name="password" type="password"></form>' if self.path in ("/", "/slow/") else b"no"
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.seen.append((req, self.headers.get("Authorization")))
        m = req["method"]
        if m == "apiinfo.version":
            res = {"result": self.version}
        elif m == "user.login":
            res = {"result": "t0ken"} if req["params"]["password"] == "right" else \
                {"error": {"message": "Invalid params.", "data": "Incorrect user name or password."}}
        else:
            authed = req.get("auth") == "t0ken" or self.headers.get("Authorization") == "Bearer t0ken"
            res = {"result": "3"} if authed else {"error": {"message": "Not authorised."}}
        data = json.dumps({"jsonrpc": "2.0", "id": 1, **res}).encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def web():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.seen = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.mark.parametrize("version,bearer", [("6.0.14", False), ("7.0.5", True)])
def test_api_sends_the_token_the_way_the_version_wants(web, version, bearer, monkeypatch):
    monkeypatch.setattr(_Handler, "version", version)
    api = Api(f"http://127.0.0.1:{web.server_address[1]}/api_jsonrpc.php")
    with pytest.raises(ApiError, match="Incorrect user name"):
        api.login("Admin", "wrong")
    api.login("Admin", "right")
    assert api.call("host.get", {"countOutput": True}) == "3"
    req, header = web.seen[-1]
    assert (header == "Bearer t0ken") is bearer and ("auth" in req) is not bearer
    assert all("right" not in json.dumps(r) for r, _ in web.seen if r["method"] != "user.login")


def test_frontend_probe_wants_the_login_form(web):
    assert frontend_probe(f"http://127.0.0.1:{web.server_address[1]}/")() == (True, "login page")


def test_a_page_slower_than_the_probe_timeout_counts_as_down_and_within_it_as_up(web):
    url = f"http://127.0.0.1:{web.server_address[1]}/slow/"
    ok, detail = frontend_probe(url, timeout=1.0)()
    assert not ok and "timed out" in detail
    assert frontend_probe(url, timeout=3.0)() == (True, "login page")


def test_prober_stop_waits_for_a_sample_under_way_as_long_as_its_probes_may_take():
    def slow():
        time.sleep(5.5)                   # past what stop() waits for the default 3 s probes (5.05 s)
        return True, ""
    p = Prober({"slow": slow}, interval=0.05, limit=30, probe_timeout=8.0).start()
    time.sleep(0.2)
    assert [s.ok for s in p.stop()["slow"].samples] == [True]


def test_prober_samples_each_probe_until_stopped_and_survives_a_probe_bug():
    calls = {"n": 0}

    def flaky():
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("bug")
        return True, ""
    p = Prober({"flaky": flaky}, interval=0.05, limit=5).start()
    time.sleep(0.4)
    tl = p.stop()["flaky"]
    assert len(tl.samples) >= 4 and tl.samples[1].ok is False and "RuntimeError" in tl.samples[1].detail
    assert tl.recovered()
    n = len(tl.samples)
    time.sleep(0.2)
    assert len(tl.samples) == n          # stopped means stopped


def test_a_slow_answer_spaces_the_next_probe_by_as_long_as_it_took():
    def slow():
        time.sleep(0.2)
        return True, ""
    p = Prober({"slow": slow}, interval=0.01, limit=5).start()
    time.sleep(1.3)
    starts = [s.t for s in p.stop()["slow"].samples]
    gaps = [b - a for a, b in zip(starts, starts[1:])]
    # Each probe took 0.2 s, so the next one began at least 0.2 s after it ended: 0.4 s apart,
    # where the 0.01 s interval alone would have sent them back to back (0.2 s apart).
    assert len(gaps) >= 2 and min(gaps) >= 0.38, gaps
