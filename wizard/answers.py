"""Answers file (YAML, configuration) and secrets file (YAML, mode 0600).

Kept apart like archinstall's configuration and credentials files: the
answers file can be reviewed, mailed and committed; the secrets file never.
Loading is strict: an unknown key or a wrong type is an error naming its
path (`storage.nodes[0].disk`), so a typo never silently becomes a default.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
import types
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin, get_type_hints

import yaml

from wizard.errors import UserError
from wizard.spec import ClusterSpec, Secret, Secrets

FORMAT_VERSION = 1
# An answers or secrets file is a few KiB; anything this large is not one
# (and /dev/zero never ends).
MAX_FILE_BYTES = 1 << 20


class AnswersError(UserError):
    pass


# ---------------------------------------------------------------------------
# dataclass <-> plain data

def to_data(obj: Any) -> Any:
    """A dataclass tree as plain dicts/lists, in field order."""
    if dataclasses.is_dataclass(obj):
        # A field marked omit_empty is left out while empty (spec.ServiceAddresses.extra_vips).
        return {f.name: to_data(getattr(obj, f.name)) for f in dataclasses.fields(obj)
                if not (f.metadata.get("omit_empty") and not getattr(obj, f.name))}
    if isinstance(obj, list):
        return [to_data(x) for x in obj]
    if isinstance(obj, dict):
        return {k: to_data(v) for k, v in obj.items()}
    if isinstance(obj, Secret):
        return obj.reveal()
    return obj


def from_data(cls: type, data: Any, path: str = "") -> Any:
    """Build `cls` from plain data, naming the path of any unknown key or bad type."""
    return _convert(cls, data, path)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _describe(tp: Any) -> str:
    if get_origin(tp) is Literal:
        return " or ".join(repr(a) for a in get_args(tp))
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


def _where(path: str) -> str:
    return path or "the top level"


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        last_error: AnswersError | None = None
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(option, value, path)
            except AnswersError as exc:
                last_error = exc
        assert last_error is not None
        raise last_error
    if origin is Literal:
        allowed = get_args(tp)
        if value not in allowed:
            # Accept 6.0 written as a YAML float for version fields.
            if isinstance(value, (int, float)) and str(value) in allowed:
                return str(value)
            raise AnswersError(f"{_where(path)}: {value!r} is not allowed",
                               f"use {_describe(tp)}")
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise AnswersError(f"{_where(path)}: expected a mapping, got {type(value).__name__}",
                               "write the fields as `key: value` lines under it")
        hints = get_type_hints(tp)
        fields = {f.name: f for f in dataclasses.fields(tp)}
        unknown = [k for k in value if k not in fields]
        if unknown:
            key = unknown[0]
            where = f"{path}.{key}" if path else str(key)
            raise AnswersError(f"{where}: unknown key {key!r}",
                               f"remove it or correct its spelling; known keys here: {', '.join(fields)}")
        kwargs = {}
        for name, f in fields.items():
            sub = f"{path}.{name}" if path else name
            if name in value:
                kwargs[name] = _convert(hints[name], value[name], sub)
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise AnswersError(f"{sub}: required key is missing", f"add `{name}:` to the answers file")
        return tp(**kwargs)
    if origin is list:
        (item,) = get_args(tp)
        if not isinstance(value, list):
            raise AnswersError(f"{_where(path)}: expected a list, got {type(value).__name__}",
                               "write the items as `- value` lines")
        return [_convert(item, v, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        key_tp, val_tp = get_args(tp)
        if not isinstance(value, dict):
            raise AnswersError(f"{_where(path)}: expected a mapping, got {type(value).__name__}",
                               "write the entries as `key: value` lines")
        return {_convert(key_tp, k, path): _convert(val_tp, v, f"{path}.{k}") for k, v in value.items()}
    if tp is Secret:
        if not isinstance(value, str):
            raise AnswersError(f"{_where(path)}: expected a string", "quote the password")
        return Secret(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise AnswersError(f"{_where(path)}: expected true or false, got {value!r}", "write true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise AnswersError(f"{_where(path)}: expected a whole number, got {value!r}", "write a number without quotes")
        return value
    if tp is str:
        # Numbers are taken as written (a port-like name, a version); dates,
        # sets, binary and the like are not text a person meant.
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise AnswersError(f"{_where(path)}: expected text, got {_short(value)}",
                               "write a value (quote it if needed)")
        return str(value)
    raise TypeError(f"unsupported type {tp!r} at {path}")


# ---------------------------------------------------------------------------
# files

class _StrictLoader(yaml.SafeLoader):
    """safe_load without what an answers file never needs and a hostile one
    abuses: a key given twice (YAML would keep the last silently) and
    aliases (`*a`: a few lines can expand to millions of values)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.constructor.ConstructorError(None, None, "aliases (*name) are not allowed here",
                                                    event.start_mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                earlier = seen.get(key)
            except TypeError:       # an unhashable key: the constructor reports it
                break
            if earlier is not None:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} is given twice (first at line {earlier.line + 1})", key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _StrictLoader.construct_mapping)


def _read_yaml(path: Path, what: str) -> dict:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise AnswersError(f"{what} {path} does not exist", "give the path of an existing file") from None
    except OSError as exc:
        raise AnswersError(f"{what} {path} cannot be read: {exc.strerror}", "check the path and permissions") from None
    if len(raw) > MAX_FILE_BYTES:
        raise AnswersError(f"{what} {path} is larger than {MAX_FILE_BYTES // 1024} KiB: not an answers file",
                           "give the path of the YAML file zabbix-ha wrote")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AnswersError(f"{what} {path} is not UTF-8 text (byte {exc.start} is not)",
                           "give the path of the YAML file zabbix-ha wrote") from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise AnswersError(f"{what} {path} is not valid YAML{where}: {getattr(exc, 'problem', exc)}",
                           "fix the YAML syntax (indentation, colons, quotes)") from None
    except RecursionError:
        raise AnswersError(f"{what} {path} is nested too deeply to be an answers file",
                           "give the path of the YAML file zabbix-ha wrote") from None
    if not isinstance(data, dict):
        raise AnswersError(f"{what} {path} does not hold a mapping", "the file must be `key: value` YAML")
    return data


def _check_format(data: dict, path: Path, what: str) -> None:
    version = data.pop("format", None)
    if version is None:
        raise AnswersError(f"{what} {path}: format: required key is missing",
                           f"add `format: {FORMAT_VERSION}` as the first line")
    # `format: true` equals 1 in Python; only the number itself is a version.
    if type(version) is not int or version != FORMAT_VERSION:
        raise AnswersError(f"{what} {path}: format: version {version!r} is not supported",
                           f"this zabbix-ha reads format {FORMAT_VERSION}; use a matching zabbix-ha")


def parse_answers(data: dict, source: str = "answers") -> ClusterSpec:
    data = dict(data)
    _check_format(data, Path(source), "answers file")
    try:
        return from_data(ClusterSpec, data)
    except AnswersError as exc:
        raise AnswersError(f"answers file {source}: {exc.message}", exc.fix) from None


def load_answers(path: str | os.PathLike) -> ClusterSpec:
    path = Path(path)
    return parse_answers(_read_yaml(path, "answers file"), str(path))


def load_secrets(path: str | os.PathLike, save_generated: bool = True) -> Secrets:
    """The secrets file; one that lacks a generated secret gets it generated and,
    unless `save_generated` is false (a file only read, e.g. a node's applied one),
    saved back."""
    path = Path(path)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        raise AnswersError(f"secrets file {path} does not exist", "give the path of the secrets file") from None
    if mode & 0o077:
        raise AnswersError(f"secrets file {path} is readable by others (mode {mode:04o})",
                           f"run: chmod 600 {path}")
    data = _read_yaml(path, "secrets file")
    _check_format(data, path, "secrets file")
    try:
        secrets = from_data(Secrets, data)
    except AnswersError as exc:
        raise AnswersError(f"secrets file {path}: {exc.message}", exc.fix) from None
    generated = [name for name in Secrets.GENERATED if name not in data]
    if generated and save_generated:
        # A file from an older zabbix-ha: the secrets it lacks were generated by
        # from_data; save them now, so every later run (and both nodes) use the same.
        try:
            save_secrets(secrets, path)
        except OSError as exc:
            raise AnswersError(f"secrets file {path}: cannot save the generated {', '.join(generated)}: "
                               f"{exc.strerror or exc}", "make the secrets file and its directory writable "
                                                          "by this user, then run again") from None
        notice(f"secrets file {path}: generated {', '.join(generated)} and saved it (mode 0600)")
    return secrets


def notice(message: str) -> None:
    """A one-line message for the person, outside any result (stderr)."""
    print(f"zabbix-ha: {message}", file=sys.stderr)


def dump_answers(spec: ClusterSpec) -> str:
    header = ("# zabbix-ha answers file: the cluster's configuration, no secrets.\n"
              "# Passwords live in the separate secrets file (mode 0600).\n")
    return header + yaml.safe_dump({"format": FORMAT_VERSION, **to_data(spec)},
                                   sort_keys=False, default_flow_style=False, allow_unicode=True)


def dump_secrets(secrets: Secrets) -> str:
    return "# zabbix-ha secrets file: keep it mode 0600, never share it.\n" + yaml.safe_dump(
        {"format": FORMAT_VERSION, **to_data(secrets)}, sort_keys=False, default_flow_style=False)


def write_atomic(path: str | os.PathLike, text: str | bytes, mode: int = 0o644) -> None:
    """Write via a temp file in the same directory and rename it into place.

    The temp file is created with `mode` from the start (mkstemp makes it
    0600, then we only ever widen), so a secret is never briefly readable.
    Text is written as UTF-8; bytes (an archive) as they are.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8") if isinstance(text, str) else text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_answers(spec: ClusterSpec, path: str | os.PathLike) -> None:
    write_atomic(path, dump_answers(spec), 0o644)


def save_secrets(secrets: Secrets, path: str | os.PathLike) -> None:
    write_atomic(path, dump_secrets(secrets), 0o600)
