"""The Apache vhost: `apache2ctl -t` on a private copy of /etc/apache2.

Debian's apache2ctl honours APACHE_CONFDIR (it sources DIR/envvars and adds
`-d DIR`), so a copy of /etc/apache2 with only our vhost enabled and a
ports.conf that listens where the vhost does is checked exactly as the node
would load it, modules included (notes §4). `-t` never binds. It exits 0 for
a VirtualHost address it cannot resolve (AH00547 on stderr), so any
`:error]` line or AH00547 counts as failure too.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

from .core import Target, ValidationContext, Verdict, bad_ipv4_literals, clean_lines
from .tree import tools_for

PACKAGE = "apache2"
SYSTEM_CONFDIR = "/etc/apache2"
_VHOST = re.compile(r"^\s*<VirtualHost\s+([^>]+)>", re.IGNORECASE)
_LISTEN = re.compile(r"^\s*Listen\s+", re.IGNORECASE)
_DOCROOT = re.compile(r'(\s*DocumentRoot\s+)"?([^"\s]+)"?\s*', re.IGNORECASE)
_NOISE = ("Syntax OK", "AH00558")


def _listen_lines(text: str) -> list[str]:
    """Listen directives matching the vhost's addresses (unless it has its own)."""
    if any(_LISTEN.match(line) for line in text.splitlines()):
        return []
    listens: list[str] = []
    for line in text.splitlines():
        m = _VHOST.match(line)
        if not m:
            continue
        for addr in m.group(1).split():
            host, _, port = addr.rpartition(":")
            if not port.isdigit():
                host, port = addr, "80"
            value = port if host in ("*", "_default_", "") else f"{host}:{port}"
            if value not in listens:
                listens.append(value)
    return listens or ["80"]


def _test_copy(text: str, tmp: str, tools) -> str:
    """The vhost with a missing DocumentRoot replaced by an empty directory in tmp.

    Line numbers are kept, so Apache's messages point at the original lines.
    """
    out = []
    for line in text.splitlines():
        m = _DOCROOT.fullmatch(line)
        if m and not tools.file(m.group(2)).is_dir():
            # The frontend package is not installed where we validate; Apache
            # would only warn (AH00112), which would hide real messages.
            stand_in = os.path.join(tmp, "docroot", m.group(2).lstrip("/"))
            os.makedirs(stand_in, exist_ok=True)
            line = f'{m.group(1)}"{stand_in}"'
        out.append(line)
    return "\n".join(out) + "\n"


def check_apache(text: str, ctx: ValidationContext, node: str,
                 path: str = "/etc/apache2/sites-available/zabbix-ha.conf") -> list[Verdict]:
    target = Target(node, path, "apache")
    problems = bad_ipv4_literals(text, path)
    verdicts = [target.verdict("python", not problems, problems)]
    tools = tools_for(ctx.platform)
    ctl = tools.find("apache2ctl")
    system_confdir = tools.file(SYSTEM_CONFDIR)
    if ctl is None or not system_confdir.is_dir():
        return [target.missing("apache2ctl -t", PACKAGE)] + verdicts
    with tempfile.TemporaryDirectory(prefix="zbxha-apache-") as tmp:
        confdir = os.path.join(tmp, "apache2")
        shutil.copytree(system_confdir, confdir, symlinks=True)
        enabled = os.path.join(confdir, "sites-enabled")
        shutil.rmtree(enabled, ignore_errors=True)
        os.makedirs(enabled)
        vhost = os.path.join(enabled, os.path.basename(path))
        with open(vhost, "w", encoding="utf-8") as fh:
            fh.write(_test_copy(text, tmp, tools))
        with open(os.path.join(confdir, "ports.conf"), "w", encoding="utf-8") as fh:
            fh.write("".join(f"Listen {value}\n" for value in _listen_lines(text)))
        # Keep apache2ctl's run/lock/log directories out of the system's.
        # run/socks pre-made: apache2ctl would chown a new one to www-data,
        # which fails when we are not root.
        for sub in ("run/socks", "lock", "log"):
            os.makedirs(os.path.join(tmp, sub))
        with open(os.path.join(confdir, "envvars"), "a", encoding="utf-8") as fh:
            fh.write(f"\nexport APACHE_RUN_DIR={tmp}/run APACHE_LOCK_DIR={tmp}/lock "
                     f"APACHE_LOG_DIR={tmp}/log APACHE_PID_FILE={tmp}/run/apache2.pid\n")
        res = tools.run([ctl, "-t"], env={"APACHE_CONFDIR": confdir})
        ports = os.path.join(confdir, "ports.conf")
        lines = [line.replace(vhost, path).replace(ports, "ports.conf (test copy: Listen from the VirtualHost)")
                 .replace(confdir, SYSTEM_CONFDIR)
                 for line in clean_lines(res.stderr + res.stdout, _NOISE)]
        ok = res.rc == 0 and not any(":error]" in line or "AH00547" in line for line in lines)
        if not ok and not lines:
            lines = [f"apache2ctl -t exited with {res.rc}"]
        verdicts.insert(0, target.verdict("apache2ctl -t", ok, lines if not ok else [],
                                          seconds=res.seconds))
    return verdicts
