"""A host's inventory matched against both feeds, and what changed since the last scan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from omctl import evidence
from omctl.errors import BadInput
from omctl.evidence.vulnerability_scan import VulnerabilityScan
from omctl.vulns import scan

FEEDS = Path(__file__).parent / "feeds"
NOW = datetime(2026, 12, 1, 4, 0, tzinfo=timezone(timedelta(hours=1)))


def site(path: str, *items: tuple[str, str, str | None, bool]) -> dict[str, Any]:
    return {"path": path, "items": [{"type": t, "slug": s, "version": v, "active": a}
                                    for t, s, v, a in items]}  # fmt: skip


def inventory(*sites: dict[str, Any], packages: list | None = None) -> dict[str, Any]:
    return {"release": "bookworm", "packages": packages or [], "wordpress": list(sites)}


def lab(version: str) -> dict[str, Any]:
    return inventory(site("/var/www/lab", ("core", "wordpress", "6.7.1", True),
                          ("plugin", "omctl-lab-plugin", version, True),
                          ("theme", "omctl-lab-theme", "1.0", True)))  # fmt: skip


def test_the_lab_plugin_is_found_then_fixed_by_its_update() -> None:
    """What the integration test will do: 1.0 vulnerable, 1.1 after the update is not."""
    feeds = scan.load_feeds(FEEDS / "wordfence-lab.json", None)
    before = scan.match(lab("1.0"), feeds, now=NOW)
    [finding] = before.findings
    assert (finding.source, finding.type, finding.slug, finding.installed, finding.fixed_in,
            finding.score, finding.severity, finding.id, finding.site, finding.alert) == (
        "wordpress", "plugin", "omctl-lab-plugin", "1.0", "1.1", 7.2, "high",
        "CVE-2026-99001", "/var/www/lab", True)  # fmt: skip
    assert before.scanned_at == "2026-12-01T03:00:00Z"  # the injected now, in UTC
    assert before.checked == {"wordpress items": 3}
    assert before.feeds[0].kind == "wordpress" and before.feeds[0].entries == 1
    assert before.feeds[0].notice == "Copyright 2012-2026 Defiant Inc."
    after = scan.match(lab("1.1"), feeds, now=NOW + timedelta(hours=1))
    assert after.findings == [] and after.summary_line() == "no known vulnerabilities"
    changed = scan.diff(before, after)
    assert [f.slug for f in changed.fixed] == ["omctl-lab-plugin"]
    assert changed.new == [] and changed.still_open == []


def test_findings_are_worst_first_with_their_counts_and_alerts() -> None:
    feeds = scan.load_feeds(FEEDS / "wordfence.json", FEEDS / "debian-tracker.json")
    record = scan.match(inventory(
        site("/var/www/shop", ("core", "wordpress", "6.4.2", True),
             ("plugin", "woocommerce", "8.3.0", True), ("plugin", "old-gallery", "2.1", False),
             ("plugin", "contact-form-7", "5.9.5", True), ("theme", "astra", "4.6.0", True)),
        site("/var/www/blog", ("plugin", "elementor", "3.1.2", True)),
        packages=[{"name": "libssl3", "version": "3.0.15-1~deb12u1", "source": "openssl"}],
    ), feeds, now=NOW)  # fmt: skip
    assert [(f.name, f.site, f.severity, f.score) for f in record.findings] == [
        ("old-gallery", "/var/www/shop", "critical", 9.8),
        ("woocommerce", "/var/www/shop", "high", 8.8),
        ("openssl", None, "high", None),  # no score: after the scored ones of its band
        ("wordpress", "/var/www/shop", "medium", 6.4),
        ("elementor", "/var/www/blog", "medium", 4.3),
        ("openssl", None, "low", None),
        ("astra", "/var/www/shop", "unknown", None),
    ]  # contact-form-7 5.9.5 is the fix (exclusive bound)
    assert record.counts == {"critical": 1, "high": 2, "medium": 2, "low": 1, "unknown": 1}
    assert record.alerts == 3 and record.alert_score == 7.0
    assert record.summary_line() == (
        "7 findings: 1 critical, 2 high, 2 medium, 1 low, 1 unknown; 3 at or above 7.0; "
        "3 with no fix yet"
    )
    gallery = record.findings[0]
    assert gallery.fixed_in is None and gallery.active is False and gallery.fix_text == "no fix yet"
    assert record.state == "failed"
    # The stored record is valid evidence of its kind, fixed_in and score always present.
    stored, invalid = evidence.check("vulnerability_scan", record.dump())
    assert invalid is None
    assert stored["findings"][0]["fixed_in"] is None and "score" in stored["findings"][2]
    assert "slug" not in stored["findings"][2] and stored["findings"][2]["package"] == "openssl"


@pytest.mark.parametrize(
    ("threshold", "alerting"),
    [(7.0, {"old-gallery", "woocommerce", "openssl"}), (9.0, {"old-gallery"}),
     (8.8, {"old-gallery", "woocommerce"}), (4.0, {"old-gallery", "woocommerce", "openssl",
                                                   "wordpress"})],
)  # fmt: skip
def test_the_alert_score_by_score_or_by_severity_band(threshold: float, alerting: set) -> None:
    feeds = scan.load_feeds(FEEDS / "wordfence.json", FEEDS / "debian-tracker.json", threshold)
    record = scan.match(inventory(
        site("/w", ("core", "wordpress", "6.4.2", True), ("plugin", "woocommerce", "8.3.0", True),
             ("plugin", "old-gallery", "2.1", True)),
        packages=[{"name": "libssl3", "version": "3.0.15-1~deb12u1", "source": "openssl"}],
    ), feeds, now=NOW)  # fmt: skip
    # openssl's high issue has no score: it alerts when the high band (7.0+) reaches the bar.
    assert {f.name for f in record.findings if f.alert} == alerting


def test_diff_new_fixed_and_still_open() -> None:
    feeds = scan.load_feeds(FEEDS / "wordfence.json", None)
    items = [("plugin", "woocommerce", "8.2.1", True), ("core", "wordpress", "6.4.1", True)]
    first = scan.match(inventory(site("/w", *items)), feeds, now=NOW)
    everything_new = scan.diff(None, first)
    assert [f.name for f in everything_new.new] == ["woocommerce", "wordpress"]
    assert [f.name for f in everything_new.new_alerts] == ["woocommerce"]
    # woocommerce updated within the vulnerable branch (still open), core fixed, a new plugin.
    items = [("plugin", "woocommerce", "8.2.2", True), ("core", "wordpress", "6.4.3", True),
             ("plugin", "elementor", "3.1.1", True)]  # fmt: skip
    second = scan.match(inventory(site("/w", *items)), feeds, now=NOW)
    changed = scan.diff(first, second)
    assert [f.name for f in changed.new] == ["elementor"]
    assert [f.name for f in changed.fixed] == ["wordpress"]
    assert [(f.name, f.installed) for f in changed.still_open] == [("woocommerce", "8.2.2")]
    assert changed.new_alerts == []  # elementor's 4.3 is below 7.0
    # The same plugin on another site is another finding.
    other = scan.match(inventory(site("/w", ("plugin", "woocommerce", "8.2.2", True)),
                                 site("/x", ("plugin", "woocommerce", "8.2.2", True))),
                       feeds, now=NOW)  # fmt: skip
    assert [f.site for f in scan.diff(second, other).new] == ["/x"]


def test_diff_reads_stored_records() -> None:
    """The report and alerts diff what the ledger holds: records read back through the model."""
    feeds = scan.load_feeds(FEEDS / "wordfence-lab.json", None)
    stored = scan.match(lab("1.0"), feeds, now=NOW).dump()
    previous = evidence.parse("vulnerability_scan", stored)
    assert isinstance(previous, VulnerabilityScan)
    assert [f.slug for f in scan.diff(previous, scan.match(lab("1.0"), feeds)).still_open] == [
        "omctl-lab-plugin"
    ]


def test_what_was_not_checked_is_said() -> None:
    record = scan.match(
        inventory(site("/w", ("plugin", "hello-dolly", None, False)),
                  packages=[{"name": "curl", "version": "7.88.1-10"}]),
        scan.Feeds(), now=NOW,
    )  # fmt: skip
    assert record.findings == [] and record.feeds == [] and record.checked == {}
    assert record.notes == [
        "no WordPress vulnerability feed (wordpress_vulnerability_feed): WordPress not checked",
        "no Debian security tracker file (debian_security_tracker): packages not checked",
    ]
    unversioned = scan.match(inventory(site("/w", ("plugin", "hello-dolly", None, False))),
                             scan.load_feeds(FEEDS / "wordfence.json", None), now=NOW)  # fmt: skip
    assert unversioned.notes == ["no version, not checked: /w: plugin hello-dolly"]


def test_a_bad_host_inventory_is_one_line() -> None:
    with pytest.raises(BadInput) as caught:
        scan.match({"release": "bookworm", "packages": [{"name": "curl"}]}, scan.Feeds())
    assert str(caught.value) == (
        "host inventory of the vulnerability scan: packages.0.version: Field required"
    )


def test_report_and_show_rows() -> None:
    feeds = scan.load_feeds(FEEDS / "wordfence-lab.json", None)
    record = scan.match(lab("1.0"), feeds, now=datetime(2026, 12, 1, tzinfo=UTC))
    [row] = record.report_rows()
    assert row == {
        "source": "wordpress", "site": "/var/www/lab", "type": "plugin",
        "name": "omctl-lab-plugin", "installed": "1.0", "fixed_in": "1.1", "score": 7.2,
        "severity": "high", "id": "CVE-2026-99001",
        "title": "omctl Lab Plugin <= 1.0 - Unauthenticated Stored Cross-Site Scripting",
        "alert": True,
        "reference": "https://www.wordfence.com/threat-intel/vulnerabilities/id/"
                     "0b7a2c64-5f1e-4d8a-9c3b-6e2f0a1d4b57?source=api-prod",
    }  # fmt: skip
    rows = record.show_rows()
    assert rows[0].value[0].state == "failed"  # at or above the alert score
    assert "fixed in 1.1 on /var/www/lab" in rows[1].value[1]
