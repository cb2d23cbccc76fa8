"""Capture real command outputs as fact fixtures (tests/data/facts/<set>/<key>.json).

    python -m tests.preflight.capture DIR [NAME...]                      # this machine
    python -m tests.preflight.capture DIR --ssh HOST KEY KNOWN_HOSTS [NAME...]   # a node, as root

Runs exactly the commands wizard.preflight.facts.gather runs (same argv), read-only,
and stores argv, rc, stdout, stderr, one JSON file per command, the way
pyinfra keeps one file per fact case.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from wizard.preflight.facts import Raw, collect, commands_for
from wizard.remote import LocalExecutor

STACK = ("drbd-utils", "corosync", "pacemaker", "pcs", "crmsh", "resource-agents", "fence-agents",
         "mariadb-server", "mariadb-client", "apache2", "libapache2-mod-php", "php-mysql",
         "zabbix-server-mysql", "zabbix-frontend-php", "zabbix-agent")


def save(raw: dict[str, Raw], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for key, r in raw.items():
        name = key.replace("/", "_").replace(":", "__")
        data = {"key": key, **asdict(r)}
        data["argv"] = list(r.argv)
        (directory / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n")


def load(directory: Path) -> dict[str, Raw]:
    out = {}
    for path in sorted(Path(directory).glob("*.json")):
        data = json.loads(path.read_text())
        key = data.pop("key")
        data["argv"] = tuple(data["argv"])
        out[key] = Raw(**data)
    return out


def main(argv: list[str]) -> int:
    target = Path(argv[0])
    rest = argv[1:]
    devices: list[str] = []
    if rest[:1] == ["--ssh"]:
        from wizard.remote import SSHExecutor
        from wizard.sshtrust import TrustStore
        import tempfile
        host, key, known = rest[1:4]
        rest = rest[4:]
        ex = SSHExecutor(host, trust=TrustStore(Path(tempfile.mkdtemp()), extra_known_hosts=(Path(known),)),
                         key_paths=[key])
        devices = ["/dev/vdb", "/dev/vdc"]
    else:
        ex = LocalExecutor("capture")
    names = rest or ["localhost"]
    cmds = {"clock": ["date", "+%s.%N"], **commands_for(packages=STACK, names=names, devices=devices)}
    save(collect(ex, cmds, parallel=1), target)
    ex.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
