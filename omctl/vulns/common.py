"""What both feeds share: reading the file (one-line errors), its fingerprint, severities."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from json.decoder import scanstring
from pathlib import Path
from typing import Any

from omctl.errors import BadInput

# CVSS v3 qualitative ratings, highest first, with the lowest score of each band; "unknown"
# when a feed gives none. A finding with no score alerts when its band starts at or above the
# alert score (Debian's urgency "high" with the default 7.0).
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "unimportant", "unknown")
BAND_FLOOR: dict[str, float] = {"critical": 9.0, "high": 7.0, "medium": 4.0, "low": 0.1}


def severity_of_score(score: float | None) -> str:
    if score is None:
        return "unknown"
    for severity, floor in BAND_FLOOR.items():
        if score >= floor:
            return severity
    return "unimportant"  # 0.0: CVSS "None"


def alerts(score: float | None, severity: str, threshold: float) -> bool:
    """Whether a finding is at or above the alert score (by its band when it has no score)."""
    if score is not None:
        return score >= threshold
    floor = BAND_FLOOR.get(severity)
    return floor is not None and floor >= threshold


@dataclass(frozen=True)
class FeedInfo:
    """Which file a scan used: the evidence names it, so a finding can be traced to its data."""

    kind: str  # wordpress | debian
    path: str
    sha256: str
    entries: int
    date: str | None  # the newest record's date (Wordfence) or the file's time (Debian)
    modified: str  # the file's modification time, UTC
    # The copyright designation the data's licence asks to reproduce (Wordfence: Defiant's).
    notice: str | None = None

    def as_dict(self) -> dict[str, Any]:
        found = {
            "kind": self.kind,
            "path": self.path,
            "sha256": self.sha256,
            "entries": self.entries,
            "date": self.date,
            "modified": self.modified,
        }
        return found | ({"notice": self.notice} if self.notice else {})


WHITESPACE = re.compile(r"[ \t\n\r]*")


def read_text(path: Path, what: str) -> tuple[str, str, str]:
    """The file as text, its sha256 and modification time; BadInput naming the file."""
    try:
        raw = path.read_bytes()
        stat = path.stat()
    except FileNotFoundError:
        raise BadInput(f"{what} not found", path=path) from None
    except IsADirectoryError:
        raise BadInput(f"{what} is a directory, not a file", path=path) from None
    except OSError as exc:
        raise BadInput(f"{what} cannot be read: {exc.strerror}", path=path) from None
    sha256 = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{what} is not JSON (not UTF-8 text)", path=path) from None
    del raw  # the feeds are large: keep one copy
    modified = datetime.fromtimestamp(stat.st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return text, sha256, modified


def members(text: str, path: Path, what: str, problem: str) -> Iterator[tuple[str, Any]]:
    """The members of the JSON object the text is, one at a time.

    A feed is one large object (the Wordfence production feed is some 150 MB): decoding it
    member by member and keeping only what the index needs holds a few records at a time
    instead of the whole parsed document, a quarter of the memory. Not JSON: BadInput with
    the line; JSON but not an object: the shape error ``problem``. (A key given twice is
    read twice, where json.loads would keep the last.)
    """
    decoder = json.JSONDecoder()
    try:
        at = WHITESPACE.match(text).end()
        if text[at : at + 1] != "{":
            json.loads(text)  # not JSON at all, or JSON of another shape
            raise shape_error(path, what, "the file", problem)
        at = WHITESPACE.match(text, at + 1).end()
        if text[at : at + 1] == "}":
            at += 1
        else:
            while True:
                if text[at : at + 1] != '"':
                    raise json.JSONDecodeError(
                        "Expecting property name enclosed in double quotes", text, at
                    )
                key, at = scanstring(text, at + 1)
                at = WHITESPACE.match(text, at).end()
                if text[at : at + 1] != ":":
                    raise json.JSONDecodeError("Expecting ':' delimiter", text, at)
                value, at = decoder.raw_decode(text, WHITESPACE.match(text, at + 1).end())
                yield key, value
                at = WHITESPACE.match(text, at).end()
                if text[at : at + 1] == ",":
                    at = WHITESPACE.match(text, at + 1).end()
                    continue
                if text[at : at + 1] != "}":
                    raise json.JSONDecodeError("Expecting ',' delimiter", text, at)
                at += 1
                break
        if WHITESPACE.match(text, at).end() != len(text):
            raise json.JSONDecodeError("Extra data", text, at)
    except json.JSONDecodeError as exc:
        raise BadInput(f"{what} is not JSON: {exc.msg}", path=path, line=exc.lineno) from None
    except RecursionError:
        raise BadInput(f"{what} is not JSON: nested too deeply", path=path) from None


def shape_error(path: Path, what: str, where: str, problem: str) -> BadInput:
    """A feed that parses but is not in its format: the entry and what is wrong with it."""
    return BadInput(f"{what}: {where}: {problem}", path=path)
