"""The wizard's step model, UI-neutral: which fields each step owns, its
problems, the defaults a new cluster starts from, and how answers are saved.

The Textual screens (screens/) and the plain line prompts (screens/plain.py)
are two views over this module; wizard.interactive picks one. Nothing here
imports a UI toolkit, and nothing here imports a view.
"""

from __future__ import annotations

import argparse
import copy
import importlib
import os
from pathlib import Path

from wizard.errors import UserError
from wizard.i18n import _

DEFAULT_ANSWERS_NAME = "zabbix-ha.yaml"
EXAMPLE_ANSWERS = Path(__file__).resolve().parent.parent / "examples" / "two-node.yaml"


def answers_dir() -> Path:
    """The person's own place for answers ($XDG_CONFIG_HOME/zabbix-ha, else
    ~/.config/zabbix-ha): not the current directory, which may be a git
    checkout where a secrets file must never land."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "zabbix-ha"


def default_answers_out() -> Path:
    """Where answers are saved unless the person says otherwise; never over the
    file they were loaded from (it may hold comments)."""
    return answers_dir() / DEFAULT_ANSWERS_NAME


def last_saved() -> Path | None:
    """The answers saved last time at the default place, to offer resuming them."""
    path = default_answers_out()
    return path if path.is_file() else None


def secrets_path_for(answers: Path) -> Path:
    """The secrets file that goes with an answers file: `x.yaml` -> `x.secrets.yaml`."""
    answers = Path(answers)
    return answers.with_name(f"{answers.stem}.secrets.yaml")


def default_spec():
    """The documented example's answers: the starting point of a new cluster."""
    from wizard.answers import load_answers

    return load_answers(EXAMPLE_ANSWERS)


LOCALTIME = Path("/etc/localtime")
TIMEZONE_FILE = Path("/etc/timezone")


def machine_timezone() -> str | None:
    """This machine's IANA time zone (/etc/localtime's target, else /etc/timezone)."""
    from wizard.spec import _valid_timezone

    name = None
    try:
        target = str(LOCALTIME.resolve())
        if "/zoneinfo/" in target:
            name = target.split("/zoneinfo/", 1)[1]
    except OSError:
        pass
    if not name:
        try:
            name = TIMEZONE_FILE.read_text(encoding="utf-8").strip()
        except OSError:
            name = None
    return name if name and _valid_timezone(name) else None


def machine_route_nic() -> str | None:
    """The NIC of this machine's default route (the installer runs on the first node)."""
    import json
    import subprocess

    try:
        out = subprocess.run(["ip", "-j", "route", "show", "default"], capture_output=True, text=True,
                             timeout=2, check=False).stdout
        routes = json.loads(out or "[]")
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    nic = next((r.get("dev") for r in routes if r.get("dev")), None)
    from wizard.spec import _NIC

    return nic if isinstance(nic, str) and _NIC.fullmatch(nic) else None


def machine_defaults(spec):
    """A new cluster's defaults from this machine where it can tell them (time
    zone, the NIC of the default route) instead of the example's Europe/Berlin/eth0."""
    zone = machine_timezone()
    if zone:
        spec.zabbix.timezone = zone
    nic = machine_route_nic()
    if nic:
        spec.services.vip_nics = [nic, nic]
    return spec


def new_cluster_spec():
    """The starting point of a new cluster: the example, with this machine's defaults."""
    return machine_defaults(default_spec())


def lab_answers() -> Path | None:
    """The local two-node lab's answers file, when a lab is up, has written one,
    and is this person's (its state names who ran `lab up`).

    `zabbix-ha lab up` writes it (wizard/lab/answers.py) at the path
    `zabbix-ha lab answers` prints; with no lab up, or someone else's, the
    wizard does not offer it.
    """
    paths = _lab_paths()
    answers = getattr(paths, "ANSWERS_FILE", None)
    if not answers or not Path(answers).is_file() or not lab_is_mine():
        return None
    return Path(answers)


def lab_is_mine() -> bool:
    try:
        state = importlib.import_module("wizard.lab.state")
        lab = state.load()
    except (ImportError, OSError):
        return False
    return lab is not None and bool(lab.owner) and lab.owner == state.current_user()


def lab_secrets() -> Path | None:
    paths = _lab_paths()
    secrets = getattr(paths, "SECRETS_FILE", None)
    return Path(secrets) if secrets and Path(secrets).is_file() else None


def lab_installed() -> bool:
    """Whether this zabbix-ha has the lab subsystem (a lab may still not be up)."""
    return _lab_paths() is not None


def _lab_paths():
    try:
        return importlib.import_module("wizard.lab.paths")
    except ImportError:     # the lab is optional (and built by its own issue)
        return None


class WouldOverwrite(UserError):
    """Saving would replace a file that holds other answers."""

    def __init__(self, path: Path) -> None:
        super().__init__(_("{path} already holds other answers; they were not replaced").format(path=path),
                         _("give --force to replace them, or save somewhere else"))
        self.path = path


def differs_on_disk(path: Path, text: str) -> bool:
    """Whether writing `text` to `path` would replace something different."""
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace") != text
    except FileNotFoundError:
        return False
    except OSError:
        return True


def keep_saved_secrets(spec, secrets, path: Path, loaded_from: Path | None):
    """The secrets to write to `path`: these, plus every secret the file already
    holds that this session never saw (it did not load that file). A session
    started without the secrets must not wipe the passwords, nor the generated
    DRBD secret a running cluster uses. A session that loaded the file is
    authoritative: what the person cleared stays cleared."""
    from wizard.answers import load_secrets

    path = Path(path)
    if not path.exists() or (loaded_from is not None and Path(loaded_from).resolve() == path.resolve()):
        return secrets
    saved = load_secrets(path)
    merged = copy.deepcopy(secrets)
    for name in ("db_password", "hacluster_password", "zabbix_admin_password"):
        if not getattr(merged, name) and getattr(saved, name):
            setattr(merged, name, getattr(saved, name))
    for name in merged.GENERATED:
        if getattr(saved, name):
            setattr(merged, name, getattr(saved, name))
    if spec.fencing.method == "ipmi":
        for node in spec.hostnames:
            if node not in merged.ipmi and node in saved.ipmi:
                merged.ipmi[node] = saved.ipmi[node]
    return merged


def save_all(spec, secrets, answers_out: Path, *, overwrite: bool = False,
             secrets_loaded_from: Path | None = None, known_text: str | None = None) -> list[Path]:
    """Save the answers, and the secrets (0600) when any is set. Returns the paths written.

    An answers file that holds something else is not replaced unless
    `overwrite` (the person confirmed, or --force): raises WouldOverwrite.
    `known_text` is what this session last saved or loaded there (replacing
    that is no surprise). Secrets already in the file are kept
    (keep_saved_secrets). Raises OSError or UserError.
    """
    from wizard.answers import dump_answers, save_answers, save_secrets

    answers_out = Path(answers_out)
    text = dump_answers(spec)
    if not overwrite and differs_on_disk(answers_out, text) and (
            known_text is None or differs_on_disk(answers_out, known_text)):
        raise WouldOverwrite(answers_out)
    path = secrets_path_for(answers_out)
    if secrets is not None:
        secrets = keep_saved_secrets(spec, secrets, path, secrets_loaded_from)
    if answers_out.parent == answers_dir() and not answers_dir().exists():
        answers_dir().mkdir(parents=True, mode=0o700)
    save_answers(spec, answers_out)
    written = [answers_out]
    if secrets is not None and secrets.typed_values():
        save_secrets(secrets, path)
        written.append(path)
    return written


def secrets_beside(answers: str | os.PathLike | None) -> Path | None:
    """The secrets file saved beside an answers file, if there is one."""
    if not answers:
        return None
    path = secrets_path_for(Path(answers))
    return path if path.is_file() else None


def next_steps(written: list[Path]) -> list[str]:
    """What was saved where and what to run next, for the end of every mode."""
    lines = [_("answers saved to {path}").format(path=written[0])]
    if len(written) > 1:
        lines.append(_("secrets saved to {path} (mode 0600)").format(path=written[1]))
    secrets = f" --secrets {written[1]}" if len(written) > 1 else ""
    lines.append(_("next: zabbix-ha preflight --answers {path}{secrets}").format(path=written[0], secrets=secrets))
    return lines


def load_start(args: argparse.Namespace):
    """(spec, secrets, source) from --answers/--secrets, else the example defaults."""
    from wizard.answers import load_answers, load_secrets
    from wizard.spec import Secrets

    if args.answers:
        from wizard.applied import refuse_other_cluster

        spec = load_answers(args.answers)
        refuse_other_cluster(spec, args.answers)
        source = str(args.answers)
    else:
        spec = new_cluster_spec()
        source = ""
    secrets_path = getattr(args, "secrets", None) or secrets_beside(args.answers)
    secrets = load_secrets(secrets_path) if secrets_path else Secrets()
    return spec, secrets, source


# ---------------------------------------------------------------------------
# which fields a step owns, and what is saved of fields that only matter for one choice

# Field paths (as wizard.spec.validate names them) each step asks for.
STEP_FIELDS: dict[str, tuple[str, ...]] = {
    "nodes": ("name", "platform", "nodes", "secrets.hacluster_password"),
    "disks": ("storage.nodes", "storage.meta_disk_mode", "storage.filesystem", "storage.mount_point",
              "storage.resource", "storage.minor", "storage.port", "storage.protocol"),
    "interconnect": ("links", "storage.replication_link"),
    "services": ("services",),
    "zabbix": ("zabbix", "secrets.db_password", "secrets.zabbix_admin_password"),
    "fencing": ("fencing", "secrets.ipmi"),
}


def step_titles() -> dict[str, str]:
    """The steps' names as people read them (TUI title bar, plain mode headings)."""
    return {
        "welcome": _("Welcome"), "nodes": _("Nodes"), "disks": _("Disks"),
        "interconnect": _("Interconnect"), "services": _("Service addresses"),
        "zabbix": _("Zabbix"), "fencing": _("Fencing"), "review": _("Review"),
        "preflight": _("Preflight"), "install": _("Install"),
        "failover": _("Failover test"), "done": _("Done"),
    }


def field_label(path: str, spec=None) -> str:
    """A field path as people read it: `nodes[1].address` -> "Node 2 (zbx-node2) · Management address".

    The TUI shows these instead of the validator's paths; the CLI keeps the paths
    (they are what an answers file's author searches for)."""
    import re

    names = {
        "name": _("Cluster name"), "platform": _("Operating system"), "hostname": _("Host name"),
        "address": _("Address"), "ssh_user": _("SSH user"), "ssh_port": _("SSH port"),
        "disk": _("DRBD data partition"), "meta_disk": _("Meta-data partition"), "meta_index": _("Meta-data slot"),
        "meta_disk_mode": _("DRBD meta-data"), "resource": _("DRBD resource"), "minor": _("DRBD minor"),
        "port": _("DRBD port"), "protocol": _("Replication"), "replication_link": _("DRBD replicates over"),
        "filesystem": _("Filesystem"), "mount_point": _("Mount point"), "addresses": _("Addresses"),
        "prefix": _("Prefix length"), "vip": _("Listen address (VIP)"), "vip_prefix": _("Prefix length"),
        "vip_nics": _("VIP NIC"), "source_address": _("Zabbix source address"),
        "extra_vips": _("Additional VIPs"), "nics": _("NIC"), "version": _("Zabbix version"),
        "package_source": _("Packages from"), "mirror_url": _("Mirror URL"), "db_engine": _("Database engine"),
        "db_name": _("Database name"), "db_user": _("Database user"), "server_name": _("Server name"),
        "timezone": _("Time zone"), "sizing": _("Sizing tier"), "method": _("Fencing"), "user": _("BMC user"),
        "lanplus": _("IPMI v2.0 (lanplus)"), "sbd_device": _("SBD device"), "acknowledgement": _("Acknowledgement"),
        "db_password": _("Database password"), "hacluster_password": _("hacluster password"),
        "zabbix_admin_password": _("Admin password"), "ipmi": _("BMC password"),
        "nodes": _("Nodes"), "links": _("Interconnect links"), "services": _("Service addresses"),
    }
    hostnames = list(getattr(spec, "hostnames", []) or [])

    def node(i: int) -> str:
        label = _("Node {n}").format(n=i + 1)
        return f"{label} ({hostnames[i]})" if i < len(hostnames) and hostnames[i] else label

    parts: list[str] = []
    m = re.fullmatch(r"secrets\.ipmi\.(.+)", path)
    if m:
        return _("BMC password of {node}").format(node=m.group(1))
    for i, piece in enumerate(path.split(".")):
        m = re.fullmatch(r"([a-z_]+)(?:\[(\d+)\])?(?:\[(\d+)\])?", piece)
        if not m or piece == "secrets":
            continue
        key, first, second = m.group(1), m.group(2), m.group(3)
        if key == "nodes" and first is not None:                        # nodes[i], storage.nodes[i]
            parts.append(node(int(first)))
            continue
        if key == "links" and first is not None:
            parts.append(_("Link {n}").format(n=first))
            continue
        if key == "extra_vips" and first is not None:
            parts.append(_("Additional VIP {n}").format(n=int(first) + 1))
            continue
        if key == "ipmi" and first is not None:
            parts.append(_("BMC of {node}").format(node=node(int(first))))
            continue
        if key in ("storage", "zabbix", "fencing", "services") and first is None and i == 0 and "." in path:
            continue
        label = names.get(key, key.replace("_", " "))
        if second is not None or (first is not None and key in ("addresses", "vip_nics", "nics")):
            index = int(second if second is not None else first)
            label = f"{label} · {node(index)}"
        parts.append(label)
    return " · ".join(parts) or path


def under(path: str, prefix: str) -> bool:
    """Whether field `path` is `prefix` or inside it (`links` covers `links[1].prefix`)."""
    return path == prefix or path.startswith(prefix + ".") or path.startswith(prefix + "[")


def step_problems(spec, secrets, prefixes: tuple[str, ...]):
    """The core's problems with the fields one step owns (no rules of our own)."""
    from wizard.spec import validate, validate_secrets

    found = validate(spec) + validate_secrets(spec, secrets)
    return [p for p in found if any(under(p.field, pre) for pre in prefixes)]


def int_or_text(value: str) -> int | str:
    """An integer field's value; what was typed when it is not a number, so
    the validator names the field instead of the wizard guessing a value."""
    try:
        return int(value.strip())
    except ValueError:
        return value.strip()


def format_extra_vips(vips) -> str:
    """services.extra_vips as the wizard's one-line field: `ADDRESS/PREFIX NIC[,NIC2] [NAME]; ...`
    (one NIC when both nodes use the same)."""
    out = []
    for v in vips:
        nics = ",".join(dict.fromkeys(v.nics)) if len(set(v.nics)) == 1 else ",".join(v.nics)
        out.append(" ".join(x for x in (f"{v.address}/{v.prefix}", nics, v.name) if x))
    return "; ".join(out)


def parse_extra_vips(text: str, vip_nics: list[str]):
    """The wizard's one-line field back to services.extra_vips. Never refuses: what is not an
    address, a number or a name is kept as typed, so the validator names the field and the fix.
    No NIC: the VIP's NICs; one NIC: that one on both nodes."""
    from wizard.spec import ExtraVip

    vips = []
    for entry in text.replace("\n", ";").split(";"):
        words = entry.split()
        if not words:
            continue
        address, _slash, prefix = words[0].partition("/")
        nics = [n.strip() for n in words[1].split(",")] if len(words) > 1 else list(vip_nics)
        if len(nics) == 1:
            nics = nics * 2
        default_prefix = 64 if ":" in address else 24
        vips.append(ExtraVip(address, int_or_text(prefix) if prefix else default_prefix, nics, " ".join(words[2:])))
    return vips


def keep_used_storage(storage) -> None:
    """Internal meta-data has no meta-disk; only the indexed mode has a slot."""
    for disks in storage.nodes:
        if storage.meta_disk_mode == "internal":
            disks.meta_disk = None
        if storage.meta_disk_mode != "indexed":
            disks.meta_index = 0


def keep_used_zabbix(zabbix) -> None:
    """The mirror URL is saved only with the mirror source (the validator
    rejects a URL that would not be used)."""
    if zabbix.package_source != "mirror":
        zabbix.mirror_url = ""


def keep_used_fencing(spec, secrets) -> None:
    """Only the chosen method's settings (and BMC passwords) are saved."""
    f = spec.fencing
    if f.method != "ipmi":
        f.ipmi = []
        secrets.ipmi = {}
    if f.method != "sbd":
        f.sbd_device = ""
    if f.method != "none":
        f.acknowledgement = ""


def summary(spec) -> str:
    """The answers in a few lines a person can check at a glance."""
    from wizard.platforms import PLATFORMS

    platform = PLATFORMS[spec.platform].name if spec.platform in PLATFORMS else spec.platform
    z = spec.zabbix
    source = {"os": _("from the OS"), "official": _("from repo.zabbix.com"),
              "mirror": _("from {url}").format(url=z.mirror_url)}.get(z.package_source, z.package_source)
    s = spec.storage
    lines = [
        _("Cluster     {name} on {platform}").format(name=spec.name, platform=platform),
        _("Nodes       {nodes}").format(nodes=", ".join(
            f"{n.hostname} {n.address}" + (_(" (preferred)") if i == 0 else "") for i, n in enumerate(spec.nodes))),
    ]
    for i, link in enumerate(spec.links):
        drbd = _(" ← DRBD") if i == s.replication_link else ""
        a, b = (list(link.addresses) + ["?", "?"])[:2]
        lines.append(_("Link {n}      {a} ↔ {b} /{prefix}{drbd}").format(n=i, a=a, b=b, prefix=link.prefix, drbd=drbd))
    for i, d in enumerate(s.nodes):
        meta = {"internal": _("internal meta-data"), "flexible": _("meta-data on {m}").format(m=d.meta_disk),
                "indexed": _("meta-data on {m}[{i}]").format(m=d.meta_disk, i=d.meta_index)}.get(s.meta_disk_mode, "")
        name = spec.nodes[i].hostname if i < len(spec.nodes) else "?"
        lines.append(_("DRBD        {node}: {disk}, {meta}").format(node=name, disk=d.disk, meta=meta))
    lines.append(_("Filesystem  {fs} on /dev/drbd{minor}, mounted at {mp}").format(
        fs=s.filesystem, minor=s.minor, mp=s.mount_point))
    sv = spec.services
    lines.append(_("VIP         {vip}/{prefix} on {nics}; source address {src}").format(
        vip=sv.vip, prefix=sv.vip_prefix, nics="/".join(sv.vip_nics), src=sv.effective_source))
    for v in sv.extra_vips:
        lines.append(_("VIP         {vip}/{prefix} on {nics} (additional)").format(
            vip=v.address, prefix=v.prefix, nics="/".join(v.nics)))
    lines.append(_("Zabbix      {v} LTS {source}, {tier}, {engine} database {db}").format(
        v=z.version, source=source, tier=z.sizing, engine=z.db_engine, db=z.db_name))
    f = spec.fencing
    fencing = {"ipmi": _("IPMI: {bmcs}").format(bmcs=", ".join(d.address for d in f.ipmi)),
               "sbd": _("SBD on {dev}").format(dev=f.sbd_device),
               "none": _("none (acknowledged)")}.get(f.method, f.method)
    lines.append(_("Fencing     {fencing}").format(fencing=fencing))
    return "\n".join(lines)
