"""One host's inventory matched against the feeds: its ``vulnerability_scan`` evidence.

The inventory is what the read-only scan task read on the host::

    {"release": "bookworm",
     "packages": [{"name": "libssl3", "version": "3.0.15-1~deb12u1",
                   "source": "openssl", "arch": "amd64"}],
     "wordpress": [{"path": "/var/www/shop",
                    "items": [{"type": "plugin", "slug": "woocommerce", "version": "8.2.1",
                               "active": true}]}]}

``source`` is dpkg's ``${source:Package}`` (empty or missing: the binary's own name; a
``${Source}`` of ``name (version)`` also works, and its version is the one compared, since the
tracker's versions are source versions; ``source_version`` says the same). ``diff`` tells what
changed between two scans of a host: new findings, fixed (gone since the last scan) and still
open; the report and the alerts read it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from omctl.errors import BadInput
from omctl.evidence.base import summary
from omctl.evidence.vulnerability_scan import SEVERITIES, Finding, VulnerabilityScan
from omctl.vulns import debian, wordfence
from omctl.vulns.common import alerts

if TYPE_CHECKING:
    from omctl.settings import Settings

DEFAULT_ALERT_SCORE = 7.0
SOURCE_RE = re.compile(r"^\s*(?P<name>[^\s(]+)\s*(?:\((?P<version>[^)]+)\))?\s*$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class Package(_Model):
    name: str
    version: str
    source: str | None = None
    source_version: str | None = None
    arch: str | None = None

    def source_and_version(self) -> tuple[str, str]:
        """The source package and the version the tracker's fixed versions compare with."""
        found = SOURCE_RE.match(self.source or "")
        if found is None:
            return self.name, self.source_version or self.version
        return found["name"], self.source_version or found["version"] or self.version


class Item(_Model):
    type: str
    slug: str
    version: str | None = None
    active: bool | None = None


class Site(_Model):
    path: str
    items: list[Item] = []


class HostInventory(_Model):
    release: str | None = None
    packages: list[Package] = []
    wordpress: list[Site] = []


@dataclass
class Feeds:
    """The feed files of a scan, each None when its setting names none."""

    wordpress: wordfence.WordfenceFeed | None = None
    debian: debian.DebianTracker | None = None
    alert_score: float = DEFAULT_ALERT_SCORE


def load_feeds(
    wordpress_feed: Path | None,
    debian_tracker: Path | None,
    alert_score: float | None = None,
    releases: set[str] | None = None,
) -> Feeds:
    """Read the feed files the settings name (``wordpress_vulnerability_feed``,
    ``debian_security_tracker``, ``vulnerability_alert_score``); BadInput for a bad file."""
    return Feeds(
        wordpress=wordfence.load(wordpress_feed) if wordpress_feed else None,
        debian=debian.load(debian_tracker, releases) if debian_tracker else None,
        alert_score=DEFAULT_ALERT_SCORE if alert_score is None else alert_score,
    )


def feeds_from_settings(current: Settings, releases: set[str] | None = None) -> Feeds:
    """The feeds the workspace's settings name (paths in omctl.toml are relative to it)."""
    return load_feeds(current.wordpress_vulnerability_feed, current.debian_security_tracker,
                      current.vulnerability_alert_score, releases)  # fmt: skip


def _inventory(host_inventory: Mapping[str, Any] | HostInventory) -> HostInventory:
    if isinstance(host_inventory, HostInventory):
        return host_inventory
    try:
        return HostInventory.model_validate(host_inventory)
    except ValidationError as exc:
        raise BadInput(f"host inventory of the vulnerability scan: {summary(exc)}") from None


def _wordpress(inventory: HostInventory, feed: wordfence.WordfenceFeed,
               threshold: float, notes: list[str]) -> tuple[list[Finding], int]:  # fmt: skip
    found: list[Finding] = []
    checked = 0
    unversioned = []
    for site in inventory.wordpress:
        for item in site.items:
            if not item.version:
                unversioned.append(f"{site.path}: {item.type} {item.slug}")
                continue
            checked += 1
            for affected in feed.matches(item.type, item.slug, item.version):
                vuln = affected.vulnerability
                found.append(Finding(
                    source="wordpress", type=item.type, slug=item.slug, installed=item.version,
                    fixed_in=affected.fixed_in(item.version), score=vuln.score,
                    severity=vuln.severity, id=vuln.cve or vuln.id, title=vuln.title,
                    site=site.path, alert=alerts(vuln.score, vuln.severity, threshold),
                    reference=vuln.reference, active=item.active,
                ))  # fmt: skip
    if unversioned:
        notes.append(f"no version, not checked: {', '.join(unversioned)}")
    return found, checked


def _debian(inventory: HostInventory, tracker: debian.DebianTracker,
            threshold: float, notes: list[str]) -> list[Finding]:  # fmt: skip
    release = inventory.release
    if not release:
        notes.append("the host's Debian release is unknown: packages not checked")
        return []
    if release not in tracker.releases:
        notes.append(f"release {release} is not in the Debian security tracker file: "
                     "packages not checked")  # fmt: skip
        return []
    # One finding per source package, compared version and issue; the binaries listed.
    groups: dict[tuple[str, str], list[Package]] = {}
    for package in inventory.packages:
        groups.setdefault(package.source_and_version(), []).append(package)
    found: list[Finding] = []
    bad = []
    for (source, installed), binaries in sorted(groups.items()):
        try:
            debian.version(installed)
        except ValueError:
            bad.append(f"{source} {installed!r}")
            continue
        for issue in tracker.issues(source, release):
            vulnerable, fixed_in = issue.affects(installed, tracker.path, source)
            if not vulnerable:
                continue
            found.append(Finding(
                source="debian", type="package", package=source, installed=installed,
                fixed_in=fixed_in, severity=issue.severity, id=issue.id,
                title=issue.description, alert=alerts(None, issue.severity, threshold),
                binaries=sorted({b.name for b in binaries}),
                reference=f"https://security-tracker.debian.org/tracker/{issue.id}",
            ))  # fmt: skip
    if bad:
        notes.append(f"not Debian versions, not checked: {', '.join(bad)}")
    return found


def _stored(finding: Finding) -> dict[str, Any]:
    """A finding as the record keeps it: keys that do not apply left out, but fixed_in and
    score always there (null: no fix yet, no score)."""
    data = finding.model_dump(mode="json", exclude_none=True)
    return {**data, "fixed_in": finding.fixed_in, "score": finding.score}


def _order(finding: Finding) -> tuple[Any, ...]:
    score = -finding.score if finding.score is not None else 0.0
    return (SEVERITIES.index(finding.severity), score, finding.source, finding.site or "",
            finding.name, finding.id)  # fmt: skip


def match(
    host_inventory: Mapping[str, Any] | HostInventory,
    feeds: Feeds,
    *,
    now: datetime | None = None,
) -> VulnerabilityScan:
    """The host's findings: worst first (severity, then score), each with what fixes it."""
    inventory = _inventory(host_inventory)
    now = now or datetime.now(UTC)
    notes: list[str] = []
    findings: list[Finding] = []
    checked: dict[str, int] = {}
    if feeds.wordpress is not None:
        wordpress, checked["wordpress items"] = _wordpress(
            inventory, feeds.wordpress, feeds.alert_score, notes
        )
        findings += wordpress
    elif any(site.items for site in inventory.wordpress):
        notes.append("no WordPress vulnerability feed (wordpress_vulnerability_feed): "
                     "WordPress not checked")  # fmt: skip
    if feeds.debian is not None:
        findings += _debian(inventory, feeds.debian, feeds.alert_score, notes)
        checked["packages"] = len(inventory.packages)
    elif inventory.packages:
        notes.append("no Debian security tracker file (debian_security_tracker): "
                     "packages not checked")  # fmt: skip
    findings.sort(key=_order)
    counts = {s: n for s in SEVERITIES if (n := sum(1 for f in findings if f.severity == s))}
    used = [feed.info.as_dict() for feed in (feeds.wordpress, feeds.debian) if feed is not None]
    return VulnerabilityScan.model_validate({
        "scanned_at": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "release": inventory.release,
        "feeds": used,
        "findings": [_stored(f) for f in findings],
        "counts": counts,
        "alert_score": feeds.alert_score,
        "alerts": sum(1 for f in findings if f.alert),
        "checked": checked,
        **({"notes": notes} if notes else {}),
    })  # fmt: skip


@dataclass
class Diff:
    """What changed since the previous scan of the host."""

    new: list[Finding] = field(default_factory=list)
    fixed: list[Finding] = field(default_factory=list)  # in the previous scan, gone now
    still_open: list[Finding] = field(default_factory=list)

    @property
    def new_alerts(self) -> list[Finding]:
        """New findings at or above the alert score: what the tick alerts on."""
        return [f for f in self.new if f.alert]


def diff(previous: VulnerabilityScan | None, current: VulnerabilityScan) -> Diff:
    """New, fixed and still open findings; with no previous scan, every finding is new.

    A finding is the same one when its source, site, type, name and id are (a new installed
    version that is still vulnerable stays "still open", with the current record's details).
    """
    before = {f.key: f for f in previous.findings} if previous is not None else {}
    now = {f.key: f for f in current.findings}
    return Diff(
        new=[f for key, f in now.items() if key not in before],
        fixed=[f for key, f in before.items() if key not in now],
        still_open=[f for key, f in now.items() if key in before],
    )
