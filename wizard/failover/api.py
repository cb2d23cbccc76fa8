"""A small Zabbix JSON-RPC client over urllib, for the failover drill's probes and set-up.

The drill runs where zabbix-ha runs (the first node, or the administrator's
machine) and talks to Zabbix through the VIP, as users do. Passwords go in
the request body, never in a process argument. Zabbix 6.4+ takes the token
in an `Authorization: Bearer` header (7.0 deprecates the body's `auth`
field); 6.0 only knows the body field.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass


class ApiError(Exception):
    """The API answered with an error, or not with JSON-RPC at all."""


def base_url(vip: str) -> str:
    return f"http://[{vip}]/" if ":" in vip else f"http://{vip}/"


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".")[:2] if p.isdigit())


@dataclass
class Api:
    url: str                       # .../api_jsonrpc.php
    timeout: float = 5.0
    token: str = ""
    bearer: bool = False           # send the token as a header (6.4+), not in the body

    @classmethod
    def for_vip(cls, vip: str, timeout: float = 5.0) -> "Api":
        return cls(base_url(vip) + "api_jsonrpc.php", timeout)

    def call(self, method: str, params, *, authed: bool = True):
        body: dict = {"jsonrpc": "2.0", "method": method, "params": params, "id": 1}
        headers = {"Content-Type": "application/json-rpc"}
        if authed and self.token:
            if self.bearer:
                headers["Authorization"] = f"Bearer {self.token}"
            else:
                body["auth"] = self.token
        req = urllib.request.Request(self.url, json.dumps(body).encode(), headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read(1 << 20)
        except urllib.error.HTTPError as exc:
            raise ApiError(f"HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiError(str(reason)[:160]) from None
        try:
            answer = json.loads(raw)
        except ValueError:
            raise ApiError(f"not JSON: {raw[:80]!r}") from None
        if not isinstance(answer, dict):
            raise ApiError("not a JSON-RPC answer")
        if "error" in answer:
            err = answer["error"] or {}
            raise ApiError(f"{err.get('message', '')} {err.get('data', '')}".strip()[:200])
        return answer.get("result")

    def version(self) -> str:
        return str(self.call("apiinfo.version", [], authed=False))

    def login(self, user: str, password: str) -> None:
        self.bearer = _version_key(self.version()) >= (6, 4)
        self.token = str(self.call("user.login", {"username": user, "password": password}, authed=False))

    def logout(self) -> None:
        if self.token:
            try:
                self.call("user.logout", [])
            except ApiError:
                pass            # the session expires by itself
            self.token = ""
