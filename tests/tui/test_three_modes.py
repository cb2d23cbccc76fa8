"""The three modes through their real entry points give the same answers for
the same choices, for two different sets of choices (issue 14 item 16):

- `zabbix-ha --plain` run in a pseudo-terminal, answered key by key;
- the TUI driven by keys with Pilot at 80x24, from the documented example;
- `zabbix-ha --answers F --secrets S --yes`, F written by hand here (the
  example file edited as text), never produced by the code under test.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_ANSWERS, ROOT
from tests.tui.conftest import SIZE, choose, fill
from wizard.answers import load_secrets

CLEAR, DOWN, KEEP = "\x15", "\x1b[B", "\r"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")

CHOICES = {
    "ipmi": dict(name="prod-ipmi", hosts=("zbx-a", "zbx-b"), vip="192.168.10.50",
                 fencing=("ipmi", {"bmc": ("bmc-a-secret", "bmc-b-secret")})),
    "sbd": dict(name="prod-sbd", hosts=("zbx-c", "zbx-d"), vip="192.168.10.60",
                fencing=("sbd", {"device": "/dev/disk/by-id/wwn-0x5000c500deadbeef"})),
}
PASSWORDS = {"hacluster": "hacluster-secret", "db": "db-secret-123", "admin": "admin-secret-123"}


def this_machine() -> tuple[str, str]:
    """(time zone, NIC of the default route) of this machine, read here
    independently of wizard.steps: a new cluster starts from them."""
    import json

    zone = os.path.realpath("/etc/localtime").split("/zoneinfo/", 1)[1]
    routes = json.loads(subprocess.run(["ip", "-j", "route", "show", "default"], capture_output=True,
                                       text=True, timeout=10, check=True).stdout)
    return zone, routes[0]["dev"]


def hand_written_answers(choice: dict) -> str:
    """The example answers file with the choices typed into it as text, and
    this machine's time zone and NIC, which a new cluster starts from."""
    text = EXAMPLE_ANSWERS.read_text()
    zone, nic = this_machine()
    edits = [("timezone: Europe/Berlin", f"timezone: {zone}"), ("vip_nics: [eth0, eth0]", f"vip_nics: [{nic}, {nic}]"),
             ("name: zbx-cluster", f"name: {choice['name']}"),
             ("hostname: zbx-node1", f"hostname: {choice['hosts'][0]}"),
             ("hostname: zbx-node2", f"hostname: {choice['hosts'][1]}"),
             ("vip: 192.168.10.10", f"vip: {choice['vip']}")]
    method, extra = choice["fencing"]
    if method == "sbd":
        text = re.sub(r"  ipmi:.*?\n  sbd_device: ''", f"  ipmi: []\n  sbd_device: {extra['device']}", text,
                      flags=re.S)
        edits.append(("method: ipmi", "method: sbd"))
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def hand_written_secrets(choice: dict) -> str:
    lines = ["format: 1", f"db_password: {PASSWORDS['db']}", f"hacluster_password: {PASSWORDS['hacluster']}",
             f"zabbix_admin_password: {PASSWORDS['admin']}"]
    method, extra = choice["fencing"]
    if method == "ipmi":
        lines += ["ipmi:", f"  {choice['hosts'][0]}: {extra['bmc'][0]}", f"  {choice['hosts'][1]}: {extra['bmc'][1]}"]
    return "\n".join(lines) + "\n"


# -- --plain in a pseudo-terminal ---------------------------------------------------------

def plain_script(choice: dict, save_to: Path) -> list[tuple[str, str]]:
    """(text of the question, keys typed when it shows), in the order plain mode asks."""
    a, b = choice["hosts"]
    method, extra = choice["fencing"]
    script = [("Start from", KEEP), ("Cluster name", CLEAR + choice["name"] + "\r"), ("Operating system", KEEP),
              ("Node 1: host name", CLEAR + a + "\r"), ("Node 1: management address", KEEP),
              ("Node 1: SSH user", KEEP), ("Node 1: SSH port", KEEP),
              ("Node 2: host name", CLEAR + b + "\r"), ("Node 2: management address", KEEP),
              ("Node 2: SSH user", KEEP), ("Node 2: SSH port", KEEP),
              ("hacluster password", PASSWORDS["hacluster"] + "\r"),
              ("DRBD meta-data", KEEP)]
    for host in (a, b):
        script += [(f"{host}: DRBD data partition", KEEP), (f"{host}: meta-data partition", KEEP),
                   (f"{host}: meta-data slot", KEEP)]
    script += [("Filesystem", KEEP), ("Mount point", KEEP), ("DRBD resource", KEEP), ("DRBD minor", KEEP),
               ("DRBD port", KEEP), ("How many Corosync links", KEEP)]
    for n in (0, 1):
        script += [(f"Link {n}: {a} address", KEEP), (f"Link {n}: {b} address", KEEP),
                   (f"Link {n}: prefix length", KEEP)]
    script += [("DRBD replicates over", KEEP), ("Listen address (VIP)", CLEAR + choice["vip"] + "\r"),
               ("VIP prefix length", KEEP), (f"VIP NIC on {a}", KEEP), (f"VIP NIC on {b}", KEEP),
               ("Zabbix source address", KEEP), ("More VIPs", KEEP), ("Zabbix version", KEEP), ("Packages from", KEEP),
               ("Sizing tier", KEEP), ("Database engine", KEEP), ("Database name", KEEP), ("Database user", KEEP),
               ("Database password", PASSWORDS["db"] + "\r"), ("Frontend server name", KEEP),
               ("Frontend time zone", KEEP), ("Zabbix Admin password", PASSWORDS["admin"] + "\r")]
    if method == "ipmi":
        script.append(("Fencing", KEEP))
        for host, password in zip((a, b), extra["bmc"]):
            script += [(f"BMC of {host}: address", KEEP), (f"BMC of {host}: user", KEEP),
                       (f"BMC of {host}: IPMI v2.0", KEEP), (f"BMC of {host}: password", password + "\r")]
    else:
        script += [("Fencing", DOWN + "\r"), ("SBD device", CLEAR + extra["device"] + "\r")]
    script.append(("Save the answers to", CLEAR + str(save_to) + "\r"))
    return script


def run_plain_in_a_pty(script: list[tuple[str, str]], cwd: Path, timeout_each: float = 60) -> str:
    pid, fd = pty.fork()
    if pid == 0:                                       # the child: the real CLI on the pty
        os.chdir(cwd)
        os.execve(sys.executable, [sys.executable, "-m", "wizard", "--plain"],
                  {**os.environ, "TERM": "xterm", "PYTHONPATH": str(ROOT), "COLUMNS": "80", "LINES": "24"})
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    seen, pos = "", 0

    def read_some(deadline: float) -> None:
        nonlocal seen
        ready, _, _ = select.select([fd], [], [], max(0.0, min(0.2, deadline - time.monotonic())))
        if ready:
            try:
                chunk = os.read(fd, 65536).decode(errors="replace")
            except OSError:                            # the child closed the pty
                raise EOFError from None
            if "\x1b[6n" in chunk:                     # prompt_toolkit asks where the cursor is
                os.write(fd, b"\x1b[1;1R")
            seen += ANSI.sub("", chunk)

    try:
        for question, keys in script:
            deadline = time.monotonic() + timeout_each
            while (found := seen.find(question, pos)) < 0:
                assert time.monotonic() < deadline, f"plain mode never asked {question!r}; it shows:\n{seen[-2000:]}"
                read_some(deadline)
            pos = found + len(question)
            time.sleep(0.05)
            os.write(fd, keys.encode())
        deadline = time.monotonic() + timeout_each
        while time.monotonic() < deadline:
            try:
                read_some(deadline)
            except EOFError:
                break
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, seen[-3000:]
    return seen


# -- the TUI by keys ------------------------------------------------------------------

async def type_choices(pilot, choice: dict) -> None:
    app = pilot.app
    await pilot.press("ctrl+n")
    assert app.screen.name == "nodes"
    await fill(pilot, "name", choice["name"])
    await fill(pilot, "hostname-0", choice["hosts"][0])
    await fill(pilot, "hostname-1", choice["hosts"][1])
    await fill(pilot, "hacluster-password", PASSWORDS["hacluster"])
    for step in ("disks", "interconnect", "services"):
        await pilot.press("ctrl+n")
        assert app.screen.name == step, app.screen._shown
    await fill(pilot, "vip", choice["vip"])
    await pilot.press("ctrl+n")
    assert app.screen.name == "zabbix"
    await fill(pilot, "db-password", PASSWORDS["db"])
    await fill(pilot, "admin-password", PASSWORDS["admin"])
    await pilot.press("ctrl+n")
    assert app.screen.name == "fencing"
    method, extra = choice["fencing"]
    if method == "ipmi":
        await fill(pilot, "bmc-password-0", extra["bmc"][0])
        await fill(pilot, "bmc-password-1", extra["bmc"][1])
    else:
        await choose(pilot, "method", "method-sbd")
        await fill(pilot, "sbd-device", extra["device"])
    await pilot.press("ctrl+n")
    assert app.screen.name == "review", app.screen._shown
    await pilot.press("ctrl+s")
    await pilot.pause()


@pytest.mark.parametrize("name", sorted(CHOICES))
def test_three_modes_through_their_entry_points_save_the_same_answers(name, tmp_path):
    choice = CHOICES[name]
    # 1. --plain, the real CLI in a pty
    plain_out = tmp_path / "plain" / "answers.yaml"
    plain_out.parent.mkdir()
    printed = run_plain_in_a_pty(plain_script(choice, plain_out), cwd=tmp_path)
    assert f"next: zabbix-ha preflight --answers {plain_out}" in printed

    # 2. the TUI, by keys at 80x24, built the way the entry point builds it
    from screens.app import build_app

    tui_out = tmp_path / "tui" / "answers.yaml"
    app = build_app(lab=None, answers_out=tui_out)

    async def drive():
        async with app.run_test(size=SIZE) as pilot:
            await type_choices(pilot, choice)

    asyncio.run(drive())

    # 3. --answers F --secrets S --yes, F and S written by hand
    given, given_secrets = tmp_path / "given.yaml", tmp_path / "given.secrets.yaml"
    given.write_text(hand_written_answers(choice))
    fd = os.open(given_secrets, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(hand_written_secrets(choice))
    yes = subprocess.run([sys.executable, "-m", "wizard", "--answers", str(given), "--secrets", str(given_secrets),
                          "--yes"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                         stdin=subprocess.DEVNULL)
    assert yes.returncode == 0, yes.stderr
    yes_out = Path(os.environ["XDG_CONFIG_HOME"]) / "zabbix-ha" / "zabbix-ha.yaml"

    assert plain_out.read_text() == tui_out.read_text() == yes_out.read_text()
    assert f"method: {choice['fencing'][0]}" in yes_out.read_text()
    secrets = [load_secrets(p.with_name(p.stem + ".secrets.yaml")) for p in (plain_out, tui_out, yes_out)]
    assert all(s.typed_values() == secrets[0].typed_values() for s in secrets)
    assert sorted(secrets[0].typed_values()) == sorted(
        [*PASSWORDS.values(), *(choice["fencing"][1].get("bmc", ()))])
