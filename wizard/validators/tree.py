"""Where the validators' tools run: this machine, or a platform's root tree.

A file rendered for Debian 13 must be checked by Debian 13's tools (a check
by bookworm's crm_verify or zabbix_server 6.0 is not a check of what trixie
will read). The CI machine is Debian 12, so there:

  debian12  the host's own tools (`Host`), as before (any platform the host
            itself runs, read from /etc/os-release, uses the host's tools);
  debian13  trixie's tools in a cached root tree (`Tree`), each call run with
            `systemd-nspawn -q -D TREE --read-only --private-network ...`
            (no boot: the tool is the container's only process). The
            validator's temporary directory (zbxha-*) is bind-mounted at the
            same path, so argument paths, included files and env values mean
            the same inside and out.

The tree ("validator image") is built once with debootstrap from
deb.debian.org plus the packages that carry the validators, and cached in a
directory named by a hash of the recipe (like the lab's node images, see
wizard/lab/image.py) but in a cache directory of its own with a lock of its
own: building it never waits for, or blocks, a lab run. A policy-rc.d that
denies every start stays in the tree (it never boots; no service may start
while packages are installed).

A platform whose tree is missing gives `TreeMissing` (with the command that
builds it); the checkers turn that into failed verdicts. There is never a
fall-back to the host's tools.

    python3 -m wizard.validators tree build debian13     # build (or reuse) the tree
    python3 -m wizard.validators tree path debian13      # print its directory
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import functools
import hashlib
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .core import REQUIRED_TOOLS, Result, find_tool as host_find_tool, run as host_run

# Own cache directory (not the lab's, whose lock a running lab holds).
CACHE_DIR = Path(os.environ.get("ZHA_VALIDATOR_CACHE", "/var/cache/zabbix-ha-validators"))
DEBIAN_MIRROR = os.environ.get("ZHA_VALIDATOR_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SECURITY_MIRROR = os.environ.get("ZHA_VALIDATOR_SECURITY_MIRROR", "http://deb.debian.org/debian-security")
BUILD_COMMAND = "python3 -m wizard.validators tree build {platform}"
RECIPE_VERSION = "1"
POLICY_RC_D = "#!/bin/sh\n# zabbix-ha validator tree: nothing starts here\nexit 101\n"
# Where the tools live inside the tree (DRBD's 8.4 helpers in /lib/drbd).
TREE_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin",
             "/lib/drbd", "/usr/lib/drbd")
# Packages beyond what a node runs (platform table) and the tools' own
# packages (REQUIRED_TOOLS). Not the kernel: nothing boots the tree (its
# version and in-tree DRBD module are measured with `apt-get download`).
EXTRA_PACKAGES: tuple[str, ...] = ()
OS_RELEASE = Path("/etc/os-release")
# A validator's temporary directory, anywhere in an argument ("--defaults-file=/tmp/zbxha-x/f").
_SCRATCH = re.compile(r"(?<![\w/])(" + re.escape(tempfile.gettempdir().rstrip("/")) + r"/zbxha-[^/\s:=]+)")


_NSPAWN_NOISE = re.compile(r'^Attempted to remove disk file system under "/run/systemd/nspawn/propagate/[^"]*", '
                           r"and we can't allow that\.\n?", re.M)


class TreeMissing(Exception):
    """The platform's tool tree is not built; the message says how to build it."""


# ---- where a tool runs ----------------------------------------------------------

@dataclass(frozen=True)
class Host:
    """This machine's own tools."""
    platform: str = "debian12"

    @property
    def label(self) -> str:
        return "host"

    def find(self, name: str) -> str | None:
        return host_find_tool(name)

    def run(self, argv: list[str], *, env: dict[str, str] | None = None, cwd: str | None = None,
            timeout: float = 30.0, stdin: str | None = None) -> Result:
        return host_run(argv, env=env, cwd=cwd, timeout=timeout, stdin=stdin)

    def file(self, path: str) -> Path:
        """A file of the tools' system (e.g. /etc/default/sbd as the package ships it)."""
        return Path(path)


@dataclass(frozen=True)
class Tree:
    """A platform's tools in a root tree, each run under systemd-nspawn."""
    platform: str
    root: Path

    @property
    def label(self) -> str:
        return f"{self.platform} tree"

    def find(self, name: str) -> str | None:
        """The tool's path INSIDE the tree (what nspawn runs)."""
        for d in TREE_PATH:
            p = self.root / d.lstrip("/") / name
            if os.path.lexists(p) and (p.is_symlink() or os.access(p, os.X_OK)):
                return f"{d}/{name}"
        return None

    def file(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def run(self, argv: list[str], *, env: dict[str, str] | None = None, cwd: str | None = None,
            timeout: float = 30.0, stdin: str | None = None) -> Result:
        nspawn = host_find_tool("systemd-nspawn")
        if nspawn is None:
            return Result(127, "", "systemd-nspawn is not installed (Debian package systemd-container): "
                                   f"the {self.platform} tools cannot run", 0.0)
        full_env = {"LC_ALL": "C", "PATH": ":".join(TREE_PATH), **(env or {})}
        binds = sorted({m.group(1) for value in (*argv, *full_env.values(), cwd or "")
                        for m in _SCRATCH.finditer(value) if os.path.isdir(m.group(1))})
        # --read-only: a shared lock on the tree, so checks run in parallel and
        # none can change it; --register=no --keep-unit: no machined/scope per
        # call (and no name clash between parallel calls); the hostname is set
        # by the checks that pretend to be a node (unshare --uts), as on the host.
        # A machine name per call: nspawn keeps per-name state (its mount
        # propagation directory), which parallel calls must not share.
        cmd = [nspawn, "-q", "-D", str(self.root), "--read-only", "--private-network",
               f"--machine=zha-validator-{secrets.token_hex(6)}", "--register=no", "--keep-unit", "--console=pipe", "--as-pid2",
               "--hostname=zha-validator", "--resolv-conf=off", "--timezone=off", "--link-journal=no",
               # writable where a booted node has it: crmsh opens /var/log/crmsh/crmsh.log,
               # apache2ctl makes its lock dir under /var/lock (-> /run/lock, from tmpfiles.d)
               "--tmpfs=/var/log", "--tmpfs=/run/lock",
               *(f"--bind={b}" for b in binds),
               *(f"--setenv={k}={v}" for k, v in full_env.items())]
        if cwd:
            cmd.append(f"--chdir={cwd}")
        res = host_run([*cmd, "--", *argv], timeout=timeout, stdin=stdin)
        # nspawn's own notice when it cleans up after a read-only tree
        return dataclasses.replace(res, stderr=_NSPAWN_NOISE.sub("", res.stderr))


def host_platform() -> str | None:
    """The platform this machine itself runs (os-release ID and codename), if one."""
    from wizard.platforms import PLATFORMS

    try:
        fields = dict(line.split("=", 1) for line in OS_RELEASE.read_text().splitlines() if "=" in line)
    except OSError:
        return None
    os_id, codename = fields.get("ID", "").strip('"'), fields.get("VERSION_CODENAME", "").strip('"')
    return next((p.id for p in PLATFORMS.values()
                 if p.id.startswith(os_id) and p.codename and p.codename == codename), None)


@functools.lru_cache(maxsize=None)
def tools_for(platform_id: str) -> Host | Tree:
    """The host's tools when the host runs that release (CI: Debian 12); the
    platform's cached tree otherwise (CI: Debian 13).

    Raises TreeMissing when the platform's tree is not built.
    """
    if platform_id == host_platform():
        return Host(platform_id)
    image = current(platform_id)
    if not image.ready():
        raise TreeMissing(f"the {platform_id} validator tree ({image.dir}) is not built, so the "
                          f"{platform_id} files cannot be checked by {platform_id}'s tools; build it "
                          f"(root, network to {DEBIAN_MIRROR}; ~2-5 min, about 1 GB): "
                          f"{BUILD_COMMAND.format(platform=platform_id)}")
    return Tree(platform_id, image.rootfs)


# ---- the tree ------------------------------------------------------------------

@dataclass(frozen=True)
class TreeImage:
    dir: Path

    @property
    def rootfs(self) -> Path:
        return self.dir / "rootfs"

    def ready(self) -> bool:
        return (self.dir / "complete").exists()


def packages(platform_id: str) -> tuple[str, ...]:
    """Every package the tree holds: what a node of the platform may run
    (the platform table) plus every validator tool's package, so neither can
    drift from the tree."""
    from wizard.platforms import platform

    profile = platform(platform_id)
    tool_packages = [profile.tool_packages.get(tool, pkg) for tool, pkg in REQUIRED_TOOLS.items()]
    out: list[str] = []
    for p in (*profile.all_packages(), *tool_packages, *EXTRA_PACKAGES):
        if p not in out:
            out.append(p)
    return tuple(out)


def _sources(codename: str) -> str:
    return (f"deb {DEBIAN_MIRROR} {codename} main\n"
            f"deb {DEBIAN_MIRROR} {codename}-updates main\n"
            f"deb {SECURITY_MIRROR} {codename}-security main\n")


def recipe_hash(platform_id: str) -> str:
    from wizard.platforms import platform

    h = hashlib.sha256()
    for part in (RECIPE_VERSION, platform(platform_id).codename, DEBIAN_MIRROR, POLICY_RC_D,
                 _sources(platform(platform_id).codename), *packages(platform_id)):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def current(platform_id: str) -> TreeImage:
    return TreeImage(CACHE_DIR / f"{platform_id}-{recipe_hash(platform_id)}")


def ensure(platform_id: str, log=print) -> tuple[TreeImage, float | None]:
    """The platform's tree, built first when missing: (tree, build seconds or None)."""
    image = current(platform_id)
    if image.ready():
        return image, None
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    fd = os.open(CACHE_DIR / ".build.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + 3600
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"another build holds {CACHE_DIR / '.build.lock'} for over an hour")
                time.sleep(2)
        if image.ready():
            return image, None
        secs = _build(platform_id, image, log)
        tools_for.cache_clear()
        return image, secs
    finally:
        os.close(fd)


def _step(argv: list[str], logf, timeout: float) -> None:
    logf.write("$ " + " ".join(argv) + "\n")
    logf.flush()
    proc = subprocess.run(argv, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                          timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:6])} ... failed (exit {proc.returncode}); log: {logf.name}")


def _build(platform_id: str, image: TreeImage, log) -> float:
    from wizard.platforms import platform

    if os.geteuid() != 0:
        raise RuntimeError("building a validator tree needs root (debootstrap, chroot)")
    for tool in ("debootstrap", "systemd-nspawn"):
        if host_find_tool(tool) is None:
            raise RuntimeError(f"{tool} is not installed (Debian packages debootstrap, systemd-container)")
    codename = platform(platform_id).codename
    started = time.monotonic()
    tmp = image.dir.with_name(image.dir.name + ".tmp")
    if tmp.exists():
        _refuse_mounts_under(tmp)
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    root = tmp / "rootfs"
    pkgs = packages(platform_id)
    log(f"building the {platform_id} validator tree {image.dir} ({len(pkgs)} packages; one time)")
    with open(tmp / "build.log", "w") as logf:
        _step(["debootstrap", "--variant=minbase", codename, str(root), DEBIAN_MIRROR], logf, 1800)
        policy = root / "usr/sbin/policy-rc.d"
        policy.write_text(POLICY_RC_D)
        policy.chmod(0o755)
        (root / "etc/apt/sources.list").write_text(_sources(codename))
        # apt runs in the tree under nspawn (its own /proc, /dev; the host's
        # network for the downloads only: deb.debian.org).
        nspawn = ["systemd-nspawn", "-q", "-D", str(root), "--register=no", "--keep-unit",
                  "--console=pipe", "--as-pid2", "--resolv-conf=copy-host", "--link-journal=no",
                  "--setenv=DEBIAN_FRONTEND=noninteractive", "--setenv=LC_ALL=C",
                  "--setenv=PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
        _step([*nspawn, "apt-get", "update", "-q"], logf, 600)
        # nspawn mounts an empty tmpfs on /run, so /var/lock (-> /run/lock)
        # dangles and dpkg refuses drbd-utils, which ships ./var/lock/
        # ("trying to overwrite '/var/lock'"); a booted system has it from
        # tmpfiles.d: make it first, as that would.
        _step([*nspawn, "/bin/sh", "-c", 'mkdir -p -m 1777 /run/lock && exec "$@"', "sh",
               "apt-get", "install", "-y", "-q", "--no-install-recommends",
               "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
               *pkgs], logf, 3600)
        _step([*nspawn, "apt-get", "clean"], logf, 120)
        _step([*nspawn, "dpkg-query", "-W", "-f", "${Package} ${Version}\\n"], logf, 60)
    shutil.copy2(root / "var/lib/dpkg/status", tmp / "dpkg-status")
    secs = time.monotonic() - started
    (tmp / "complete").write_text(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} built in {secs:.0f} s\n")
    tmp.rename(image.dir)
    log(f"built {image.dir} in {secs:.0f} s")
    return secs


def _refuse_mounts_under(path: Path) -> None:
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split()[4] for line in f if line.split()[4].startswith(str(path) + "/")]
    if mounts:
        raise RuntimeError(f"still mounted under {path}: {', '.join(mounts)}; unmount them, then retry")


def installed_versions(image: TreeImage) -> dict[str, str]:
    """Package -> version, from the tree's dpkg status."""
    out: dict[str, str] = {}
    pkg = None
    for line in (image.dir / "dpkg-status").read_text().splitlines():
        if line.startswith("Package: "):
            pkg = line.split(": ", 1)[1]
        elif line.startswith("Version: ") and pkg:
            out[pkg] = line.split(": ", 1)[1]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m wizard.validators tree",
                                      description="Build or locate a platform's validator tree.")
    parser.add_argument("action", choices=("build", "path", "packages"))
    parser.add_argument("platform")
    args = parser.parse_args(argv)
    if args.platform == host_platform():
        print(f"{args.platform}: this machine runs it; its own tools are used, no tree", file=sys.stderr)
        return 0
    if args.action == "packages":
        print(" ".join(packages(args.platform)))
        return 0
    if args.action == "path":
        image = current(args.platform)
        print(image.dir)
        return 0 if image.ready() else 1
    try:
        image, secs = ensure(args.platform)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(image.dir if secs is None else f"{image.dir} (built in {secs:.0f} s)")
    return 0
