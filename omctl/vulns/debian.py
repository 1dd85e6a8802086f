"""The Debian security tracker's JSON (https://security-tracker.debian.org/tracker/data/json).

The file is one object: source package -> issue id (a CVE, or a ``TEMP-...`` id) ->
``{description, scope, debianbug, releases}``, and ``releases`` is codename ->
``{status, repositories, fixed_version, urgency, nodsa, nodsa_reason}`` with ``status`` one of
``open`` (no fix in that release yet), ``resolved`` (fixed in ``fixed_version``; ``0`` means
the release was never affected) or ``undetermined``. The same idea as ``debsecan``: a host is
vulnerable when an installed binary's *source* package has an issue open in the host's release,
or resolved in a version above the installed one, compared with Debian's version ordering
(python-debian's ``Version``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from debian.debian_support import Version

from omctl.vulns.common import FeedInfo, members, read_text, shape_error

WHAT = "Debian security tracker file"
STATUSES = ("open", "resolved", "undetermined")
NOT_AFFECTED = "0"
# The tracker's urgency (a trailing * or ** marks a guess) -> severity; Debian gives no score.
URGENCY: dict[str, str] = {
    "high": "high",
    "medium": "medium",
    "low": "low",
    "unimportant": "unimportant",
    "not yet assigned": "unknown",
    "end-of-life": "unknown",
}


@lru_cache(maxsize=65536)
def version(text: str) -> Version:
    """A Debian version (ValueError when it is not one)."""
    return Version(text)


def severity(urgency: str | None) -> str:
    return URGENCY.get((urgency or "").rstrip("*").strip().lower(), "unknown")


@dataclass(frozen=True, slots=True)
class Issue:
    """One issue of a source package in one release."""

    id: str
    description: str | None
    status: str
    fixed_version: str | None
    urgency: str | None
    nodsa: str | None  # the security team's reason for no DSA ("Minor issue"), if any
    nodsa_reason: str | None  # "postponed", "ignored", ...

    @property
    def severity(self) -> str:
        return severity(self.urgency)

    def affects(self, installed: str, path: Path, source: str) -> tuple[bool, str | None]:
        """(vulnerable, fixed in) for an installed source version; fixed None: no fix yet."""
        if self.status == "open":
            return True, None
        if self.status != "resolved" or self.fixed_version in (None, NOT_AFFECTED):
            return False, None
        try:
            fixed = version(self.fixed_version)
        except ValueError:
            raise shape_error(path, WHAT, f"{source} {self.id}",
                              f"fixed_version {self.fixed_version!r} is not a Debian version"
                              ) from None  # fmt: skip
        return version(installed) < fixed, self.fixed_version


@dataclass
class DebianTracker:
    info: FeedInfo
    path: Path
    # source package -> issues per release codename
    packages: dict[str, dict[str, list[Issue]]]
    releases: frozenset[str]

    def issues(self, source: str, release: str) -> list[Issue]:
        return (self.packages.get(source) or {}).get(release, [])


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def load(path: Path, releases: set[str] | None = None) -> DebianTracker:
    """Read the tracker file, keeping the named releases only (all when None)."""
    text, sha256, modified = read_text(path, WHAT)

    def fail(where: str, problem: str) -> Exception:
        return shape_error(path, WHAT, where, problem)

    packages: dict[str, dict[str, list[Issue]]] = {}
    seen: set[str] = set()
    entries = 0
    for source, issues in members(
        text, path, WHAT, "must be a JSON object keyed by source package"
    ):
        if not isinstance(issues, dict):
            raise fail(f"package {source}", "must be an object keyed by issue id")
        per_release: dict[str, list[Issue]] = {}
        for issue_id, issue in issues.items():
            entries += 1
            where = f"package {source} {issue_id}"
            if not isinstance(issue, dict) or not isinstance(issue.get("releases", {}), dict):
                raise fail(where, "must be an object with releases: {codename: {status, ...}}")
            description = _text(issue.get("description"))
            for codename, state in issue.get("releases", {}).items():
                if not isinstance(state, dict) or state.get("status") not in STATUSES:
                    raise fail(f"{where} {codename}",
                               f"status must be one of {', '.join(STATUSES)}")  # fmt: skip
                seen.add(codename)
                if releases is not None and codename not in releases:
                    continue
                fixed = state.get("fixed_version")
                if fixed is not None and not isinstance(fixed, str):
                    raise fail(f"{where} {codename}", "fixed_version must be a string")
                per_release.setdefault(codename, []).append(
                    Issue(id=issue_id, description=description, status=state["status"],
                          fixed_version=fixed or None, urgency=_text(state.get("urgency")),
                          nodsa=_text(state.get("nodsa")),
                          nodsa_reason=_text(state.get("nodsa_reason")))
                )  # fmt: skip
        if per_release:
            packages[source] = per_release
    info = FeedInfo(kind="debian", path=str(path), sha256=sha256, entries=entries,
                    date=modified, modified=modified)  # fmt: skip
    return DebianTracker(info, path, packages, frozenset(seen))
