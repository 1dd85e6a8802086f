"""A record that does not match its model: record_result keeps it raw with the error, `omctl
show` and the report name it, and nothing crashes or is dropped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omctl import report, report_render
from omctl.cli.main import app
from tests.unit.evidence.records import HEALTHCHECK
from tests.unit.report_ledger import NOW, MonthLedger, day, make_workspace

RENAMED = {"ok": True, "results": []}  # a role that renamed checks
ERROR = "checks: Field required"
MESSAGE = f"healthcheck evidence of web2 does not match its schema: {ERROR}"


@pytest.fixture
def month(tmp_path: Path) -> Iterator[MonthLedger]:
    built = MonthLedger(make_workspace(tmp_path / "ws"))
    built.run(
        "hc",
        "healthcheck",
        day("2026-11-10 08:00"),
        evidence={"web1": {"healthcheck": HEALTHCHECK}, "web2": {"healthcheck": RENAMED}},
        reason="asked by the client after an outage",  # not in the contract
    )
    built.run(
        "ct",
        "content_sync",
        day("2026-11-11 10:00"),
        limit="web1",
        evidence={"web1": {"content_sync": {"action": "publish", "switched": True}}},
    )
    yield built
    built.close()


def show(month: MonthLedger, *args: str):
    return CliRunner().invoke(app, ["--workspace", str(month.ws.root), "show", *args])


def test_record_result_keeps_the_raw_record_with_its_error(month: MonthLedger) -> None:
    entries = [e for e in month.book.entries() if e.kind == "run.evidence"]
    by_host = {(e.payload["host"], e.payload["kind"]): e.payload for e in entries}
    assert by_host[("web2", "healthcheck")] == {
        "host": "web2", "kind": "healthcheck", "data": RENAMED, "invalid": ERROR,
    }  # fmt: skip
    assert by_host[("web1", "healthcheck")] == {
        "host": "web1", "kind": "healthcheck", "data": HEALTHCHECK,
    }  # fmt: skip
    assert "Input should be 'sync' or 'rollback'" in by_host[("web1", "content_sync")]["invalid"]
    assert month.book.verify().ok


def test_show_names_the_invalid_record_and_prints_it_raw(month: MonthLedger) -> None:
    result = show(month, month.ids["hc"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert MESSAGE in text
    assert "healthcheck of web1: unhealthy" in text  # the valid one is rendered as before
    assert '"results": []' in result.stdout  # the invalid one as its raw JSON


def test_show_json_lists_the_invalid_records(month: MonthLedger) -> None:
    result = show(month, month.ids["hc"], "--json")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["hosts"]["web2"]["evidence"]["healthcheck"] == RENAMED
    assert shown["invalid_evidence"] == [
        {"host": "web2", "kind": "healthcheck", "error": ERROR, "message": MESSAGE}
    ]
    valid = json.loads(show(month, month.ids["ct"], "--json").stdout)
    assert [found["kind"] for found in valid["invalid_evidence"]] == ["content_sync"]


def test_the_report_leaves_the_invalid_record_out_and_says_so(month: MonthLedger) -> None:
    november = report.collect(month.book, report.subject(month.ws, "acme", "2026-11"), now=NOW)
    assert november.operation["content_releases"] == []
    notes = [note for note in november.notes if "does not match its schema" in note]
    assert notes[0] == f"{MESSAGE} (run {month.ids['hc']}; left out of this report)"
    assert notes[1].startswith(
        "content_sync evidence of web1 does not match its schema: action: Input should be"
    )
    for fmt in ("md", "html", "json"):
        assert MESSAGE in report_render.render(november, fmt)
