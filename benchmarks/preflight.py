"""Measure `zabbix-ha preflight` (target: under 5 s on two reachable nodes).

    python benchmarks/preflight.py --answers A --secrets S [preflight options...] [--runs N]
    python benchmarks/preflight.py --lab            # the running lab (zabbix-ha lab up)
    python benchmarks/preflight.py --loopback       # both "nodes" = this machine via a throwaway sshd (root)

Runs the real command (a fresh `zabbix-ha` process each run, so start-up
is included) and prints wall times: min / median / max, and the phase
timings of the last run (connect, facts, probes). With --lab and --loopback it
also times, in the same run, a bare `ssh NODE true` to the same nodes and
prints preflight as a multiple of it: under the VM lab's software emulation
every process on a node costs ~20x what it costs on hardware, and the ratio
shows how much of the wall time is the nodes' speed rather than the wizard's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
TARGET = 5.0


def _ssh_round_trip(ssh_argv: list[str], runs: int) -> float:
    """Median wall time of a bare `ssh ... true` (new connection each time, as preflight makes one)."""
    walls = []
    for _ in range(runs):
        t0 = time.monotonic()
        subprocess.run([*ssh_argv, "true"], capture_output=True, timeout=60, check=True)
        walls.append(time.monotonic() - t0)
    return statistics.median(walls)


def _print_ratio(median_preflight: float, round_trips: dict[str, float]) -> None:
    rtt = max(round_trips.values())
    print("bare SSH round trip (`ssh NODE true`), median: "
          + ", ".join(f"{n} {t:.2f} s" for n, t in round_trips.items())
          + f"; preflight = {median_preflight / rtt:.1f} x the slower node's round trip")


def _measure(argv: list[str], runs: int, round_trips=None) -> int:
    walls, last = [], None
    for _ in range(runs):
        t0 = time.monotonic()
        p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        walls.append(time.monotonic() - t0)
        try:
            last = json.loads(p.stdout)
        except json.JSONDecodeError:
            print(p.stdout, p.stderr, file=sys.stderr)
            return 2
    print(f"preflight wall time over {runs} runs: min {min(walls):.2f} s, median {statistics.median(walls):.2f} s, "
          f"max {max(walls):.2f} s (target < {TARGET:.0f} s)")
    print("last run phases:", last["timings"], "commands:", last["commands"], "summary:", last["summary"])
    if round_trips:
        _print_ratio(statistics.median(walls), round_trips())
    return 0 if statistics.median(walls) < TARGET else 1


def _loopback(runs: int) -> int:
    sys.path.insert(0, str(HERE))
    from tests.preflight import factory
    from tests.preflight import sshd as sshd_helper
    from wizard.answers import save_answers
    from wizard.sshtrust import TrustStore

    if sshd_helper.available():
        print("loopback mode:", sshd_helper.available(), file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        server = sshd_helper.start(tmp / "sshd")
        try:
            trust = TrustStore(tmp / "trust")
            server.authorized_keys.write_text(trust.ensure_key() + "\n")
            fp = subprocess.run(["ssh-keygen", "-lf", f"{server.host_key}.pub"], capture_output=True, text=True,
                                check=True).stdout.split()[1]
            # The answers validator refuses loopback addresses, so drive collect() in a child process.
            spec = factory.spec()
            for n in spec.nodes:
                n.address, n.ssh_port = "127.0.0.1", server.port
            from wizard.spec import Link
            spec.links = [Link(["127.0.0.1", "127.0.0.2"], 8), Link(["127.0.0.3", "127.0.0.4"], 8)]
            spec.services.vip = "127.0.0.9"
            answers = tmp / "answers.yaml"
            save_answers(spec, answers)
            code = (
                "import json,sys,argparse; sys.path.insert(0, %r)\n"
                "from wizard.answers import load_answers\n"
                "from wizard.preflight.command import collect\n"
                "a=argparse.Namespace(json=True, accept_host_key=[%r], known_hosts=[], ssh_key=None, trust_dir=%r,"
                " all_ssh=True, no_probe=False, skip_source_probe=True, force=[], journal=None)\n"
                "f,_,j,t=collect(load_answers(%r), None, a)\n"
                "print(json.dumps({'timings':{k:round(v,3) for k,v in t.items()},'commands':len(j.entries),"
                "'summary':{'errors':sum(x.severity=='error' for x in f)}}))\n"
            ) % (str(HERE), fp, str(tmp / "trust"), str(answers))
            known = tmp / "known_hosts"
            known.write_text(f"[127.0.0.1]:{server.port} " + Path(f"{server.host_key}.pub").read_text())
            ssh = ["ssh", "-p", str(server.port), "-i", str(trust.key_path), "-o", "BatchMode=yes",
                   "-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known}", "root@127.0.0.1"]
            return _measure([sys.executable, "-c", code], runs,
                            lambda: {"loopback": _ssh_round_trip(ssh, max(runs, 3))})
        finally:
            server.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--lab", action="store_true")
    ap.add_argument("--loopback", action="store_true")
    args, rest = ap.parse_known_args()
    if args.loopback:
        return _loopback(args.runs)
    exe = str(HERE / ".venv" / "bin" / "zabbix-ha")
    round_trips = None
    if args.lab:
        sys.path.insert(0, str(HERE))
        from wizard.lab.paths import ANSWERS_FILE, KNOWN_HOSTS, SECRETS_FILE, SSH_KEY
        rest = ["--answers", str(ANSWERS_FILE), "--secrets", str(SECRETS_FILE), "--ssh-key", str(SSH_KEY),
                "--known-hosts", str(KNOWN_HOSTS), "--all-ssh", *rest]
        from wizard.answers import load_answers

        nodes = load_answers(ANSWERS_FILE).nodes

        def lab_round_trips():
            return {n.hostname: _ssh_round_trip(
                ["ssh", "-p", str(n.ssh_port), "-i", str(SSH_KEY), "-o", "BatchMode=yes",
                 "-o", f"UserKnownHostsFile={KNOWN_HOSTS}", f"{n.ssh_user}@{n.address}"], max(args.runs, 3))
                for n in nodes}
        round_trips = lab_round_trips
    trust = tempfile.mkdtemp(prefix="zha-bench-trust-")
    return _measure([exe, "preflight", "--json", "--trust-dir", trust, *rest], args.runs, round_trips)


if __name__ == "__main__":
    sys.exit(main())
