"""YAML loading that remembers where each value came from, so errors can name file:line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from omctl.errors import BadInput

PathKey = tuple[str | int, ...]


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


def _walk(node: yaml.Node, prefix: PathKey, lines: dict[PathKey, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            lines[(*prefix, key)] = key_node.start_mark.line + 1
            _walk(value_node, (*prefix, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*prefix, index)] = item.start_mark.line + 1
            _walk(item, (*prefix, index), lines)


def load(path: Path, cls: type[BadInput] = BadInput) -> LocatedYaml:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise cls("file not found", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise cls(f"cannot read file: {exc}", path=path) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and "<stream end>" in (exc.problem or ""):
            mark = exc.context_mark  # an unclosed bracket: point at where it was opened
        line = mark.line + 1 if mark else None
        if line is not None:
            # At end of file the mark sits after the last line; name the last written one.
            written = [n for n, text_line in enumerate(text.splitlines(), 1) if text_line.strip()]
            line = min(line, written[-1]) if written else line
        problem = exc.problem or exc.context or "invalid YAML"
        raise cls(f"invalid YAML: {problem}", path=path, line=line) from None
    except yaml.YAMLError as exc:
        raise cls(f"invalid YAML: {exc}", path=path) from None
    lines: dict[PathKey, int] = {(): 1}
    if node is not None:
        lines[()] = node.start_mark.line + 1
        _walk(node, (), lines)
    return LocatedYaml(path, data, lines)
