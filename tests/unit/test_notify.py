"""Alerts through real apprise to a webhook receiver on loopback (apprise's json://)."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from omctl import notify, settings
from omctl.errors import BadInput
from tests.unit.webhook import Receiver

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


def test_an_alert_reaches_the_webhook(receiver: Receiver) -> None:
    alert = notify.Alert("k", "omctl: backup of acme failed", "run 1 failed", notify.FAILURE)
    assert notify.send([receiver.url()], alert) == []
    (got,) = receiver.received
    assert (got["path"], got["title"], got["message"], got["type"]) == (
        "/hook", "omctl: backup of acme failed", "run 1 failed", "failure"
    )  # fmt: skip


def test_problems_never_show_the_url(receiver: Receiver) -> None:
    secret = "tok3n-s3cret"
    refused = f"json://127.0.0.1:1/{secret}"  # nothing listens on port 1
    unknown = f"nosuchscheme://{secret}@example"
    problems = notify.send([receiver.url(), refused, unknown], notify.Alert("k", "t", "b"))
    assert problems == [
        "notification URL 2 (json://) did not take the message",
        "notification URL 3 (nosuchscheme://) is not one apprise knows",
    ]
    assert len(receiver.received) == 1


def test_an_incident_is_alerted_once_then_reminded(receiver: Receiver, tmp_path: Path) -> None:
    log = notify.AlertLog(tmp_path / "alerts", "acme")
    overdue = notify.Alert("overdue:acme:backup:2026-12-01", "overdue", "b", notify.WARNING)
    for hours in (0, 1, 23):
        assert notify.deliver([receiver.url()], [overdue], log, NOW + timedelta(hours=hours),
                              DAY) == []  # fmt: skip
    assert len(receiver.received) == 1
    notify.deliver([receiver.url()], [overdue], log, NOW + DAY, DAY)  # the reminder
    assert len(receiver.received) == 2
    log.save()
    reopened = notify.AlertLog(tmp_path / "alerts", "acme")
    assert not reopened.due(overdue.key, NOW + DAY, DAY)
    assert stat.S_IMODE((tmp_path / "alerts" / "acme.json").stat().st_mode) == 0o600
    reopened.forget_except("overdue:acme:", set())  # a run cleared it
    assert reopened.due(overdue.key, NOW + DAY, DAY)


def test_an_alert_no_url_took_is_tried_again(tmp_path: Path) -> None:
    log = notify.AlertLog(tmp_path, "acme")
    alert = notify.Alert("run:1", "t", "b")
    problems = notify.deliver(["json://127.0.0.1:1/x"], [alert], log, NOW, DAY)
    assert problems and log.due(alert.key, NOW, DAY)


def test_an_unreadable_log_costs_a_repeat_not_a_lost_alert(tmp_path: Path) -> None:
    (tmp_path / "acme.json").write_text("{not json")
    assert notify.AlertLog(tmp_path, "acme").due("run:1", NOW, DAY)


def test_settings_take_urls_from_toml_and_the_environment(tmp_path: Path) -> None:
    (tmp_path / "omctl.toml").write_text('notify = ["ntfy://a/b", "json://h/x?a=1,2"]\n')
    assert settings.load(tmp_path, environ={}).notify == ("ntfy://a/b", "json://h/x?a=1,2")
    spaced = {"OMCTL_NOTIFY": "json://h/x?a=1,2  mailto://u:p@h"}
    assert settings.load(tmp_path, environ=spaced).notify == ("json://h/x?a=1,2", "mailto://u:p@h")
    (tmp_path / "omctl.toml").write_text('notify = ["hunter2"]\n')
    with pytest.raises(BadInput) as raised:
        settings.load(tmp_path, environ={})
    assert "entry 1 is not a URL" in str(raised.value) and "hunter2" not in str(raised.value)


def test_no_url_is_bad_input() -> None:
    with pytest.raises(BadInput, match="no notification URL"):
        notify.check_urls([])
