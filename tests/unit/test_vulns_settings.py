"""The vulnerability settings: omctl.toml keys, OMCTL_* variables, the command line first."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from omctl import settings
from omctl.errors import BadInput
from omctl.vulns import scan

FEEDS = Path(__file__).parent / "feeds"


def test_defaults(tmp_path: Path) -> None:
    loaded = settings.load(tmp_path, environ={})
    assert loaded.wordpress_vulnerability_feed is None
    assert loaded.debian_security_tracker is None
    assert loaded.vulnerability_alert_score == 7.0


def test_file_then_environment_then_command_line(tmp_path: Path) -> None:
    (tmp_path / "omctl.toml").write_text(
        'wordpress_vulnerability_feed = "feeds/wordfence.json"\n'
        'debian_security_tracker = "/srv/debian.json"\nvulnerability_alert_score = 9\n'
    )
    from_file = settings.load(tmp_path, environ={})
    assert from_file.wordpress_vulnerability_feed == tmp_path.resolve() / "feeds/wordfence.json"
    assert from_file.debian_security_tracker == Path("/srv/debian.json")
    assert from_file.vulnerability_alert_score == 9.0
    environ = {"OMCTL_VULNERABILITY_ALERT_SCORE": "6.5",
               "OMCTL_DEBIAN_SECURITY_TRACKER": "/env/json"}  # fmt: skip
    from_env = settings.load(tmp_path, environ=environ)
    assert from_env.vulnerability_alert_score == 6.5
    assert from_env.debian_security_tracker == Path("/env/json")
    from_cli = settings.load(tmp_path, cli={"vulnerability_alert_score": 4.0}, environ=environ)
    assert from_cli.vulnerability_alert_score == 4.0


@pytest.mark.parametrize("value", ["11", "-1", '"high"', "true", "nan"])
def test_a_bad_alert_score_names_the_line(tmp_path: Path, value: str) -> None:
    path = tmp_path / "omctl.toml"
    path.write_text(f'operator = "a@b"\nvulnerability_alert_score = {value}\n')
    with pytest.raises(BadInput) as caught:
        settings.load(tmp_path, environ={})
    assert str(caught.value) == (
        f"{path.resolve()}:2: vulnerability_alert_score: must be a score from 0 to 10"
    )


def test_a_bad_alert_score_in_the_environment(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="OMCTL_VULNERABILITY_ALERT_SCORE: must be a score"):
        settings.load(tmp_path, environ={"OMCTL_VULNERABILITY_ALERT_SCORE": "seven"})


def test_the_feeds_the_settings_name(tmp_path: Path) -> None:
    shutil.copytree(FEEDS, tmp_path / "feeds")
    (tmp_path / "omctl.toml").write_text(
        'wordpress_vulnerability_feed = "feeds/wordfence-lab.json"\n'
        'debian_security_tracker = "feeds/debian-tracker.json"\nvulnerability_alert_score = 8\n'
    )
    feeds = scan.feeds_from_settings(settings.load(tmp_path, environ={}))
    assert feeds.wordpress is not None and feeds.wordpress.info.entries == 1
    assert feeds.debian is not None and feeds.alert_score == 8.0
    none = scan.feeds_from_settings(settings.load(tmp_path / "feeds", environ={}))
    assert (none.wordpress, none.debian, none.alert_score) == (None, None, 7.0)
