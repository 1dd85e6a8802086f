"""What both feeds share: reading the file (one-line errors), its fingerprint, severities."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
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


def read_json(path: Path, what: str) -> tuple[Any, str, str]:
    """The parsed file, its sha256 and modification time; BadInput naming the file otherwise."""
    try:
        raw = path.read_bytes()
        stat = path.stat()
    except FileNotFoundError:
        raise BadInput(f"{what} not found", path=path) from None
    except IsADirectoryError:
        raise BadInput(f"{what} is a directory, not a file", path=path) from None
    except OSError as exc:
        raise BadInput(f"{what} cannot be read: {exc.strerror}", path=path) from None
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise BadInput(f"{what} is not JSON (not UTF-8 text)", path=path) from None
    except json.JSONDecodeError as exc:
        raise BadInput(f"{what} is not JSON: {exc.msg}", path=path, line=exc.lineno) from None
    except RecursionError:
        raise BadInput(f"{what} is not JSON: nested too deeply", path=path) from None
    modified = datetime.fromtimestamp(stat.st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return data, hashlib.sha256(raw).hexdigest(), modified


def shape_error(path: Path, what: str, where: str, problem: str) -> BadInput:
    """A feed that parses but is not in its format: the entry and what is wrong with it."""
    return BadInput(f"{what}: {where}: {problem}", path=path)
