"""Zabbix trapper protocol, sender side: one value to a trapper item, as zabbix_sender sends it.

Written here rather than calling zabbix_sender: the drill runs where the
wizard runs, which need not have the package, and it sends once a second.
Protocol: "ZBXD" 0x01, 8-byte little-endian length, JSON body; the server
answers the same way with "processed: N; failed: M; ...".
"""

from __future__ import annotations

import json
import socket
import struct

HEADER = b"ZBXD\x01"


def frame(payload: dict) -> bytes:
    body = json.dumps(payload).encode()
    return HEADER + struct.pack("<Q", len(body)) + body


def unframe(data: bytes) -> dict:
    if len(data) < 13 or data[:4] != b"ZBXD":
        raise ValueError("not a Zabbix protocol answer")
    (length,) = struct.unpack("<Q", data[5:13])
    body = data[13:13 + length]
    if len(body) != length:
        raise ValueError("short Zabbix protocol answer")
    return json.loads(body)


def _recv_all(sock: socket.socket, limit: int = 65536) -> bytes:
    chunks, size = [], 0
    while size < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def send_value(server: str, host: str, key: str, value: str, *, port: int = 10051,
               timeout: float = 3.0) -> tuple[bool, str]:
    """(accepted, the server's info line or why not)."""
    payload = {"request": "sender data", "data": [{"host": host, "key": key, "value": value}]}
    try:
        with socket.create_connection((server, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(frame(payload))
            answer = unframe(_recv_all(sock))
    except (OSError, ValueError) as exc:
        return False, str(exc)[:160]
    info = str(answer.get("info", ""))
    return answer.get("response") == "success" and "processed: 1" in info, info
