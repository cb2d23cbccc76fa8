"""The install's cost, measured side by side on the VM lab in one run.

Prints, from bare lab nodes (nothing of the stack installed):
- the whole install beside apt alone installing the same package set on an
  identical fresh node (the floor: emulated dpkg is most of the time), and
  their ratio (goal: install <= 2x apt);
- parallel (both nodes side by side) beside --serial, and their ratio;
- the time of every step;
- DRBD time-to-ready (metadata, up, connected, in sync) for two backing
  sizes: on fresh disks it must not grow with the size (the initial sync is
  skipped);
- a no-op rerun.

Run as root on the lab host:  .venv/bin/python benchmarks/install.py [--skip-serial]
It takes the lab for its whole run (about an hour and a half under TCG per
full install pass); it brings up its own lab and takes it down at the end.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from wizard.lab import lab as lablib  # noqa: E402
from wizard.lab.lock import acquire  # noqa: E402
from wizard.lab.paths import ANSWERS_FILE, RUN_DIR, SECRETS_FILE  # noqa: E402
from wizard.lab.ssh import ssh_run  # noqa: E402

STEP_LINE = re.compile(r"^\S+ (\S+)\s+(ok|CHANGED|FAILED|skipped)\s+(.*) \(([\d.]+) s\)")


def zabbix_ha(*args: str, timeout: float = 7200) -> tuple[float, str]:
    import subprocess

    started = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "wizard", *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=timeout)
    seconds = time.monotonic() - started
    if res.returncode != 0:
        raise SystemExit(f"zabbix-ha {' '.join(args)} failed (rc {res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-2000:]}")
    return seconds, res.stdout


def install(*extra: str) -> tuple[float, dict[str, float], str]:
    seconds, out = zabbix_ha("install", "--answers", str(ANSWERS_FILE), "--secrets", str(SECRETS_FILE),
                             "--all-ssh", "--yes", *extra)
    steps: dict[str, float] = {}
    for line in out.splitlines():
        m = STEP_LINE.match(line)
        if m:
            steps[f"{m.group(1)} {m.group(3)}"] = float(m.group(4))
    return seconds, steps, out


def fresh_lab(data_disk: str | None = None, preinstalled: bool = False) -> None:
    """A new lab: fresh overlays and empty data disks (data_disk: their size instead of the lab's)."""
    from wizard.lab import vm

    lablib.down(log=lambda _m: None)
    if data_disk:
        vm.DATA_DISK_SIZE = data_disk  # read when the disks are created
    lablib.up("vm", log=lambda m: print(f"  [lab] {m}", flush=True), preinstalled=preinstalled)


def apt_alone() -> float:
    """apt installing the platform's package list on a fresh node, as the install does, nothing else."""
    from wizard.answers import load_answers
    from wizard.install.packages import source_line, packages
    from wizard.install.step import Context, Shared

    spec = load_answers(ANSWERS_FILE)
    node = spec.nodes[0]
    ctx = Context(spec, None, node.hostname, {}, {}, Shared())
    wanted = " ".join(packages(ctx))
    script = (f"printf '%s' {json.dumps(source_line(ctx))} > /etc/apt/sources.list.d/bench.list && "
              "printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && "
              "export DEBIAN_FRONTEND=noninteractive && apt-get -q update >/dev/null && "
              f"apt-get -q -y --no-install-recommends install {wanted} >/dev/null && rm -f /usr/sbin/policy-rc.d")
    started = time.monotonic()
    ssh_run(node.address, script, timeout=7200)
    return time.monotonic() - started


def drbd_ready(steps: dict[str, float]) -> float:
    keys = ("DRBD metadata", "DRBD resource up", "DRBD nodes connected", "DRBD disks in sync")
    return sum(v for k, v in steps.items() if k.startswith("node1 ") and any(k.endswith(x) or x in k for x in keys))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-serial", action="store_true", help="leave out the --serial pass")
    parser.add_argument("--big-disk", default="8G",
                        help="the second backing size for DRBD time-to-ready (sparse; the lab's own is "
                             "wizard.lab.vm.DATA_DISK_SIZE)")
    args = parser.parse_args()
    fd = acquire(RUN_DIR / "tests.lock", timeout=3600, what="the lab (benchmark)")
    figures: dict[str, float] = {}
    try:
        print("1/4 apt alone on a fresh node", flush=True)
        fresh_lab()
        figures["apt_alone_s"] = apt_alone()
        print(f"    {figures['apt_alone_s']:.0f} s", flush=True)

        print("2/4 whole install, both nodes side by side, from bare nodes", flush=True)
        fresh_lab()
        figures["install_parallel_s"], steps, _ = install()
        figures["drbd_ready_small_s"] = drbd_ready(steps)
        noop, _, out = install()
        figures["noop_rerun_s"] = noop
        assert "0 step(s) changed" in out, out[-2000:]

        if not args.skip_serial:
            print("3/4 whole install, --serial", flush=True)
            fresh_lab()
            figures["install_serial_s"], _, _ = install("--serial")

        # DRBD's steps do not depend on how the packages got there: nodes whose image
        # holds them reach DRBD an hour sooner than bare ones.
        print(f"4/4 DRBD time-to-ready with {args.big_disk} backing disks (nodes with the packages)", flush=True)
        fresh_lab(data_disk=args.big_disk, preinstalled=True)
        _, big_steps, _ = install()
        figures["drbd_ready_big_s"] = drbd_ready(big_steps)
    finally:
        lablib.down(log=lambda _m: None)
        import os
        os.close(fd)

    print("\nper step (parallel run):")
    for name, secs in sorted(steps.items(), key=lambda kv: -kv[1]):
        print(f"  {secs:8.1f} s  {name}")
    print("\nfigures:")
    for k, v in figures.items():
        print(f"  {k:<22} {v:8.1f} s")
    print(f"\ninstall / apt alone      = {figures['install_parallel_s'] / figures['apt_alone_s']:.2f}x (goal <= 2x)")
    if "install_serial_s" in figures:
        print(f"serial / parallel        = {figures['install_serial_s'] / figures['install_parallel_s']:.2f}x")
    print(f"DRBD ready big / small   = {figures['drbd_ready_big_s'] / max(figures['drbd_ready_small_s'], 0.1):.2f}x "
          "(fresh disks: should stay near 1x)")
    print(f"no-op rerun              = {figures['noop_rerun_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
