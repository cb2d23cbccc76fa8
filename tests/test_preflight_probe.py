"""Probes run for real through executors, on loopback only.

Both "nodes" are this machine (two LocalExecutors); link addresses are
127.0.0.1 and 127.0.0.2, so the listener/sender pairs, ping and the TCP
source probe exchange real packets without leaving lo.
"""

from __future__ import annotations

import shutil
from pathlib import Path
import socket

import pytest

from tests.preflight import factory
from tests.preflight.sshd import free_port
from wizard.journal import Journal
from wizard.preflight.checks import check
from wizard.preflight.probes import (_pings, address_use, connectivity, exchange, ipmi, parse_fence, parse_neigh,
                                    ping_argv, probe, sources)
from wizard.remote import LocalExecutor
from wizard.spec import Link

N1, N2 = "zbx-node1", "zbx-node2"


def loopback_spec():
    s = factory.spec()
    s.links = [Link(["127.0.0.1", "127.0.0.2"], 8), Link(["127.0.0.3", "127.0.0.4"], 8)]
    s.storage.port = free_port()
    s.services.vip = "127.0.0.9"
    s.zabbix.package_source = "mirror"
    return s


@pytest.fixture
def executors():
    # The probes run perl and ping: missing is a failure (.ci/packages/preflight.txt),
    # and only the tests that run them need them (the parser tests do not).
    for tool in ("perl", "ping"):
        assert shutil.which(tool), f"{tool} is missing (.ci/packages/preflight.txt: perl, iputils-ping)"
    journal = Journal()
    return {N1: LocalExecutor(N1, journal=journal), N2: LocalExecutor(N2, journal=journal)}


def test_matrix_on_loopback_passes_both_directions(executors):
    spec = loopback_spec()
    paths = connectivity(spec, executors)
    kinds = sorted((p.link, p.src, p.kind) for p in paths)
    # 2 links x 2 directions x (icmp + udp), plus tcp on the replication link both ways.
    assert len(paths) == 10, kinds
    assert all(p.ok for p in paths), [p for p in paths if not p.ok]
    assert {(p.src, p.dst) for p in paths} == {(N1, N2), (N2, N1)}
    assert {p.port for p in paths if p.kind == "udp"} == {5405, 5406}


def test_sender_without_its_address_fails(executors):
    good = ("udp", "127.0.0.1", "127.0.0.2", free_port())
    bad = ("tcp", "192.0.2.250", "127.0.0.2", free_port())      # the sender lacks this source address
    res = exchange(executors[N2], executors[N1], [good, bad])
    assert res[good] == (True, "")
    assert res[bad][0] is False and "assign" in res[bad][1]


def test_busy_port_is_untested_not_failed(executors):
    port = free_port()
    with socket.socket() as held:
        held.bind(("127.0.0.2", port))
        held.listen()
        res = exchange(executors[N2], executors[N1], [("tcp", "127.0.0.1", "127.0.0.2", port)])
    ok, detail = res[("tcp", "127.0.0.1", "127.0.0.2", port)]
    assert ok is None and "in use" in detail


def test_df_ping_respects_size(executors):
    res = _pings(executors[N1], {"fits": ping_argv("127.0.0.1", "127.0.0.2", 1472),
                                 "too-big": ping_argv("127.0.0.1", "127.0.0.2", 70000)})  # > any IPv4 packet
    assert res["fits"] == (True, "")
    assert res["too-big"][0] is False and res["too-big"][1]


def test_vip_in_use_seen_by_ping(executors):
    uses = address_use(loopback_spec(), executors)
    assert {u.node for u in uses} == {N1, N2}
    assert all(u.address == "127.0.0.9" and u.answers_ping for u in uses)


def test_parse_neigh_arp_without_ping():
    text = ("ping 192.168.10.10 1\nping 192.168.10.20 1\n@@ 192.168.10.10\n"
            "192.168.10.10 dev eth0 lladdr 52:54:00:12:34:56 REACHABLE\n@@ 192.168.10.20\n"
            "192.168.10.20 dev eth0 FAILED\n")
    vip, src = parse_neigh(N1, text)
    assert (vip.address, vip.answers_ping, vip.answers_arp, vip.in_use) == ("192.168.10.10", False, True, True)
    assert (src.address, src.in_use) == ("192.168.10.20", False)


def test_ipmi_probe_uses_stdin_and_reports_missing_agent(executors, monkeypatch):
    # A node without fence-agents: the agent is not on its PATH. (The real
    # agent against a simulated BMC: tests/test_fence_probe.py. Here no IPMI
    # packet may leave for the factory's 192.168.20.x BMCs.)
    from wizard.preflight import probes

    monkeypatch.setattr(probes, "FENCE_SCRIPT", "PATH=/nonexistent; " + probes.FENCE_SCRIPT)
    spec = loopback_spec()
    secrets = factory.secrets()
    journal = executors[N1].journal
    for s in secrets.values():
        journal.add_secret(s)
    results = ipmi(spec, executors, secrets)
    assert {(r.node, r.target) for r in results} == {(N2, N1), (N1, N2)}    # fenced from the peer
    assert all(r.ok is None and "not installed" in r.detail for r in results)
    dump = repr(journal.entries)
    assert "bmc1-pw" not in dump and "bmc2-pw" not in dump


def test_ipmi_probe_asks_a_bmc_that_missed_a_query_again_and_gives_up_after_the_last_attempt(
        executors, monkeypatch, tmp_path):
    # A stand-in agent that refuses a set number of times, counting its runs in a file.
    from wizard.preflight import probes

    monkeypatch.setattr(probes, "IPMI_RETRY_PAUSE_S", 0)
    spec = loopback_spec()
    secrets = factory.secrets()
    count = tmp_path / "runs"

    def agent_failing(times):
        count.write_text("")
        return (f'cat >/dev/null; echo run >>{count}; '
                f'[ $(wc -l <{count}) -gt {times * 2} ] && {{ echo "Status: ON"; exit 0; }}; '
                'echo "ERROR: Unable to connect/login to fencing device" >&2; exit 1')

    monkeypatch.setattr(probes, "FENCE_SCRIPT", agent_failing(1))    # both sides miss once (2 runs)
    results = ipmi(spec, executors, secrets)
    assert [r.ok for r in results] == [True, True] and all(r.detail == "Status: ON" for r in results)

    monkeypatch.setattr(probes, "FENCE_SCRIPT", agent_failing(99))
    results = ipmi(spec, executors, secrets)
    assert [r.ok for r in results] == [False, False]
    assert all("Unable to connect" in r.detail and f"({probes.IPMI_ATTEMPTS} attempts)" in r.detail for r in results)
    assert len(count.read_text().splitlines()) == 2 * probes.IPMI_ATTEMPTS


def test_parse_fence():
    assert parse_fence(N1, 0, "Status: ON\n", "").ok is True
    r = parse_fence(N1, 1, "", "2024-01-01 ERROR: Unable to connect/login to fencing device\n")
    assert r.ok is False and "Unable to connect" in r.detail


def test_package_source_probe(executors):
    spec = loopback_spec()
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        port = srv.getsockname()[1]
        spec.zabbix.mirror_url = f"http://127.0.0.1:{port}/debian"
        up = sources(spec, executors, {})
    assert [r.ok for r in up] == [True, True]
    spec.zabbix.mirror_url = f"http://127.0.0.1:{free_port()}/debian"
    down = sources(spec, executors, {})
    assert [r.ok for r in down] == [False, False] and "127.0.0.1" in down[0].detail
    spec.zabbix.mirror_url = "file:///nonexistent-zbx-mirror"
    assert [r.ok for r in sources(spec, executors, {})] == [False, False]


def test_probe_feeds_check(executors):
    spec = loopback_spec()
    # No secrets: the BMCs (192.168.20.x in the factory) are not asked; no packet leaves lo.
    probes = probe(spec, executors, factory.facts(), None, probe_sources=False)
    findings = check(spec, factory.facts(), factory.secrets(), probes=probes)
    codes = {f.code for f in findings}
    assert not any(c.startswith("path-") for c in codes)
    assert "address-in-use" in codes          # 127.0.0.1 answers: it is taken


def test_a_port_that_accepts_and_never_answers_does_not_hang_the_other_probes(executors):
    # On a rerun DRBD itself holds its port: it accepts the probe's connection and says nothing.
    port = free_port()
    good = ("udp", "127.0.0.1", "127.0.0.2", free_port())
    with socket.socket() as silent:
        silent.bind(("127.0.0.2", port))
        silent.listen()
        res = exchange(executors[N2], executors[N1], [("tcp", "127.0.0.1", "127.0.0.2", port), good])
    assert res[good] == (True, "")
    ok, detail = res[("tcp", "127.0.0.1", "127.0.0.2", port)]
    assert ok is None and "in use" in detail


# --- a busy node's BMC query on a running cluster: Pacemaker's own monitor counts ---

HEALTHY_MON = (Path(__file__).parent / "data/status/simulated/healthy/crm_mon.xml").read_text()


def rendered_resources(spec) -> str:
    """The resources section of the CIB we render for SPEC (what cibadmin --scope resources prints)."""
    import xml.etree.ElementTree as ET

    from wizard.render import render

    cib = next(f for files in render(spec, factory.secrets()).values() for f in files.values()
               if f.path.endswith("cib.xml"))
    return ET.tostring(ET.fromstring(cib.text).find("configuration/resources"), encoding="unicode")


def pacemaker_said(mon: str, resources: str, same_password: bool = True) -> str:
    return ("SAME-PASSWORD\n" if same_password else "") + f"@@@ crm_mon\n{mon}\n@@@ resources\n{resources}\n"


def test_pacemakers_monitor_vouches_only_for_the_same_bmc_settings_without_failures():
    from wizard.preflight.probes import judge_pacemaker_fence

    spec = factory.spec()
    dev = spec.fencing.ipmi[1]
    resources = rendered_resources(spec)
    said = judge_pacemaker_fence(N2, dev, pacemaker_said(HEALTHY_MON, resources))
    assert "fence-zbx-node2" in said and "same settings" in said
    # Another password, address, user or lanplus than Pacemaker's: its monitor says nothing about the answers.
    assert judge_pacemaker_fence(N2, dev, pacemaker_said(HEALTHY_MON, resources, same_password=False)) == ""
    for change in ({"address": "192.0.2.99"}, {"user": "other"}, {"lanplus": not dev.lanplus}):
        other = factory.spec()
        for k, v in change.items():
            setattr(other.fencing.ipmi[1], k, v)
        assert judge_pacemaker_fence(N2, dev, pacemaker_said(HEALTHY_MON, rendered_resources(other))) == "", change
    # The device failed, stopped, or its monitor failed once: no vouching.
    failed = HEALTHY_MON.replace('resource id="fence-zbx-node2" resource_agent="stonith:fence_ipmilan" role="Started" '
                                 'active="true" orphaned="false" blocked="false" managed="true" failed="false"',
                                 'resource id="fence-zbx-node2" resource_agent="stonith:fence_ipmilan" role="Started" '
                                 'active="true" orphaned="false" blocked="false" managed="true" failed="true"')
    assert failed != HEALTHY_MON
    assert judge_pacemaker_fence(N2, dev, pacemaker_said(failed, resources)) == ""
    monitor_failed = HEALTHY_MON.replace("</failures>", "") if "<failures>" in HEALTHY_MON else HEALTHY_MON
    monitor_failed = monitor_failed.replace("</resources>", (
        '</resources>\n<failures><failure op_key="fence-zbx-node2_monitor_60000" node="zbx-node1" exitstatus="error" '
        'exitreason="" exitcode="1" call="9" status="Timed Out" last-rc-change="2026-11-28 08:59:15Z" queued="0" '
        'exec="20001" interval="60000" task="monitor"/></failures>'), 1)
    assert judge_pacemaker_fence(N2, dev, pacemaker_said(monitor_failed, resources)) == ""
    # Node1's device vouches for node1 only; garbage or no Pacemaker says nothing.
    assert "fence-zbx-node1" in judge_pacemaker_fence(N1, spec.fencing.ipmi[0], pacemaker_said(HEALTHY_MON, resources))
    assert judge_pacemaker_fence(N2, dev, "NO-PACEMAKER\n") == ""
    assert judge_pacemaker_fence(N2, dev, pacemaker_said("<crm_mon", resources)) == ""


def test_a_timed_out_bmc_query_passes_on_pacemakers_word_and_a_refusal_never_does(executors, monkeypatch, tmp_path):
    # Stand-ins for the agent and for Pacemaker's tools; the real script compares the
    # password on stdin with the device's password file (cmp), as on a node.
    from wizard import render
    from wizard.preflight import probes

    monkeypatch.setattr(probes, "IPMI_RETRY_PAUSE_S", 0)
    spec, secrets = loopback_spec(), factory.secrets()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "mon.xml").write_text(HEALTHY_MON)
    (tmp_path / "resources.xml").write_text(rendered_resources(factory.spec()))   # same BMCs as loopback_spec
    for tool, body in {"systemctl": "exit 0", "crm_mon": f"cat {tmp_path}/mon.xml",
                       "cibadmin": f"cat {tmp_path}/resources.xml"}.items():
        (bin_dir / tool).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / tool).chmod(0o755)
    for node in (N1, N2):
        (tmp_path / f"pw-{node}").write_text(secrets.ipmi[node].reveal() + "\n")
    monkeypatch.setattr(render, "ipmi_password_file", lambda node: str(tmp_path / f"pw-{node}"))
    monkeypatch.setattr(probes, "PACEMAKER_FENCE_SCRIPT", f"PATH={bin_dir}:$PATH\n" + probes.PACEMAKER_FENCE_SCRIPT)
    journal = executors[N1].journal
    for s in secrets.values():
        journal.add_secret(s)

    monkeypatch.setattr(probes, "FENCE_SCRIPT", 'cat >/dev/null; echo "Failed: Connection timed out" >&2; exit 1')
    results = ipmi(spec, executors, secrets)
    assert [r.ok for r in results] == [True, True], results
    assert all("timed out" in r.detail and "Pacemaker's fence-" in r.detail for r in results), results
    assert "bmc1-pw" not in repr(journal.entries) and "bmc2-pw" not in repr(journal.entries)

    # The password the answers give is not the one Pacemaker uses: the timeout stands.
    (tmp_path / f"pw-{N2}").write_text("an older password\n")
    results = {r.target: r for r in ipmi(spec, executors, secrets)}
    assert results[N1].ok is True and results[N2].ok is False and "(3 attempts)" in results[N2].detail

    # A refusal (wrong password at the BMC) is a failure whatever Pacemaker says.
    monkeypatch.setattr(probes, "FENCE_SCRIPT",
                        'cat >/dev/null; echo "ERROR: Unable to connect/login to fencing device" >&2; exit 1')
    results = ipmi(spec, executors, secrets)
    assert [r.ok for r in results] == [False, False] and not any("Pacemaker" in r.detail for r in results)
