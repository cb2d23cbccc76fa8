"""Configuration files: every rendered file of the node, replaced only where it differs.

The check reads each target's SHA-256, mode and owner in one command; apply
uploads only the files that differ (temp name + rename, mode and owner set
before the rename). Which files changed in this run is kept for the steps
that must restart a service because of it.
"""

from __future__ import annotations

import hashlib

from wizard.install.step import Context, Step, StepFailed

# Prints "<sha256> <mode> <user> <group>" per path, or "missing".
_STAT_SCRIPT = (
    'for f; do if [ -f "$f" ]; then '
    'printf "%s %s\\n" "$(sha256sum < "$f" | cut -d" " -f1)" "$(stat -c "%a %U %G" -- "$f")"; '
    'else echo missing; fi; done'
)


def out_of_date(ctx: Context, files: list) -> list:
    """The files (RenderedFile) whose content, mode or owner on the node differs: one command for all."""
    res = ctx.sh(_STAT_SCRIPT, *[f.path for f in files], timeout=60)
    lines = res.stdout.splitlines()
    if len(lines) != len(files):
        raise StepFailed(f"on {ctx.node}: could not read the state of the configuration files",
                         "check that the node's root filesystem is readable", res.stderr)
    out = []
    for rendered, line in zip(files, lines):
        want = f"{hashlib.sha256(rendered.text.encode()).hexdigest()} {rendered.mode:o} {rendered.owner} {rendered.group}"
        if line != want:
            out.append(rendered)
    return out


def differing(ctx: Context) -> list:
    """This node's rendered files that differ from what is on it (content, mode or owner)."""
    return out_of_date(ctx, list(ctx.tree[ctx.node].values()))


_DIR_STAT = 'for d; do if [ -d "$d" ]; then stat -c "%a %U %G" -- "$d"; else echo missing; fi; done'


def _differing_dirs(ctx: Context) -> list:
    """Directories the rendered configuration needs that the packages do not ship."""
    from wizard.render import directories

    wanted = directories(ctx.spec)
    lines = ctx.sh(_DIR_STAT, *[d.path for d in wanted]).stdout.splitlines()
    return [d for d, line in zip(wanted, lines) if line != f"{d.mode:o} {d.owner} {d.group}"]


def _in_place(ctx: Context) -> bool:
    return not differing(ctx) and not _differing_dirs(ctx)


def _write(ctx: Context) -> str:
    made = _differing_dirs(ctx)
    for d in made:
        ctx.run(["install", "-d", "-m", f"{d.mode:o}", "-o", d.owner, "-g", d.group, "--", d.path])
    changed = differing(ctx)
    dirs = sorted({f.path.rsplit("/", 1)[0] for f in changed})
    if dirs:
        ctx.run(["mkdir", "-p", "--", *dirs])
    for rendered in changed:
        ctx.ex.put(rendered.path, rendered.text, rendered.mode, f"{rendered.owner}:{rendered.group}")
    with ctx.shared.lock:
        ctx.shared.runtime.setdefault("changed_files", {}).setdefault(ctx.node, set()).update(f.kind for f in changed)
    return "wrote " + ", ".join([f.path for f in changed] + [f"{d.path}/" for d in made])


def changed_kinds(ctx: Context) -> set[str]:
    """Kinds of files this run replaced on this node (e.g. "zabbix-agent")."""
    with ctx.shared.lock:
        return set(ctx.shared.runtime.get("changed_files", {}).get(ctx.node, set()))


def _mount_point_exists(ctx: Context) -> bool:
    return ctx.ok(["test", "-d", ctx.spec.storage.mount_point])


def _make_mount_point(ctx: Context) -> str:
    ctx.run(["mkdir", "-p", "-m", "0755", "--", ctx.spec.storage.mount_point])
    return f"created {ctx.spec.storage.mount_point}"


SITE = "zabbix-ha"


def _site_enabled(ctx: Context) -> bool:
    return (ctx.ok(["test", "-e", f"/etc/apache2/sites-enabled/{SITE}.conf"])
            and not ctx.ok(["test", "-e", "/etc/apache2/sites-enabled/000-default.conf"])
            and ctx.ok(["test", "-e", "/etc/apache2/mods-enabled/status.load"]))


def _enable_site(ctx: Context) -> str:
    ctx.run(["a2enmod", "-q", "status"])
    ctx.run(["a2dissite", "-q", "000-default"], check=False)
    ctx.run(["a2ensite", "-q", SITE])
    return f"enabled the {SITE} site and mod_status, disabled 000-default"


def _verify_apache(ctx: Context) -> None:
    res = ctx.run(["apache2ctl", "-t"], check=False)
    if not res.ok:
        raise StepFailed(f"on {ctx.node}: apache2ctl -t rejects the configuration",
                         "read the error; the site file is /etc/apache2/sites-available/zabbix-ha.conf",
                         res.stderr[-800:])


def steps(nodes: list[str]) -> list[Step]:
    out = []
    for node in nodes:
        out += [
            Step(node, "files.write", "Configuration files", check=_in_place, apply=_write,
                 after=("packages.install",)),
            Step(node, "files.mount-point", "DRBD mount point", check=_mount_point_exists, apply=_make_mount_point),
            Step(node, "web.site", "Apache site for the frontend", check=_site_enabled, apply=_enable_site,
                 verify=_verify_apache, after=("files.write",)),
        ]
    return out
