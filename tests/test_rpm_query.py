"""parse_rpm_query on what a real rpm prints for wizard.preflight.facts.package_command("rhel", ...).

No RHEL machine can be run here, so the real tool is Debian's rpm (4.18,
RHEL 9 ships 4.16; the --qf format language is the same): tiny noarch
packages named and versioned like RHEL 9's are built with rpmbuild and
recorded in a throwaway rpm database under the test's temp dir (--justdb:
no files are installed, the host's rpm database is not touched; HOME points
into the temp dir too, since Debian's rpm keeps its default database in
~/.rpmdb). Then the exact argv of package_command runs, with only
`--dbpath DB` added after "rpm".

rpm and rpmbuild come from Debian's `rpm` package (.ci/packages/preflight.txt).
Without them these tests fail rather than skip: a missing tool is a broken
CI setup, not a reason to test nothing.

    python -m tests.test_rpm_query OUT.json     # re-capture the fixture
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from wizard.preflight import parse as fp
from wizard.preflight.facts import package_command

FIXTURE = Path(__file__).parent / "data" / "facts" / "rhel-family" / "rpm-query.json"

# (name, epoch, version, release): as RHEL 9 versions them; mariadb-server
# carries an epoch there (3:), to see what the query format prints for it.
PACKAGES = [
    ("corosync", None, "3.1.7", "1.el9"),
    ("pacemaker", None, "2.1.7", "5.el9"),
    ("mariadb-server", 3, "10.5.22", "1.el9_2"),
]
QUERIED = ["corosync", "pacemaker", "pcs", "mariadb-server"]     # pcs: not installed
TIMEOUT = 120

SPEC = """\
Name: {name}
{epoch}Version: {version}
Release: {release}
Summary: zabbix-ha test package
License: MIT
BuildArch: noarch

%description
Empty package built by tests/test_rpm_query.py.

%files
"""


def _tools() -> tuple[str, str]:
    rpm, rpmbuild = shutil.which("rpm"), shutil.which("rpmbuild")
    if not (rpm and rpmbuild):
        pytest.fail("rpm and rpmbuild are missing: install Debian's `rpm` package "
                    "(listed in .ci/packages/preflight.txt; test.sh installs it)", pytrace=False)
    return rpm, rpmbuild


def _run(argv: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=TIMEOUT, **kw)


def make_rpmdb(base: Path) -> Path:
    """Build PACKAGES and record them in a new rpm database under base; return its path."""
    rpm, rpmbuild = _tools()
    base = base.resolve()
    env = {**os.environ, "HOME": str(base), "LC_ALL": "C", "TMPDIR": str(base / "tmp")}
    (base / "tmp").mkdir(parents=True, exist_ok=True)
    top, db = base / "rpmbuild", base / "db"
    defines = ["--define", f"_topdir {top}", "--define", f"_tmppath {base / 'tmp'}",
               "--define", f"_dbpath {base / 'builddb'}"]
    (top / "SPECS").mkdir(parents=True)
    for name, epoch, version, release in PACKAGES:
        spec = top / "SPECS" / f"{name}.spec"
        spec.write_text(SPEC.format(name=name, epoch=f"Epoch: {epoch}\n" if epoch is not None else "",
                                    version=version, release=release))
        r = _run([rpmbuild, *defines, "-bb", str(spec)], env)
        assert r.returncode == 0, f"rpmbuild {name} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    built = sorted((top / "RPMS" / "noarch").glob("*.rpm"))
    assert [p.name for p in built] == sorted(f"{n}-{v}-{r}.noarch.rpm" for n, _, v, r in PACKAGES)
    r = _run([rpm, "--dbpath", str(db), "--initdb"], env)
    assert r.returncode == 0, r.stderr
    r = _run([rpm, "--dbpath", str(db), "-i", "--nodeps", "--justdb", *map(str, built)], env)
    assert r.returncode == 0, r.stderr
    return db


def query(db: Path, packages: list[str]) -> tuple[list[str], subprocess.CompletedProcess]:
    """package_command's argv, with `--dbpath DB` right after "rpm"; run against db."""
    argv = package_command("rhel", packages)
    assert argv[0] == "rpm"
    argv = [argv[0], "--dbpath", str(db), *argv[1:]]
    env = {**os.environ, "HOME": str(db.parent), "LC_ALL": "C"}
    return argv, _run(argv, env)


@pytest.fixture(scope="module")
def rpmdb(tmp_path_factory) -> Path:
    return make_rpmdb(tmp_path_factory.mktemp("rpmdb"))


def test_query_lists_installed_packages_and_leaves_out_missing_ones(rpmdb):
    argv, r = query(rpmdb, QUERIED)
    # rpm exits 1 when any name is not installed, and says so on stdout, not stderr.
    assert r.returncode == 1
    assert r.stderr == ""
    assert "package pcs is not installed" in r.stdout.splitlines()
    assert fp.parse_rpm_query(r.stdout) == {
        "corosync": "3.1.7-1.el9",
        "pacemaker": "2.1.7-5.el9",
        # The epoch is printed where there is one, as dpkg-query prints it.
        "mariadb-server": "3:10.5.22-1.el9_2",
    }


def test_query_with_nothing_installed(rpmdb):
    _, r = query(rpmdb, ["pcs", "zabbix-server-mysql"])
    assert r.returncode == 2                      # rpm: exit code = number of names not found
    assert fp.parse_rpm_query(r.stdout) == {}


def test_fixture_is_what_rpm_prints_now(rpmdb):
    """The stored capture (tests/data/facts/rhel-family/rpm-query.json) still matches a fresh run."""
    data = json.loads(FIXTURE.read_text())
    argv, r = query(rpmdb, QUERIED)
    assert data["key"] == "packages"
    i = data["argv"].index("--dbpath")
    assert data["argv"][:i] + data["argv"][i + 2:] == package_command("rhel", QUERIED)
    assert (data["rc"], data["stdout"], data["stderr"]) == (r.returncode, r.stdout, r.stderr)


def capture(out: Path) -> None:
    import tempfile
    import time

    with tempfile.TemporaryDirectory(prefix="zabbix-ha-rpmdb-") as tmp:
        db = make_rpmdb(Path(tmp))
        before = time.time()
        argv, r = query(db, QUERIED)
        after = time.time()
    data = {"key": "packages", "argv": argv, "rc": r.returncode, "stdout": r.stdout, "stderr": r.stderr,
            "before": before, "after": after}
    out.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    capture(Path(sys.argv[1]))
