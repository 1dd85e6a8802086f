import sqlite3
from pathlib import Path

import pytest

from omctl import ledger


@pytest.fixture
def book(tmp_path: Path) -> ledger.SqliteLedger:
    opened = ledger.SqliteLedger(tmp_path / "ledger.sqlite3")
    yield opened
    opened.close()


def _fill(book: ledger.SqliteLedger) -> None:
    book.append("r1", ledger.STARTED, {"client": "acme", "task": "healthcheck",
                                       "category": "maintenance", "in_scope": True})  # fmt: skip
    book.append("r1", ledger.HOST, {"host": "web1", "ok": 3, "changed": 1, "failed": 0,
                                    "unreachable": 0, "skipped": 0, "rescued": 0, "ignored": 0,
                                    "changed_tasks": ["x"], "failures": []})  # fmt: skip
    book.append("r1", ledger.EVIDENCE, {"host": "web1", "kind": "healthcheck", "data": {"a": 1}})
    book.append("r1", ledger.FINISHED, {"status": ledger.SUCCESSFUL})
    book.append("r2", ledger.REFUSED, {"client": "acme", "task": "patching",
                                       "category": "maintenance", "in_scope": False,
                                       "refusal_reason": "not listed"})  # fmt: skip


def _tamper(path: Path, sql: str) -> None:
    """What someone with the file would do: drop the guard triggers, then edit."""
    raw = sqlite3.connect(path)
    raw.execute("DROP TRIGGER entries_no_update")
    raw.execute("DROP TRIGGER entries_no_delete")
    raw.execute(sql)
    raw.commit()
    raw.close()


def test_fold_builds_runs(book: ledger.SqliteLedger) -> None:
    _fill(book)
    runs = {run.id: run for run in ledger.runs(book)}
    assert runs["r1"].status == ledger.SUCCESSFUL
    assert runs["r1"].hosts["web1"].changed == 1
    assert runs["r1"].hosts["web1"].evidence == {"healthcheck": {"a": 1}}
    assert runs["r2"].status == ledger.STATUS_REFUSED
    assert runs["r2"].refusal_reason == "not listed"
    assert ledger.runs(book, "other") == []


def test_intact_chain_verifies(book: ledger.SqliteLedger) -> None:
    _fill(book)
    result = book.verify()
    assert result.ok and result.entries == 5


def test_entries_cannot_be_updated_or_deleted_through_sqlite(book: ledger.SqliteLedger) -> None:
    _fill(book)
    raw = sqlite3.connect(book.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("UPDATE entries SET payload = '{}' WHERE seq = 2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("DELETE FROM entries WHERE seq = 2")
    raw.close()


def test_altered_row_is_named(book: ledger.SqliteLedger) -> None:
    _fill(book)
    _tamper(book.path, "UPDATE entries SET payload = replace(payload, '\"changed\":1', "
                       "'\"changed\":0') WHERE seq = 2")  # fmt: skip
    result = book.verify()
    assert not result.ok
    assert result.first_bad_seq == 2
    assert "row 2 was altered" in result.problem


def test_removed_row_is_named(book: ledger.SqliteLedger) -> None:
    _fill(book)
    _tamper(book.path, "DELETE FROM entries WHERE seq = 3")
    result = book.verify()
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "row 3 is missing" in result.problem


def test_removed_newest_rows_are_noticed_through_the_head(book: ledger.SqliteLedger) -> None:
    _fill(book)
    _tamper(book.path, "DELETE FROM entries WHERE seq >= 4")
    result = book.verify()
    assert not result.ok
    assert "rows 4 to 5 are missing" in result.problem


def test_rehashed_forgery_is_still_caught_by_the_head(book: ledger.SqliteLedger) -> None:
    _fill(book)
    # Rewrite row 5 with a valid hash over the forged payload: the chain alone would pass.
    raw = sqlite3.connect(book.path)
    seq, run_id, kind, at, _, prev, _ = raw.execute("SELECT * FROM entries WHERE seq=5").fetchone()
    forged = ledger.canonical({"client": "acme", "task": "patching", "in_scope": True})
    digest = ledger.entry_hash(prev, seq, run_id, kind, at, forged)
    raw.close()
    _tamper(book.path, f"UPDATE entries SET payload = '{forged}', hash = '{digest}' WHERE seq = 5")
    result = book.verify()
    assert not result.ok
    assert "row 5 differs from the head file" in result.problem


def test_reopen_keeps_chain(tmp_path: Path) -> None:
    first = ledger.SqliteLedger(tmp_path / "l.sqlite3")
    _fill(first)
    first.close()
    second = ledger.SqliteLedger(tmp_path / "l.sqlite3")
    second.append("r3", ledger.REFUSED, {"client": "b", "task": "t", "category": "operation",
                                         "in_scope": False})  # fmt: skip
    assert second.verify().ok
    assert [e.seq for e in second.entries()] == [1, 2, 3, 4, 5, 6]
    second.close()


def test_interrupted_run_status(book: ledger.SqliteLedger) -> None:
    book.append("r9", ledger.STARTED, {"client": "acme", "task": "t", "category": "operation",
                                       "in_scope": True})  # fmt: skip
    assert ledger.get_run(book, "r9").status == ledger.RUNNING
    book.append("r9", ledger.INTERRUPTED, {"status": ledger.STATUS_INTERRUPTED, "message": "m"})
    run = ledger.get_run(book, "r9")
    assert run.status == ledger.STATUS_INTERRUPTED
    assert run.ended_at is not None


def test_append_many_is_all_or_nothing(book: ledger.SqliteLedger) -> None:
    _fill(book)
    with pytest.raises(TypeError):
        book.append_many(
            [("r3", ledger.HOST, {"host": "a"}), ("r3", ledger.FINISHED, {"bad": object()})]
        )
    assert [e.seq for e in book.entries()] == [1, 2, 3, 4, 5]
    assert book.verify().ok
