"""The directory `zabbix-ha render --out DIR` writes into, and owns.

The first render wants a new or empty directory and leaves a manifest there
(MANIFEST_NAME: the relative path of every file it wrote, and the version).
A later render into the same directory overwrites its files, removes those
it no longer renders (a fencing change drops the IPMI password files, a
renamed DRBD resource drops the old .res) and the directories that left
empty. Anything not in the manifest (a note the person put there) is never
touched. A non-empty directory without the manifest is refused: those files
are not ours to overwrite, and mixing them with ours would make the tree lie.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from wizard import __version__
from wizard.errors import UserError

MANIFEST_NAME = ".zabbix-ha-render.json"
WRITTEN_BY = "zabbix-ha render"
# A manifest lists a few dozen paths; anything this large is not one of ours.
MAX_MANIFEST_BYTES = 1 << 20


@dataclass(frozen=True)
class OutDir:
    root: Path
    option: str
    previous: frozenset[str]        # files the last render listed (empty on a first render)


@dataclass(frozen=True)
class Written:
    written: list[Path]
    removed: list[Path]


def open_out_dir(out: Path, option: str = "--out") -> OutDir:
    """Check `out` before anything is rendered: a directory we may write, and what we wrote there before."""
    refuse_file_on_the_way(out, (out, *out.parents), option, "a new or existing directory")
    manifest = out / MANIFEST_NAME
    if manifest.exists() or manifest.is_symlink():
        return OutDir(out, option, _read_manifest(manifest, option))
    if out.is_dir() and any(out.iterdir()):
        raise UserError(f"{option} {out}: the directory is not empty and holds no {MANIFEST_NAME}, "
                        "so zabbix-ha did not render into it; its files are not ours to overwrite",
                        f"give {option} a new or empty directory (a tree rendered by a zabbix-ha "
                        "older than this manifest has none: remove it first)")
    return OutDir(out, option, frozenset())


def refuse_file_on_the_way(out: Path, candidates, option: str, wanted: str) -> None:
    """The nearest existing one of `candidates` (out, then its parents) must be a directory."""
    for parent in candidates:
        if parent.exists():
            if not parent.is_dir():
                raise UserError(f"{option} {out}: {parent} is a file, not a directory", f"give {option} {wanted}")
            break


def _read_manifest(path: Path, option: str) -> frozenset[str]:
    def refuse(why: str) -> UserError:
        return UserError(f"{option} {path.parent}: {path.name} {why}, so what an earlier render wrote "
                         "there is not known and nothing can be replaced or removed safely",
                         f"give {option} a new or empty directory, or delete {path} and the files "
                         "it listed yourself")

    if path.is_symlink() or not path.is_file():
        raise refuse("is not a regular file")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_MANIFEST_BYTES + 1)
    except OSError as exc:
        raise refuse(f"cannot be read ({exc.strerror})") from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise refuse("is too large to be a render manifest")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise refuse("is not valid JSON") from None
    if not isinstance(data, dict) or data.get("written_by") != WRITTEN_BY or not isinstance(data.get("files"), list):
        raise refuse(f"is not a manifest zabbix-ha wrote (no written_by: {WRITTEN_BY!r} and files list)")
    bad = [f for f in data["files"] if not _is_plain_relative(f)]
    if bad:
        # A path leading out of the directory (../, /etc/...) is the one thing
        # a tampered manifest could make us delete; none is followed.
        raise refuse(f"lists {str(bad[0])[:80]!r}, which is not a path inside the directory")
    return frozenset(data["files"])


def _is_plain_relative(rel: object) -> bool:
    if not isinstance(rel, str) or not rel or "\x00" in rel or rel == MANIFEST_NAME:
        return False
    p = PurePosixPath(rel)
    return not p.is_absolute() and str(p) == rel and ".." not in p.parts


def _checked_target(outdir: OutDir, rel: str) -> Path:
    """out/rel, refused when a directory on the way is a symbolic link: a
    link swapped in (zbx-node1/etc -> /etc) must not make us write or
    delete outside the tree."""
    target = outdir.root / rel
    expected = os.path.join(os.path.realpath(outdir.root), os.path.dirname(rel))
    if os.path.realpath(target.parent) != os.path.normpath(expected):
        raise UserError(f"{outdir.option} {outdir.root}: {target.parent} leads outside the directory "
                        "(a symbolic link); refusing to write or remove files through it",
                        f"remove the link, or give {outdir.option} a new directory")
    return target


def _write_manifest(outdir: OutDir, files: set[str] | frozenset[str]) -> None:
    from wizard.answers import write_atomic

    data = {"written_by": WRITTEN_BY, "version": __version__, "files": sorted(files)}
    write_atomic(outdir.root / MANIFEST_NAME, json.dumps(data, indent=1) + "\n", 0o644)


def write_tree(tree, outdir: OutDir) -> Written:
    """Write rendered files under out/<node>/<path> with their modes; remove what the last render
    wrote and this one does not. Raises UserError naming the file that could not be written."""
    from wizard.answers import write_atomic

    option, out = outdir.option, outdir.root
    files = {f"{node}/{path.lstrip('/')}": rendered for node, by_path in tree.items()
             for path, rendered in by_path.items()}
    stale = sorted(outdir.previous - set(files), reverse=True)
    # Every target is checked before the first write: all or nothing refused.
    targets = {rel: _checked_target(outdir, rel) for rel in [*files, *stale]}
    written, removed = [], []
    try:
        # The manifest first names old and new alike: a run cut short leaves
        # no file of ours that a later render would take for someone else's.
        _write_manifest(outdir, outdir.previous | set(files))
        for rel, rendered in files.items():
            write_atomic(targets[rel], rendered.text, rendered.mode)
            written.append(targets[rel])
        for rel in stale:
            target = targets[rel]
            if target.is_file() or target.is_symlink():
                target.unlink()
                removed.append(target)
            _remove_empty_parents(target.parent, out)
        _write_manifest(outdir, set(files))
    except OSError as exc:
        where = exc.filename or out
        raise UserError(f"{option} {out}: cannot write {where}: {exc.strerror}",
                        f"give {option} a directory you can write to") from None
    return Written(written, removed)


def _remove_empty_parents(directory: Path, root: Path) -> None:
    """Directories below root that a removal left empty. A render created
    them (the first render needs an empty root), so they are ours to drop;
    one holding anything else stays."""
    while directory != root and root in directory.parents:
        try:
            directory.rmdir()
        except OSError:             # not empty (or already gone): stop here
            return
        directory = directory.parent
