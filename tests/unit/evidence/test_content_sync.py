"""The state of a content sync, derived once for `omctl show` and the report."""

from __future__ import annotations

import pytest

from omctl.evidence.content_sync import ContentSync


@pytest.mark.parametrize(
    ("data", "outcome", "report_state"),
    [
        ({"error": "rsync failed", "switched": True}, "failed", "failed"),
        ({"check_mode": True, "switched": False}, "proposal", "not switched"),
        ({"up_to_date": True, "action": "rollback"}, "up_to_date", "up to date"),
        ({"action": "rollback", "switched": True}, "switched", "rolled back"),
        ({"action": "rollback", "switched": False}, "not_switched", "rolled back"),
        ({"action": "sync", "switched": True}, "switched", "published"),
        ({"action": "sync"}, "not_switched", "not switched"),
    ],
)
def test_outcome_and_report_state(data: dict, outcome: str, report_state: str) -> None:
    record = ContentSync.model_validate(data)
    assert record.outcome == outcome
    assert record.report_state == report_state


def test_short_commit() -> None:
    record = ContentSync.model_validate({"source": {"commit": "0123456789abcdef0123"}})
    assert record.short_commit == "0123456789ab"
    assert ContentSync.model_validate({}).short_commit is None
