"""What an install would change on a node, as unified diffs: the files, and the cluster configuration.

`zabbix-ha plan` shows these before anything runs on a cluster that exists
(a rerun). Read-only. A file holding a secret is never shown, only said to
differ; the CIB holds none (the IPMI password is read from a 0600 file by a
password_script), so its diff is shown whole: the live configuration against
the one the install would load (ours merged into the live one, as the CIB
step does), both pretty-printed.
"""

from __future__ import annotations

import difflib
import xml.etree.ElementTree as ET

from wizard.install.files import out_of_date
from wizard.install.step import Context

_STAT = 'for f; do if [ -f "$f" ]; then stat -c "%a %U %G" -- "$f"; else echo missing; fi; done'


def _pretty(el: ET.Element) -> list[str]:
    copy = ET.fromstring(ET.tostring(el))
    ET.indent(copy)
    return ET.tostring(copy, encoding="unicode").splitlines(keepends=True)


def file_diffs(ctx: Context) -> list[str]:
    """Diff lines for every rendered file of this node that differs (content, mode or owner)."""
    changed = out_of_date(ctx, list(ctx.tree[ctx.node].values()))
    if not changed:
        return []
    states = ctx.sh(_STAT, *[f.path for f in changed], timeout=60).stdout.splitlines()
    out: list[str] = []
    for rendered, state in zip(changed, states):
        want = f"{rendered.mode:o} {rendered.owner} {rendered.group}"
        if state == "missing":
            out.append(f"+++ {rendered.path}: new file ({want})\n")
            if not rendered.secret:
                out += [f"+{line}" for line in rendered.text.splitlines(keepends=True)]
            continue
        if state != want:
            out.append(f"~~~ {rendered.path}: mode/owner {state} -> {want}\n")
        if rendered.secret:
            out.append(f"~~~ {rendered.path}: holds secrets; whether its content changes is not shown\n")
            continue
        current = ctx.ex.get(rendered.path, timeout=60)
        out += difflib.unified_diff(current.splitlines(keepends=True), rendered.text.splitlines(keepends=True),
                                    f"{ctx.node}:{rendered.path} (now)", f"{ctx.node}:{rendered.path} (install)")
    return [line if line.endswith("\n") else line + "\n" for line in out]


def cib_diff(ctx: Context) -> list[str]:
    """The cluster configuration now against what the CIB step would load; [] when nothing differs
    or there is no cluster yet (then the install loads it whole)."""
    from wizard.install.cib import differences, merged, rendered_configuration

    res = ctx.run(["cibadmin", "--query", "--scope", "configuration"], check=False, timeout=60)
    if not res.ok:
        return []
    live = ET.fromstring(res.stdout)
    new = rendered_configuration(ctx)
    if not differences(live, new):
        return []
    return list(difflib.unified_diff(_pretty(live), _pretty(merged(live, new)), "CIB configuration (now)",
                                     "CIB configuration (install)"))
