"""Make the simulated status fixtures: real Pacemaker tool output on a simulated cluster.

    python -m tests.data.status.simulate DIR

Renders the CIB of examples/two-node.yaml (IPMI fencing) with zabbix-ha's own
templates, brings both nodes up with `crm_simulate` (the DRBD promotion score
injected as the linbit agent would set it), then makes each scenario with
Pacemaker's own tools on the file (crm_resource --move/--ban, crm_standby,
crm_attribute, an injected monitor failure) and saves what the status
command reads: `crm_mon -1 --output-as=xml` and `cibadmin --query --scope
constraints`, run with CIB_file. Nothing here is hand-written XML.
The outputs are checked in under simulated/ (see SOURCE); the tests run this
again against the installed Pacemaker and compare.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
NODES = ("zbx-node1", "zbx-node2")
TIMEOUT = 60


def _run(argv: list[str], cib: Path | None = None) -> str:
    env = {**os.environ, "LC_ALL": "C"}
    if cib is not None:
        env["CIB_file"] = str(cib)
    res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=TIMEOUT)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {res.returncode}: {res.stderr.strip()}")
    return res.stdout


def rendered_cib(fencing: str = "ipmi") -> str:
    sys.path.insert(0, str(ROOT))
    from wizard.answers import load_answers
    from wizard.render import render
    from wizard.spec import NO_FENCING_ACKNOWLEDGEMENT, Secret, Secrets

    spec = load_answers(str(ROOT / "examples" / "two-node.yaml"))
    if fencing == "none":
        spec.fencing.method = "none"
        spec.fencing.acknowledgement = NO_FENCING_ACKNOWLEDGEMENT
    dummy = Secret("not-a-real-password")
    secrets = Secrets(db_password=dummy, hacluster_password=dummy, zabbix_admin_password=dummy,
                      ipmi={n: dummy for n in NODES})
    tree = render(spec, secrets)
    return next(f.text for f in tree[NODES[0]].values() if f.kind == "cib")


def running(work: Path, fencing: str, cib_text: str | None = None) -> Path:
    """Both nodes up, DRBD promoted on the first, everything started; the first node is the DC.
    The CIB is the example's rendered one unless `cib_text` gives another."""
    cib = work / f"cib-{fencing}.xml"
    cib.write_text(cib_text if cib_text is not None else rendered_cib(fencing))
    online, out = work / f"online-{fencing}.xml", work / f"running-{fencing}.xml"
    _run(["crm_simulate", "-x", str(cib), "-S", "-q", "1", *sum((["--node-up", n] for n in NODES), []),
          "-O", str(online)])
    for n in NODES:
        _run(["crm_attribute", "-N", n, "-n", "master-drbd-r0", "-v", "10000", "-l", "reboot"], online)
    _run(["crm_simulate", "-x", str(online), "-S", "-O", str(out)])
    # A live CIB names its DC (dc-uuid); crm_mon reads the DC and quorum from it.
    text = out.read_text()
    out.write_text(re.sub(r"<cib ", '<cib dc-uuid="1" ', text, count=1))
    return out


def scenarios(work: Path) -> dict[str, Path]:
    """name -> CIB file of that state."""
    base = running(work, "ipmi")
    out = {"healthy": base, "healthy-nofencing": running(work, "none")}

    def copy(name: str) -> Path:
        path = work / f"{name}.xml"
        path.write_text(base.read_text())
        out[name] = path
        return path

    _run(["crm_resource", "--move", "-r", "zabbix", "-N", NODES[1]], copy("moved"))
    sim = work / "moved-run.xml"
    _run(["crm_simulate", "-x", str(out["moved"]), "-S", "-O", str(sim)])
    out["moved"] = sim
    _run(["crm_resource", "--ban", "-r", "zabbix", "-N", NODES[0]], copy("banned"))
    # What drbd-utils' crm-fence-peer.sh places on zbx-node1 when it loses its peer while the peer's
    # disk is not UpToDate (its template, /usr/lib/drbd/crm-fence-peer.sh, id_prefix
    # "drbd-fence-by-handler-r0"), placed with cibadmin as the script does.
    rid, clone = "drbd-fence-by-handler-r0", "drbd-r0-clone"
    _run(["cibadmin", "--create", "--scope", "constraints", "--xml-text",
          f'<rsc_location rsc="{clone}" id="{rid}-{clone}">'
          f'<rule role="Master" score="-INFINITY" id="{rid}-rule-{clone}">'
          f'<expression attribute="#uname" operation="ne" value="{NODES[0]}" id="{rid}-expr-{clone}"/>'
          "</rule></rsc_location>"], copy("drbd-fenced"))
    _run(["crm_standby", "-N", NODES[1], "-v", "on"], copy("standby"))
    _run(["crm_attribute", "-N", NODES[1], "-n", "maintenance", "-v", "true"], copy("node-maintenance"))
    _run(["crm_attribute", "-n", "maintenance-mode", "-v", "true"], copy("cluster-maintenance"))
    failed = work / "failed-action.xml"
    _run(["crm_simulate", "-x", str(base), "-S", "-i", "zabbix-db_monitor_20000@zbx-node1=7", "-O", str(failed)])
    out["failed-action"] = failed
    down = work / "node2-down.xml"
    _run(["crm_simulate", "-x", str(base), "-S", "--node-down", NODES[1], "-O", str(down)])
    out["node2-down"] = down
    return out


def capture(directory: Path, work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    for name, cib in scenarios(work).items():
        d = directory / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "crm_mon.xml").write_text(_run(["crm_mon", "-1", "--output-as=xml"], cib))
        (d / "constraints.xml").write_text(_run(["cibadmin", "--query", "--scope", "constraints"], cib))


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        capture(Path(sys.argv[1]), Path(tmp))
