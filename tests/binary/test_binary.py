"""The one-file binary does what the source tree does, using only itself."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from tests.binary.conftest import SIZE_GOAL_MB, ROOT, binary_env, report, run_binary, run_source
from wizard import __version__
from wizard.answers import save_secrets

pytestmark = pytest.mark.binary

PACKAGES = ("wizard", "screens", "templates")


def tree(root: Path) -> dict[str, tuple[bytes, int]]:
    """relative path -> (content, mode) of every file under root."""
    return {str(p.relative_to(root)): (p.read_bytes(), stat.S_IMODE(p.stat().st_mode))
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_size_within_goal(binary):
    assert binary.size_mb <= SIZE_GOAL_MB


def test_bundle_holds_every_module_and_resource_and_no_test_tools(binary):
    from PyInstaller.archive.readers import CArchiveReader

    archive = CArchiveReader(str(binary.path))
    modules = set(archive.open_embedded_archive("PYZ.pyz").toc)
    files = set(archive.toc)
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*"):
            rel = path.relative_to(ROOT)
            if "__pycache__" in rel.parts or not path.is_file():
                continue
            if path.suffix == ".py":
                parts = rel.with_suffix("").parts
                name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
                assert name in modules, f"module {name} is not in the binary"
            elif path.suffix in (".j2", ".tcss", ".mo"):
                assert str(rel) in files, f"{rel} is not in the binary"
    assert "examples/two-node.yaml" in files
    for unwanted in ("pytest", "_pytest", "PyInstaller", "pip", "setuptools", "tkinter", "syrupy"):
        assert not any(m == unwanted or m.startswith(unwanted + ".") for m in modules), unwanted


# Debian 12, the oldest supported target, has glibc 2.36. A binary built on a
# newer system would ask for symbols Debian 12 does not have.
GLIBC_FLOOR = (2, 36)


def test_needs_no_glibc_newer_than_debian_12(binary, tmp_path):
    import re
    import subprocess

    from PyInstaller.archive.readers import CArchiveReader

    archive = CArchiveReader(str(binary.path))
    elves = [binary.path]
    for name, entry in archive.toc.items():
        if entry[-1] == "b":                      # shared libraries and extension modules
            target = tmp_path / "elf" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.extract(name))
            elves.append(target)
    needed: dict[tuple[int, ...], set[str]] = {}
    for elf in elves:
        symbols = subprocess.run(["objdump", "-T", str(elf)], capture_output=True, text=True, check=True).stdout
        for version in set(re.findall(r"GLIBC_(\d+(?:\.\d+)+)", symbols)):
            needed.setdefault(tuple(int(x) for x in version.split(".")), set()).add(elf.name)
    newest = max(needed)
    report(f"newest glibc symbol the binary needs: {'.'.join(map(str, newest))} ({', '.join(sorted(needed[newest]))})")
    assert newest <= GLIBC_FLOOR, needed[newest]


def test_version(binary, workdir):
    result = run_binary(binary, "--version", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"zabbix-ha {__version__}"


def test_help_lists_the_same_subcommands_as_the_source_tree(binary, workdir):
    """Every module of COMMAND_MODULES made it into the binary (a missing one
    would be skipped silently by the CLI, as a subsystem not built yet)."""
    frozen = run_binary(binary, "--help", cwd=workdir)
    source = run_source("--help")
    assert frozen.returncode == source.returncode == 0, frozen.stderr
    assert frozen.stdout == source.stdout


@pytest.mark.parametrize("with_secrets", [False, True], ids=["answers", "answers+secrets"])
def test_render_matches_the_source_tree_byte_for_byte(binary, workdir, tmp_path, secrets, with_secrets):
    answers = workdir / "two-node.yaml"
    extra = []
    if with_secrets:
        secrets_file = workdir / "two-node.secrets.yaml"
        save_secrets(secrets, secrets_file)
        extra = ["--secrets", secrets_file]
    frozen = run_binary(binary, "render", "--answers", answers, *extra, "--out", tmp_path / "frozen", cwd=workdir)
    source = run_source("render", "--answers", answers, *extra, "--out", tmp_path / "source")
    assert frozen.returncode == source.returncode == 0, frozen.stderr
    assert frozen.stdout.replace("frozen", "source") == source.stdout
    assert frozen.stderr == source.stderr
    got, want = tree(tmp_path / "frozen"), tree(tmp_path / "source")
    assert sorted(got) == sorted(want)
    assert len(got) >= 16
    for path in want:
        assert got[path] == want[path], f"{path} differs from the source-tree render"


@pytest.mark.validators
def test_validate_checks_every_file_like_the_source_tree(binary, workdir):
    frozen = run_binary(binary, "validate", "--answers", "two-node.yaml", cwd=workdir)
    source = run_source("validate", "--answers", workdir / "two-node.yaml")
    assert frozen.returncode == 0, frozen.stdout + frozen.stderr
    assert frozen.stdout == source.stdout
    assert frozen.stdout.rstrip().endswith(" 0 invalid or unchecked")
    assert "Traceback" not in frozen.stderr


@pytest.mark.parametrize("library_path", ["/nonexistent/zha-lib", None], ids=["set", "unset"])
def test_tools_run_with_the_callers_library_path(binary, workdir, tmp_path, library_path):
    """The one-file bootloader points LD_LIBRARY_PATH at its unpacked bundle;
    the tools the binary runs (drbdadm, mariadbd, ssh, ...) must load the
    machine's own libraries instead, and see none of the bootloader's _PYI_*
    variables (build.spec's runtime hook)."""
    fakes = tmp_path / "fakes"
    fakes.mkdir()
    seen = tmp_path / "env.txt"
    fake = fakes / "drbdadm"
    fake.write_text(f"#!/bin/sh\necho \"LD_LIBRARY_PATH=${{LD_LIBRARY_PATH-<unset>}}\" >> {seen}\n"
                    f"env | grep '^_PYI_' >> {seen}\n")
    fake.chmod(0o755)
    env = binary_env(PATH=f"{fakes}{os.pathsep}{binary_env()['PATH']}")
    if library_path:
        env["LD_LIBRARY_PATH"] = library_path
    run_binary(binary, "validate", "--answers", "two-node.yaml", cwd=workdir, env=env)
    lines = set(seen.read_text().splitlines())
    assert lines == {f"LD_LIBRARY_PATH={library_path or '<unset>'}"}


BROKEN = {
    "duplicate-address": (lambda text: text.replace("address: 192.168.10.12", "address: 192.168.10.11"),
                          "nodes[1].address"),
    "unknown-key": (lambda text: text.replace("  sizing: small", "  sizeing: small"),
                    "zabbix.sizeing: unknown key 'sizeing'"),
    "not-yaml": (lambda text: text + "\nnodes: [unclosed\n", "not valid YAML at line"),
}


@pytest.mark.parametrize("command", ["render", "validate"])
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_answers_exit_2_naming_the_field_without_traceback(binary, workdir, case, command):
    change, expected = BROKEN[case]
    bad = workdir / "bad.yaml"
    text = (workdir / "two-node.yaml").read_text()
    bad.write_text(change(text))
    assert bad.read_text() != text
    extra = ["--out", workdir / "out"] if command == "render" else []
    result = run_binary(binary, command, "--answers", bad, *extra, cwd=workdir)
    assert result.returncode == 2, result.stdout + result.stderr
    assert expected in result.stderr and "fix" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (workdir / "out").exists()


def test_version_time_reported(binary, workdir):
    """Every run unpacks the bundle first; benchmarks/binary.py measures properly."""
    times = []
    for _ in range(3):
        started = time.monotonic()
        assert run_binary(binary, "--version", cwd=workdir).returncode == 0
        times.append(time.monotonic() - started)
    report(f"zabbix-ha --version: {min(times):.2f} s (best of 3)")
