"""Probes: what only traffic between the nodes can tell, before any login between them.

The connectivity matrix: for every link, in both directions, ICMP, a
don't-fragment ping at the NIC's MTU, the knet UDP port and (on the
replication link) the DRBD TCP port. A short-lived listener on the receiving
node (perl: perl-base is Essential on Debian) answers a token sent by the
other node, so a firewall dropping the port shows up as a failed path.
Everything is bounded: listeners die by alarm(), senders give up after a few
seconds, and the whole matrix runs in parallel.

Also: whether the VIP/source address already answers (ping + ARP), whether
each BMC answers (fence_ipmilan, password on stdin), whether the package
source is reachable. Results are plain data; wizard.preflight.checks judges them.
"""

from __future__ import annotations

import secrets as pysecrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from wizard.spec import COROSYNC_BASE_PORT, ClusterSpec, Secrets, has_control

# The sender retries until answered, so a working path costs well under a
# second; these bound only a blocked one. The sender's window must outlast a
# slow start of the listener (SSH + perl on a loaded node took over 3 s in CI).
LISTEN_SECONDS = 15
CONNECT_SECONDS = 12
# On top of those, for SSH and perl to start on a loaded node (emulated lab nodes took 5+ s).
START_MARGIN = 20

# args: token seconds spec... (spec = proto,addr,port). One process listens on
# every port the peer will test; prints BUSY spec / GOT spec lines.
LISTEN_PL = r'''
use strict; use IO::Socket::IP; use IO::Select;
my ($tok, $secs, @specs) = @ARGV; $| = 1;
my (%want, %info); my $sel = IO::Select->new;
$SIG{ALRM} = sub { print "DONE\n"; exit 0 }; alarm $secs;
for my $sp (@specs) {
    my ($proto, $addr, $port) = split /,/, $sp;
    my $s = $proto eq "tcp"
        ? IO::Socket::IP->new(LocalHost => $addr, LocalPort => $port, Proto => "tcp", Listen => 5, ReuseAddr => 1)
        : IO::Socket::IP->new(LocalHost => $addr, LocalPort => $port, Proto => "udp");
    if (!$s) { print "BUSY $sp $!\n"; next }
    $sel->add($s); $info{fileno $s} = [$proto, $sp]; $want{$sp} = 1;
}
print "READY\n";
exit 0 unless $sel->count;
while (1) {
    # Once all are heard, linger 0.4 s for late UDP retries, then leave.
    my @ready = $sel->can_read(%want ? 1 : 0.4);
    if (!%want && !@ready) { print "DONE\n"; exit 0 }
    for my $s (@ready) {
        my ($proto, $sp) = @{$info{fileno $s}};
        my $hit = 0;
        if ($proto eq "tcp") {
            my $c = $s->accept or next;
            my $l = <$c>;
            if (defined $l && index($l, $tok) >= 0) { print $c "OK $tok\n"; $hit = 1 }
            close $c;
        } else {
            my $from = $s->recv(my $buf, 512);
            next unless defined $from;
            if (index($buf, $tok) >= 0) { $s->send("OK $tok", 0, $from); $hit = 1 }
        }
        if ($hit && $want{$sp}) { delete $want{$sp}; print "GOT $sp\n" }
    }
}
'''

# args: token seconds spec... (spec = proto,src,dst,port). Retries each until
# answered or out of time; prints OK spec / FAIL spec reason.
CONNECT_PL = r'''
use strict; use IO::Socket::IP; use IO::Select;
my ($tok, $secs, @specs) = @ARGV; $| = 1;
my %pending = map { $_ => 1 } @specs; my %err;
$SIG{ALRM} = sub { print "FAIL $_ timeout\n" for keys %pending; exit 1 }; alarm $secs + 2;
my $end = time + $secs;
while (%pending && time <= $end) {
    for my $sp (keys %pending) {
        my ($proto, $src, $dst, $port) = split /,/, $sp;
        if ($proto eq "tcp") {
            my $c = IO::Socket::IP->new(LocalHost => $src, PeerHost => $dst, PeerPort => $port, Proto => "tcp", Timeout => 1);
            if ($c) {
                # A read with a deadline: a port held by something else (DRBD itself on a
                # rerun) accepts and never answers; a bare <$c> would hang every probe.
                print $c "$tok\n";
                if (IO::Select->new($c)->can_read(1)) {
                    my $l = <$c>;
                    if (defined $l && index($l, "OK $tok") == 0) { print "OK $sp\n"; delete $pending{$sp}; next }
                }
                $err{$sp} = "connected, but no answer from the probe (another program holds the port?)"; close $c;
            } else { $err{$sp} = "$!" }
        } else {
            my $s = IO::Socket::IP->new(LocalHost => $src, PeerHost => $dst, PeerPort => $port, Proto => "udp");
            if ($s) {
                $s->send($tok);
                if (IO::Select->new($s)->can_read(0.2)) {
                    my $b = ""; $s->recv($b, 512);
                    if (index($b, "OK $tok") == 0) { print "OK $sp\n"; delete $pending{$sp}; next }
                }
            } else { $err{$sp} = "$!" }
        }
    }
    select(undef, undef, undef, 0.1) if %pending;
}
print "FAIL $_ " . ($err{$_} || "no answer") . "\n" for keys %pending;
exit(%pending ? 1 : 0);
'''

# For each address given: ping, then what ARP learnt (a silent host still
# answers ARP). All addresses pinged at once, so the wait is one second.
NEIGH_SCRIPT = ('for a in "$@"; do ( ping -c1 -W1 -- "$a" >/dev/null 2>&1; echo "ping $a $?" ) & done; wait; '
                'for a in "$@"; do echo "@@ $a"; ip neigh show to "$a" 2>/dev/null; done; true')

# $1 host, $2 port: a bare TCP connect (bash's /dev/tcp; no curl needed).
TCP_SCRIPT = 'exec 3<>"/dev/tcp/$1/$2" && echo open'

IPMI_ATTEMPTS = 3
IPMI_RETRY_PAUSE_S = 10
FENCE_SCRIPT = 'command -v fence_ipmilan >/dev/null 2>&1 || { echo MISSING; exit 0; }; exec fence_ipmilan'
# What Pacemaker knows of a fence device on a running cluster: $1 the device's
# password file, compared with the password on stdin (never in argv or output).
PACEMAKER_FENCE_SCRIPT = r"""
systemctl is-active -q pacemaker || { echo NO-PACEMAKER; exit 0; }
cmp -s -- "$1" - && echo SAME-PASSWORD
echo @@@ crm_mon; crm_mon -1 --output-as=xml 2>/dev/null
echo @@@ resources; cibadmin --query --scope resources 2>/dev/null
true
"""


@dataclass(frozen=True)
class PathResult:
    link: int
    src: str                 # node names
    dst: str
    kind: str                # icmp, mtu, udp, tcp
    ok: bool | None          # None: could not be tested (tool missing, port busy)
    port: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class AddressUse:
    address: str
    node: str                # from where it was probed
    answers_ping: bool
    answers_arp: bool

    @property
    def in_use(self) -> bool:
        return self.answers_ping or self.answers_arp


@dataclass(frozen=True)
class ReachResult:
    node: str
    target: str
    ok: bool | None
    detail: str = ""


@dataclass
class Probes:
    paths: list[PathResult] = field(default_factory=list)
    addresses: list[AddressUse] = field(default_factory=list)
    ipmi: list[ReachResult] = field(default_factory=list)      # target = node fenced
    sources: list[ReachResult] = field(default_factory=list)   # target = URL
    sources_probed: bool = False


# ---------------------------------------------------------------------------
# pure parsers

def parse_neigh(node: str, text: str) -> list[AddressUse]:
    """NEIGH_SCRIPT's output -> one AddressUse per address."""
    ping: dict[str, bool] = {}
    arp: dict[str, bool] = {}
    current = None
    for line in text.splitlines():
        parts = line.split()
        if line.startswith("ping ") and len(parts) == 3:
            ping[parts[1]] = parts[2] == "0"
        elif line.startswith("@@ ") and len(parts) == 2:
            current = parts[1]
            arp.setdefault(current, False)
        elif current and "lladdr" in line and not any(x in line for x in ("FAILED", "INCOMPLETE")):
            arp[current] = True
    return [AddressUse(a, node, ping.get(a, False), arp.get(a, False)) for a in dict.fromkeys([*ping, *arp])]


def parse_fence(node: str, rc: int, stdout: str, stderr: str) -> ReachResult:
    if stdout.strip() == "MISSING":
        return ReachResult(node, node, None, "fence_ipmilan is not installed yet (package fence-agents; on Debian 13 fence-agents-ipmilan)")
    if rc == 0:
        return ReachResult(node, node, True, stdout.strip())
    last = (stderr.strip().splitlines() or stdout.strip().splitlines() or ["no output"])[-1]
    return ReachResult(node, node, False, last[:200])


def source_targets(spec: ClusterSpec, apt_uris: tuple[str, ...]) -> list[str]:
    """The URLs the package installation will need, at most 3."""
    z = spec.zabbix
    if z.package_source == "mirror":
        urls = [z.mirror_url]
    elif z.package_source == "official":
        urls = ["https://repo.zabbix.com/"]
    else:
        urls = list(apt_uris)
    return [u for u in urls if u][:3]


# ---------------------------------------------------------------------------
# running them

Spec = tuple  # (proto, src_addr, dst_addr, port)


def exchange(listener_ex, connector_ex, specs: list[Spec]) -> dict[Spec, tuple[bool | None, str]]:
    """Listener on the receiving node, sender on the other: which ports get through."""
    token = "zha-" + pysecrets.token_hex(6)
    box: dict = {}
    listen_specs = [f"{p},{d},{port}" for p, _, d, port in specs]

    def listen():
        try:
            box["listen"] = listener_ex.run(["perl", "-e", LISTEN_PL, token, str(LISTEN_SECONDS), *listen_specs],
                                            check=False, timeout=LISTEN_SECONDS + START_MARGIN)
        except Exception as exc:  # timeout or lost connection: reported, not raised
            box["error"] = str(exc)

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    time.sleep(0.3)          # let the listener bind; the sender retries anyway
    try:
        c = connector_ex.run(["perl", "-e", CONNECT_PL, token, str(CONNECT_SECONDS),
                              *[f"{p},{s},{d},{port}" for p, s, d, port in specs]],
                             check=False, timeout=CONNECT_SECONDS + START_MARGIN)
        sent, sent_rc, sender_error = c.stdout, c.rc, ""
    except Exception as exc:      # the sender did not finish: nothing was learnt about the path
        sent, sent_rc, sender_error = "", None, str(getattr(exc, "message", exc))
    t.join(LISTEN_SECONDS + START_MARGIN + 3)
    heard = box.get("listen")
    out: dict[Spec, tuple[bool | None, str]] = {}
    for spec in specs:
        p, s, d, port = spec
        lkey, ckey = f"{p},{d},{port}", f"{p},{s},{d},{port}"
        if heard is None:
            out[spec] = (None, box.get("error", "the listener did not finish"))
        elif heard.rc == 127 or sent_rc == 127:
            out[spec] = (None, "perl is not available on the nodes")
        elif f"BUSY {lkey}" in heard.stdout:
            out[spec] = (None, "the port is already in use on the receiving node, so it was not probed")
        elif sender_error:
            out[spec] = (None, f"could not test: {sender_error}"[:300])
        elif f"OK {ckey}" in sent:
            out[spec] = (True, "")
        else:
            reason = next((line.split(" ", 2)[2] for line in sent.splitlines()
                           if line.startswith(f"FAIL {ckey} ") and len(line.split(" ", 2)) == 3), str(sent_rc))
            out[spec] = (False, reason)
    return out


def _pings(ex, jobs: dict[str, list[str]]) -> dict[str, tuple[bool | None, str]]:
    """Run ping commands in one batch on a node."""
    from wizard.preflight.facts import run_batch

    try:
        raw = run_batch(ex, jobs, timeout=5)
    except Exception as exc:
        return {k: (None, str(exc)[:200]) for k in jobs}
    out = {}
    for key, r in raw.items():
        if r.rc in (125, 126, 127):
            out[key] = (None, "ping is not available")
        elif r.rc == 0:
            out[key] = (True, "")
        else:
            lines = r.stderr.strip().splitlines() or r.stdout.strip().splitlines() or [f"exit code {r.rc}"]
            out[key] = (False, lines[-1][:200])
    return out


def ping_argv(src_addr: str, dst_addr: str, size: int | None = None) -> list[str]:
    argv = ["ping", "-c1", "-W1", "-I", src_addr]
    if ":" in dst_addr:
        argv.insert(1, "-6")
    if size is not None:
        argv += ["-M", "do", "-s", str(size)]
    return [*argv, "--", dst_addr]


def connectivity(spec: ClusterSpec, executors: dict, facts_by_node: dict | None = None) -> list[PathResult]:
    """The whole matrix; per direction one listener, one sender and one ping batch, all in parallel."""
    names = spec.hostnames
    jobs = []
    for a, b in ((0, 1), (1, 0)):
        src, dst = names[a], names[b]
        specs: list[Spec] = []
        pings: dict[str, list[str]] = {}
        for i, link in enumerate(spec.links):
            if len(link.addresses) != 2:
                continue
            sa, da = link.addresses[a], link.addresses[b]
            pings[f"icmp,{i}"] = ping_argv(sa, da)
            mtu = _mtu(facts_by_node, src, sa)
            if mtu:
                # Payload = MTU - IP and ICMP headers; an IP packet carries at most 65535 bytes.
                pings[f"mtu,{i},{mtu}"] = ping_argv(sa, da, min(mtu - (48 if ":" in da else 28), 65507))
            specs.append(("udp", sa, da, COROSYNC_BASE_PORT + i))
            if i == spec.storage.replication_link:
                specs.append(("tcp", sa, da, spec.storage.port))
        jobs.append((src, dst, specs, pings))
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [(src, dst, specs, pool.submit(exchange, executors[dst], executors[src], specs),
                    pool.submit(_pings, executors[src], pings)) for src, dst, specs, pings in jobs]
        out = []
        for src, dst, specs, fx, fp_ in futures:
            for key, (ok, detail) in fp_.result().items():
                kind, link, *rest = key.split(",")
                out.append(PathResult(int(link), src, dst, kind, ok, int(rest[0]) if rest else None, detail))
            for (proto, sa, da, port), (ok, detail) in fx.result().items():
                link = next(i for i, lk in enumerate(spec.links) if lk.addresses and sa in lk.addresses)
                out.append(PathResult(link, src, dst, proto, ok, port, detail))
    return out


def _mtu(facts_by_node, node: str, address: str) -> int | None:
    if not facts_by_node or node not in facts_by_node:
        return None
    found = facts_by_node[node].interface_with(address)
    return found[0].mtu if found else None


def address_use(spec: ClusterSpec, executors: dict) -> list[AddressUse]:
    """Does anyone answer on the VIP / source address / an extra VIP? Asked from every node, one
    round trip each."""
    addrs = spec.services.floating_addresses

    def one(node):
        try:
            r = executors[node].run(["sh", "-c", NEIGH_SCRIPT, "zabbix-ha-neigh", *addrs], check=False, timeout=8)
            return parse_neigh(node, r.stdout)
        except Exception:
            return [AddressUse(a, node, False, False) for a in addrs]

    with ThreadPoolExecutor(max_workers=2) as pool:
        return [u for uses in pool.map(one, spec.hostnames) for u in uses]


class UnsafeOption(ValueError):
    """A value that would change what a fence agent is asked to do."""


def fence_stdin(action: str, options: dict[str, str]) -> str:
    """A fence agent's options as stdin lines, `name=value` each.

    Fence agents take the last line of a name, so a value holding a line
    break could add `action=off` to a status query. Every value is refused
    if it holds a control character (the same rule the model applies to
    every field), and the action is written last, after every option.
    """
    for name, value in options.items():
        if has_control(name) or "=" in name or has_control(value):
            raise UnsafeOption(name)
    if has_control(action) or not action.isalpha():
        raise UnsafeOption("action")
    return "".join(f"{name}={value}\n" for name, value in options.items()) + f"action={action}\n"


def ipmi(spec: ClusterSpec, executors: dict, secrets: Secrets | None) -> list[ReachResult]:
    """Each BMC asked for its power status from the *other* node, which is the one that will fence it."""
    f = spec.fencing
    if f.method != "ipmi" or len(f.ipmi) != 2 or secrets is None:
        return []
    names = spec.hostnames

    def one(i):
        dev, fenced, runner = f.ipmi[i], names[i], names[1 - i]
        password = secrets.ipmi.get(fenced)
        if not password:
            return ReachResult(runner, fenced, None, "no IPMI password in the secrets file")
        # Options on stdin: the password never appears in argv or ps.
        options = {"ip": dev.address, "username": dev.user, "password": password.reveal()}
        if dev.lanplus:
            options["lanplus"] = "1"
        try:
            stdin = fence_stdin("status", options)
        except UnsafeOption as exc:
            field = {"ip": f"fencing.ipmi[{i}].address", "username": f"fencing.ipmi[{i}].user",
                     "password": f"secrets.ipmi.{fenced}"}.get(str(exc), str(exc))
            return ReachResult(runner, fenced, False,
                               f"not asked: {field} holds a control character (it could add fence agent options)")
        for attempt in range(1, IPMI_ATTEMPTS + 1):
            try:
                # fence_ipmilan bounds its own BMC session; our bound only catches a
                # node too slow to run it (a loaded emulated node took over 30 s).
                r = executors[runner].run(["sh", "-c", FENCE_SCRIPT], check=False, input=stdin, timeout=90)
            except Exception as exc:
                # The node did not answer in time: the BMC is untested, not unreachable.
                return ReachResult(runner, fenced, None, f"could not test: {str(exc)[:200]}")
            res = parse_fence(fenced, r.rc, r.stdout, r.stderr)
            # A BMC (or a node busy starting its cluster stack) that misses one
            # query is not broken: only a refusal repeated IPMI_ATTEMPTS times is.
            if res.ok is not False or attempt == IPMI_ATTEMPTS:
                break
            time.sleep(IPMI_RETRY_PAUSE_S)
        detail = res.detail if res.ok is not False else f"{res.detail} ({IPMI_ATTEMPTS} attempts)"
        if res.ok is False and "timed out" in res.detail.lower():
            # On a running cluster Pacemaker monitors this very BMC every minute; its
            # verdict counts when it asks with what the answers say (a busy node can
            # miss fence_ipmilan's 20 s window; a refusal is never excused).
            vouched = pacemaker_vouches(executors[runner], fenced, dev, password.reveal())
            if vouched:
                return ReachResult(runner, fenced, True, f"{detail}; {vouched}")
        return ReachResult(runner, fenced, res.ok, detail)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, (0, 1)))


def pacemaker_vouches(executor, fenced: str, dev, password: str) -> str:
    """Why Pacemaker's own monitor of the device fencing FENCED tests the same BMC
    with the same address, user, lanplus and password and passes; "" if it does not."""
    from wizard.render import ipmi_password_file

    try:
        r = executor.run(["sh", "-c", PACEMAKER_FENCE_SCRIPT, "zabbix-ha-fence", ipmi_password_file(fenced)],
                         check=False, input=password + "\n", timeout=60)
    except Exception:
        return ""
    return judge_pacemaker_fence(fenced, dev, r.stdout)


def judge_pacemaker_fence(fenced: str, dev, out: str) -> str:
    import xml.etree.ElementTree as ET

    from wizard.preflight.parse import split_sections
    from wizard.render import fence_device_id
    from wizard.status.parse import ParseError, parse_crm_mon

    if "SAME-PASSWORD" not in out.split("@@@", 1)[0]:
        return ""
    parts = split_sections(out)
    rid = fence_device_id(fenced)
    try:
        view = parse_crm_mon(parts.get("crm_mon", ""))
        resources = ET.fromstring(parts.get("resources", "").strip() or "<none/>")
    except (ParseError, ET.ParseError):
        return ""
    running = [r for r in view.resources if r.id == rid and r.role == "Started" and not r.failed and r.nodes]
    if not running or any(f.resource == rid for f in view.failures):
        return ""
    prim = resources.find(f".//primitive[@id='{rid}']")
    if prim is None or prim.get("type") != "fence_ipmilan":
        return ""
    params = {nv.get("name"): nv.get("value") for nv in prim.iterfind("instance_attributes/nvpair")}
    want = {"ip": dev.address, "username": dev.user, "lanplus": "1" if dev.lanplus else "0"}
    if any(params.get(k) != v for k, v in want.items()):
        return ""
    return f"Pacemaker's {rid} on {running[0].nodes[0]} monitors the same BMC with the same settings without failure"


def sources(spec: ClusterSpec, executors: dict, facts_by_node: dict) -> list[ReachResult]:
    jobs = []
    for node in spec.hostnames:
        uris = facts_by_node[node].state.apt_uris if node in facts_by_node else ()
        jobs += [(node, url) for url in source_targets(spec, uris)]

    def one(job):
        node, url = job
        parts = urlsplit(url)
        try:
            if parts.scheme == "file":
                r = executors[node].run(["test", "-d", parts.path], check=False, timeout=5)
                return ReachResult(node, url, r.rc == 0, "" if r.rc == 0 else f"{parts.path} is not a directory")
            port = parts.port or (443 if parts.scheme == "https" else 80)
            # The connect is bounded by `timeout 10` on the node (bash itself took
            # seconds to start on a loaded emulated node); the outer bound catches the rest.
            r = executors[node].run(["timeout", "10", "bash", "-c", TCP_SCRIPT, "zabbix-ha-tcp", parts.hostname or "",
                                     str(port)], check=False, timeout=30)
            return ReachResult(node, url, r.rc == 0,
                               "" if r.rc == 0 else f"no TCP connection to {parts.hostname}:{port} "
                               f"({(r.stderr.strip().splitlines() or ['timed out'])[-1][:120]})")
        except Exception as exc:
            # No answer from the node is not a "no" from the source: unknown.
            return ReachResult(node, url, None, f"could not test: {str(exc)[:200]}")

    with ThreadPoolExecutor(max_workers=max(len(jobs), 1)) as pool:
        return list(pool.map(one, jobs))


def probe(spec: ClusterSpec, executors: dict, facts_by_node: dict, secrets: Secrets | None = None, *,
          probe_sources: bool = True) -> Probes:
    """All probes, in parallel; bounded by the slowest (a few seconds)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        paths = pool.submit(connectivity, spec, executors, facts_by_node)
        addrs = pool.submit(address_use, spec, executors)
        bmc = pool.submit(ipmi, spec, executors, secrets)
        src = pool.submit(sources, spec, executors, facts_by_node) if probe_sources else None
        return Probes(paths=paths.result(), addresses=addrs.result(), ipmi=bmc.result(),
                      sources=src.result() if src else [], sources_probed=probe_sources)

