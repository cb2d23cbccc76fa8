"""The Zabbix database on the DRBD filesystem, made once on the first node.

A MariaDB of our own runs for the set-up only (socket, no network), the
datadir is initialised on the DRBD filesystem, the database and its user
are created, the schema the server package ships is imported, and the
Zabbix Admin password is set from the secrets file (never left at
`zabbix`). Then the server is stopped, the filesystem unmounted and DRBD
demoted: from then on Pacemaker runs all of it.

Passwords reach the client on stdin as SQL, never in argv. Markers on the
DRBD filesystem say what is finished, so a resumed install redoes only an
import that did not complete (its half-made database is dropped first:
the marker proves it is ours and unfinished).
"""

from __future__ import annotations

import bcrypt

from wizard.install.drbd import data_initialised, device, mounted_here, resource, status
from wizard.install.step import Context, Step, StepFailed, wait_for
from wizard.render import MONITOR_DB_USER, monitor_os_user_argv, monitor_user_sql

DATADIR_MARKER = ".zabbix-ha-datadir"
DB_MARKER = ".zabbix-ha-database"
START_TIMEOUT = 180
IMPORT_TIMEOUT = 3600        # images + data took 181 s under emulation
# The hash Zabbix ships for Admin's default password "zabbix" starts like this.
BCRYPT_COST = 10


def _datadir(ctx: Context) -> str:
    return f"{ctx.spec.storage.mount_point.rstrip('/')}/mysql"


def _mp(ctx: Context) -> str:
    return ctx.spec.storage.mount_point.rstrip("/")


def sql_string(value: str) -> str:
    """A MariaDB single-quoted string literal (NO_BACKSLASH_ESCAPES off, the default)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\0", "\\0") + "'"


def sql_ident(value: str) -> str:
    return "`" + value.replace("`", "``") + "`"


def _client(ctx: Context, sql: str, database: str | None = None, timeout: float = 120):
    p = ctx.profile.paths
    argv = [p.mysql_client, "--socket", p.mysql_socket, "--batch", "--skip-column-names"]
    if database:
        argv.append(database)
    return ctx.run(argv, input=sql, timeout=timeout)


def server_answers(ctx: Context) -> bool:
    p = ctx.profile.paths
    return ctx.run([p.mysql_client, "--socket", p.mysql_socket, "-e", "SELECT 1"], check=False, timeout=20).ok


# One transaction per file, without per-row unique and foreign-key checks:
# the packaged SQL is consistent, and thousands of autocommitted INSERTs were
# the import's cost (DDL still commits by itself). An import that does not
# finish is redone from nothing (no marker), so nothing half-checked stays.
IMPORT_SCRIPT = ('{ printf "SET autocommit=0; SET unique_checks=0; SET foreign_key_checks=0;\\n"; '
                 'zcat -- "$1" | awk -- "$5"; printf "\\nCOMMIT;\\n"; } | "$2" --socket "$3" "$4"')
# Zabbix 6.0's data.sql is 130,000 one-row INSERTs, one line each; per statement
# costs dominated its import (650 s on an emulated node). Consecutive one-row
# INSERTs into the same table and columns become multi-row INSERTs of at most
# ~1 MB (MariaDB's max_allowed_packet is 16 MB): the same rows in the same order.
# Any other line (7.0's multi-line INSERTs, DDL, a row holding a newline) passes
# unchanged. awk: mawk is in every Debian base system.
BATCH_INSERTS_AWK = r"""
{
    if (match($0, /^INSERT INTO `[A-Za-z0-9_]+` \([^)]*\) values \(/) && substr($0, length($0) - 1) == ");") {
        head = substr($0, 1, RLENGTH - 1)
        row = substr($0, RLENGTH, length($0) - RLENGTH)
        if (head == open && size + length(row) < 1000000) {
            printf ",\n%s", row
            size += length(row)
        } else {
            if (open != "") print ";"
            printf "%s%s", head, row
            open = head
            size = length(head) + length(row)
        }
        next
    }
    if (open != "") { print ";"; open = "" }
    print
}
END { if (open != "") print ";" }
"""


def start_setup_server(ctx: Context) -> None:
    """Our own MariaDB for the set-up: the cluster's config, socket only."""
    if server_answers(ctx):
        return
    p = ctx.profile.paths
    run_dir = p.mysql_socket.rsplit("/", 1)[0]
    ctx.run(["install", "-d", "-o", p.mysql_user, "-g", p.mysql_user, "-m", "0755", run_dir])
    ctx.sh('setsid -f "$@" >/dev/null 2>&1 </dev/null', p.mysqld_safe, f"--defaults-file={p.mysql_main_conf}",
           f"--datadir={_datadir(ctx)}", f"--pid-file={p.mysql_pid}", f"--socket={p.mysql_socket}",
           f"--user={p.mysql_user}", "--skip-networking",
           # Only for the set-up import: no redo-log flush per autocommitted
           # INSERT (each flush is a synchronous DRBD write to the peer). A crash
           # loses at most the last second, and an unfinished import is redone.
           "--innodb-flush-log-at-trx-commit=0",
           # The same reasoning for the doublewrite buffer: every page written twice.
           "--innodb-doublewrite=0")
    wait_for(ctx, "MariaDB answering on its socket", lambda: server_answers(ctx) or "starting MariaDB",
             timeout=START_TIMEOUT, fix="read /var/log/mysql/error.log or the journal on the first node")


def stop_setup_server(ctx: Context) -> None:
    p = ctx.profile.paths
    if not server_answers(ctx):
        return
    ctx.run(["mariadb-admin", "--socket", p.mysql_socket, "shutdown"], timeout=300)
    wait_for(ctx, "MariaDB stopping", lambda: not ctx.ok(["pgrep", "-x", "mariadbd"]) or "stopping MariaDB",
             timeout=300)


# -- datadir -------------------------------------------------------------------

def _datadir_ready(ctx: Context) -> bool:
    if data_initialised(ctx):
        return True
    return mounted_here(ctx) and ctx.ok(["test", "-e", f"{_mp(ctx)}/{DATADIR_MARKER}"])


def _init_datadir(ctx: Context) -> str:
    if not mounted_here(ctx):
        raise StepFailed(f"{ctx.spec.storage.mount_point} is not mounted on {ctx.node}",
                         "run the install again: the filesystem step mounts it")
    datadir = _datadir(ctx)
    if ctx.ok(["test", "-d", f"{datadir}/mysql"]):
        raise StepFailed(f"{datadir} on {ctx.node} already holds a MariaDB datadir that zabbix-ha did not make",
                         "move it away if it is not needed, or point storage.mount_point at an empty filesystem")
    p = ctx.profile.paths
    ctx.run(["install", "-d", "-o", p.mysql_user, "-g", p.mysql_user, "-m", "0750", datadir])
    ctx.run(["mariadb-install-db", f"--user={p.mysql_user}", f"--datadir={datadir}", "--skip-test-db",
             "--auth-root-authentication-method=socket"], timeout=600)
    ctx.run(["touch", f"{_mp(ctx)}/{DATADIR_MARKER}"])
    return f"MariaDB datadir initialised in {datadir}"


# -- the Zabbix database ---------------------------------------------------------

def _database_ready(ctx: Context) -> bool:
    if data_initialised(ctx):
        return True
    return mounted_here(ctx) and ctx.ok(["test", "-e", f"{_mp(ctx)}/{DB_MARKER}"])


def admin_hash(password: str) -> str:
    # PHP's password_hash() writes $2y$; bcrypt's $2b$ is the same algorithm.
    return "$2y$" + bcrypt.hashpw(password.encode(), bcrypt.gensalt(BCRYPT_COST)).decode()[4:]


def _create_database(ctx: Context) -> str:
    z = ctx.spec.zabbix
    # A server still running here is left from an interrupted run, maybe
    # with its import client still writing: a restart ends those sessions.
    stop_setup_server(ctx)
    start_setup_server(ctx)
    db, user = sql_ident(z.db_name), sql_string(z.db_user)
    # No marker: an earlier import did not finish. The database is ours (we
    # made this datadir) and incomplete: start it again from nothing.
    _client(ctx, f"DROP DATABASE IF EXISTS {db};\n"
                 f"CREATE DATABASE {db} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;\n"
                 f"CREATE USER IF NOT EXISTS {user}@'localhost';\n"
                 f"ALTER USER {user}@'localhost' IDENTIFIED BY {sql_string(ctx.secrets.db_password.reveal())};\n"
                 f"GRANT ALL PRIVILEGES ON {db}.* TO {user}@'localhost';\n"
                 "SET GLOBAL log_bin_trust_function_creators = 1;\n")
    p = ctx.profile.paths
    for i, path in enumerate(p.zabbix_sql, 1):
        ctx.say(f"importing {path} ({i}/{len(p.zabbix_sql)})")
        ctx.run(["bash", "-o", "pipefail", "-c", IMPORT_SCRIPT, "zabbix-ha", path,
                 p.mysql_client, p.mysql_socket, z.db_name, BATCH_INSERTS_AWK], timeout=IMPORT_TIMEOUT)
    _client(ctx, "SET GLOBAL log_bin_trust_function_creators = 0;\n")
    # The account the CIB's deep MariaDB monitor queries with (no password: unix_socket).
    _client(ctx, "".join(f"{statement};\n" for statement in monitor_user_sql(ctx.spec)))
    _set_admin_password(ctx)
    _verify_admin_password(ctx)
    ctx.run(["touch", f"{_mp(ctx)}/{DB_MARKER}"])
    return f"database {z.db_name} created, schema imported, Admin password set from the secrets file"


def _set_admin_password(ctx: Context) -> None:
    hashed = admin_hash(ctx.secrets.zabbix_admin_password.reveal())
    _client(ctx, f"UPDATE users SET passwd = {sql_string(hashed)} WHERE username = 'Admin';\n",
            ctx.spec.zabbix.db_name)


def _verify_admin_password(ctx: Context) -> None:
    stored = _client(ctx, "SELECT passwd FROM users WHERE username = 'Admin';\n", ctx.spec.zabbix.db_name).stdout.strip()
    candidate = "$2b$" + stored[4:] if stored.startswith("$2y$") else stored
    try:
        ok = bcrypt.checkpw(ctx.secrets.zabbix_admin_password.reveal().encode(), candidate.encode())
    except ValueError:
        ok = False
    if not ok:
        raise StepFailed("the Zabbix Admin password in the database is not the one in the secrets file",
                         "run the install again; if it persists, report it with the journal")


# -- hand over to the cluster ------------------------------------------------------

def _handed_over(ctx: Context) -> bool:
    return data_initialised(ctx)


def _hand_over(ctx: Context) -> str:
    stop_setup_server(ctx)
    if mounted_here(ctx):
        ctx.run(["umount", ctx.spec.storage.mount_point], timeout=300)
    if status(ctx).get("ro", "").startswith("Primary"):
        ctx.run(["drbdadm", "secondary", resource(ctx)], timeout=120)
    ctx.shared.remember(ctx, "data_initialised", True)
    return f"MariaDB stopped, {device(ctx)} unmounted and demoted: Pacemaker takes it from here"


def _monitor_user_exists(ctx: Context) -> bool:
    return ctx.ok(["getent", "passwd", MONITOR_DB_USER])


def _make_monitor_user(ctx: Context) -> str:
    ctx.run(monitor_os_user_argv(ctx.spec))
    return f"system user {MONITOR_DB_USER} (the MariaDB monitor logs in as it, by unix_socket)"


def steps(nodes: list[str]) -> list[Step]:
    first = nodes[0]
    return [
        *[Step(n, "db.monitor-user", "System user for the MariaDB monitor", check=_monitor_user_exists,
               apply=_make_monitor_user) for n in nodes],
        Step(first, "db.datadir", "MariaDB datadir on the DRBD filesystem", check=_datadir_ready, apply=_init_datadir,
             after=("drbd.filesystem",)),
        Step(first, "db.zabbix", "Zabbix database, schema and Admin password", check=_database_ready,
             apply=_create_database),
        Step(first, "db.handover", "Hand the data over to the cluster", check=_handed_over, apply=_hand_over),
    ]
