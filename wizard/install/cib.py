"""The CIB: our sections of the configuration applied in one transaction, then the resources proven started.

zabbix-ha owns the resources, constraints, resource/op defaults and the
cluster properties it renders; Pacemaker's own properties (dc-version,
cluster-infrastructure, ...) and the node list stay as the cluster keeps
them. The check compares only what we own; apply builds the new
configuration from the live one with our parts put in, checks it with
`crm_verify`, and applies the difference as one patch (`crm_diff` then
`cibadmin --patch`, as pcs pushes a CIB): unchanged resources are not
touched, and the DRBD primitive and its promotable clone arrive together (a
primitive committed alone is probed unconfigured and fails).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from wizard.install.cluster import cluster_status
from wizard.install.step import Context, Step, StepFailed, wait_for
from wizard.status.parse import ClusterView

OWNED_SECTIONS = ("resources", "constraints", "rsc_defaults", "op_defaults")
PROPERTIES_SET = "cib-bootstrap-options"
START_TIMEOUT = 900


# Pacemaker leaves empty ones behind: `crm_resource --restart` (ours for a changed MariaDB or Zabbix
# config, pcs's `resource restart`) deletes the target-role it set but not its <meta_attributes>.
# A set with nothing in it sets nothing: it is no difference.
_ATTRIBUTE_SETS = ("meta_attributes", "instance_attributes", "utilization")


def _canonical(el: ET.Element):
    return (el.tag, tuple(sorted(el.attrib.items())),
            tuple(_canonical(c) for c in el if not (c.tag in _ATTRIBUTE_SETS and len(c) == 0)))


def rendered_configuration(ctx: Context) -> ET.Element:
    root = ET.fromstring(ctx.file("cib").text)
    return root.find("configuration")


def live_configuration(ctx: Context) -> ET.Element:
    res = ctx.run(["cibadmin", "--query", "--scope", "configuration"], timeout=60)
    return ET.fromstring(res.stdout)


def _properties(config: ET.Element) -> dict[str, str]:
    found = config.find(f"./crm_config/cluster_property_set[@id='{PROPERTIES_SET}']")
    return {nv.get("name"): nv.get("value") for nv in (found if found is not None else [])}


def differences(live: ET.Element, new: ET.Element) -> list[str]:
    """What in the live configuration differs from ours (empty: nothing)."""
    out = []
    for section in OWNED_SECTIONS:
        a, b = live.find(section), new.find(section)
        ca = _canonical(a) if a is not None and len(a) else None
        cb = _canonical(b) if b is not None and len(b) else None
        if ca != cb:
            out.append(section)
    live_props = _properties(live)
    for name, value in _properties(new).items():
        if live_props.get(name) != value:
            out.append(f"property {name}")
    return out


def merged(live: ET.Element, new: ET.Element) -> ET.Element:
    """The live configuration with our sections and properties put in."""
    out = ET.fromstring(ET.tostring(live))
    crm_config = out.find("crm_config")
    if crm_config is None:
        crm_config = ET.SubElement(out, "crm_config")
    props = crm_config.find(f"./cluster_property_set[@id='{PROPERTIES_SET}']")
    if props is None:
        props = ET.SubElement(crm_config, "cluster_property_set", {"id": PROPERTIES_SET})
    existing = {nv.get("name"): nv for nv in props}
    for nv in new.find(f"./crm_config/cluster_property_set[@id='{PROPERTIES_SET}']"):
        name = nv.get("name")
        if name in existing:
            existing[name].set("value", nv.get("value"))
        else:
            props.append(ET.fromstring(ET.tostring(nv)))
    order = [child.tag for child in out]
    for section in OWNED_SECTIONS:
        mine = new.find(section)
        old = out.find(section)
        if old is not None:
            out.remove(old)
        if mine is not None:
            out.append(ET.fromstring(ET.tostring(mine)))
    # Pacemaker's schema wants the configuration's sections in its order.
    schema_order = ["crm_config", "nodes", "resources", "constraints", "fencing-topology", "op_defaults",
                    "rsc_defaults", "acls", "tags", "alerts"]
    children = sorted(list(out), key=lambda c: schema_order.index(c.tag) if c.tag in schema_order else len(order))
    for child in list(out):
        out.remove(child)
    out.extend(children)
    return out


def _in_place(ctx: Context) -> bool:
    return not differences(live_configuration(ctx), rendered_configuration(ctx))


# Both CIBs arrive on stdin (live, a separator line, new): crm_diff needs files,
# kept in a private directory that goes with the shell. crm_diff exits 1 when
# the two differ. --no-version, as pcs does: the patch says what to change, not
# which epoch it applies to, so a status update in between does not refuse it.
PATCH_SCRIPT = r"""
set -u
d=$(mktemp -d) || exit 3
trap 'rm -rf "$d"' EXIT
awk -v d="$d" '$0 == "--zabbix-ha-new-cib--" { new = 1; next } { print > (d (new ? "/new.xml" : "/live.xml")) }'
crm_diff --no-version --original "$d/live.xml" --new "$d/new.xml" > "$d/patch.xml"
case $? in 0) echo "no difference"; exit 0 ;; 1) ;; *) exit 4 ;; esac
cibadmin --patch --xml-file "$d/patch.xml" || exit 5
echo patched
"""


# What crm_verify (-VV) says of every running resource the new configuration removes. Pacemaker
# stops it: the warning is the change itself (lab run 9: the switch from IPMI to SBD fencing was
# refused for "Detected active orphan fence-node1 running on node2"; crm_verify exits 78).
_ORPHAN = re.compile(r".*warning: Detected active orphan (\S+?)(?::\d+)? running on \S+")


def removed_ids(live: ET.Element, new: ET.Element) -> set[str]:
    """Ids of the resources in the live configuration that the new one no longer has."""
    def ids(config: ET.Element) -> set[str]:
        resources = config.find("resources")
        return {el.get("id") for el in resources.iter() if el.tag in ("primitive", "clone", "group")} \
            if resources is not None else set()
    return ids(live) - ids(new)


def verify_problems(stderr: str, removed: set[str]) -> list[str]:
    """crm_verify's warnings and errors, less the orphan warnings of the resources being removed."""
    out = []
    for line in stderr.splitlines():
        if "warning:" not in line and "error:" not in line:
            continue
        orphan = _ORPHAN.fullmatch(line.strip())
        if orphan and orphan.group(1) in removed:
            continue
        out.append(line.strip())
    return out


def verify(ctx: Context, whole: ET.Element, new: ET.Element, after: str) -> None:
    """crm_verify on the proposed CIB (`after`), checked against the live status (both nodes seen),
    so it judges the configuration as the cluster will run it. Raises StepFailed."""
    res = ctx.run(["crm_verify", "--xml-pipe", "-VV"], input=after, check=False, timeout=120)
    if res.ok:
        return
    if verify_problems(res.stderr, removed_ids(whole.find("configuration"), new)) or "Errors found" in res.stderr:
        raise StepFailed("crm_verify rejects the new cluster configuration; nothing was changed",
                         "this is a bug in zabbix-ha; report it with the answers file", res.stderr[-1500:])


def proposed(whole: ET.Element, new: ET.Element) -> ET.Element:
    """A copy of the whole live CIB (status included) with our configuration merged in."""
    out = ET.fromstring(ET.tostring(whole))
    config = merged(out.find("configuration"), new)
    out.remove(out.find("configuration"))
    out.insert(0, config)
    return out


def _apply(ctx: Context) -> str:
    whole = ET.fromstring(ctx.run(["cibadmin", "--query"], timeout=60).stdout)
    new = rendered_configuration(ctx)
    changed = differences(whole.find("configuration"), new)
    before = ET.tostring(whole, encoding="unicode")
    after = ET.tostring(proposed(whole, new), encoding="unicode")
    verify(ctx, whole, new, after)
    # One patch, one transaction: only what differs changes, so Pacemaker
    # restarts only the resources whose own definition changed.
    res = ctx.sh(PATCH_SCRIPT, input=f"{before}\n--zabbix-ha-new-cib--\n{after}\n", check=False, timeout=180)
    if not res.ok:
        raise StepFailed("cibadmin did not apply the change to the cluster configuration; nothing was changed",
                         "`crm_mon -1` and `journalctl -u pacemaker` on the first node say why; then run the "
                         "install again", (res.stdout + res.stderr)[-1500:])
    return "patched in one transaction: " + ", ".join(changed)


def _resource_states(view: ClusterView) -> dict[str, tuple[str, set[str]]]:
    """resource id -> (role, nodes it is active on); clone instances merged, Promoted wins."""
    out: dict[str, tuple[str, set[str]]] = {}
    for r in view.resources:
        prev_role, prev_nodes = out.get(r.id, ("", set()))
        out[r.id] = (r.role if r.role == "Promoted" or not prev_role else prev_role, prev_nodes | set(r.nodes))
    return out


def failures(view: ClusterView) -> list[str]:
    return [f"{f.op_key} on {f.node}: {f.exitreason or f.exitstatus}" for f in view.failures]


def group_members(ctx: Context) -> list[str]:
    """The group's members, then the extra VIPs beside it: what must run on the preferred node."""
    from wizard.spec import extra_vip_id

    group = rendered_configuration(ctx).find("./resources/group")
    members = [p.get("id") for p in group.findall("primitive")] if group is not None else []
    return members + [extra_vip_id(v) for v in ctx.spec.services.extra_vips]


def started(view: ClusterView, members: list[str], preferred: str, drbd: str) -> bool | str:
    """True when DRBD is promoted and every member runs on the preferred node, and nothing the
    configuration no longer has is still active (a rerun that removed a resource, e.g. the IPMI
    fence devices on a switch to SBD, ends when Pacemaker has stopped it); else what is awaited."""
    states = _resource_states(view)
    role, where = states.get(drbd, ("", set()))
    if role != "Promoted" or preferred not in where:
        return f"DRBD: {role or 'not started'}"
    pending = [m for m in members if states.get(m, ("", set()))[0] != "Started"
               or preferred not in states.get(m, ("", set()))[1]]
    if pending:
        done = [m for m in members if m not in pending]
        return f"started: {', '.join(done) or 'none yet'}; waiting for {pending[0]}"
    removed = sorted({r.id for r in view.resources if r.orphaned and r.nodes})
    if removed:
        return f"waiting for Pacemaker to stop what the configuration no longer has: {', '.join(removed)}"
    return True


def _verify_started(ctx: Context) -> None:
    members = group_members(ctx)
    preferred = ctx.spec.preferred_node
    drbd = f"drbd-{ctx.spec.storage.resource}"
    before = cluster_status(ctx)
    left = failures(before) if before is not None else []
    if left:
        # Failures recorded before this run: running the install again is the
        # administrator's "fixed it, try again", so they are cleared once.
        # A failure during this run still stops the install.
        ctx.say("clearing failures left from before: " + "; ".join(left))
        ctx.run(["crm_resource", "--cleanup"], timeout=120)

    def probe():
        root = cluster_status(ctx)
        if root is None:
            return "waiting for crm_mon"
        failed = failures(root)
        if failed:
            raise StepFailed("a cluster resource failed: " + "; ".join(failed),
                             "fix the cause (journalctl, the resource's log), then "
                             "`crm_resource --cleanup` and run the install again")
        return started(root, members, preferred, drbd)
    wait_for(ctx, f"every resource started on {preferred}", probe, timeout=START_TIMEOUT, interval=4,
             fix="`crm_mon -1rf` on a node shows what is stuck")


def steps(nodes: list[str]) -> list[Step]:
    first, second = nodes
    return [
        Step(first, "cib.apply", "Cluster configuration (CIB) in one transaction", check=_in_place, apply=_apply,
             after=("cluster.release", "db.handover", f"{second}:files.write")),
        Step(first, "cib.started", "Every resource started on the preferred node", verify=_verify_started),
    ]
