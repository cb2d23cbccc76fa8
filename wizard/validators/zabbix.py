"""zabbix_server.conf and the frontend's zabbix.conf.php.

Server (notes §6): 7.0+ has `zabbix_server -T -c F`. 6.0 has no config test,
but `-R config_cache_reload` parses the file strictly first: a parse error
exits at once with the message; a valid file gets as far as connecting to the
runtime-control socket. The test copy has SocketDir in the temp dir (so it
can never reach a real server on this machine) and a listener of ours on
that socket that takes the request and hangs up: a request arriving proves
the whole file parsed, in ~10 ms instead of the ~Timeout seconds zabbix
retries when nobody listens (`Cannot connect to service "rtc"`, still
accepted as proof, with Timeout=1 in the copy as the fallback). The
DBPassword include (a 0600 secrets file that may not exist here) points at a
stand-in. Duplicates, an empty DBName and HANodeName pass the parser; Python
checks them.

Frontend: `php -l` for syntax, then PHP loads the file and prints the
settings as JSON so Python can check them.
"""

from __future__ import annotations

import functools
import json
import os
import re
import socket
import tempfile
import threading

from .core import (Target, ValidationContext, Verdict, bad_ipv4_literals,
                   valid_hostname, valid_ip, write)
from .tree import Host, tools_for

PACKAGE = "zabbix-server-mysql"
SECRETS_INCLUDE = "/etc/zabbix/zabbix_server.secrets.conf"
_PREFIX = re.compile(r"^zabbix_server \[\d+\]: ")
_RTC = 'Cannot connect to service "rtc"'


@functools.lru_cache(maxsize=None)
def server_version(tools=None) -> tuple[int, ...] | None:
    """zabbix_server's version where the tools run (the host's by default)."""
    tools = tools or Host()
    tool = tools.find("zabbix_server")
    if tool is None:
        return None
    res = tools.run([tool, "-V"])
    m = re.search(r"\(Zabbix\)\s+(\d+)\.(\d+)\.(\d+)", res.stdout)
    return tuple(int(x) for x in m.groups()) if m else None


def _entries(text: str) -> list[tuple[int, str, str]]:
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out.append((number, key.strip(), value.strip()))
    return out


def python_checks(text: str, filename: str) -> list[str]:
    problems = bad_ipv4_literals(text, filename)
    seen: dict[str, int] = {}
    for number, key, value in _entries(text):
        if key in seen and key != "Include":
            problems.append(f"{filename}:{number}: {key} is set twice (first on line {seen[key]})")
        seen.setdefault(key, number)
        if key == "HANodeName" and value:
            # Zabbix's own HA would fight Pacemaker and does not protect the DB.
            problems.append(f"{filename}:{number}: HANodeName must be unset: Pacemaker runs one server")
        if key == "DBName" and not value:
            problems.append(f"{filename}:{number}: DBName is empty")
        if key == "ListenIP":
            for ip in value.split(","):
                if not valid_ip(ip.strip()):
                    problems.append(f"{filename}:{number}: ListenIP '{ip.strip()}' is not an IP address")
        if key == "Timeout" and not (value.isdigit() and 1 <= int(value) <= 30):
            problems.append(f"{filename}:{number}: Timeout '{value}' must be 1-30")
    if "DBName" not in seen:
        problems.append(f"{filename}: DBName is not set")
    return problems


def _test_copy(text: str, tmp: str, fast_timeout: bool, secrets: str | None = None, tools=None) -> str:
    """Same line numbers; Timeout/SocketDir/secrets include rewritten (see module doc).

    secrets: the rendered secrets file when we have it (then the tool reads
    the real one), else a stand-in with a placeholder DBPassword.
    """
    stand_in = write(tmp, "secrets.conf",
                     secrets if secrets is not None else "DBPassword=validation-placeholder\n", 0o600)
    out, has_socketdir = [], False
    for line in text.splitlines():
        key, _, value = line.strip().partition("=")
        key = key.strip()
        if key == "Include" and value.strip() == SECRETS_INCLUDE and (
                secrets is not None or not (tools or Host()).file(SECRETS_INCLUDE).exists()):
            line = f"Include={stand_in}"
        elif key == "SocketDir":
            line, has_socketdir = f"SocketDir={tmp}", True
        elif key == "Timeout" and fast_timeout:
            line = "Timeout=1"
        out.append(line)
    if not has_socketdir:
        out.append(f"SocketDir={tmp}")
    if fast_timeout and not any(k == "Timeout" for _, k, _ in _entries(text)):
        out.append("Timeout=1")
    return "\n".join(out) + "\n"


def _messages(stderr: str, conf: str, path: str) -> list[str]:
    out = []
    for raw in stderr.splitlines():
        line = _PREFIX.sub("", raw.strip())
        if not line or line.startswith(("usage:", "zabbix_server [-", "zabbix_server -", "Try '")):
            continue
        out.append(line.replace(conf, path))
    return out


class _RtcListener:
    """A Unix socket where zabbix_server -R expects the server: records a request, hangs up."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.requested = False
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> "_RtcListener":
        self._sock.bind(self.path)
        self._sock.listen(1)
        self._thread.start()
        return self

    def _serve(self) -> None:
        try:
            conn, _ = self._sock.accept()
        except OSError:          # closed by __exit__: zabbix never got this far
            return
        with conn:
            conn.settimeout(5)
            try:
                self.requested = bool(conn.recv(4096))
            except OSError:
                pass

    def __exit__(self, *exc: object) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        self._thread.join(timeout=5)


def check_zabbix_server(text: str, ctx: ValidationContext, node: str,
                        path: str = "/etc/zabbix/zabbix_server.conf",
                        secrets: str | None = None) -> list[Verdict]:
    """The server config (with the rendered secrets file when given) through zabbix_server."""
    target = Target(node, path, "zabbix-server")
    problems = python_checks(text, path)
    verdicts = [target.verdict("python", not problems, problems)]
    tools = tools_for(ctx.platform)
    tool, version = tools.find("zabbix_server"), server_version(tools)
    if tool is None or version is None:
        return [target.missing("zabbix_server", PACKAGE)] + verdicts
    has_t = version >= (7, 0)
    with tempfile.TemporaryDirectory(prefix="zbxha-zabbix-") as tmp:
        conf = write(tmp, "zabbix_server.conf", _test_copy(text, tmp, fast_timeout=not has_t, secrets=secrets, tools=tools))
        if has_t:
            res = tools.run([tool, "-T", "-c", conf])
            messages = _messages(res.stderr + res.stdout, conf, path)
            ok = res.rc == 0
            name = "zabbix_server -T"
        else:
            with _RtcListener(os.path.join(tmp, "zabbix_server_rtc.sock")) as rtc:
                res = tools.run([tool, "-c", conf, "-R", "config_cache_reload"])
            messages = _messages(res.stderr + res.stdout, conf, path)
            # Reaching the rtc socket means the whole file parsed.
            ok = (rtc.requested or any(_RTC in m for m in messages)) and not any(
                w in m for m in messages for w in ("unknown parameter", "wrong value", "invalid"))
            name = "zabbix_server -R"
        stand_in = os.path.join(tmp, "secrets.conf")
        messages = [m.replace(stand_in, SECRETS_INCLUDE) for m in messages
                    if _RTC not in m and "Validat" not in m and "Cannot receive response" not in m]
        if not ok and not messages:
            messages = [f"{name} exited with {res.rc}"]
        verdicts.insert(0, target.verdict(name, ok, messages if not ok else [], seconds=res.seconds))
    return verdicts


# ---- frontend -----------------------------------------------------------------

# Load the file the way the frontend does (it defines IMAGE_FORMAT_* first)
# and print its settings; the file name is argv[1], never pasted into code.
_DUMP_PHP = r"""
define('IMAGE_FORMAT_PNG', 'PNG'); define('IMAGE_FORMAT_JPEG', 'JPEG'); define('IMAGE_FORMAT_TEXT', 'TEXT');
define('IMAGE_FORMAT_GIF', 'GIF');
$DB = null; $ZBX_SERVER = null; $ZBX_SERVER_PORT = null; $ZBX_SERVER_NAME = null;
require $argv[1];
echo json_encode(['DB' => $DB, 'ZBX_SERVER' => $ZBX_SERVER, 'ZBX_SERVER_PORT' => $ZBX_SERVER_PORT,
                  'ZBX_SERVER_NAME' => $ZBX_SERVER_NAME]);
"""


def frontend_settings_checks(settings: dict, filename: str) -> list[str]:
    problems = []
    db = settings.get("DB")
    if not isinstance(db, dict):
        return [f"{filename}: $DB is not set"]
    if db.get("TYPE") not in ("MYSQL", "POSTGRESQL"):
        problems.append(f"{filename}: $DB['TYPE'] is {db.get('TYPE')!r}, expected 'MYSQL' or 'POSTGRESQL'")
    for key in ("SERVER", "DATABASE", "USER"):
        if not db.get(key):
            problems.append(f"{filename}: $DB['{key}'] is empty")
    server = settings.get("ZBX_SERVER")
    if server is not None and not (valid_ip(str(server)) or valid_hostname(str(server))):
        problems.append(f"{filename}: $ZBX_SERVER {server!r} is not an address or host name")
    port = settings.get("ZBX_SERVER_PORT")
    if port is not None and not (str(port).isdigit() and 1 <= int(port) <= 65535):
        problems.append(f"{filename}: $ZBX_SERVER_PORT {port!r} is not a port")
    return problems


def check_zabbix_frontend(text: str, ctx: ValidationContext, node: str,
                          path: str = "/etc/zabbix/zabbix.conf.php") -> list[Verdict]:
    target = Target(node, path, "zabbix-frontend")
    problems = bad_ipv4_literals(text, path)
    if not text.lstrip().startswith("<?php"):
        problems.append(f"{path}:1: must start with '<?php'")
    tools = tools_for(ctx.platform)
    php = tools.find("php")
    if php is None:
        return [target.missing("php -l", "php-cli"),
                target.verdict("python", not problems, problems)]
    with tempfile.TemporaryDirectory(prefix="zbxha-php-") as tmp:
        f = write(tmp, "zabbix.conf.php", text)
        lint = tools.run([php, "-n", "-l", f])
        lint_msgs = [line.replace(f, path) for line in (lint.stdout + lint.stderr).splitlines()
                     if line.strip() and not line.startswith("No syntax errors")]
        verdicts = [target.verdict("php -l", lint.rc == 0, lint_msgs if lint.rc else [],
                                   seconds=lint.seconds)]
        if lint.rc == 0:
            dump = tools.run([php, "-n", "-d", "display_errors=stderr", "-r", _DUMP_PHP, f])
            try:
                settings = json.loads(dump.stdout) if dump.rc == 0 else None
            except json.JSONDecodeError:
                settings = None
            if settings is None:
                problems.append(f"{path}: PHP could not load it: "
                                + " ".join(dump.stderr.replace(f, path).split())[:300])
            else:
                problems += frontend_settings_checks(settings, path)
    return verdicts + [target.verdict("python", not problems, problems)]


# ---- secrets ------------------------------------------------------------------

SECRET_KEYS = {"DBPassword", "VaultToken", "VaultDBPath", "VaultURL"}


def check_zabbix_secrets(text: str, ctx: ValidationContext, node: str,
                         path: str = SECRETS_INCLUDE) -> list[Verdict]:
    """The 0600 include with DBPassword: shape only (zabbix_server reads it
    with the main file when validate_tree has both). Values never appear in
    messages."""
    problems = []
    keys = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            problems.append(f"{path}:{number}: not a Parameter=value line")
            continue
        keys.append(key)
        if key not in SECRET_KEYS:
            problems.append(f"{path}:{number}: {key} does not belong in the secrets file")
        if not value:
            problems.append(f"{path}:{number}: {key} is empty")
    if "DBPassword" not in keys:
        problems.append(f"{path}: DBPassword is not set")
    return [Target(node, path, "zabbix-server-secrets").verdict("python", not problems, problems)]


def check_password_file(text: str, ctx: ValidationContext, node: str, path: str,
                        kind: str = "ipmi-password") -> list[Verdict]:
    """A password file read by a fence agent's password_script: one non-empty line."""
    lines = text.split("\n")
    problems = []
    if not text.endswith("\n") or len(lines) != 2:
        problems.append(f"{path}: must be exactly one line ending in a newline")
    if not lines[0]:
        problems.append(f"{path}: the password is empty")
    return [Target(node, path, kind).verdict("python", not problems, problems)]
