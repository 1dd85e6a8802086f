import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock
from zoneinfo import ZoneInfo

import pytest

from omctl import ledger, ledger_key
from omctl.errors import BadInput, LedgerBroken, LedgerKeyMissing


@pytest.fixture
def book(tmp_path: Path) -> ledger.SqliteLedger:
    opened = ledger.SqliteLedger(tmp_path / "ledger.sqlite3")
    yield opened
    opened.close()


def _fill(book: ledger.SqlLedger) -> None:
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
    assert result.ok and result.entries == 6 and result.keyed_from == 1


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
                       "'\"changed\":0') WHERE seq = 3")  # fmt: skip
    result = book.verify()
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "row 3 was altered" in result.problem


def test_removed_row_is_named(book: ledger.SqliteLedger) -> None:
    _fill(book)
    _tamper(book.path, "DELETE FROM entries WHERE seq = 3")
    result = book.verify()
    assert not result.ok
    assert result.first_bad_seq == 3
    assert "row 3 is missing" in result.problem


def test_removed_newest_rows_are_noticed_through_the_head(book: ledger.SqliteLedger) -> None:
    _fill(book)
    _tamper(book.path, "DELETE FROM entries WHERE seq >= 5")
    result = book.verify()
    assert not result.ok
    assert "rows 5 to 6 are missing" in result.problem


def test_rehashed_forgery_is_still_caught_by_the_head(book: ledger.SqliteLedger) -> None:
    _fill(book)
    # Rewrite row 6 with a valid keyed hash over the forged payload: the chain alone would pass.
    raw = sqlite3.connect(book.path)
    seq, run_id, kind, at, _, prev, _ = raw.execute(ledger.ENTRY_ROWS + " WHERE seq=6").fetchone()
    forged = ledger.canonical({"client": "acme", "task": "patching", "in_scope": True})
    digest = ledger.entry_hash(prev, seq, run_id, kind, at, forged, _key(book).secret)
    raw.close()
    _tamper(book.path, f"UPDATE entries SET payload = '{forged}', hash = '{digest}' WHERE seq = 6")
    result = book.verify()
    assert not result.ok
    assert "row 6 differs from the head file" in result.problem


def test_reopen_keeps_chain(tmp_path: Path) -> None:
    first = ledger.SqliteLedger(tmp_path / "l.sqlite3")
    _fill(first)
    first.close()
    second = ledger.SqliteLedger(tmp_path / "l.sqlite3")
    second.append("r3", ledger.REFUSED, {"client": "b", "task": "t", "category": "operation",
                                         "in_scope": False})  # fmt: skip
    assert second.verify().ok
    assert [e.seq for e in second.entries()] == [1, 2, 3, 4, 5, 6, 7]
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
    assert [e.seq for e in book.entries()] == [1, 2, 3, 4, 5, 6]
    assert book.verify().ok


# --- the keyed chain ------------------------------------------------------------------------


def _key(book: ledger.SqliteLedger) -> ledger_key.LedgerKey:
    (keying,) = [e for e in book.entries() if e.kind == ledger.KEYED]
    return ledger_key.read(ledger_key.default_path(keying.payload["ledger_id"]))


def _rows(path: Path) -> list[list]:
    raw = sqlite3.connect(path)
    rows = [list(r) for r in raw.execute(ledger.ENTRY_ROWS + " ORDER BY seq")]
    raw.close()
    return rows


def _rewrite(path: Path, rows: list[list], key: bytes | None, keyed_from: int = 1) -> None:
    """What a forger does: drop the triggers, replace every row with ``rows`` rechained from
    the start (HMAC with ``key`` from ``keyed_from`` on, plain SHA-256 before), write the
    head file to match and rebuild the run index."""
    prev = ledger.GENESIS
    for number, row in enumerate(rows, start=1):
        row[0], row[5] = number, prev
        secret = key if number >= keyed_from else None
        row[6] = prev = ledger.entry_hash(prev, number, row[1], row[2], row[3], row[4], secret)
    raw = sqlite3.connect(path)
    raw.execute("DROP TRIGGER IF EXISTS entries_no_update")
    raw.execute("DROP TRIGGER IF EXISTS entries_no_delete")
    raw.execute("DELETE FROM entries")
    raw.executemany(
        "INSERT INTO entries (seq, run_id, kind, at, payload, prev_hash, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    raw.commit()
    raw.close()
    path.with_name(path.name + ".head").write_text(f"{len(rows)} {prev}\n")
    forged = ledger.SqliteLedger(path)
    forged.reindex()
    forged.close()


def _forge_host_row(rows: list[list]) -> None:
    (host,) = [r for r in rows if r[2] == ledger.HOST]
    host[4] = host[4].replace('"changed":1', '"changed":0')


def test_the_chain_is_keyed_with_a_key_outside_the_ledger(book, ledger_keys) -> None:
    _fill(book)
    first = next(book.entries())
    assert first.kind == ledger.KEYED and first.payload["legacy_entries"] == 0
    key = _key(book)
    assert key.path.parent == ledger_keys and key.path.name.startswith("ledger-")
    assert key.path.stat().st_mode & 0o777 == 0o600
    assert ledger_keys.stat().st_mode & 0o777 == 0o700
    assert key.ledger == str(book.path.resolve()) and len(key.secret) == 32
    assert key.secret.hex() not in repr(key)
    for own in book.path.parent.iterdir():  # the key is written nowhere beside the ledger
        assert (
            key.secret not in own.read_bytes() and key.secret.hex().encode() not in own.read_bytes()
        )
    seq, run_id, kind, at, payload, prev, digest = _rows(book.path)[1]
    assert digest == ledger.entry_hash(prev, seq, run_id, kind, at, payload, key.secret)
    assert digest != ledger.entry_hash(prev, seq, run_id, kind, at, payload)


def test_the_ledger_files_are_private(book) -> None:
    _fill(book)
    suffixes = ("", "-wal", "-shm", ".head", ".lock")
    for suffix in suffixes:
        own = book.path.with_name(book.path.name + suffix)
        assert own.stat().st_mode & 0o777 == 0o600, own


def test_a_rewrite_rehashed_without_the_key_fails(book) -> None:
    _fill(book)
    rows = _rows(book.path)
    _forge_host_row(rows)
    _rewrite(book.path, rows, key=None)  # plain SHA-256, as the chain was before keys
    result = book.verify()
    assert not result.ok and result.first_bad_seq == 1
    assert "row 1 was altered" in result.problem
    _rewrite(book.path, rows, key=b"a guess of the forger's own" * 2)
    assert not book.verify().ok


def test_a_rewrite_that_drops_the_keying_fails(book) -> None:
    _fill(book)
    rows = [r for r in _rows(book.path) if r[2] != ledger.KEYED]
    _forge_host_row(rows)
    _rewrite(book.path, rows, key=None, keyed_from=len(rows) + 1)  # an "old, unkeyed" ledger
    result = book.verify()
    assert (
        not result.ok and "holds no keyed entry now: it was rewritten or replaced" in result.problem
    )
    with pytest.raises(LedgerBroken, match="rewritten or replaced"):
        book.append("r3", ledger.STARTED, {"client": "acme"})


def test_a_replaced_ledger_fails(tmp_path: Path) -> None:
    first = ledger.SqliteLedger(tmp_path / "ledger.sqlite3")
    _fill(first)
    first.close()
    for own in tmp_path.iterdir():
        own.unlink()
    fresh = ledger.SqliteLedger(tmp_path / "ledger.sqlite3")
    assert "rewritten or replaced" in fresh.verify().problem
    with pytest.raises(LedgerBroken, match="move that key file away"):
        fresh.append("r1", ledger.STARTED, {"client": "acme"})
    fresh.close()


def test_a_missing_key_is_an_error_never_a_new_key(book, ledger_keys) -> None:
    _fill(book)
    key = _key(book)
    key.path.unlink()
    before = sorted(ledger_keys.iterdir())
    reopened = ledger.SqliteLedger(book.path)  # an open ledger keeps the key it loaded
    result = reopened.verify()
    assert not result.ok and "its key file is missing" in result.problem
    with pytest.raises(LedgerKeyMissing, match="never makes a new key"):
        reopened.append("r3", ledger.STARTED, {"client": "acme"})
    reopened.close()
    assert sorted(ledger_keys.iterdir()) == before
    assert len(list(book.entries())) == 6


def test_a_key_open_to_others_is_refused(book) -> None:
    _fill(book)
    key = _key(book)
    key.path.chmod(0o644)
    reopened = ledger.SqliteLedger(book.path)
    assert "open to other users" in reopened.verify().problem
    reopened.close()


def test_an_explicit_key_file_belongs_to_one_ledger(tmp_path: Path, ledger_keys) -> None:
    key_file = tmp_path / "keys" / "acme.key"
    one = ledger.SqliteLedger(tmp_path / "one.sqlite3", key_file)
    _fill(one)
    assert one.verify().ok and ledger_key.read(key_file).ledger == str(one.path)
    other = ledger.SqliteLedger(tmp_path / "two.sqlite3", key_file)
    with pytest.raises(LedgerBroken, match="never overwrites a key"):
        other.append("r1", ledger.STARTED, {"client": "acme"})
    assert list(other.entries()) == [] and ledger_key.read(key_file).ledger == str(one.path)
    one.close()
    other.close()


def test_a_rewrite_with_the_key_passes_but_fails_the_checkpoints(book) -> None:
    _fill(book)
    early = book.verify()  # what a report stated: head 6
    book.append("r3", ledger.REFUSED, {"client": "b", "task": "t", "category": "operation",
                                       "in_scope": False})  # fmt: skip
    assert early.ok and (early.head_seq, len(early.head_hash)) == (6, 64)
    rows = _rows(book.path)
    row2 = (2, rows[1][6])
    _forge_host_row(rows)  # row 3
    _rewrite(book.path, rows, key=_key(book).secret)
    assert book.verify().ok  # with the key, the rewrite is a valid chain ...
    result = book.verify([row2, (early.head_seq, early.head_hash)])
    assert not result.ok and result.first_bad_seq == 6  # ... but not the reported history
    assert "row 6 differs from checkpoint 6:" in result.problem
    assert "still holds checkpoint 2, so the change is after row 2" in result.problem
    assert book.verify([row2]).ok and book.verify([row2]).checkpoints == 1
    missing = book.verify([(99, early.head_hash)])
    assert not missing.ok and "row 99 of checkpoint" in missing.problem


def test_recorded_report_checkpoints_witness_a_rewrite_with_the_key(book) -> None:
    _fill(book)
    head = book.verify()
    book.append(ledger.REPORT_ENTRY, ledger.CHECKPOINT,
                {"client": "acme", "seq": head.head_seq, "hash": head.head_hash})  # fmt: skip
    book.append(ledger.REPORT_ENTRY, ledger.CHECKPOINT, {"client": "acme", "seq": None})
    assert book.verify().ok  # a report on an empty ledger witnessed nothing
    assert [r.id for r in ledger.runs(book)] == ["r1", "r2"]
    rows = _rows(book.path)
    _forge_host_row(rows)
    _rewrite(book.path, rows, key=_key(book).secret)  # the forger forgot the report's entry
    result = book.verify()
    assert not result.ok and result.first_bad_seq == 6
    assert "differs from the checkpoint that report entry 7 recorded" in result.problem
    assert "the history up to row 6 was rewritten" in result.problem


@pytest.mark.parametrize("text", ["", "5", "5:", ":ab", "0:" + "a" * 64, "5:" + "a" * 63,
                                  "5:" + "g" * 64, "x:" + "a" * 64])  # fmt: skip
def test_a_malformed_checkpoint_is_bad_input(text: str) -> None:
    with pytest.raises(BadInput, match="--checkpoint expects SEQ:HASH"):
        ledger.parse_checkpoint(text)


def test_parse_checkpoint() -> None:
    assert ledger.parse_checkpoint(" 12:" + "AB" * 32) == (12, "ab" * 32)


# --- a ledger from before keys --------------------------------------------------------------


def _legacy_ledger(path: Path) -> None:
    """A ledger as omctl wrote it before the chain was keyed: plain SHA-256 rows and a head,
    schema version 1 (no run index)."""
    raw = sqlite3.connect(path)
    raw.executescript(ledger.SCHEMA)
    raw.execute("PRAGMA user_version=1")
    raw.close()
    payloads = [
        ("old1", ledger.STARTED, {"client": "acme", "task": "healthcheck",
                                  "category": "maintenance", "in_scope": True}),
        ("old1", ledger.FINISHED, {"status": ledger.SUCCESSFUL}),
    ]  # fmt: skip
    rows = [[0, rid, kind, "2026-10-01T10:00:00.000Z", ledger.canonical(data), "", ""]
            for rid, kind, data in payloads]  # fmt: skip
    _rewrite(path, rows, key=None, keyed_from=99)
    raw = sqlite3.connect(path)
    raw.executescript(ledger.SCHEMA)  # the triggers, as the old omctl left them
    raw.close()


def test_an_unkeyed_ledger_is_verified_then_continued_keyed(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    _legacy_ledger(path)
    book = ledger.SqliteLedger(path)
    legacy = book.verify()
    assert legacy.ok and legacy.entries == 2 and legacy.keyed_from is None
    book.append("new1", ledger.STARTED, {"client": "acme", "task": "healthcheck",
                                         "category": "maintenance", "in_scope": True})  # fmt: skip
    keying = [e for e in book.entries() if e.kind == ledger.KEYED]
    assert [e.seq for e in keying] == [3]
    assert keying[0].payload["legacy_entries"] == 2
    assert keying[0].payload["legacy_head"] == legacy.head_hash
    both = book.verify()
    assert both.ok and both.entries == 4 and both.keyed_from == 3
    assert {r.id: r.status for r in ledger.runs(book)} == {"old1": "successful", "new1": "running"}
    # A forger who rehashes the old part with SHA-256 breaks the keyed entry that follows it.
    rows = _rows(path)
    rows[0][4] = rows[0][4].replace('"in_scope":true', '"in_scope":false')
    prev = ledger.GENESIS
    for row in rows[:2]:
        row[5] = prev
        row[6] = prev = ledger.entry_hash(prev, row[0], row[1], row[2], row[3], row[4])
    raw = sqlite3.connect(path)
    raw.execute("DROP TRIGGER entries_no_update")
    raw.executemany("UPDATE entries SET payload = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                    [(r[4], r[5], r[6], r[0]) for r in rows[:2]])  # fmt: skip
    raw.commit()
    raw.close()
    result = book.verify()
    assert not result.ok and "row 3 does not follow row 2" in result.problem
    book.close()


def test_a_tampered_unkeyed_ledger_still_fails_after_keying(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    _legacy_ledger(path)
    _tamper(path, "UPDATE entries SET payload = '{}' WHERE seq = 1")
    book = ledger.SqliteLedger(path)
    book.append("new1", ledger.STARTED, {"client": "acme", "task": "t", "category": "operation",
                                         "in_scope": True})  # fmt: skip
    result = book.verify()
    assert not result.ok and "row 1 was altered" in result.problem
    book.close()


# --- verify shared with a worker process ------------------------------------------------------


def _fill_runs(book: ledger.SqliteLedger, runs: int) -> None:
    for n in range(runs):
        run_id = f"r{n:02d}"
        book.append_many([
            (run_id, ledger.STARTED, {"client": "acme", "task": "healthcheck",
                                      "category": "maintenance", "in_scope": True}),
            (run_id, ledger.HOST, {"host": "web1", "ok": 1, "changed": n % 2, "failed": 0,
                                   "unreachable": 0, "skipped": 0, "rescued": 0, "ignored": 0,
                                   "changed_tasks": [], "failures": []}),
            (run_id, ledger.EVIDENCE, {"host": "web1", "kind": "healthcheck", "data": {"n": n}}),
            (run_id, ledger.FINISHED, {"status": ledger.SUCCESSFUL}),
        ])  # fmt: skip


@pytest.mark.parametrize(
    "damage",
    [
        None,
        "UPDATE entries SET payload = replace(payload, '\"n\":7', '\"n\":8') WHERE seq = 32",
        "DELETE FROM entries WHERE seq = 20",  # the first half's last row
        "DELETE FROM entries WHERE seq = 21",  # the second half's first row
        "UPDATE entries SET prev_hash = hash WHERE seq = 21",  # the halves' link
        "UPDATE run_index SET status = 'failed' WHERE run_id IN ('r02', 'r08')",
        "INSERT INTO run_index SELECT 'r99', client, task, category, status, in_scope,"
        " check_mode, started_at, ended_at, first_seq, last_seq, summary, hosts, trigger"
        " FROM run_index WHERE run_id = 'r01'",
        "DELETE FROM run_index WHERE run_id = 'r09'",
    ],
)
def test_a_verify_shared_with_a_worker_finds_what_one_pass_finds(book, damage) -> None:
    _fill_runs(book, 10)  # 41 entries, with the keying one
    if damage is not None:
        _tamper(book.path, damage)
    alone = book.verify()
    book.PARALLEL_VERIFY_FROM = 1  # this ledger is a big one
    shared = book.verify()
    assert shared == alone
    assert shared.ok is (damage is None)


def test_a_worker_checks_evidence_of_any_shape_as_one_pass_does(book) -> None:
    _fill_runs(book, 4)
    book.append_many([  # a host that is not a string: SQLite's JSON functions leave it alone
        ("rx", ledger.STARTED, {"client": "acme", "task": "healthcheck",
                                "category": "maintenance", "in_scope": True}),
        ("rx", ledger.EVIDENCE, {"host": 5, "kind": "x", "data": {}}),
    ])  # fmt: skip
    alone = book.verify()
    book.PARALLEL_VERIFY_FROM = 1
    assert book.verify() == alone
    assert alone.ok


# --- the run index ----------------------------------------------------------------------------


def test_the_run_index_follows_every_append(book: ledger.SqliteLedger) -> None:
    _fill(book)
    book.append("r3", ledger.STARTED, {"client": "beta", "task": "backup",
                                       "category": "maintenance", "in_scope": True})  # fmt: skip
    rows = {row.id: row for row in book.indexed()}
    assert list(rows) == ["r1", "r2", "r3"]
    assert rows["r1"].status == ledger.SUCCESSFUL and rows["r1"].hosts == {"web1": "changed"}
    assert rows["r1"].summary == {**ledger.get_run(book, "r1").summary(), "message": None}
    assert rows["r2"].status == ledger.STATUS_REFUSED and rows["r2"].ended_at is not None
    assert rows["r3"].status == ledger.RUNNING and rows["r3"].ended_at is None
    assert [row.id for row in book.indexed("acme", "patching")] == ["r2"]
    assert [run.id for run in ledger.runs(book, "beta")] == ["r3"]
    assert {e.run_id for e in book.entries(client="acme")} == {"r1", "r2"}


def test_a_run_id_prefix_is_a_range_not_a_pattern(book: ledger.SqliteLedger) -> None:
    refused = {"client": "acme", "task": "x", "category": "maintenance", "in_scope": False}
    for run_id in ("2026-a_1", "2026-ab1", "2026-b"):
        book.append(run_id, ledger.REFUSED, refused)
    assert book.run_ids("2026-a") == ["2026-a_1", "2026-ab1"]
    assert book.run_ids("2026-a_") == ["2026-a_1"]
    assert book.run_ids("2027") == []


def test_an_index_that_differs_from_the_entries_fails_verify_until_reindexed(
    book: ledger.SqliteLedger,
) -> None:
    _fill(book)
    raw = sqlite3.connect(book.path)
    raw.execute("UPDATE run_index SET status = 'successful' WHERE run_id = 'r2'")
    raw.commit()
    raw.close()
    result = book.verify()
    assert not result.ok
    assert "run index differs from the entries of run r2" in result.problem
    assert "omctl ledger reindex" in result.problem
    assert book.reindex() == 2
    assert book.verify().ok
    raw = sqlite3.connect(book.path)
    raw.execute("INSERT INTO run_index SELECT 'ghost', client, task, category, status, in_scope,"
                " check_mode, started_at, ended_at, first_seq, last_seq, summary, hosts, trigger"
                " FROM run_index WHERE run_id = 'r1'")  # fmt: skip
    raw.commit()
    raw.close()
    assert "lists run ghost, which has no entries" in book.verify().problem


def test_a_ledger_of_schema_1_gets_its_index_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    first = ledger.SqliteLedger(path)
    _fill(first)
    first.close()
    raw = sqlite3.connect(path)
    raw.execute("DROP TABLE run_index")
    raw.execute("PRAGMA user_version=1")
    raw.commit()
    raw.close()
    reopened = ledger.SqliteLedger(path)
    try:
        assert [row.id for row in reopened.indexed("acme")] == ["r1", "r2"]
        assert reopened.verify().ok
    finally:
        reopened.close()
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == ledger.SCHEMA_VERSION
    raw.close()


def test_a_ledger_of_a_newer_omctl_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    ledger.SqliteLedger(path).close()
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version={ledger.SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    with pytest.raises(LedgerBroken, match="newer than this omctl"):
        ledger.SqliteLedger(path)


# --- bounded reads ----------------------------------------------------------------------------


def test_a_stamp_bound_is_exact_at_the_millisecond() -> None:
    moment = datetime(2026, 11, 30, 23, 0, 0, 250_000, tzinfo=UTC)
    assert ledger.stamp_bound(moment) == "2026-11-30T23:00:00.250Z"  # a whole millisecond
    later = moment + timedelta(microseconds=1)
    assert ledger.stamp_bound(later) == "2026-11-30T23:00:00.251Z"  # .250 is before it
    assert ledger.stamp(moment) < ledger.stamp_bound(later)
    berlin = moment.astimezone(ZoneInfo("Europe/Berlin"))  # the same moment elsewhere
    assert ledger.stamp_bound(berlin) == ledger.stamp_bound(moment)


def _run_at(book: ledger.SqliteLedger, run_id: str, at: str, task: str, status: str,
            client: str = "acme", hosts: dict[str, int] | None = None) -> None:  # fmt: skip
    with mock.patch.object(ledger, "utcnow", return_value=at):
        book.append_many([
            (run_id, ledger.STARTED, {"client": client, "task": task, "category": "maintenance",
                                      "in_scope": True}),
            *[(run_id, ledger.HOST, {"host": host, "ok": 1, "changed": 0, "failed": failed,
                                     "unreachable": 0, "skipped": 0, "rescued": 0, "ignored": 0,
                                     "changed_tasks": [], "failures": []})
              for host, failed in (hosts or {"web1": 0}).items()],
            (run_id, ledger.FINISHED, {"status": status}),
        ])  # fmt: skip


def test_scan_reads_a_client_period_through_the_index(book: ledger.SqliteLedger) -> None:
    _run_at(book, "a", "2026-10-31T22:59:59.999Z", "backup", ledger.SUCCESSFUL)
    _run_at(book, "b", "2026-10-31T23:00:00.000Z", "backup", ledger.FAILED, hosts={"web1": 1})
    _run_at(book, "c", "2026-11-15T10:00:00.000Z", "patching", ledger.SUCCESSFUL)
    _run_at(book, "d", "2026-11-30T23:00:00.000Z", "backup", ledger.SUCCESSFUL)
    _run_at(book, "e", "2026-11-20T10:00:00.000Z", "backup", ledger.SUCCESSFUL, client="beta")
    november = {"since": "2026-10-31T23:00:00.000Z", "until": "2026-11-30T23:00:00.000Z"}
    assert [r.id for r in book.scan("acme", **november)] == ["b", "c"]  # [since, until)
    assert [r.id for r in book.scan("acme", "backup", **november)] == ["b"]
    assert [r.id for r in book.scan("acme", statuses=(ledger.SUCCESSFUL,))] == ["a", "c", "d"]
    assert [r.id for r in book.scan("acme", "backup", newest_first=True)] == ["d", "b", "a"]
    assert book.scan("acme", "backup", newest_first=True).__next__().id == "d"
    assert [r.id for r in book.scan("beta")] == ["e"]
    assert [r.hosts for r in book.scan("acme", "backup", statuses=(ledger.FAILED,))] == [
        {"web1": "failed"}
    ]
    picked = ledger.runs_of(book, ["d", "a", "nope"])
    assert [run.id for run in picked] == ["a", "d"]  # oldest first; unknown ids left out
    whole = {run.id: run for run in ledger.runs(book, "acme")}
    assert [run.as_dict() for run in picked] == [whole["a"].as_dict(), whole["d"].as_dict()]


# --- verification in proportion to the question -----------------------------------------------


def _month_of_runs(book: ledger.SqliteLedger) -> None:
    for day in range(1, 11):
        _run_at(book, f"r{day:02d}", f"2026-11-{day:02d}T10:00:00.000Z", "backup",
                ledger.SUCCESSFUL)  # fmt: skip


def _payload_edit(path: Path, run_id: str) -> None:
    _tamper(path, "UPDATE entries SET payload = replace(payload, '\"ok\":1', '\"ok\":2')"
                  f" WHERE run_id = '{run_id}' AND kind = 'run.host'")  # fmt: skip


def test_without_a_recorded_verify_the_runs_check_is_the_whole_chain(book) -> None:
    _month_of_runs(book)
    result = book.verify_runs(["r09"])
    assert result.ok and result.since is None and result.entries == book.head()[0]
    assert "the whole hash chain" in result.scope


def test_after_a_full_verify_the_runs_check_starts_from_its_sealed_checkpoint(book) -> None:
    _month_of_runs(book)
    full = book.verify()
    book.record_verified(full)
    _run_at(book, "r11", "2026-11-11T10:00:00.000Z", "backup", ledger.SUCCESSFUL)
    result = book.verify_runs(["r02", "r11"])
    assert result.ok and result.since is not None
    assert result.since[:2] == (full.head_seq, full.head_hash)
    assert result.older_checked == 3  # r02's entries; r11's are after the checkpoint
    assert result.head_seq == book.head()[0]
    assert f"from entry {full.head_seq}" in result.scope and "3 older entries" in result.scope


def test_a_tampered_entry_of_a_used_run_fails_the_runs_check_and_verify(book) -> None:
    _month_of_runs(book)
    book.record_verified(book.verify())
    _payload_edit(book.path, "r03")
    result = book.verify_runs(["r03", "r04"])
    assert not result.ok and "was altered" in result.problem and result.since is not None
    assert not book.verify().ok


def test_a_tampered_entry_outside_the_used_runs_is_left_to_verify(book) -> None:
    """What the runs check does not read it does not vouch for (its scope says so): a full
    verify names the row."""
    _month_of_runs(book)
    book.record_verified(book.verify())
    _payload_edit(book.path, "r05")
    assert book.verify_runs(["r03"]).ok
    full = book.verify()
    assert not full.ok and "was altered" in full.problem


def test_anything_after_the_checkpoint_is_checked_whatever_the_runs(book) -> None:
    _month_of_runs(book)
    book.record_verified(book.verify())
    _run_at(book, "r11", "2026-11-11T10:00:00.000Z", "backup", ledger.SUCCESSFUL)
    _payload_edit(book.path, "r11")
    result = book.verify_runs(["r01"])
    assert not result.ok and "was altered" in result.problem


def test_rows_removed_before_the_checkpoint_fail_the_runs_check(book) -> None:
    _month_of_runs(book)
    book.record_verified(book.verify())
    _tamper(book.path, "DELETE FROM entries WHERE run_id = 'r05'")
    result = book.verify_runs(["r01"])
    assert not result.ok and "missing" in result.problem


def test_a_forged_or_stale_verified_record_means_the_whole_chain(book) -> None:
    _month_of_runs(book)
    book.record_verified(book.verify())
    record = json.loads(book.verified_path.read_text())
    book.verified_path.write_text(json.dumps({**record, "seq": 3}))  # the seal no longer holds
    assert book.verify_runs(["r01"]).since is None
    book.record_verified(book.verify())
    _tamper(book.path, "DELETE FROM entries WHERE seq > 20")  # the checkpoint row is gone
    result = book.verify_runs(["r01"])
    assert not result.ok and result.since is None  # fell back to the whole chain


def test_an_index_row_of_a_used_run_must_match_its_entries(book) -> None:
    _month_of_runs(book)
    book.record_verified(book.verify())
    raw = sqlite3.connect(book.path)
    raw.execute("UPDATE run_index SET status = 'failed' WHERE run_id = 'r02'")
    raw.commit()
    raw.close()
    result = book.verify_runs(["r02"])
    assert not result.ok and "run index differs from the entries of run r02" in result.problem


def test_a_ledger_of_schema_2_gets_the_failures_index_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite3"
    opened = ledger.SqliteLedger(path)
    _fill(opened)
    opened.close()
    raw = sqlite3.connect(path)
    raw.execute("DROP INDEX run_index_client_status")
    raw.execute("PRAGMA user_version=2")
    raw.commit()
    raw.close()
    reopened = ledger.SqliteLedger(path)
    assert reopened.verify().ok
    reopened.close()
    raw = sqlite3.connect(path)
    names = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "run_index_client_status" in names
    assert raw.execute("PRAGMA user_version").fetchone()[0] == ledger.SCHEMA_VERSION == 5
    raw.close()


def test_a_ledger_of_schema_3_gets_its_index_rebuilt_with_triggers(tmp_path: Path) -> None:
    """Version 3's index had no trigger column and its summaries no trigger key: opened by
    this omctl, it is rebuilt from the entries, and every old run was an operator's."""
    path = tmp_path / "ledger.sqlite3"
    opened = ledger.SqliteLedger(path)
    _fill(opened)
    opened.close()
    raw = sqlite3.connect(path)
    raw.execute("DROP INDEX run_index_trigger")
    raw.execute("ALTER TABLE run_index DROP COLUMN trigger")
    raw.execute("UPDATE run_index SET summary = json_remove(summary, '$.trigger')")
    raw.execute("PRAGMA user_version=3")
    raw.commit()
    raw.close()
    reopened = ledger.SqliteLedger(path)
    try:
        rows = {row.id: row for row in reopened.indexed("acme")}
        assert {rid: row.trigger for rid, row in rows.items()} == {
            "r1": "operator",
            "r2": "operator",
        }
        assert rows["r1"].summary["trigger"] == "operator"
        assert reopened.verify().ok
    finally:
        reopened.close()


def test_the_index_says_what_triggered_a_run(tmp_path: Path) -> None:
    book = ledger.SqliteLedger(tmp_path / "ledger.sqlite3")
    try:
        _fill(book)  # start records without a trigger: runs from before omctl tick
        book.append("r3", ledger.STARTED, {"client": "acme", "task": "backup",
                                           "category": "maintenance", "in_scope": True,
                                           "trigger": ledger.TRIGGER_SCHEDULE})  # fmt: skip
        triggers = {row.id: row.trigger for row in book.indexed("acme")}
        assert triggers == {"r1": "operator", "r2": "operator", "r3": "schedule"}
        assert [row.id for row in book.indexed(trigger=ledger.TRIGGER_SCHEDULE)] == ["r3"]
        assert ledger.get_run(book, "r3").summary()["trigger"] == "schedule"
        assert book.verify().ok
        raw = sqlite3.connect(book.path)
        raw.execute("UPDATE run_index SET trigger = 'operator' WHERE run_id = 'r3'")
        raw.commit()
        raw.close()
        assert "run index differs from the entries of run r3" in book.verify().problem
    finally:
        book.close()
