"""The Wordfence Intelligence v3 vulnerability feed: read once, indexed by (type, slug).

The feed (``/api/intelligence/v3/vulnerabilities/production`` or ``.../scanner``, fetched by
the provider with its own free key) is one JSON object keyed by vulnerability id. Each record
has a ``title``, ``software`` (``type`` core|plugin|theme, ``slug``, ``affected_versions``:
label -> ``{from_version, from_inclusive, to_version, to_inclusive}`` where ``*`` is
unbounded, ``patched``, ``patched_versions``), ``cvss`` (``{vector, score, rating}`` or null),
``cve``, ``references``, ``published``/``updated`` and ``copyrights``. Versions are ordered as
WordPress orders them, by PHP's ``version_compare`` (omctl/vulns/phpversion.py).

Only what matching and the evidence need is kept: the whole production feed is some 150 MB
of JSON, its descriptions and copyright texts are not held past loading.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omctl.vulns import phpversion
from omctl.vulns.common import FeedInfo, members, read_text, severity_of_score, shape_error

WHAT = "WordPress vulnerability feed"
UNBOUNDED = "*"
RECORD_URL = "https://www.wordfence.com/threat-intel/vulnerabilities/id/{id}"
CORE_SLUG = "wordpress"  # the feed's slug for WordPress core


@dataclass(frozen=True, slots=True)
class Range:
    """One ``affected_versions`` range; None is ``*`` (unbounded)."""

    low: str | None
    low_inclusive: bool
    high: str | None
    high_inclusive: bool

    def __contains__(self, version: str) -> bool:
        if self.low is not None:
            above = phpversion.compare(version, self.low)
            if above < 0 or (above == 0 and not self.low_inclusive):
                return False
        if self.high is not None:
            below = phpversion.compare(version, self.high)
            if below > 0 or (below == 0 and not self.high_inclusive):
                return False
        return True


@dataclass(frozen=True, slots=True)
class Vulnerability:
    id: str  # the Wordfence id (a UUID)
    title: str
    cve: str | None
    score: float | None
    severity: str
    reference: str  # the record's page at Wordfence (their licence asks for the link)


@dataclass(frozen=True, slots=True)
class Affected:
    """One software entry of a vulnerability: the ranges it affects and the fixes."""

    vulnerability: Vulnerability
    ranges: tuple[Range, ...]
    patched: bool
    patched_versions: tuple[str, ...]

    def affects(self, version: str) -> bool:
        return any(version in r for r in self.ranges)

    def fixed_in(self, version: str) -> str | None:
        """The lowest patched version above the installed one; None: no fix yet."""
        if not self.patched:
            return None
        above = [v for v in self.patched_versions if phpversion.compare(v, version) > 0]
        best: str | None = None
        for candidate in above:
            if best is None or phpversion.compare(candidate, best) < 0:
                best = candidate
        return best


def _key(kind: str, slug: str) -> tuple[str, str]:
    # Core is one piece of software whatever the probe calls its slug.
    return (kind, CORE_SLUG) if kind == "core" else (kind, slug)


@dataclass
class WordfenceFeed:
    info: FeedInfo
    index: dict[tuple[str, str], list[Affected]]
    copyright: str | None = None  # Defiant's notice as the newest record states it

    def matches(self, kind: str, slug: str, version: str) -> list[Affected]:
        """The vulnerabilities of one installed item, in feed order."""
        return [a for a in self.index.get(_key(kind, slug), ()) if a.affects(version)]


def _string(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _score(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> Exception:
        return shape_error(self.path, WHAT, where, problem)

    def range(self, where: str, raw: Any) -> Range:
        if not isinstance(raw, dict):
            raise self.fail(where, "must be an object {from_version, to_version, ...}")
        bounds = []
        for end in ("from", "to"):
            version = raw.get(f"{end}_version")
            inclusive = raw.get(f"{end}_inclusive", True)
            if not _string(version):
                raise self.fail(where, f"{end}_version must be a version or '*'")
            if not isinstance(inclusive, bool):
                raise self.fail(where, f"{end}_inclusive must be true or false")
            bounds += [None if version == UNBOUNDED else version, inclusive]
        return Range(bounds[0], bounds[1], bounds[2], bounds[3])

    def software(self, where: str, raw: Any, vulnerability: Vulnerability) -> tuple[str, Affected]:
        if not isinstance(raw, dict):
            raise self.fail(where, "must be an object")
        kind, slug, ranges = raw.get("type"), raw.get("slug"), raw.get("affected_versions")
        if not _string(kind) or not _string(slug):
            raise self.fail(where, "type and slug must be strings")
        if not isinstance(ranges, dict):
            raise self.fail(where, "affected_versions must be an object of ranges")
        patched = raw.get("patched", False)
        versions = raw.get("patched_versions") or []
        if not isinstance(patched, bool):
            raise self.fail(where, "patched must be true or false")
        if not isinstance(versions, list) or not all(map(_string, versions)):
            raise self.fail(where, "patched_versions must be a list of versions")
        found = tuple(
            self.range(f"{where}.affected_versions[{label!r}]", r) for label, r in ranges.items()
        )
        return kind, Affected(vulnerability, found, patched, tuple(versions))

    def vulnerability(self, key: str, raw: dict[str, Any]) -> Vulnerability:
        cvss = raw.get("cvss")
        if cvss is not None and not isinstance(cvss, dict):
            raise self.fail(f"entry {key}", "cvss must be an object or null")
        score = _score((cvss or {}).get("score"))
        rating = (cvss or {}).get("rating")
        severity = rating.lower() if isinstance(rating, str) and rating else None
        if severity == "none":
            severity = "unimportant"
        title, cve = raw.get("title"), raw.get("cve")
        references = raw.get("references") or []
        if not isinstance(references, list):
            raise self.fail(f"entry {key}", "references must be a list")
        link = next(
            (r for r in references if isinstance(r, str) and "wordfence.com" in r and key in r),
            RECORD_URL.format(id=key),
        )
        return Vulnerability(
            id=key,
            title=title if _string(title) else key,
            cve=cve if _string(cve) else None,
            score=score,
            severity=severity or severity_of_score(score),
            reference=link,
        )


def _notice(copyrights: Any) -> str | None:
    """Defiant's copyright designation of a record (``copyrights.defiant.notice``)."""
    defiant = copyrights.get("defiant") if isinstance(copyrights, dict) else None
    notice = defiant.get("notice") if isinstance(defiant, dict) else None
    return notice if _string(notice) else None


def load(path: Path) -> WordfenceFeed:
    """Read and index the feed file; BadInput naming the file (and entry) when it is not one."""
    text, sha256, modified = read_text(path, WHAT)
    reader = _Reader(path)
    entries = 0
    index: dict[tuple[str, str], list[Affected]] = defaultdict(list)
    newest: str | None = None
    copyright_notice: tuple[str, str] | None = None
    for key, raw in members(text, path, WHAT, "must be a JSON object keyed by vulnerability id"):
        entries += 1
        if not isinstance(raw, dict):
            raise reader.fail(f"entry {key}", "must be an object")
        software = raw.get("software")
        if not isinstance(software, list):
            raise reader.fail(f"entry {key}", "software must be a list")
        vulnerability = reader.vulnerability(key, raw)
        for number, item in enumerate(software):
            where = f"entry {key}: software[{number}]"
            kind, affected = reader.software(where, item, vulnerability)
            index[_key(kind, item["slug"])].append(affected)
        stamp = raw.get("updated") or raw.get("published")
        if isinstance(stamp, str) and (newest is None or stamp > newest):
            newest = stamp
            notice = _notice(raw.get("copyrights"))
            if notice:
                copyright_notice = (stamp, notice)
    notice = copyright_notice[1] if copyright_notice else None
    info = FeedInfo(kind="wordpress", path=str(path), sha256=sha256, entries=entries,
                    date=newest, modified=modified, notice=notice)  # fmt: skip
    return WordfenceFeed(info, dict(index), notice)
