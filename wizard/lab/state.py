"""The lab's state file (/run/zabbix-ha-lab/state.json): what `lab up`
created, so `status`, `ssh`, `fault` and `down` can find it again."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field

from wizard.errors import UserError
from wizard.lab.paths import DEFAULT_PLATFORM, RUN_DIR, STATE_FILE


@dataclass
class LabState:
    flavour: str
    block: str                       # the /22 the lab's three subnets come from
    image_dir: str = ""
    accel: str = ""                  # vm: kvm or tcg
    repo_dir: str = ""
    repo_url: str = ""
    fencing: str = ""                # vm: "ipmi"
    preinstalled: bool = False       # nodes boot the image that holds the whole package list
    timings: dict[str, float] = field(default_factory=dict)
    ready: bool = False
    owner: str = ""                  # who ran `lab up` (the wizard offers the lab to that person only)
    platform: str = DEFAULT_PLATFORM  # the nodes' OS (wizard.platforms id); older state files: Debian 12


def current_user() -> str:
    """The person at the keyboard: under sudo the one who ran sudo, else the login."""
    import getpass

    return os.environ.get("SUDO_USER") or getpass.getuser()


def save(state: LabState) -> None:
    RUN_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = STATE_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n")
    os.replace(tmp, STATE_FILE)


def load() -> LabState | None:
    try:
        return LabState(**json.loads(STATE_FILE.read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError):
        return None   # unreadable (crash mid-write, older version): `down` sweeps by prefix


def require() -> LabState:
    state = load()
    if state is None or not state.ready:
        raise UserError("no lab is up on this machine", "run `zabbix-ha lab up` first")
    return state


def clear() -> None:
    STATE_FILE.unlink(missing_ok=True)
