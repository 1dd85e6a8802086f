"""The one YAML loader of omctl: plain data plus the line of every key and item, in one pass.

Every YAML file omctl reads (scope.yml, hosts.yml, host_vars it inspects) comes through
``load``. The file is parsed into events by the YAML library and composed here without
recursion, so that hostile input is refused with one ``file:LINE`` error instead of a hang, a
memory blow-up or a traceback:

- a file larger than ``MAX_BYTES``, or not a regular file, is refused before it is read;
- text that is not UTF-8, or holds control characters, is refused at its line;
- anchors, aliases and merge keys (``<<``) are refused: they are what "billion laughs" files
  are made of, and omctl's files have no need of them;
- nesting deeper than ``MAX_DEPTH`` and more than ``MAX_NODES`` values are refused;
- a key given twice in one mapping, at any depth, is refused naming both lines (YAML loaders
  otherwise keep the last value silently);
- a key that is not text (a number, ``true``, ``null``, a list) is refused;
- a value that cannot be a value (``2026-02-30``, an integer of thousands of digits, an
  unknown ``!tag``) is refused at its line.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from omctl.errors import BadInput

PathKey = tuple[str | int, ...]

MAX_BYTES = 1024 * 1024  # 1 MiB: a scope or an inventory is a few kilobytes
MAX_DEPTH = 64  # mappings and lists nested in each other
# Keys, values and items in one file: a scope has tens, a 4,000-host hosts.yml fewer; 20,000
# compose in well under a second of CPU, which keeps every refusal within 2 s.
MAX_NODES = 20_000
# Ansible's own tags, valid in inventories and vars files: the value is kept as text.
ANSIBLE_TAGS = {"!vault", "!unsafe"}
_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_SCALAR_TAGS = {
    _STR,
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}
_NODE_EVENTS = (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)
_Parser: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it


class LocatedYaml:
    """Plain data from a YAML file plus the 1-based line of every mapping key and item."""

    def __init__(self, path: Path, data: Any, lines: dict[PathKey, int]):
        self.path = path
        self.data = data
        self.lines = lines

    def line_of(self, key: PathKey) -> int:
        """Line of the deepest known prefix of key (an unknown key still points near it)."""
        for depth in range(len(key), -1, -1):
            line = self.lines.get(tuple(key[:depth]))
            if line is not None:
                return line
        return 1

    def error(self, message: str, key: PathKey = (), cls: type[BadInput] = BadInput) -> BadInput:
        return cls(message, path=self.path, line=self.line_of(key))


class _Refused(Exception):
    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.message = message
        self.line = line


def read_bounded(path: Path, cls: type[BadInput] = BadInput, limit: int = MAX_BYTES) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes, else a one-line error."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise cls("file not found", path=path) from None
    except OSError as exc:
        raise cls(f"cannot read file: {exc.strerror or exc}", path=path) from None
    if stat.S_ISDIR(info.st_mode):
        raise cls("is a directory, not a file", path=path)
    if not stat.S_ISREG(info.st_mode):
        raise cls("is not a regular file", path=path)
    if info.st_size > limit:
        raise cls(f"file is {info.st_size} bytes, more than the limit of {limit}", path=path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as handle:
            raw = handle.read(limit + 1)
    except OSError as exc:
        raise cls(f"cannot read file: {exc.strerror or exc}", path=path) from None
    if len(raw) > limit:  # it grew since stat
        raise cls(f"file is more than the limit of {limit} bytes", path=path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise cls(f"not UTF-8 text (byte {raw[exc.start]:#04x})", path=path, line=line) from None


def _line(event: Any) -> int:
    return int(event.start_mark.line) + 1


def _scalar(event: yaml.ScalarEvent, constructor: yaml.SafeLoader) -> Any:
    tag = event.tag
    if tag in ANSIBLE_TAGS:
        return event.value
    if tag is None or tag == "!":
        tag = constructor.resolve(yaml.ScalarNode, event.value, event.implicit)
    if tag not in _SCALAR_TAGS:
        raise _Refused(f"unsupported tag {event.tag}", _line(event))
    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
    try:
        return constructor.yaml_constructors[tag](constructor, node)
    except (ValueError, OverflowError, yaml.YAMLError) as exc:
        detail = str(exc).split(";")[0].split(":")[0] or type(exc).__name__
        raise _Refused(f"invalid value {event.value[:40]!r}: {detail}", _line(event)) from None


class _Collection:
    """A mapping or list being composed, and where its next value goes."""

    def __init__(self, value: dict[str, Any] | list[Any], key: PathKey):
        self.value = value
        self.key = key
        self.pending: str | None = None  # a mapping's key waiting for its value
        self.key_lines: dict[str, int] = {}

    @property
    def wants_key(self) -> bool:
        return isinstance(self.value, dict) and self.pending is None

    def take_key(self, event: Any, constructor: yaml.SafeLoader) -> str:
        if not isinstance(event, yaml.ScalarEvent):
            raise _Refused("a key must be text, not a mapping or list", _line(event))
        if event.value == "<<" and event.tag is None and event.implicit[0]:
            raise _Refused("merge keys (<<) are not supported", _line(event))
        name = _scalar(event, constructor)
        if not isinstance(name, str):
            raise _Refused(f"key {event.value!r} must be text: quote it", _line(event))
        first = self.key_lines.get(name)
        if first is not None:
            raise _Refused(f"duplicate key {name!r} (first on line {first})", _line(event))
        self.key_lines[name] = _line(event)
        self.pending = name
        return name

    def child_key(self) -> PathKey:
        if isinstance(self.value, dict):
            assert self.pending is not None
            return (*self.key, self.pending)
        return (*self.key, len(self.value))

    def add(self, value: Any) -> None:
        if isinstance(self.value, dict):
            assert self.pending is not None
            self.value[self.pending] = value
            self.pending = None
        else:
            self.value.append(value)


def _value(event: Any, constructor: yaml.SafeLoader, depth: int) -> Any:
    """A scalar's value, or the empty mapping or list an event starts."""
    if isinstance(event, yaml.ScalarEvent):
        return _scalar(event, constructor)
    if depth >= MAX_DEPTH:
        raise _Refused(f"nested more than {MAX_DEPTH} levels deep", _line(event))
    is_map = isinstance(event, yaml.MappingStartEvent)
    if event.tag not in (None, "!", _MAP if is_map else _SEQ):
        raise _Refused(f"unsupported tag {event.tag}", _line(event))
    return {} if is_map else []


def _check_event(event: Any, documents: int) -> None:
    if isinstance(event, yaml.DocumentStartEvent) and documents > 1:
        raise _Refused("more than one YAML document (a second '---')", _line(event))
    if isinstance(event, yaml.AliasEvent):
        raise _Refused(f"alias *{event.anchor} refused: aliases are not supported", _line(event))
    if getattr(event, "anchor", None) is not None:
        raise _Refused(f"anchor &{event.anchor} refused: anchors are not supported", _line(event))


def _compose(text: str) -> tuple[Any, dict[PathKey, int]]:
    """Plain data and the line of every key and item, from the parser's events, without
    recursion: the stack of open collections is a list bounded by MAX_DEPTH."""
    constructor = yaml.SafeLoader("")  # resolves and constructs scalars (int, date, ...)
    lines: dict[PathKey, int] = {(): 1}
    stack: list[_Collection] = []
    result: Any = None
    documents = nodes = 0
    for event in yaml.parse(text, Loader=_Parser):
        documents += isinstance(event, yaml.DocumentStartEvent)
        _check_event(event, documents)
        if isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            stack.pop()
            continue
        if not isinstance(event, _NODE_EVENTS):
            continue  # stream and document start and end
        nodes += 1
        if nodes > MAX_NODES:
            raise _Refused(f"more than {MAX_NODES} values in one file", _line(event))
        parent = stack[-1] if stack else None
        if parent is not None and parent.wants_key:
            lines[(*parent.key, parent.take_key(event, constructor))] = _line(event)
            continue
        key = parent.child_key() if parent is not None else ()
        if parent is None or isinstance(parent.value, list):
            lines[key] = _line(event)
        value = _value(event, constructor, len(stack))
        if parent is None:
            result = value
        else:
            parent.add(value)
        if not isinstance(event, yaml.ScalarEvent):
            stack.append(_Collection(value, key))
    return result, lines


def _last_written_line(text: str, line: int) -> int:
    """At end of file a mark sits after the last line; name the last written one."""
    written = [n for n, text_line in enumerate(text.splitlines(), 1) if text_line.strip()]
    return min(line, written[-1]) if written else line


def parse(text: str, path: Path, cls: type[BadInput] = BadInput) -> LocatedYaml:
    """Compose YAML ``text`` read from ``path``; errors name path:LINE."""
    try:
        data, lines = _compose(text)
    except _Refused as exc:
        raise cls(exc.message, path=path, line=exc.line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and "<stream end>" in (exc.problem or ""):
            mark = exc.context_mark  # an unclosed bracket: point at where it was opened
        line = _last_written_line(text, mark.line + 1) if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise cls(f"invalid YAML: {problem}", path=path, line=line) from None
    except yaml.reader.ReaderError as exc:
        # libyaml counts bytes of the UTF-8 text, PyYAML characters.
        if _Parser is yaml.SafeLoader:
            line = text.count("\n", 0, exc.position) + 1
        else:
            line = text.encode()[: exc.position].count(b"\n") + 1
        raise cls(
            f"invalid YAML: {exc.reason} (#x{exc.character:04x})", path=path, line=line
        ) from None
    except yaml.YAMLError as exc:
        raise cls(f"invalid YAML: {str(exc).splitlines()[0]}", path=path, line=1) from None
    return LocatedYaml(path, data, lines)


def load(path: Path, cls: type[BadInput] = BadInput) -> LocatedYaml:
    return parse(read_bounded(path, cls), path, cls)
