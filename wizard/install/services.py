"""The cluster's services running with the configuration on disk: a changed file restarts only its service.

A rerun that changes zabbix_server.conf must restart the Zabbix server, and
only it; one that changes Apache's site reloads Apache gracefully (no
request is lost); a changed MariaDB file restarts MariaDB in place, and
Pacemaker restarts what starts after it in the group. The check is state,
not "what this run wrote": on the node where the services run, a service
whose configuration file is newer than the service's own start (for Apache:
its last graceful restart) has not read it yet, so a rerun after a killed
one still restarts what the killed one did not.

Apache's last graceful restart: mod_status's ServerUptimeSeconds counts from
the parent's start and does NOT reset on a graceful restart (measured: 6 s,
graceful, 8 s). So a graceful reload touches APACHE_RELOADED on that node
(/run: gone at boot, when Apache starts afresh anyway), and Apache's start is
the later of the two. Without it every rerun that changed the site reloaded
Apache three times and failed (lab run 8).
"""

from __future__ import annotations

from dataclasses import dataclass

from wizard.install.cluster import cluster_status
from wizard.install.step import Context, Step, StepFailed

RESTART_TIMEOUT_S = 900
STATUS_URL = "http://127.0.0.1/server-status?auto"


@dataclass(frozen=True)
class Service:
    name: str                   # as the administrator calls it
    kinds: tuple[str, ...]      # the rendered files it reads when it starts
    process: str                # its oldest process: when it started
    resource: str               # its cluster resource
    graceful: bool = False      # reloads without dropping a request (apachectl graceful)


# In the order a rerun acts: MariaDB's restart restarts the server and the web after it.
SERVICES = (
    Service("MariaDB", ("mariadb",), "mariadbd", "zabbix-db"),
    Service("Zabbix server", ("zabbix-server", "zabbix-server-secrets"), "zabbix_server", "zabbix-server"),
    Service("Apache", ("apache",), "apache2", "zabbix-web", graceful=True),
)

APACHE_RELOADED = "/run/zabbix-ha/apache-reloaded"

# Prints "now <epoch>", "<process> <seconds since start or ->" per process
# (apache2: since its parent started, from mod_status), "apache2-reloaded
# <epoch of our last graceful reload or ->", then "<mtime> <path>" per file
# that exists.
_AGES = r"""
echo "now $(date +%s)"
for proc in mariadbd zabbix_server; do
  pid=$(pgrep -o -x "$proc")
  if [ -n "$pid" ]; then echo "$proc $(ps -o etimes= -p "$pid" | tr -d ' ')"; else echo "$proc -"; fi
done
if pgrep -x apache2 >/dev/null; then
  up=$(curl -s --max-time 10 "$1" | sed -n 's/^ServerUptimeSeconds: //p')
  echo "apache2 ${up:--}"
else
  echo "apache2 -"
fi
echo "apache2-reloaded $(stat -c %Y -- "$2" 2>/dev/null || echo -)"
shift 2
for f; do [ -e "$f" ] && stat -c '%Y %n' -- "$f"; done
true
"""


def active_node(ctx: Context) -> str | None:
    """Where the Zabbix group runs now (None: nowhere, or Pacemaker does not answer)."""
    view = cluster_status(ctx)
    if view is None:
        return None
    for r in view.resources:
        if r.id == "zabbix-fs" and r.role == "Started" and r.nodes:
            return r.nodes[0]
    return None


def _files(ctx: Context, service: Service) -> list[str]:
    return [f.path for f in ctx.tree[ctx.node].values() if f.kind in service.kinds]


def stale(ctx: Context) -> list[tuple[Service, str]]:
    """The services on the active node that started before their configuration last changed, with why."""
    return _stale_on(ctx)[1]


def _stale_on(ctx: Context) -> tuple[str | None, list[tuple[Service, str]]]:
    """The active node (None: nowhere) and its stale services."""
    node = active_node(ctx)
    if node is None:
        return None, []
    on = ctx.on(node)
    paths = sorted({p for s in SERVICES for p in _files(on, s)})
    lines = on.sh(_AGES, STATUS_URL, APACHE_RELOADED, *paths, timeout=60).stdout.splitlines()
    ages: dict[str, int | None] = {}
    mtimes: dict[str, int] = {}
    now = 0
    reloaded = None
    for line in lines:
        first, _, rest = line.partition(" ")
        if first == "now":
            now = int(rest)
        elif first == "apache2-reloaded":
            reloaded = int(rest) if rest.isdigit() else None
        elif first in {s.process for s in SERVICES}:
            ages[first] = int(rest) if rest.isdigit() else None
        elif first.isdigit():
            mtimes[rest] = int(first)
    apache = ages.get("apache2")
    if apache is not None and reloaded is not None and reloaded > now - apache:
        ages["apache2"] = max(0, now - reloaded)          # reloaded since its parent started
    out = []
    for service in SERVICES:
        age = ages.get(service.process)
        newest = max((mtimes.get(p, 0) for p in _files(on, service)), default=0)
        # Not running, or its age unknown (no mod_status answer): nothing to restart,
        # it reads the file when it starts.
        if age is not None and newest > now - age:
            out.append((service, f"{service.name} on {node} started {age} s ago, before its configuration "
                                 f"changed {now - newest} s ago"))
    return node, out


def in_place(ctx: Context) -> bool:
    return not stale(ctx)


def restart_stale(ctx: Context) -> str:
    done = []
    for _ in range(len(SERVICES)):          # a restart may refresh the ones after it: look again each time
        node, pending = _stale_on(ctx)
        if not pending:
            break
        service, why = pending[0]
        ctx.say(why)
        if service.graceful:
            on = ctx.on(node)
            on.run(["mkdir", "-p", "-m", "0755", "--", APACHE_RELOADED.rsplit("/", 1)[0]])
            on.run(["touch", "--", APACHE_RELOADED])          # before: a file written after it is newer
            on.run(["apache2ctl", "graceful"], timeout=120)
            done.append(f"{service.name} reloaded gracefully on {node}")
        else:
            # Pacemaker stops and starts it (and what comes after it in the group) where it runs.
            ctx.run(["crm_resource", "--restart", "--resource", service.resource,
                     "--timeout", f"{RESTART_TIMEOUT_S}s"], timeout=RESTART_TIMEOUT_S + 60)
            done.append(f"{service.name} restarted in place on {node} ({service.resource})")
    left = stale(ctx)
    if left:
        raise StepFailed("; ".join(why for _, why in left) + " — and still is after its restart",
                         "`crm_mon -1rf` and the service's log on that node say why")
    return "; ".join(done)


def steps(nodes: list[str]) -> list[Step]:
    first = nodes[0]
    return [Step(first, "services.current", "Cluster services running with their current configuration",
                 check=in_place, apply=restart_stale, after=("cib.started",),
                 restarts=("MariaDB or the Zabbix server, where its configuration changed (in place)",
                           "Apache, where its site changed (graceful reload)"))]
