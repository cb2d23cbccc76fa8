"""Where the lab keeps things on the host, and the names it gives them.

Everything the lab creates carries the `zha` prefix (links) or lives under
one of these directories, so `lab down` can find it again after a crash.
"""

from __future__ import annotations

import os
from pathlib import Path

PREFIX = "zha"
NODES = ("node1", "node2")
FLAVOURS = ("vm", "container")

# Built images and the local apt repository: reused across runs, keyed by recipe hash.
CACHE_DIR = Path(os.environ.get("ZHA_LAB_CACHE", "/var/cache/zabbix-ha-lab"))
# Per-lab working files (disk images, overlays, logs): too big for a tmpfs /run.
WORK_DIR = Path(os.environ.get("ZHA_LAB_WORK", "/var/lib/zabbix-ha-lab"))
# Small runtime state: state file, SSH key, known_hosts, answers file.
RUN_DIR = Path(os.environ.get("ZHA_LAB_RUN", "/run/zabbix-ha-lab"))

STATE_FILE = RUN_DIR / "state.json"
SSH_KEY = RUN_DIR / "id_ed25519"
KNOWN_HOSTS = RUN_DIR / "known_hosts"
ANSWERS_FILE = RUN_DIR / "answers.yaml"
SECRETS_FILE = RUN_DIR / "secrets.yaml"
# The nodes' root password (lab only; 0600): `zabbix-ha lab answers --root-password-file`.
ROOT_PASSWORD_FILE = RUN_DIR / "root-password"

DEBIAN_MIRROR = os.environ.get("ZHA_LAB_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# What `lab up` builds when not told otherwise (`--platform`, wizard.platforms ids).
DEFAULT_PLATFORM = "debian12"


def node_dir(node: str) -> Path:
    return WORK_DIR / "nodes" / node


def link_name(*parts: str) -> str:
    """A host link name with the lab prefix; Linux allows 15 characters."""
    name = "-".join((PREFIX, *parts))
    if len(name) > 15:
        raise ValueError(f"link name {name!r} is longer than 15 characters")
    return name


def short(node: str) -> str:
    """node1 -> n1, for link names that must fit in 15 characters."""
    return "n" + node.removeprefix("node")
