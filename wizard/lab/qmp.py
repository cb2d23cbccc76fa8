"""A minimal QMP client: one command per connection, bounded by a timeout."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from wizard.lab.proc import LabError


def qmp(sock_path: Path, command: str, arguments: dict | None = None, timeout: float = 10) -> dict:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(timeout)
            s.connect(str(sock_path))
            f = s.makefile("rwb")
            json.loads(f.readline())                       # greeting
            _send(f, {"execute": "qmp_capabilities"})
            _reply(f)
            msg = {"execute": command}
            if arguments:
                msg["arguments"] = arguments
            _send(f, msg)
            return _reply(f)
    except (OSError, ValueError) as exc:
        raise LabError(f"QMP {command} on {sock_path} failed: {exc}", "is the VM running? `zabbix-ha lab status`")


def _send(f, msg: dict) -> None:
    f.write(json.dumps(msg).encode() + b"\n")
    f.flush()


def _reply(f) -> dict:
    while True:
        line = f.readline()
        if not line:
            return {}                                       # e.g. after `quit`
        msg = json.loads(line)
        if "event" in msg:
            continue
        if "error" in msg:
            raise ValueError(msg["error"].get("desc", str(msg["error"])))
        return msg
