"""The lab's local apt repository: the whole Zabbix HA stack, from Debian
(one per platform: bookworm's or trixie's archive).

The nodes have no way out. The host downloads every package of the stack
that the node image lacks (apt resolves against the image's own dpkg status
file, so the set is exactly "what an install on a node will need"), indexes
them as a normal Debian-style repository, and serves it over HTTP on the
lab's management bridge address only. The installer's "local mirror"
package source points at it — the same path an air-gapped site takes.

The repository is not signed: nodes use it with `[trusted=yes]`.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from wizard.lab import daemons, netns
from wizard.lab.image import Image
from wizard.lab.lock import locked
from wizard.lab.network import Layout
from wizard.lab.paths import CACHE_DIR, DEBIAN_MIRROR, WORK_DIR
from wizard.lab.proc import LabError, run, wait_until
from wizard.platforms import Platform

REPO_VERSION = "2"
# Packages only the lab itself needs on its nodes (beside the product's list):
# none today. Add one only with a comment saying why the lab needs it.
LAB_ONLY: tuple[str, ...] = ()


def stack(plat: Platform) -> tuple[str, ...]:
    """Every package the platform's local mirror holds (plus their dependencies):
    what the installer may install, the platform table's list for every answer
    (wizard.platforms), so the mirror and the installer cannot drift apart."""
    packages = plat.all_packages()
    return (*packages, *(p for p in LAB_ONLY if p not in packages))


HTTP_PORTS = (8080, 18080, 28080)
SECURITY_MIRROR = DEBIAN_MIRROR.replace("/debian", "/debian-security")


@dataclass(frozen=True)
class Repo:
    dir: Path

    @property
    def root(self) -> Path:
        """Served as http://<host>:<port>/; the repository itself is under /debian."""
        return self.dir / "www"

    @property
    def debian(self) -> Path:
        """The repository proper (dists/, pool/): what a sources line points at."""
        return self.root / "debian"

    def ready(self) -> bool:
        return (self.dir / "complete").exists()


def repo_hash(plat: Platform, image: Image) -> str:
    h = hashlib.sha256()
    for part in (REPO_VERSION, image.dir.name, plat.codename, DEBIAN_MIRROR, *stack(plat)):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def sources_list(suite: str) -> str:
    # The host's debian-archive-keyring (bookworm's 2023.3+deb12u2) also holds
    # trixie's keys: gpgv checks trixie's and trixie-security's InRelease with it.
    keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
    return (f"deb [signed-by={keyring}] {DEBIAN_MIRROR} {suite} main\n"
            f"deb [signed-by={keyring}] {DEBIAN_MIRROR} {suite}-updates main\n"
            f"deb [signed-by={keyring}] {SECURITY_MIRROR} {suite}-security main\n")


def ensure_repo(plat: Platform, image: Image, log) -> tuple[Repo, float | None]:
    """The platform's local repository over `image` (its base image), built first if missing."""
    repo = Repo(CACHE_DIR / f"repo-{repo_hash(plat, image)}")
    if repo.ready():
        return repo, None
    with locked(CACHE_DIR / ".build.lock", timeout=1800, what="the local repository build"):
        if repo.ready():
            return repo, None
        return repo, _build(repo, plat, image, log)


def _build(repo: Repo, plat: Platform, image: Image, log) -> float:
    suite = plat.codename
    started = time.monotonic()
    tmp = repo.dir.with_name(repo.dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    apt = tmp / "apt"
    pool = tmp / "www/debian/pool/main"
    for d in (apt / "lists/partial", apt / "cache", apt / "state", apt / "parts", pool / "partial"):
        d.mkdir(parents=True)
    (apt / "sources.list").write_text(sources_list(suite))
    # A private apt: own sources, own lists and cache, and the IMAGE's dpkg
    # status, so the host's own package state is neither read nor changed.
    opts = ["-o", f"Dir::Etc::SourceList={apt / 'sources.list'}", "-o", f"Dir::Etc::SourceParts={apt / 'parts'}",
            "-o", f"Dir::State={apt / 'state'}", "-o", f"Dir::State::Lists={apt / 'lists'}",
            "-o", f"Dir::State::status={image.dpkg_status}", "-o", f"Dir::Cache={apt / 'cache'}",
            "-o", f"Dir::Cache::archives={pool}", "-o", "APT::Install-Recommends=false",
            "-o", "APT::Architecture=amd64", "-o", "Debug::NoLocking=1", "-q"]
    packages = stack(plat)
    log(f"building the {suite} local apt repository ({len(packages)} packages + dependencies; one time)")
    run(["apt-get", *opts, "update"], timeout=600)
    run(["apt-get", *opts, "install", "--download-only", "-y", *packages], timeout=1200)
    shutil.rmtree(pool / "partial", ignore_errors=True)
    debs = sorted(pool.glob("*.deb"))
    if len(debs) < len(packages):
        raise LabError(f"the local repository got only {len(debs)} packages", f"see {tmp}; check the Debian mirror")
    www = tmp / "www/debian"
    binary = www / f"dists/{suite}/main/binary-amd64"
    binary.mkdir(parents=True)
    packages = run(["apt-ftparchive", "packages", "pool"], timeout=300, cwd=www).stdout
    (binary / "Packages").write_text(packages)
    with gzip.open(binary / "Packages.gz", "wt") as f:
        f.write(packages)
    release = run(["apt-ftparchive", "-o", f"APT::FTPArchive::Release::Suite={suite}",
                   "-o", f"APT::FTPArchive::Release::Codename={suite}",
                   "-o", "APT::FTPArchive::Release::Components=main",
                   "-o", "APT::FTPArchive::Release::Architectures=amd64",
                   "-o", "APT::FTPArchive::Release::Label=zabbix-ha lab",
                   "release", f"dists/{suite}"], timeout=120, cwd=www).stdout
    (www / f"dists/{suite}/Release").write_text(release)
    shutil.rmtree(apt)
    size = sum(p.stat().st_size for p in debs)
    (tmp / "complete").write_text(f"{len(debs)} packages, {size / 2**20:.0f} MiB\n")
    tmp.rename(repo.dir)
    log(f"local apt repository: {len(debs)} packages, {size / 2**20:.0f} MiB")
    return time.monotonic() - started


def zabbix_ha_command() -> list[str]:
    """How to start zabbix-ha itself: the one-file binary is sys.executable."""
    if getattr(sys, "frozen", False):
        return [sys.executable]
    return [sys.executable, "-m", "wizard"]


def serve(repo: Repo, layout: Layout) -> str:
    """Serve the repository on the lab host address only; returns the mirror URL."""
    address = layout.host_address
    log = WORK_DIR / "httpd.log"
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    for port in HTTP_PORTS:
        if port_open_plain(address, port):
            continue
        # In the lab's namespace: the address is on the lab's management bridge there.
        daemons.start("httpd", netns.host_argv([*zabbix_ha_command(), "lab", "serve-repo", "--bind", address,
                                                "--directory", str(repo.root), str(port)]),
                      marker=str(repo.root), log=log)
        try:
            wait_until(lambda: port_open_plain(address, port) or daemons.pid("httpd") is None,
                       timeout=15, interval=0.2, what="the repository HTTP server")
        except LabError:
            daemons.stop("httpd")
            raise
        if daemons.pid("httpd") is not None:
            return f"http://{address}:{port}/debian"
    raise LabError(f"no free port for the repository server on {address} (tried {HTTP_PORTS})",
                   "stop whatever listens there")


def port_open_plain(address: str, port: int) -> bool:
    """Does something answer on address:port inside the lab's namespace?"""
    import socket

    def probe() -> bool:
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return True
        except OSError:
            return False
    return netns.call_in(probe)


def apt_source_line(url: str, suite: str) -> str:
    return f"deb [trusted=yes] {url} {suite} main\n"
