"""The MariaDB option file: `mariadbd --defaults-file=F --help --verbose`.

MariaDB has no --validate-config, but `--help --verbose` parses every option
against the real server and prints the effective value of each (notes §5).
It exits 0 for some bad values (InnoDB suffixes: the plugin is disabled;
bad bind-address) and only logs `[ERROR]`, and clamps or ignores others with
a `[Warning]`; so rc 0 AND no `[ERROR]` AND none of those warnings.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field

from .core import Target, ValidationContext, Verdict, bad_ipv4_literals, write
from .tree import Host, tools_for

PACKAGE = "mariadb-server"
# Always printed on a machine that is not a configured server.
_NOISE = ("Could not increase number of max_open_files", "Could not open mysql.plugin table")
# Warnings that mean the server will not use the value we wrote.
# "was removed" / "is deprecated": MariaDB 11 keeps old options only so old
# files load ("'innodb-defragment' was removed. It does nothing now"); a
# generated file must not rely on them.
_BAD_WARNINGS = ("adjusted to", "wasn't recognized", "unknown variable", "unknown option",
                 "Unknown suffix", "ignored", "was removed", "is deprecated")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d\s+[\d:]+\s+\d+\s+")


@dataclass(frozen=True)
class MariadbResult:
    rc: int
    errors: list[str]
    values: dict[str, str] = field(default_factory=dict)   # "innodb-buffer-pool-size" -> "1073741824"
    seconds: float = 0.0


def parse_values(stdout: str) -> dict[str, str]:
    """The `Variables ... Value (after reading options)` table of --help --verbose."""
    values: dict[str, str] = {}
    in_table = False
    for line in stdout.splitlines():
        if not in_table:
            in_table = line.startswith("----") and " -----" in line
            continue
        if not line.strip():
            break
        name, _, value = line.partition(" ")
        values[name] = value.strip()
    return values


def run_mariadbd(text: str, path: str = "60-zabbix-ha.cnf", tools=None) -> MariadbResult | None:
    """Effective server values for this option file; None when mariadbd is absent.

    tools: where mariadbd runs (ValidationContext.tools()); the host's by default."""
    tools = tools or Host()
    server = tools.find("mariadbd") or tools.find("mysqld")
    if server is None:
        return None
    with tempfile.TemporaryDirectory(prefix="zbxha-mariadb-") as tmp:
        cnf = write(tmp, "60-zabbix-ha.cnf", text)
        res = tools.run([server, f"--defaults-file={cnf}", "--help", "--verbose"])
    errors = []
    for raw in res.stderr.splitlines():
        line = _TIMESTAMP.sub("", raw.strip())
        if not line or any(n in line for n in _NOISE):
            continue
        if "[ERROR]" in line or "error:" in line.lower() or \
                ("[Warning]" in line and any(w in line for w in _BAD_WARNINGS)):
            errors.append(line.replace(cnf, path))
    if res.rc != 0 and not errors:
        errors = [f"mariadbd --help --verbose exited with {res.rc}"]
    return MariadbResult(res.rc, errors, parse_values(res.stdout) if res.rc == 0 else {}, res.seconds)


_KNOWN_GROUPS = {"mysqld", "mariadb", "mariadbd", "server", "mysqld_safe", "mariadbd-safe",
                 "mariadb-safe", "client", "client-server", "client-mariadb", "mysql", "galera",
                 "embedded", "mysqldump", "mariadb-10.11", "mariadb-11.4", "mariadb-11.8"}


def python_checks(text: str, filename: str) -> list[str]:
    problems = bad_ipv4_literals(text, filename)
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        m = re.fullmatch(r"\[([^\]]+)\]", line)
        if m and m.group(1) not in _KNOWN_GROUPS:
            problems.append(f"{filename}:{number}: option group [{m.group(1)}] is read by no MariaDB program")
        if line.startswith("!include"):
            # A missing include is silently ignored by MariaDB.
            problems.append(f"{filename}:{number}: '{line}': generated files must not include others")
    return problems


def check_mariadb(text: str, ctx: ValidationContext, node: str,
                  path: str = "/etc/mysql/mariadb.conf.d/60-zabbix-ha.cnf") -> list[Verdict]:
    target = Target(node, path, "mariadb")
    problems = python_checks(text, path)
    verdicts = [target.verdict("python", not problems, problems)]
    result = run_mariadbd(text, path, tools_for(ctx.platform))
    if result is None:
        return [target.missing("mariadbd --help --verbose", PACKAGE)] + verdicts
    ok = result.rc == 0 and not result.errors
    return [target.verdict("mariadbd --help --verbose", ok, result.errors,
                           seconds=result.seconds)] + verdicts
