"""`zabbix-ha --plain`: the wizard's questions as line prompts (questionary),
for serial consoles and dumb terminals.

The second view over wizard.steps (the Textual screens are the first): the
same steps, over the same ClusterSpec, saved with the same function, so the
same choices give the same answers file. It lives beside the screens because
it is UI; wizard/ imports neither. questionary is imported only when
prompting starts.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

from wizard.i18n import _
from wizard import steps
from wizard.steps import (STEP_FIELDS, default_answers_out, int_or_text, keep_used_fencing,
                          keep_used_storage, keep_used_zabbix, load_start, save_all, step_problems, step_titles,
                          summary, under)

def typing_replaces_default(buffer) -> None:
    """The value shown is kept with Enter and replaced by typing, as in the TUI
    (where focus selects it): a character typed first replaces the whole
    default instead of being appended to it. Editing keys first (Backspace,
    arrows, Ctrl+U) edit the default as usual."""
    default = buffer.text
    state = {"fresh": True}

    def changed(buf) -> None:
        if not state["fresh"]:
            return
        state["fresh"] = False
        text = buf.text
        if default and len(text) == len(default) + 1 and text.startswith(default) and buf.cursor_position == len(text):
            typed = text[len(default):]
            buf.text = typed
            buf.cursor_position = len(typed)

    buffer.on_text_changed += changed


class LinePrompts:
    """questionary prompts; `io` (input=, output=) lets tests feed keys."""

    def __init__(self, io: dict | None = None) -> None:
        import questionary

        self.q = questionary
        self.io = io or {}

    def text(self, message: str, default: object = "") -> str:
        question = self.q.text(message, default="" if default is None else str(default), **self.io)
        typing_replaces_default(question.application.layout.current_buffer)
        return question.unsafe_ask()

    def password(self, message: str, default: str = "") -> str:
        return self.q.password(message, default=default, **self.io).unsafe_ask()

    def select(self, message: str, choices: list[tuple[str, object]], default: object = None) -> object:
        options = [self.q.Choice(title, value=value) for title, value in choices]
        chosen = next((c for c in options if c.value == default), options[0])
        return self.q.select(message, choices=options, default=chosen, **self.io).unsafe_ask()

    def confirm(self, message: str, default: bool = True) -> bool:
        return self.q.confirm(message, default=default, **self.io).unsafe_ask()


def _plain_nodes(ask: LinePrompts, spec, secrets, only=None) -> None:
    from wizard.platforms import PLATFORMS
    from wizard.spec import Node, Secret

    want = _wants(only)
    if want("name"):
        spec.name = ask.text(_("Cluster name"), spec.name).strip()
    if want("platform"):
        spec.platform = ask.select(_("Operating system (the same on both nodes)"),
                                   [(p.name, p.id) for p in PLATFORMS.values()], spec.platform)
    old_names = spec.hostnames
    while len(spec.nodes) < 2:
        spec.nodes.append(Node("", ""))
    for i, node in enumerate(spec.nodes[:2]):
        p = f"nodes[{i}]"
        n = i + 1
        if want(f"{p}.hostname"):
            node.hostname = ask.text(_("Node {n}: host name").format(n=n), node.hostname).strip()
        if want(f"{p}.address"):
            node.address = ask.text(_("Node {n}: management address").format(n=n), node.address).strip()
        if want(f"{p}.ssh_user"):
            node.ssh_user = ask.text(_("Node {n}: SSH user").format(n=n), node.ssh_user).strip()
        if want(f"{p}.ssh_port"):
            node.ssh_port = int_or_text(ask.text(_("Node {n}: SSH port").format(n=n), node.ssh_port))
    if want("secrets.hacluster_password"):
        secrets.hacluster_password = Secret(ask.password(_("hacluster password (secrets file only)"),
                                                         secrets.hacluster_password.reveal()))
    renamed = dict(zip(old_names, spec.hostnames))
    secrets.ipmi = {renamed.get(k, k): v for k, v in secrets.ipmi.items()}


def _plain_disks(ask: LinePrompts, spec, secrets, only=None) -> None:
    from wizard.spec import NodeDisks

    want = _wants(only)
    s = spec.storage
    if want("storage.meta_disk_mode"):
        print(_("A dedicated meta-data partition is recommended: an image backup of the data partition "
                "then restores cleanly, and indexed slots let several mirrors share it. Internal meta-data "
                "needs no extra partition, but a restore of the data partition loses it (re-create, full resync)."))
        s.meta_disk_mode = ask.select(_("DRBD meta-data"), [
            (_("dedicated partition, indexed slot (recommended)"), "indexed"),
            (_("dedicated partition, whole (flexible)"), "flexible"),
            (_("internal, at the end of the data partition"), "internal"),
        ], s.meta_disk_mode)
    while len(s.nodes) < 2:
        s.nodes.append(NodeDisks(""))
    for i, disks in enumerate(s.nodes[:2]):
        p = f"storage.nodes[{i}]"
        name = spec.nodes[i].hostname if i < len(spec.nodes) else str(i + 1)
        if want(f"{p}.disk"):
            disks.disk = ask.text(_("{node}: DRBD data partition").format(node=name), disks.disk).strip()
        if s.meta_disk_mode != "internal" and want(f"{p}.meta_disk"):
            disks.meta_disk = ask.text(_("{node}: meta-data partition").format(node=name),
                                       disks.meta_disk or "").strip()
        if s.meta_disk_mode == "indexed" and want(f"{p}.meta_index"):
            disks.meta_index = int_or_text(ask.text(_("{node}: meta-data slot").format(node=name),
                                                    disks.meta_index))
    keep_used_storage(s)
    if want("storage.filesystem"):
        s.filesystem = ask.select(_("Filesystem"), [("ext4", "ext4"), ("xfs", "xfs")], s.filesystem)
    if want("storage.mount_point"):
        s.mount_point = ask.text(_("Mount point"), s.mount_point).strip()
    if want("storage.resource"):
        s.resource = ask.text(_("DRBD resource"), s.resource).strip()
    if want("storage.minor"):
        s.minor = int_or_text(ask.text(_("DRBD minor"), s.minor))
    if want("storage.port"):
        s.port = int_or_text(ask.text(_("DRBD port"), s.port))


def _plain_interconnect(ask: LinePrompts, spec, secrets, only=None) -> None:
    from wizard.spec import MAX_LINKS, Link

    want = _wants(only)
    if only is None or any(under(f, "links") and f == "links" for f in only):
        count = ask.text(_("How many Corosync links (1-{max}, 2 recommended)").format(max=MAX_LINKS),
                         len(spec.links))
        count = int_or_text(count)
        if isinstance(count, int) and 1 <= count <= MAX_LINKS:
            spec.links = (spec.links + [Link(["", ""]) for _i in range(count)])[:count]
    names = [n.hostname for n in spec.nodes[:2]]
    for i, link in enumerate(spec.links):
        while len(link.addresses) < 2:
            link.addresses.append("")
        for j in range(2):
            if want(f"links[{i}].addresses[{j}]"):
                link.addresses[j] = ask.text(_("Link {n}: {node} address").format(n=i, node=names[j]),
                                             link.addresses[j]).strip()
        if want(f"links[{i}].prefix"):
            link.prefix = int_or_text(ask.text(_("Link {n}: prefix length").format(n=i), link.prefix))
    if want("storage.replication_link"):
        current = spec.storage.replication_link
        spec.storage.replication_link = ask.select(
            _("DRBD replicates over"),
            [(_("link {n} ({a} ↔ {b})").format(n=i, a=link.addresses[0], b=link.addresses[1]), i)
             for i, link in enumerate(spec.links)],
            current if isinstance(current, int) and current < len(spec.links) else len(spec.links) - 1)


def _plain_services(ask: LinePrompts, spec, secrets, only=None) -> None:
    want = _wants(only)
    sv = spec.services
    if want("services.vip"):
        sv.vip = ask.text(_("Listen address (VIP)"), sv.vip).strip()
    if want("services.vip_prefix"):
        sv.vip_prefix = int_or_text(ask.text(_("VIP prefix length"), sv.vip_prefix))
    nics = (list(sv.vip_nics) + ["", ""])[:2]
    for i in range(2):
        if want(f"services.vip_nics[{i}]"):
            name = spec.nodes[i].hostname if i < len(spec.nodes) else str(i + 1)
            nics[i] = ask.text(_("VIP NIC on {node}").format(node=name), nics[i]).strip()
    sv.vip_nics = nics
    if want("services.source_address"):
        sv.source_address = ask.text(_("Zabbix source address (empty: the VIP)"), sv.source_address).strip()
    if want("services.extra_vips"):
        sv.extra_vips = steps.parse_extra_vips(
            ask.text(_("More VIPs: ADDRESS/PREFIX [NIC or NIC1,NIC2] [NAME]; ... (empty: none)"),
                     steps.format_extra_vips(sv.extra_vips)), sv.vip_nics)


def _plain_zabbix(ask: LinePrompts, spec, secrets, only=None) -> None:
    from wizard.sizing import TIERS
    from wizard.spec import Secret

    want = _wants(only)
    z = spec.zabbix
    if want("zabbix.version"):
        z.version = ask.select(_("Zabbix version"), [("6.0 LTS", "6.0"), ("7.0 LTS", "7.0")], z.version)
    if want("zabbix.package_source"):
        z.package_source = ask.select(_("Packages from"), [(_("the OS (Debian)"), "os"),
                                                           (_("repo.zabbix.com"), "official"),
                                                           (_("a local mirror"), "mirror")], z.package_source)
    if z.package_source == "mirror" and want("zabbix.mirror_url"):
        z.mirror_url = ask.text(_("Mirror URL"), z.mirror_url).strip()
    keep_used_zabbix(z)
    if want("zabbix.sizing"):
        print(_("Sizing tiers:"))
        for t in TIERS.values():
            print(f"  {t.name:<7} ≤ {t.max_hosts:>4} hosts  {t.min_memory_mib // 1024:>2} GiB/node  "
                  f"InnoDB {t.innodb_buffer_pool:>4}  cache {t.cache_size:>4}  pollers {t.start_pollers}")
        z.sizing = ask.select(_("Sizing tier"), [
            (_("{name} (up to {hosts} hosts)").format(name=t.name, hosts=t.max_hosts), t.name)
            for t in TIERS.values()], z.sizing)
    if want("zabbix.db_engine"):
        z.db_engine = ask.select(_("Database engine"), [("MariaDB", "mariadb"), ("MySQL 8", "mysql")], z.db_engine)
    if want("zabbix.db_name"):
        z.db_name = ask.text(_("Database name"), z.db_name).strip()
    if want("zabbix.db_user"):
        z.db_user = ask.text(_("Database user"), z.db_user).strip()
    if want("secrets.db_password"):
        secrets.db_password = Secret(ask.password(_("Database password (secrets file only)"),
                                                  secrets.db_password.reveal()))
    if want("zabbix.server_name"):
        z.server_name = ask.text(_("Frontend server name"), z.server_name).strip()
    if want("zabbix.timezone"):
        z.timezone = ask.text(_("Frontend time zone"), z.timezone).strip()
    if want("secrets.zabbix_admin_password"):
        secrets.zabbix_admin_password = Secret(ask.password(_("Zabbix Admin password (secrets file only)"),
                                                            secrets.zabbix_admin_password.reveal()))


def _plain_fencing(ask: LinePrompts, spec, secrets, only=None) -> None:
    from wizard.spec import NO_FENCING_ACKNOWLEDGEMENT, IpmiDevice, Secret

    want = _wants(only)
    f = spec.fencing
    if want("fencing.method"):
        f.method = ask.select(_("Fencing"), [(_("IPMI / iLO / iDRAC (fence_ipmilan)"), "ipmi"),
                                             (_("SBD on a shared disk"), "sbd"),
                                             (_("None (not for production)"), "none")], f.method)
    if f.method == "ipmi":
        while len(f.ipmi) < 2:
            f.ipmi.append(IpmiDevice("", ""))
        for i, dev in enumerate(f.ipmi[:2]):
            name = spec.nodes[i].hostname if i < len(spec.nodes) else str(i + 1)
            p = f"fencing.ipmi[{i}]"
            if want(f"{p}.address"):
                dev.address = ask.text(_("BMC of {node}: address").format(node=name), dev.address).strip()
            if want(f"{p}.user"):
                dev.user = ask.text(_("BMC of {node}: user").format(node=name), dev.user).strip()
            if want(f"{p}.lanplus"):
                dev.lanplus = ask.confirm(_("BMC of {node}: IPMI v2.0 (lanplus)?").format(node=name), dev.lanplus)
            if want(f"secrets.ipmi.{name}"):
                current = secrets.ipmi[name].reveal() if name in secrets.ipmi else ""
                password = ask.password(_("BMC of {node}: password (secrets file only)").format(node=name), current)
                if password:
                    secrets.ipmi[name] = Secret(password)
    elif f.method == "sbd":
        if want("fencing.sbd_device"):
            f.sbd_device = ask.text(_("SBD device (shared, by a stable path)"), f.sbd_device).strip()
    elif want("fencing.acknowledgement"):
        print(_("Without fencing, a node that loses the interconnect can still promote its copy and run "
                "the database: the two copies then differ (split brain). To accept that, type exactly:"))
        print(f"  {NO_FENCING_ACKNOWLEDGEMENT}")
        f.acknowledgement = ask.text(_("Acknowledgement"), f.acknowledgement).strip()
    keep_used_fencing(spec, secrets)


def _wants(only):
    """Whether a question is asked: all of them, or those a problem names."""
    if only is None:
        return lambda path: True
    return lambda path: any(under(f, path) or under(path, f) for f in only)


PLAIN_STEPS = (
    ("nodes", _plain_nodes),
    ("disks", _plain_disks),
    ("interconnect", _plain_interconnect),
    ("services", _plain_services),
    ("zabbix", _plain_zabbix),
    ("fencing", _plain_fencing),
)


def _applied_or_say_why():
    """The cluster this machine belongs to (wizard.applied), or None; a broken
    state file is said, and the other starting points stay open."""
    from wizard.applied import applied_cluster
    from wizard.errors import UserError

    try:
        return applied_cluster()
    except UserError as exc:
        print(_("zabbix-ha: this cluster's answers cannot be offered: {error}").format(error=exc))
        return None


def run_plain(args: argparse.Namespace, *, answers_out: Path | None = None, io: dict | None = None) -> int:
    """Ask the wizard's questions as line prompts; save the answers."""
    from wizard.answers import load_answers, load_secrets
    from wizard.applied import refuse_other_cluster
    from wizard.spec import Secrets, errors

    ask = LinePrompts(io)
    print(_("zabbix-ha: questions about your two servers. Enter keeps the value shown; "
            "nothing is changed on any server."))
    secrets_from = getattr(args, "secrets", None)
    if args.answers:
        spec, secrets, _source = load_start(args)
    else:
        choices = [(_("a new cluster (the documented example's values)"), "new"),
                   (_("an answers file"), "file")]
        resume = steps.last_saved()
        if resume is not None:
            choices.insert(0, (_("the answers saved last time ({path})").format(path=resume), "resume"))
        applied = _applied_or_say_why()
        if applied is not None:
            # On a node of a running cluster, changing it comes first (the default).
            choices.insert(0, (_("change this cluster ({name}, the answers applied at {path})").format(
                name=applied.name, path=applied.path), "rerun"))
        # The lab is offered, never the default: servers are being entered.
        if steps.lab_answers() is not None:
            choices.append((_("the local two-node lab"), "lab"))
        start = ask.select(_("Start from"), choices, choices[0][1])
        secrets = Secrets()
        if start == "rerun":
            spec = copy.deepcopy(applied.spec)
            if applied.secrets is not None:
                secrets = copy.deepcopy(applied.secrets)
                print(_("secrets loaded from {path}").format(path=applied.secrets_path))
            secrets_from = None
        elif start == "lab":
            spec = load_answers(steps.lab_answers())
            refuse_other_cluster(spec, steps.lab_answers())
            secrets_from = steps.lab_secrets()
        elif start in ("file", "resume"):
            path = resume if start == "resume" else Path(ask.text(_("Answers file to load"))).expanduser()
            spec = load_answers(path)
            refuse_other_cluster(spec, path)
            beside = steps.secrets_beside(path)
            if start == "file":
                typed = ask.text(_("Its secrets file (empty: none)"), beside or "").strip()
                beside = Path(typed).expanduser() if typed else None
            secrets_from = beside
        else:
            spec = steps.new_cluster_spec()
        if secrets_from:
            secrets = load_secrets(secrets_from)
            print(_("secrets loaded from {path}").format(path=secrets_from))
    for name, step in PLAIN_STEPS:
        print()
        print(f"== {step_titles()[name]} ==")
        step(ask, spec, secrets)
        while True:
            problems = step_problems(spec, secrets, STEP_FIELDS[name])
            for p in problems:
                mark = _("error") if p.severity == "error" else _("warning")
                print(f"  {mark}: {p.field}: {p.message}\n    fix: {p.fix}")
            bad = errors(problems)
            if not bad:
                break
            # Ask again only what the problems name (all of the step if none matches).
            step(ask, spec, secrets, only=[p.field for p in bad])
    print()
    print(summary(spec))
    target = Path(ask.text(_("Save the answers to"), answers_out or default_answers_out()).strip()).expanduser()
    for _attempt in range(5):                  # bounded: each refusal asks for another place
        try:
            written = save_all(spec, secrets, target, secrets_loaded_from=secrets_from)
            break
        except steps.WouldOverwrite:
            if ask.confirm(_("{path} holds other answers. Replace them?").format(path=target), default=False):
                written = save_all(spec, secrets, target, overwrite=True, secrets_loaded_from=secrets_from)
                break
            target = Path(ask.text(_("Save the answers to")).strip()).expanduser()
    else:
        print(_("nothing was saved"))
        return 1
    for line in steps.next_steps(written):
        print(line)
    return 0
