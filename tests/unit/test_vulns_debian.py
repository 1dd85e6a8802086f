"""The Debian security tracker's JSON matched against installed packages (omctl/vulns/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omctl.errors import BadInput
from omctl.vulns import debian, scan
from omctl.vulns.scan import Package

TRACKER = Path(__file__).parent / "feeds" / "debian-tracker.json"


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("2.0", "1:1.0"),  # an epoch outranks everything after it
        ("1:10.11.6-0+deb12u1", "1:10.11.11-0+deb12u1"),
        ("1.0~rc1", "1.0"),  # ~ sorts before the release
        ("1.0~~", "1.0~"),
        ("3.0.15-1~deb12u1", "3.0.15-1"),  # a backport is below the version it came from
        ("3.0.15-1~deb12u1", "3.0.16-1~deb12u1"),
        ("1.2-3", "1.2-3+deb12u1"),  # a stable update is above its base
        ("1.2-3+deb12u1", "1.2-3+deb12u2"),
        ("1.2-3+deb12u9", "1.2-3+deb12u10"),  # numerically
        ("1.2-3+deb12u1", "1.2-4"),
        ("1.2-3", "1.2-3+b1"),  # a binNMU
        ("6.1.115-1", "6.1.123-1"),
        ("1.0", "1.0.0"),
        ("1.0a", "1.0b"),
    ],
)
def test_debian_version_ordering(lower: str, higher: str) -> None:
    assert debian.version(lower) < debian.version(higher)
    assert debian.version(higher) > debian.version(lower)


def test_equal_versions() -> None:
    assert debian.version("0:1.0-1") == debian.version("1.0-1")


def test_urgency_is_the_severity() -> None:
    urgencies = ["high", "medium**", "low*", "unimportant", "not yet assigned", "end-of-life",
                 None, "odd"]  # fmt: skip
    assert [debian.severity(u) for u in urgencies] == [
        "high",
        "medium",
        "low",
        "unimportant",
        "unknown",
        "unknown",
        "unknown",
        "unknown",
    ]


@pytest.mark.parametrize(
    ("package", "expected"),
    [
        ({"name": "libssl3", "version": "3.0.15-1", "source": "openssl"}, ("openssl", "3.0.15-1")),
        ({"name": "curl", "version": "7.88.1-10", "source": ""}, ("curl", "7.88.1-10")),
        ({"name": "curl", "version": "7.88.1-10"}, ("curl", "7.88.1-10")),
        # ${Source} with its version: the tracker's versions are the source's.
        ({"name": "libgcc-s1", "version": "12.2.0-14", "source": "gcc-12 (12.2.0-14)"},
         ("gcc-12", "12.2.0-14")),
        ({"name": "gcc", "version": "4:12.2.0-3", "source": "gcc-defaults (1.203)"},
         ("gcc-defaults", "1.203")),
        ({"name": "gcc", "version": "4:12.2.0-3", "source": "gcc-defaults",
          "source_version": "1.203"}, ("gcc-defaults", "1.203")),
    ],
)  # fmt: skip
def test_a_binary_is_matched_by_its_source_package(package: dict, expected: tuple) -> None:
    assert Package.model_validate(package).source_and_version() == expected


def test_the_tracker_is_read_per_source_and_release() -> None:
    tracker = debian.load(TRACKER)
    assert tracker.info.kind == "debian" and tracker.info.entries == 8
    assert {"bookworm", "trixie", "sid"} <= tracker.releases
    assert [i.id for i in tracker.issues("openssl", "bookworm")] == [
        "CVE-2026-91001", "CVE-2026-91002", "CVE-2026-91003"]  # fmt: skip
    assert tracker.issues("openssl", "bullseye") == [] and tracker.issues("zlib", "bookworm") == []
    only = debian.load(TRACKER, releases={"trixie"})
    assert only.issues("openssl", "bookworm") == [] and len(only.issues("openssl", "trixie")) == 2
    assert only.releases == tracker.releases  # what the file knows, to tell a missing release


def test_open_resolved_and_never_affected() -> None:
    issues = {i.id: i for i in debian.load(TRACKER).issues("openssl", "bookworm")}
    fixed = issues["CVE-2026-91001"]
    assert fixed.affects("3.0.15-1~deb12u1", TRACKER, "openssl") == (True, "3.0.16-1~deb12u1")
    assert fixed.affects("3.0.16-1~deb12u1", TRACKER, "openssl") == (False, "3.0.16-1~deb12u1")
    assert fixed.affects("3.0.17-1~deb12u1", TRACKER, "openssl")[0] is False
    assert issues["CVE-2026-91002"].affects("99", TRACKER, "openssl") == (True, None)  # open
    assert issues["CVE-2026-91002"].nodsa == "Minor issue"
    assert issues["CVE-2026-91003"].affects("0.1", TRACKER, "openssl") == (False, None)  # "0"


INVENTORY = {
    "release": "bookworm",
    "packages": [
        {"name": "libssl3", "version": "3.0.15-1~deb12u1", "source": "openssl", "arch": "amd64"},
        {"name": "openssl", "version": "3.0.15-1~deb12u1", "source": "", "arch": "amd64"},
        {"name": "curl", "version": "7.88.1-10+deb12u9", "source": "curl", "arch": "amd64"},
        {"name": "libcurl4", "version": "7.88.1-10+deb12u8", "source": "curl", "arch": "amd64"},
        {"name": "mariadb-server", "version": "1:10.11.6-0+deb12u1", "source": "mariadb",
         "arch": "amd64"},
        {"name": "nginx", "version": "1.22.1-9+deb12u1", "source": "nginx", "arch": "amd64"},
        {"name": "linux-image-6.1.0-28-amd64", "version": "6.1.119-1",
         "source": "linux (6.1.119-1)", "arch": "amd64"},
        {"name": "zlib1g", "version": "1:1.2.13.dfsg-1", "source": "zlib", "arch": "amd64"},
    ],
    "wordpress": [],
}  # fmt: skip


def test_installed_packages_against_the_tracker() -> None:
    feeds = scan.Feeds(debian=debian.load(TRACKER))
    record = scan.match(INVENTORY, feeds)
    found = [(f.package, f.id, f.installed, f.fixed_in, f.severity, f.alert, f.binaries)
             for f in record.findings]  # fmt: skip
    assert found == [
        ("openssl", "CVE-2026-91001", "3.0.15-1~deb12u1", "3.0.16-1~deb12u1", "high", True,
         ["libssl3", "openssl"]),  # two binaries of one source: one finding
        ("curl", "CVE-2026-91010", "7.88.1-10+deb12u8", "7.88.1-10+deb12u9", "medium", False,
         ["libcurl4"]),  # curl itself is at the fixed version; the undetermined TEMP is not
        ("mariadb", "CVE-2026-91020", "1:10.11.6-0+deb12u1", "1:10.11.11-0+deb12u1", "medium",
         False, ["mariadb-server"]),
        ("openssl", "CVE-2026-91002", "3.0.15-1~deb12u1", None, "low", False,
         ["libssl3", "openssl"]),  # open: no fix yet
        ("linux", "CVE-2026-91040", "6.1.119-1", "6.1.123-1", "unknown", False,
         ["linux-image-6.1.0-28-amd64"]),
    ]  # fmt: skip
    assert record.counts == {"high": 1, "medium": 2, "low": 1, "unknown": 1}
    assert record.alerts == 1 and record.checked == {"packages": 8}
    assert record.findings[0].reference == (
        "https://security-tracker.debian.org/tracker/CVE-2026-91001"
    )
    assert record.findings[3].fix_text == "no fix yet"


def test_a_release_the_tracker_does_not_know_is_a_note_not_a_clean_bill() -> None:
    feeds = scan.Feeds(debian=debian.load(TRACKER))
    record = scan.match({**INVENTORY, "release": "buster"}, feeds)
    assert record.findings == []
    assert record.notes == [
        "release buster is not in the Debian security tracker file: packages not checked"
    ]
    unknown = scan.match({**INVENTORY, "release": None}, feeds)
    assert unknown.notes == ["the host's Debian release is unknown: packages not checked"]


def test_an_installed_version_that_is_not_debian_is_noted() -> None:
    feeds = scan.Feeds(debian=debian.load(TRACKER))
    packages = [{"name": "nginx", "version": "not a version!", "source": "nginx"}]
    record = scan.match({"release": "bookworm", "packages": packages}, feeds)
    assert record.findings == []
    assert record.notes == ["not Debian versions, not checked: nginx 'not a version!'"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "the file: must be a JSON object keyed by source package"),
        ({"openssl": []}, "package openssl: must be an object keyed by issue id"),
        ({"openssl": {"CVE-1": {"releases": []}}},
         "package openssl CVE-1: must be an object with releases: {codename: {status, ...}}"),
        ({"openssl": {"CVE-1": {"releases": {"bookworm": {"status": "fixed"}}}}},
         "package openssl CVE-1 bookworm: status must be one of open, resolved, undetermined"),
        ({"openssl": {"CVE-1": {"releases": {"bookworm": {"status": "resolved",
                                                          "fixed_version": 3}}}}},
         "package openssl CVE-1 bookworm: fixed_version must be a string"),
    ],
)  # fmt: skip
def test_a_tracker_file_of_the_wrong_shape(tmp_path: Path, data: object, message: str) -> None:
    path = tmp_path / "tracker.json"
    path.write_text(json.dumps(data))
    with pytest.raises(BadInput) as caught:
        debian.load(path)
    assert str(caught.value) == f"{path}: Debian security tracker file: {message}"


def test_a_fixed_version_that_is_not_a_version_names_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "tracker.json"
    path.write_text(json.dumps({"nginx": {"CVE-1": {"releases": {"bookworm": {
        "status": "resolved", "fixed_version": "<unfixed>"}}}}}))  # fmt: skip
    feeds = scan.Feeds(debian=debian.load(path))
    with pytest.raises(BadInput) as caught:
        scan.match({"release": "bookworm", "packages": [{"name": "nginx", "version": "1.0"}]},
                   feeds)  # fmt: skip
    assert str(caught.value) == (
        f"{path}: Debian security tracker file: nginx CVE-1: fixed_version '<unfixed>' is not "
        "a Debian version"
    )


def test_a_missing_tracker_file(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as caught:
        scan.load_feeds(None, tmp_path / "json")
    assert str(caught.value) == f"{tmp_path / 'json'}: Debian security tracker file not found"
