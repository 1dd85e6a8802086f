"""Requests and manual work as ledger records (omctl.work), on a real SQLite ledger."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from omctl import ledger, work
from omctl.errors import BadInput

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def book(tmp_path):
    opened = ledger.open_ledger(tmp_path / "ledger.sqlite3")
    yield opened
    opened.close()


def test_ids_are_the_ledger_sequence_and_unique_across_clients(book) -> None:
    first = work.add(book, "acme", "One", "op")
    second = work.add(book, "globex", "Two", "op")
    third = work.add(book, "acme", "Three", "op")
    assert len({first.id, second.id, third.id}) == 3
    assert [state.id for state in work.requests(book, "acme")] == [first.id, third.id]
    assert work.find(book, None, second.id.lower()).client == "globex"


def test_the_latest_classification_counts_and_approval_needs_out_of_scope(book) -> None:
    state = work.add(book, "acme", "New landing page", "op", category="operation")
    work.classify(book, state.id, "operation", "content change", "op")
    with pytest.raises(BadInput, match="only out-of-scope work"):
        work.approve(book, state.id, "Jane", "op")
    work.classify(book, state.id, "out-of-scope", "a new page is a project", "op2")
    assert work.find(book, "acme", state.id).awaiting_approval
    approved = work.approve(book, state.id, "Jane", "op", Decimal("3"))
    assert approved.approved and approved.quote_hours == Decimal("3")
    assert approved.classified_by == "op2" and approved.state == "open"
    closed = work.close(book, state.id, "op", "delivered")
    assert not closed.open and closed.closed_note == "delivered"
    assert closed.age(NOW + timedelta(days=30)) == closed.closed_at - closed.added_at


def test_work_is_counted_when_it_was_done_in_half_open_periods(book) -> None:
    december = datetime(2026, 12, 1, tzinfo=UTC)
    work.log(book, "acme", "operation", 30, "late in November", "op", NOW,
             done_at=december - timedelta(seconds=1))  # fmt: skip
    work.log(book, "acme", "maintenance", 15, "on the 1st", "op", NOW, done_at=december)
    work.log(book, "acme", "operation", 10, "now", "op", NOW)
    work.log(book, "globex", "operation", 99, "not acme's", "op", NOW)
    november = work.work_logged(book, "acme", december - timedelta(days=30), december)
    assert [item.text for item in november] == ["late in November"]
    this_month = work.work_logged(book, "acme", december, december + timedelta(days=31))
    assert [(item.text, item.minutes) for item in this_month] == [("on the 1st", 15), ("now", 10)]


def test_a_record_this_omctl_cannot_read_is_skipped_not_a_crash(book) -> None:
    state = work.add(book, "acme", "Real", "op")
    book.append(work.REQUEST_ENTRY, work.ADDED, {"client": "acme", "operator": "x", "v": 9,
                                                 "text": "", "extra": True})  # fmt: skip
    book.append(work.REQUEST_ENTRY, work.CLOSED, {"client": "acme", "operator": "x",
                                                  "request": "R999"})  # fmt: skip
    book.append(work.WORK_ENTRY, work.LOGGED, {"client": "acme", "minutes": "lots"})
    assert [found.id for found in work.requests(book, "acme")] == [state.id]
    assert work.work_logged(book, "acme") == []
    assert book.verify().ok


def test_request_entries_do_not_enter_the_run_index(book) -> None:
    work.add(book, "acme", "Real", "op")
    work.log(book, "acme", "operation", 5, "x", "op", NOW)
    assert book.count_runs() == 0 and ledger.runs(book) == []
