"""The Pacemaker CIB: crm_verify, crmsh's verify, and crm_simulate scenarios.

crm_verify checks the schema, ID references and cluster options; crmsh also
reads resource-agent metadata (unknown agent, missing required parameter);
neither can tell whether the constraints put things where we want them, so
crm_simulate plays four scenarios on the file (notes §3):

  both-online       both nodes join, DRBD reports UpToDate on both
                    -> DRBD Promoted and every group member on the preferred node
  preferred-standby the preferred node is put in standby
                    -> everything on the other node
  preferred-failed  the preferred node fails
                    -> everything on the other node
  preferred-outdated both nodes join but only the other node's DRBD data is
                    UpToDate (the preferred node was down and has not resynced)
                    -> DRBD Promoted on the other node and the group follows
                    it there, against its location preference: this is what
                    catches a missing or weak colocation with the Promoted role

Offline nobody sets the DRBD promotion score, so after the nodes join we set
the transient attribute the linbit agent would set (`master-<primitive>`,
lifetime reboot) on both nodes, the same value on each, so only the
constraints decide where DRBD is promoted.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .core import (Target, ValidationContext, Verdict, bad_ipv4_literals, clean_lines,
                   strip_ansi, write)
from .tree import Host, tools_for

PACKAGE = "pacemaker-cli-utils"
# The score the linbit agent sets on an UpToDate node (crm-master -v 10000).
PROMOTION_SCORE = "10000"

_VERIFY_NOISE = ("lack of quorum", "Blind faith: not fencing unseen nodes",
                 "-V may provide more details", "Schema validation of configuration is disabled")


# ---- what this Pacemaker accepts --------------------------------------------

@functools.lru_cache(maxsize=None)
def installed_limits(tools=None) -> tuple[str, str] | None:
    """(crm_feature_set, validate-with) of an empty CIB made by the platform's
    Pacemaker (where `tools` run; the host's by default)."""
    tools = tools or Host()
    cibadmin = tools.find("cibadmin")
    if cibadmin is None:
        return None
    res = tools.run([cibadmin, "--empty"])
    if res.rc != 0:
        return None
    root = ET.fromstring(res.stdout)
    return root.get("crm_feature_set", ""), root.get("validate-with", "")


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text))


# ---- the CIB as data ----------------------------------------------------------

@dataclass(frozen=True)
class CibShape:
    drbd_primitive: str | None          # id of the ocf:linbit:drbd primitive for our resource
    members: list[str]                  # non-stonith primitives outside clones, in start order
    stonith: list[str]
    problems: list[str] = field(default_factory=list)


def cib_shape(root: ET.Element, ctx: ValidationContext) -> CibShape:
    problems = []
    drbd = None
    members: list[str] = []
    stonith: list[str] = []
    resources = root.find("configuration/resources")
    if resources is None:
        return CibShape(None, [], [], ["no <configuration><resources> section"])

    def params(prim: ET.Element) -> dict[str, str]:
        return {nv.get("name", ""): nv.get("value", "")
                for nv in prim.findall("instance_attributes/nvpair")}

    def walk(elem: ET.Element, in_clone: bool) -> None:
        nonlocal drbd
        for child in elem:
            if child.tag == "primitive":
                if child.get("class") == "stonith":
                    stonith.append(child.get("id", ""))
                elif child.get("provider") == "linbit" and child.get("type") == "drbd":
                    if params(child).get("drbd_resource") == ctx.drbd_resource:
                        drbd = child.get("id")
                elif not in_clone:
                    members.append(child.get("id", ""))
                if child.get("type") == "apache" and not params(child).get("statusurl"):
                    # The agent cannot infer Debian's status URL (notes §4).
                    problems.append(f"apache primitive '{child.get('id')}' has no statusurl parameter")
            elif child.tag in ("group", "clone", "bundle"):
                walk(child, in_clone or child.tag == "clone")

    walk(resources, False)
    if drbd is None:
        problems.append(f"no ocf:linbit:drbd primitive with drbd_resource={ctx.drbd_resource}")
    return CibShape(drbd, members, stonith, problems)


def python_checks(text: str, ctx: ValidationContext, filename: str) -> tuple[list[str], ET.Element | None]:
    problems = bad_ipv4_literals(text, filename)
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        return problems + [f"{filename}: not well-formed XML: {exc}"], None
    limits = installed_limits(tools_for(ctx.platform))
    if limits is not None:
        have_fs, have_schema = limits
        fs = root.get("crm_feature_set")
        # crm_verify accepts a newer feature set, but crm_simulate and the live
        # cluster then abort (notes §3): refuse it here.
        if fs and _version(fs) > _version(have_fs):
            problems.append(f"{filename}: crm_feature_set {fs} is newer than the installed "
                            f"Pacemaker's {have_fs}; omit it or use <= {have_fs}")
        schema = root.get("validate-with", "")
        if schema.startswith("pacemaker-") and have_schema.startswith("pacemaker-") \
                and _version(schema) > _version(have_schema):
            problems.append(f"{filename}: validate-with {schema} is newer than the installed "
                            f"Pacemaker's {have_schema}")
    unames = [n.get("uname") for n in root.findall("configuration/nodes/node")]
    if unames and sorted(unames) != sorted(ctx.nodes):
        problems.append(f"{filename}: <nodes> {unames} differ from the cluster nodes {list(ctx.nodes)}")
    for loc in root.iter("rsc_location"):
        node = loc.get("node")
        if node is not None and node not in ctx.nodes:
            problems.append(f"{filename}: location '{loc.get('id')}' names unknown node '{node}'")
    shape = cib_shape(root, ctx)
    problems += shape.problems
    if len(shape.stonith) >= 2:
        delays = [p for p in root.iter("primitive") if p.get("class") == "stonith"
                  and any(nv.get("name") in ("pcmk_delay_max", "pcmk_delay_base")
                          for nv in p.iter("nvpair"))]
        if not delays:
            # Without a delay on one side both nodes can shoot each other at once.
            problems.append(f"{filename}: no fence device has pcmk_delay_max/pcmk_delay_base; "
                            "set one on one side so the nodes cannot fence each other at once")
    return problems, root


# ---- crm_verify / crmsh ----------------------------------------------------------

# With an empty <status> and stonith enabled, crm_verify warns that it would
# fence the unseen nodes and exits 78 ("Warnings found"); that is the state
# of a cluster that never started, not a configuration fault.
_UNSEEN_FENCING = re.compile(r"warning: Scheduling node \S+ for fencing")


def _crm_verify(target: Target, tools, cib: str, tmp: str, filename: str) -> Verdict:
    tool = tools.find("crm_verify")
    if tool is None:
        return target.missing("crm_verify", PACKAGE)
    res = tools.run([tool, "--xml-file", cib, "-V"], env={"CIB_shadow_dir": _own_dir(tmp, "verify")})
    lines = [line.replace(cib, filename) for line in clean_lines(res.stderr + res.stdout, _VERIFY_NOISE)]
    real = [line for line in lines if not _UNSEEN_FENCING.search(line)
            and "Warnings found during check" not in line]
    only_unseen = res.rc == 78 and not real and any("Warnings found" in line for line in lines)
    # rc 0 with "error:" happens (invalid ISO dates): both count as failure.
    ok = (res.rc == 0 or only_unseen) and not any("error:" in line for line in lines)
    return target.verdict("crm_verify", ok, (real or lines) if not ok else [], seconds=res.seconds)


def _own_dir(tmp: str, name: str) -> str:
    """A shadow directory per concurrent call: the tools name their shadow
    copy after their PID ("shadow.<pid>"), and in a PID namespace (the
    platform trees, tree.py) every call has the same PID, so calls running at
    the same time would overwrite each other's copy (measured: crm_simulate
    exited 105 "no such object", or played another scenario's CIB)."""
    path = os.path.join(tmp, f"shadow-{name}")
    os.makedirs(path, exist_ok=True)
    return path


_FENCE_NO_META = re.compile(r"stonith:(\S+): (?:got no meta-data|no such resource agent)")
# zabbix-ha's own agents are installed by the install, not on the machine that
# validates (crmsh asks crm_resource, which reads only /usr/lib/ocf): their
# meta-data and the parameters the CIB sets are checked by validators.ocf_agent.
_OWN_AGENT_NO_META = re.compile(r"ocf:zabbix-ha:\S+: (?:got no meta-data|no such resource agent)")


def _crm_configure_verify(target: Target, tools, cib: str, tmp: str) -> Verdict:
    tool = tools.find("crm")
    if tool is None:
        return target.missing("crm configure verify", "crmsh")
    res = tools.run([tool, "-D", "plain", "configure", "verify"],
              env={"CIB_file": cib, "CIB_shadow_dir": _own_dir(tmp, "crmsh"), "TERM": "dumb", "HOME": tmp})
    # crmsh colours output regardless of -D plain and relabels harmless
    # pacemaker warnings as ERROR while exiting 0, so rc decides.
    lines = clean_lines(strip_ansi(res.stdout + res.stderr), _VERIFY_NOISE)
    if res.rc != 0 and any("PermissionError" in line and "crmsh" in line for line in lines):
        # crmsh always opens /var/log/crmsh/crmsh.log: it cannot run as a user.
        return target.verdict("crm configure verify", False, [],
                              "crm needs write access to /var/log/crmsh (run as root)")
    errors = [line for line in lines if line.startswith(("ERROR", "error")) and not _OWN_AGENT_NO_META.search(line)]
    if res.rc != 0 and not errors and any(_OWN_AGENT_NO_META.search(line) for line in lines):
        return target.verdict("crm configure verify", True, [], seconds=res.seconds)
    # A fence agent crmsh cannot read is not a pass: its parameters (a
    # misspelt password_script) would go unchecked. Missing tool = failure,
    # named with the package that brings it.
    missing = sorted({m.group(1) for e in errors if (m := _FENCE_NO_META.search(e)) and tools.find(m.group(1)) is None})
    if missing:
        return target.verdict("crm configure verify", False, errors,
                              f"fence agent {', '.join(missing)} not installed (Debian package fence-agents or sbd): "
                              "its parameters were not checked", seconds=res.seconds)
    return target.verdict("crm configure verify", res.rc == 0, (errors or lines) if res.rc != 0 else [],
                          seconds=res.seconds)


# ---- crm_simulate -----------------------------------------------------------------

Placement = dict[str, list[tuple[str, str]]]   # resource id -> [(node, role), ...] of active instances


@dataclass(frozen=True)
class Scenario:
    name: str
    expected_node: str
    placement: Placement
    actions: list[tuple[str, str, str]]     # (resource, op, node) in transition order, no monitors
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class Simulation:
    scenarios: dict[str, Scenario]
    problems: list[str]                     # workflow failures (tool errors), not placement

    @property
    def ok(self) -> bool:
        return not self.problems and all(s.ok for s in self.scenarios.values())


def _parse_result(xml_text: str) -> tuple[Placement, list[tuple[str, str, str]]]:
    root = ET.fromstring(xml_text)
    status = root.find("revised_cluster_status")
    if status is None:
        status = root.find("cluster_status")
    placement: Placement = {}
    if status is not None:
        for res in status.iter("resource"):
            for node in res.findall("node"):
                placement.setdefault(res.get("id", ""), []).append((node.get("name", ""), res.get("role", "")))
    actions = []
    transition = root.find("transition")
    if transition is not None:
        for act in transition.findall("rsc_action"):
            if act.get("op") not in ("monitor", "cancel", "notify"):
                actions.append((act.get("resource", ""), act.get("op", ""), act.get("node", "")))
    return placement, actions


def _expect(placement: Placement, actions: list[tuple[str, str, str]], shape: CibShape,
            node: str, check_order: bool) -> list[str]:
    problems = []
    drbd = shape.drbd_primitive
    if drbd is not None:
        promoted = [n for n, role in placement.get(drbd, []) if role in ("Promoted", "Master")]
        if promoted != [node]:
            problems.append(f"DRBD ({drbd}) is Promoted on {promoted or 'no node'}, expected {node}")
    for rsc in shape.members:
        where = placement.get(rsc, [])
        if where != [(node, "Started")]:
            shown = ", ".join(f"{r} on {n}" for n, r in where) or "Stopped"
            problems.append(f"{rsc} is {shown}, expected Started on {node}")
    if check_order and not problems:
        starts = [r for r, op, n in actions if op == "start" and n == node and r in shape.members]
        expected = [r for r in shape.members if r in starts]
        if starts != expected:
            problems.append(f"start order on {node} is {starts}, expected {expected}")
        promote = [i for i, (r, op, n) in enumerate(actions) if r == drbd and op == "promote"]
        first_start = [i for i, (r, op, n) in enumerate(actions) if op == "start" and r in shape.members]
        if promote and first_start and min(first_start) < promote[0]:
            problems.append(f"{actions[min(first_start)][0]} starts before DRBD is promoted")
    return problems


def simulate(text: str, ctx: ValidationContext) -> Simulation:
    """Run the scenarios (module doc) on a CIB; placement per scenario as data.

    Raises nothing for a bad CIB: workflow failures land in Simulation.problems.
    """
    where = tools_for(ctx.platform)
    tools = {name: where.find(name) for name in ("crm_simulate", "crm_attribute", "crm_standby")}
    missing = [name for name, path in tools.items() if path is None]
    if missing:
        return Simulation({}, [f"not installed: {', '.join(missing)} ({PACKAGE})"])
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        return Simulation({}, [f"not well-formed XML: {exc}"])
    shape = cib_shape(root, ctx)
    if shape.drbd_primitive is None:
        return Simulation({}, shape.problems)
    sim, attr, standby = tools["crm_simulate"], tools["crm_attribute"], tools["crm_standby"]
    pref, other = ctx.preferred, ctx.other_node
    with tempfile.TemporaryDirectory(prefix="zbxha-cib-") as tmp:
        env = {"CIB_shadow_dir": tmp}
        cib = write(tmp, "cib.xml", text)
        online = os.path.join(tmp, "online.xml")
        running = os.path.join(tmp, "running.xml")

        def step(argv: list[str], extra: dict[str, str] | None = None) -> str | None:
            res = where.run(argv, env={**env, **(extra or {})})
            if res.rc != 0:
                detail = clean_lines(res.stderr, _VERIFY_NOISE)[-3:] or [f"exit {res.rc}"]
                return f"{os.path.basename(argv[0])} {' '.join(argv[1:3])}...: {'; '.join(detail)}"
            return None

        # 1) both nodes join with quorum: node_state entries appear in <status>.
        up = [sim, "-x", cib, "-S", "-q", "1", "-O", online]
        for n in ctx.nodes:
            up += ["--node-up", n]
        if err := step(up):
            return Simulation({}, [err])
        # The preferred node's data not UpToDate: the agent sets no score there.
        outdated = os.path.join(tmp, "outdated.xml")
        shutil.copyfile(online, outdated)
        if err := step([attr, "-N", other, "-n", f"master-{shape.drbd_primitive}",
                        "-v", PROMOTION_SCORE, "-l", "reboot"], {"CIB_file": outdated}):
            return Simulation({}, [err])
        # 2) what the linbit agent would report on two UpToDate nodes.
        for n in ctx.nodes:
            if err := step([attr, "-N", n, "-n", f"master-{shape.drbd_primitive}",
                            "-v", PROMOTION_SCORE, "-l", "reboot"], {"CIB_file": online}):
                return Simulation({}, [err])
        res = where.run([sim, "-x", online, "-S", "-O", running, "--output-as=xml"], env=env)
        if res.rc != 0:
            return Simulation({}, [f"crm_simulate (both online) exited {res.rc}: "
                                   + "; ".join(clean_lines(res.stderr)[-3:])])
        scenarios = {}
        placement, actions = _parse_result(res.stdout)
        scenarios["both-online"] = Scenario("both-online", pref, placement, actions,
                                            _expect(placement, actions, shape, pref, True))

        # 3) from the running state: preferred node in standby / failed.
        standby_cib = os.path.join(tmp, "standby.xml")
        shutil.copyfile(running, standby_cib)
        if err := step([standby, "-N", pref, "-v", "on"], {"CIB_file": standby_cib}):
            return Simulation(scenarios, [err])
        # The failure is injected first and simulated from the saved state:
        # Pacemaker 3.0's `-S --node-fail N --output-as=xml` prints only the
        # injected state, no transition and no revised status (measured with
        # 3.0.0); 2.1 gives the same placement either way.
        failed_cib = os.path.join(tmp, "failed.xml")
        if err := step([sim, "-x", running, "--node-fail", pref, "-O", failed_cib]):
            return Simulation(scenarios, [err])

        def play(name: str, argv: list[str]) -> Scenario:
            r = where.run(argv, env={"CIB_shadow_dir": _own_dir(tmp, name)})
            if r.rc != 0:
                return Scenario(name, other, {}, [], [f"crm_simulate exited {r.rc}: "
                                                      + "; ".join(clean_lines(r.stderr)[-3:])])
            p, a = _parse_result(r.stdout)
            return Scenario(name, other, p, a, _expect(p, a, shape, other, True))

        with ThreadPoolExecutor(max_workers=3) as pool:
            sb = pool.submit(play, "preferred-standby", [sim, "-x", standby_cib, "-S", "--output-as=xml"])
            fail = pool.submit(play, "preferred-failed", [sim, "-x", failed_cib, "-S", "--output-as=xml"])
            old = pool.submit(play, "preferred-outdated", [sim, "-x", outdated, "-S", "--output-as=xml"])
            scenarios["preferred-standby"] = sb.result()
            scenarios["preferred-failed"] = fail.result()
            scenarios["preferred-outdated"] = old.result()
    return Simulation(scenarios, [])


def check_cib(text: str, ctx: ValidationContext, node: str,
              path: str = "/etc/zabbix-ha/cib.xml") -> list[Verdict]:
    """Verdicts: crm_verify, crm configure verify, python, crm_simulate (all scenarios)."""
    target = Target(node, path, "cib")
    tools = tools_for(ctx.platform)
    problems, root = python_checks(text, ctx, path)
    verdicts = [target.verdict("python", not problems, problems)]
    with tempfile.TemporaryDirectory(prefix="zbxha-cib-") as tmp:
        cib = write(tmp, "cib.xml", text)
        with ThreadPoolExecutor(max_workers=2) as pool:
            crmsh = pool.submit(_crm_configure_verify, target, tools, cib, tmp)
            verify = _crm_verify(target, tools, cib, tmp, path)
            verdicts = [verify, crmsh.result()] + verdicts
    if tools.find("crm_simulate") is None:
        return verdicts + [target.missing("crm_simulate", PACKAGE)]
    if not verify.ok or root is None or any("newer than the installed" in p for p in problems):
        # A CIB crm_verify rejects (or from a newer Pacemaker) can crash
        # crm_simulate with an assertion; report instead of simulating.
        return verdicts + [target.verdict("crm_simulate", False,
                                          ["not simulated: fix the errors reported above first"])]
    start = time.monotonic()
    result = simulate(text, ctx)
    messages = list(result.problems)
    for s in result.scenarios.values():
        messages += [f"{s.name}: {p}" for p in s.problems]
    return verdicts + [target.verdict("crm_simulate", result.ok, messages,
                                      seconds=time.monotonic() - start)]
