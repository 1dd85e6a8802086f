"""Which version an item may take (omctl/wordpress/policy.py): patch, minor and major steps,
delay_days counted to an injected now, holds waiting for the client, the newest allowed winning,
the package folder's names, and a bad policy named."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from omctl.errors import BadInput
from omctl.wordpress import policy

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def folder(tmp_path: Path, *packages: tuple[str, int]) -> list[policy.Package]:
    """Zips named ``omctl-lab-plugin.VERSION.zip`` released ``days`` before NOW."""
    for version, days in packages:
        path = tmp_path / f"omctl-lab-plugin.{version}.zip"
        path.write_bytes(b"zip")
        stamp = (NOW - timedelta(days=days)).timestamp()
        os.utime(path, (stamp, stamp))
    (tmp_path / "README.txt").write_text("not a package")
    return policy.packages_in(tmp_path)


def decide(packages, rule: policy.Rule, installed: str = "1.0.0") -> policy.Decision | None:
    return policy.decide("plugin", "omctl-lab-plugin", installed, packages, rule, NOW)


@pytest.mark.parametrize(("installed", "candidate", "step"), [
    ("1.0.0", "1.0.1", "patch"), ("1.0", "1.0.0.1", "patch"), ("1.0", "1.1", "minor"),
    ("1.9.3", "1.10", "minor"), ("1.0", "2.0", "major"), ("6.4.3", "6.5", "minor"),
])  # fmt: skip
def test_the_step_between_versions(installed: str, candidate: str, step: str) -> None:
    assert policy.level(installed, candidate) == step


def test_the_newest_version_within_the_policy_wins(tmp_path: Path) -> None:
    packages = folder(tmp_path, ("1.0.1", 30), ("1.0.2", 30), ("1.1.0", 30), ("2.0.0", 30))
    assert decide(packages, policy.Rule("patch")).to == "1.0.2"
    assert decide(packages, policy.Rule("minor")).to == "1.1.0"
    chosen = decide(packages, policy.Rule("major"))
    assert (chosen.to, chosen.package) == ("2.0.0", tmp_path / "omctl-lab-plugin.2.0.0.zip")


def test_only_a_bigger_step_says_what_the_policy_allows(tmp_path: Path) -> None:
    found = decide(folder(tmp_path, ("2.0.0", 30)), policy.Rule("minor"))
    assert (found.to, found.package) == (None, None)
    assert found.reason == "2.0.0 is a major update; the policy allows minor"


def test_delay_days_counts_from_the_release_to_now(tmp_path: Path) -> None:
    packages = folder(tmp_path, ("1.0.1", 10), ("1.0.2", 2))
    assert decide(packages, policy.Rule("patch", delay_days=3)).to == "1.0.1"
    waiting = decide(packages, policy.Rule("patch", delay_days=11))
    assert waiting.package is None
    assert waiting.reason == "1.0.1 waits until 2026-12-04 (11 days after its release)"
    assert decide(packages, policy.Rule("patch", delay_days=2)).to == "1.0.2"


def test_a_held_item_waits_for_the_client(tmp_path: Path) -> None:
    found = decide(folder(tmp_path, ("1.0.1", 30)), policy.Rule("patch", hold=True))
    assert (found.to, found.package, found.held) == ("1.0.1", None, True)
    assert found.reason == "held: waiting for the client's decision"


def test_nothing_newer_is_no_decision(tmp_path: Path) -> None:
    assert decide(folder(tmp_path, ("1.0.0", 30), ("0.9", 30)), policy.Rule("major")) is None


def test_the_plan_reads_the_sites_items_with_per_slug_rules(tmp_path: Path) -> None:
    folder(tmp_path, ("1.1", 30))
    (tmp_path / "omctl-lab-theme.1.0.1.zip").write_bytes(b"zip")
    os.utime(tmp_path / "omctl-lab-theme.1.0.1.zip", (NOW.timestamp(),) * 2)
    items = [{"type": "core", "slug": "wordpress", "version": "6.4"},
             {"type": "plugin", "slug": "omctl-lab-plugin", "version": "1.0"},
             {"type": "plugin", "slug": "mu", "version": "1.0", "must_use": True},
             {"type": "theme", "slug": "omctl-lab-theme", "version": "1.0"}]  # fmt: skip
    found = policy.plan([{"path": "/var/www/shop", "items": items}], tmp_path,
                        {"policy": "minor"}, {"omctl-lab-theme": {"hold": True}}, NOW)  # fmt: skip
    assert [(d["slug"], d["from"], d["to"], d["held"], bool(d["package"])) for d in found] == [
        ("omctl-lab-plugin", "1.0", "1.1", False, True),
        ("omctl-lab-theme", "1.0", "1.0.1", True, False),
    ]
    assert found[0]["site"] == "/var/www/shop"


def test_a_bad_policy_or_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="'weekly' is not one of"):
        policy.rule_for("x", {"policy": "weekly"}, {})
    with pytest.raises(BadInput, match="is not a folder on the controller"):
        policy.packages_in(tmp_path / "missing")
