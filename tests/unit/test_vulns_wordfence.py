"""The Wordfence Intelligence v3 feed: ranges, fixes, the index, bad files (omctl/vulns/)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from omctl.cli.common import OmctlGroup
from omctl.errors import BadInput, ExitCode
from omctl.vulns import wordfence
from omctl.vulns.wordfence import Range

FEEDS = Path(__file__).parent / "feeds"
FEED = FEEDS / "wordfence.json"


def span(low: str, low_inclusive: bool, high: str, high_inclusive: bool) -> Range:
    star = wordfence.UNBOUNDED
    return Range(None if low == star else low, low_inclusive,
                 None if high == star else high, high_inclusive)  # fmt: skip


@pytest.mark.parametrize(
    ("bounds", "version", "inside"),
    [
        (("1.0", True, "2.0", True), "1.0", True),
        (("1.0", True, "2.0", True), "2.0", True),
        (("1.0", False, "2.0", True), "1.0", False),  # exclusive lower bound
        (("1.0", False, "2.0", True), "1.0.1", True),
        (("1.0", True, "2.0", False), "2.0", False),  # exclusive upper bound
        (("1.0", True, "2.0", False), "2.0-beta", True),  # PHP: 2.0-beta < 2.0
        (("1.0", True, "2.0", False), "1.9.99", True),
        (("1.0", True, "2.0", True), "0.9", False),
        (("1.0", True, "2.0", True), "2.0.1", False),
        (("1.0", True, "2.0", True), "2.0.0", False),  # PHP: 2.0.0 > 2.0
        (("*", True, "4.0.2", True), "0.1", True),  # * below: unbounded
        (("*", True, "4.0.2", True), "4.0.3", False),
        (("3.0", True, "*", True), "99.0", True),  # * above: unbounded
        (("3.0", True, "*", True), "2.9", False),
        (("*", True, "*", True), "0", True),
        (("5.9", True, "5.10", True), "5.9.10", True),  # numeric parts
    ],
)
def test_range_bounds(bounds: tuple[str, bool, str, bool], version: str, inside: bool) -> None:
    assert (version in span(*bounds)) is inside


def test_the_feed_is_indexed_by_type_and_slug() -> None:
    feed = wordfence.load(FEED)
    assert feed.info.kind == "wordpress" and feed.info.entries == 6
    assert feed.info.date == "2026-11-21 10:00:00"  # the newest record's update
    assert len(feed.info.sha256) == 64 and feed.info.path == str(FEED)
    assert feed.copyright == "Copyright 2012-2026 Defiant Inc."
    assert ("plugin", "woocommerce") in feed.index and ("theme", "astra") in feed.index
    # Core is core, whatever slug the probe gives it.
    assert [a.vulnerability.cve for a in feed.matches("core", "core", "6.4.1")] == [
        "CVE-2026-90003"
    ]
    assert feed.matches("core", "wordpress", "6.3.9") == []
    assert feed.matches("plugin", "astra", "1.0") == []  # a theme's slug is not a plugin's


def test_two_ranges_and_the_fix_of_each_branch() -> None:
    feed = wordfence.load(FEED)
    for installed, fixed in (("8.2.2", "8.2.3"), ("7.0", "8.2.3"), ("8.3.1", "8.3.2")):
        [found] = feed.matches("plugin", "woocommerce", installed)
        assert found.fixed_in(installed) == fixed
        vuln = found.vulnerability
        assert (vuln.score, vuln.severity, vuln.id) == (
            8.8, "high", "5f0e1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b")  # fmt: skip
        assert vuln.reference.startswith("https://www.wordfence.com/threat-intel/vulnerabilities")
    for safe in ("8.2.3", "8.2.10", "8.3.2", "9.0"):
        assert feed.matches("plugin", "woocommerce", safe) == [], safe


def test_exclusive_bounds_in_the_feed() -> None:
    feed = wordfence.load(FEED)
    assert feed.matches("plugin", "contact-form-7", "5.9.5") == []
    assert len(feed.matches("plugin", "contact-form-7", "5.9.4")) == 1
    assert feed.matches("plugin", "elementor", "3.1.0") == []
    assert len(feed.matches("plugin", "elementor", "3.1.0.1")) == 1


def test_no_fix_no_score() -> None:
    feed = wordfence.load(FEED)
    [astra] = feed.matches("theme", "astra", "4.6.4")
    assert astra.fixed_in("4.6.4") is None  # patched: false
    assert (astra.vulnerability.score, astra.vulnerability.severity) == (None, "unknown")
    assert astra.vulnerability.cve is None
    [gallery] = feed.matches("plugin", "old-gallery", "0.0.1")  # * - *: every version
    assert gallery.fixed_in("0.0.1") is None and gallery.vulnerability.severity == "critical"


def test_the_lab_feed_marks_the_lab_plugin() -> None:
    feed = wordfence.load(FEEDS / "wordfence-lab.json")
    [found] = feed.matches("plugin", "omctl-lab-plugin", "1.0")
    assert found.fixed_in("1.0") == "1.1"
    assert feed.matches("plugin", "omctl-lab-plugin", "1.1") == []


def record(slug: str, low: str, high: str, patched: list[str], score: Any = 5.0) -> dict:
    return {
        "title": f"{slug} {low} - {high}",
        "software": [{"type": "plugin", "slug": slug, "patched": bool(patched),
                      "patched_versions": patched,
                      "affected_versions": {f"{low} - {high}": {
                          "from_version": low, "from_inclusive": True,
                          "to_version": high, "to_inclusive": True}}}],
        "cvss": {"score": score, "rating": "Medium"} if score is not None else None,
        "cve": None, "references": [], "published": "2026-01-01 00:00:00",
    }  # fmt: skip


def test_a_generated_feed_of_100000_entries_loads_and_matches(tmp_path: Path) -> None:
    """Correctness at size: every slug of a generated feed matches exactly its own range.
    (Timing is printed by bench/vulns.py, not asserted here.)"""
    path = tmp_path / "big.json"
    template = json.dumps(record("SLUG", "LOW", "HIGH", ["FIXED"]))
    parts = []
    for n in range(100_000):
        major = n // 20000
        text = template.replace("SLUG", f"plugin-{n % 20000}").replace("LOW", f"{major}.0")
        text = text.replace("HIGH", f"{major}.9").replace("FIXED", f"{major + 1}.0")
        parts.append(f'"id-{n}": {text}')
    path.write_text("{" + ",\n".join(parts) + "}")
    start = time.perf_counter()
    feed = wordfence.load(path)
    loaded = time.perf_counter() - start
    assert feed.info.entries == 100_000 and len(feed.index) == 20_000
    assert loaded < 30  # generous: a broken index (quadratic) would take minutes
    found = feed.matches("plugin", "plugin-123", "2.5")
    assert [a.vulnerability.id for a in found] == ["id-40123"]
    assert found[0].fixed_in("2.5") == "3.0"
    assert feed.matches("plugin", "plugin-123", "5.0") == []


BAD_FEEDS: list[tuple[str, str]] = [
    ("[]", "WordPress vulnerability feed: the file: must be a JSON object keyed by "
           "vulnerability id"),
    ('{"x": 1}', "WordPress vulnerability feed: entry x: must be an object"),
    ('{"x": {"title": "t"}}', "WordPress vulnerability feed: entry x: software must be a list"),
    ('{"x": {"software": [{"type": "plugin", "slug": "a", "affected_versions": []}]}}',
     "WordPress vulnerability feed: entry x: software[0]: affected_versions must be an "
     "object of ranges"),
    ('{"x": {"software": [{"type": "plugin", "slug": "a", "affected_versions": '
     '{"1 - 2": {"from_version": "1", "to_version": 2}}}]}}',
     "WordPress vulnerability feed: entry x: software[0].affected_versions['1 - 2']: "
     "to_version must be a version or '*'"),
    ('{"x": {"software": [{"type": "plugin", "slug": "a", "affected_versions": {}, '
     '"patched_versions": [1]}]}}',
     "WordPress vulnerability feed: entry x: software[0]: patched_versions must be a list "
     "of versions"),
    ('{"x": {"software": [], "cvss": 7}}',
     "WordPress vulnerability feed: entry x: cvss must be an object or null"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), BAD_FEEDS)
def test_a_feed_of_the_wrong_shape_is_one_line_naming_file_and_entry(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "feed.json"
    path.write_text(text)
    with pytest.raises(BadInput) as caught:
        wordfence.load(path)
    assert str(caught.value) == f"{path}: {message}"
    assert caught.value.exit_code == ExitCode.BAD_INPUT


def test_a_missing_or_broken_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match=r"feed.json: WordPress vulnerability feed not found$"):
        wordfence.load(tmp_path / "feed.json")
    (tmp_path / "feed.json").write_text('{\n  "a": {\n    "software": [,]\n}')
    with pytest.raises(BadInput) as caught:
        wordfence.load(tmp_path / "feed.json")
    assert str(caught.value) == (
        f"{tmp_path / 'feed.json'}:3: WordPress vulnerability feed is not JSON: Expecting value"
    )
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe{}")
    with pytest.raises(BadInput, match="not JSON"):
        wordfence.load(tmp_path / "bin.json")
    with pytest.raises(BadInput, match="is a directory"):
        wordfence.load(tmp_path)


def test_a_bad_feed_through_a_command_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """How a command that scans surfaces it: omctl's command group prints one line, exit 2."""
    app = typer.Typer(cls=OmctlGroup)

    @app.command()
    def scan_feeds(feed: Path) -> None:
        wordfence.load(feed)

    @app.command()
    def other() -> None:  # two commands: the group is used as a group
        pass

    path = tmp_path / "feed.json"
    path.write_text('{"x": {"software": "all"}}')
    result = CliRunner().invoke(app, ["scan-feeds", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "entry x: software must be a list" in lines[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": {"software": []}} x', "Extra data"),
        ('{"a" {"software": []}}', "Expecting ':' delimiter"),
        ('{"a": {"software": []} "b": {}}', "Expecting ',' delimiter"),
        ("{a: 1}", "Expecting property name enclosed in double quotes"),
        ('{"a": {"software": [}', "Expecting value"),
        ("", "Expecting value"),
    ],
)
def test_the_feed_is_read_member_by_member_with_json_errors(
    tmp_path: Path, text: str, message: str
) -> None:
    """The feed is decoded one record at a time (memory): its errors are json's own."""
    path = tmp_path / "feed.json"
    path.write_text(text)
    with pytest.raises(BadInput) as caught:
        wordfence.load(path)
    assert str(caught.value) == f"{path}:1: WordPress vulnerability feed is not JSON: {message}"
    with pytest.raises(json.JSONDecodeError, match=message):
        json.loads(text)


def test_member_by_member_reads_what_json_reads(tmp_path: Path) -> None:
    path = tmp_path / "feed.json"
    records = json.loads(FEED.read_text())
    path.write_text(" \n" + json.dumps(records, indent=1, separators=(" ,", " : ")) + "\n\n")
    feed = wordfence.load(path)
    assert feed.info.entries == len(records) == 6
    assert feed.index.keys() == wordfence.load(FEED).index.keys()
    (tmp_path / "empty.json").write_text(" { } ")
    assert wordfence.load(tmp_path / "empty.json").info.entries == 0
