"""The PostgreSQL ledger against a real server (tests/pg.py): the ledger's behaviour on both
stores, what only the shared store has (the sealed head row, many writers), and that its
password never shows."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import psycopg
import pytest

from omctl import ledger, ledger_pg
from omctl.errors import BadInput, EnvironmentProblem
from omctl.workspace import Workspace
from tests import pg
from tests.unit.test_ledger import _fill

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Store:
    book: ledger.SqlLedger
    tamper: Callable[[str], None]  # SQL run past the append-only triggers, as a forger would
    raw: Callable[[str], None]  # SQL run as an ordinary client (the triggers apply)
    reopen: Callable[[], ledger.SqlLedger]


@pytest.fixture
def pg_url(pg_server: pg.Server) -> str:
    return pg_server.create_database()


def _pg_sql(server: pg.Server, url: str, sql: str, past_triggers: bool) -> None:
    with psycopg.connect(url, password=server.password, autocommit=True) as conn:
        if past_triggers:
            conn.execute("ALTER TABLE entries DISABLE TRIGGER USER")
        try:
            conn.execute(sql)
        finally:
            if past_triggers:
                conn.execute("ALTER TABLE entries ENABLE TRIGGER USER")


def _sqlite_sql(path: Path, sql: str, past_triggers: bool) -> None:
    raw = sqlite3.connect(path)
    try:
        if past_triggers:
            raw.execute("DROP TRIGGER IF EXISTS entries_no_update")
            raw.execute("DROP TRIGGER IF EXISTS entries_no_delete")
        raw.execute(sql)
        raw.commit()
    finally:
        raw.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened: list[ledger.SqlLedger] = []
    if request.param == "sqlite":
        path = tmp_path / "ledger.sqlite3"

        def reopen() -> ledger.SqlLedger:
            opened.append(ledger.SqliteLedger(path))
            return opened[-1]

        tamper = lambda sql: _sqlite_sql(path, sql, True)  # noqa: E731
        raw = lambda sql: _sqlite_sql(path, sql, False)  # noqa: E731
    else:
        server: pg.Server = request.getfixturevalue("pg_server")
        url = server.create_database()

        def reopen() -> ledger.SqlLedger:
            opened.append(ledger_pg.PostgresLedger(url, None, server.password_file))
            return opened[-1]

        tamper = lambda sql: _pg_sql(server, url, sql, True)  # noqa: E731
        raw = lambda sql: _pg_sql(server, url, sql, False)  # noqa: E731
    yield Store(reopen(), tamper, raw, reopen)
    for book in opened:
        book.close()


def _run_at(book: ledger.SqlLedger, run_id: str, at: str, task: str, status: str,
            client: str = "acme") -> None:  # fmt: skip
    with mock.patch.object(ledger, "utcnow", return_value=at):
        book.append_many([
            (run_id, ledger.STARTED, {"client": client, "task": task, "category": "maintenance",
                                      "in_scope": True}),
            (run_id, ledger.HOST, {"host": "web1", "ok": 1, "changed": 0, "failed": 0,
                                   "unreachable": 0, "skipped": 0, "rescued": 0, "ignored": 0,
                                   "changed_tasks": [], "failures": []}),
            (run_id, ledger.FINISHED, {"status": status}),
        ])  # fmt: skip


def _key(book: ledger.SqlLedger) -> bytes:
    keyed = book._keying()
    assert keyed is not None
    return book._key_for(keyed[1]).secret


# --- the same behaviour on both stores --------------------------------------------------------


def test_fold_and_a_keyed_chain_that_verifies(store: Store) -> None:
    _fill(store.book)
    runs = {run.id: run for run in ledger.runs(store.book)}
    assert runs["r1"].status == ledger.SUCCESSFUL
    assert runs["r1"].hosts["web1"].evidence == {"healthcheck": {"a": 1}}
    assert runs["r2"].refusal_reason == "not listed"
    assert ledger.runs(store.book, "other") == []
    result = store.book.verify()
    assert result.ok and result.entries == 6 and result.keyed_from == 1
    assert store.book.head() == (6, result.head_hash)


def test_entries_are_append_only(store: Store) -> None:
    _fill(store.book)
    errors = (sqlite3.DatabaseError, psycopg.Error)
    for sql in ("UPDATE entries SET payload = '{}' WHERE seq = 2", "DELETE FROM entries"):
        with pytest.raises(errors, match="append-only"):
            store.raw(sql)
    assert store.book.verify().ok


def test_an_altered_row_is_named(store: Store) -> None:
    _fill(store.book)
    store.tamper("UPDATE entries SET payload = replace(payload, '\"changed\":1', "
                 "'\"changed\":0') WHERE seq = 3")  # fmt: skip
    result = store.book.verify()
    assert not result.ok and result.first_bad_seq == 3 and "row 3 was altered" in result.problem


def test_a_removed_row_is_named(store: Store) -> None:
    _fill(store.book)
    store.tamper("DELETE FROM entries WHERE seq = 3")
    result = store.book.verify()
    assert not result.ok and result.first_bad_seq == 3 and "row 3 is missing" in result.problem


def test_removed_newest_rows_are_noticed_through_the_head(store: Store) -> None:
    _fill(store.book)
    store.tamper("DELETE FROM entries WHERE seq >= 5")
    result = store.book.verify()
    assert not result.ok and "rows 5 to 6 are missing" in result.problem


def test_a_rehashed_forgery_of_the_newest_row_is_caught_by_the_head(store: Store) -> None:
    _fill(store.book)
    (row,) = [e for e in store.book.entries() if e.seq == 6]
    prev = store.book._hashes([5])[5]
    forged = ledger.canonical({"client": "acme", "task": "patching", "in_scope": True})
    # A valid chain hash for the forged payload, but not the hash the head recorded.
    digest = ledger.entry_hash(prev, 6, row.run_id, row.kind, row.at, forged, _key(store.book))
    store.tamper(f"UPDATE entries SET payload = '{forged}', hash = '{digest}' WHERE seq = 6")
    result = store.book.verify()
    assert not result.ok and f"row 6 differs from the {store.book.head_kind}" in result.problem


def test_reopening_keeps_the_chain(store: Store) -> None:
    _fill(store.book)
    store.book.close()
    second = store.reopen()
    second.append("r3", ledger.REFUSED, {"client": "b", "task": "t", "category": "operation",
                                         "in_scope": False})  # fmt: skip
    assert second.verify().ok
    assert [e.seq for e in second.entries()] == [1, 2, 3, 4, 5, 6, 7]


def test_append_many_is_all_or_nothing(store: Store) -> None:
    _fill(store.book)
    with pytest.raises(TypeError):
        store.book.append_many(
            [("r3", ledger.HOST, {"host": "a"}), ("r3", ledger.FINISHED, {"bad": object()})]
        )
    assert [e.seq for e in store.book.entries()] == [1, 2, 3, 4, 5, 6]
    assert store.book.verify().ok
    refused = {"client": "b", "task": "t", "category": "operation", "in_scope": False}
    store.book.append("r3", ledger.REFUSED, refused)
    assert store.book.verify().ok


def test_the_run_index_scans_a_period_and_prefixes_are_ranges(store: Store) -> None:
    book = store.book
    _run_at(book, "a", "2026-10-31T22:59:59.999Z", "backup", ledger.SUCCESSFUL)
    _run_at(book, "b", "2026-10-31T23:00:00.000Z", "backup", ledger.FAILED)
    _run_at(book, "c", "2026-11-15T10:00:00.000Z", "patching", ledger.SUCCESSFUL)
    _run_at(book, "d_%x", "2026-11-30T23:00:00.000Z", "backup", ledger.SUCCESSFUL)
    _run_at(book, "e", "2026-11-20T10:00:00.000Z", "backup", ledger.SUCCESSFUL, client="beta")
    november = {"since": "2026-10-31T23:00:00.000Z", "until": "2026-11-30T23:00:00.000Z"}
    assert [r.id for r in book.scan("acme", **november)] == ["b", "c"]
    assert [r.id for r in book.scan("acme", "backup", newest_first=True)] == ["d_%x", "b", "a"]
    assert [r.id for r in book.scan("acme", statuses=(ledger.SUCCESSFUL,))] == ["a", "c", "d_%x"]
    assert [r.id for r in book.indexed("acme", last=2)] == ["c", "d_%x"]
    assert book.count_runs() == 5 and book.count_runs("beta") == 1
    assert book.run_ids("d_") == ["d_%x"] and book.run_ids("d%") == []
    assert book.latest_spans("acme", "backup", 1) == [
        ("2026-11-30T23:00:00.000Z", "2026-11-30T23:00:00.000Z")
    ]
    assert [run.id for run in ledger.runs_of(book, ["c", "a", "nope"])] == ["a", "c"]
    assert book.unfinished() == []
    assert book.verify().ok


def test_an_index_that_differs_fails_verify_until_reindexed(store: Store) -> None:
    _fill(store.book)
    store.raw("UPDATE run_index SET status = 'failed' WHERE run_id = 'r1'")
    assert "run index differs from the entries of run r1" in store.book.verify().problem
    assert store.book.reindex() == 2
    assert store.book.verify().ok


def test_checkpoints_and_the_verified_record(store: Store) -> None:
    book = store.book
    for day in range(1, 6):
        _run_at(book, f"r{day}", f"2026-11-0{day}T10:00:00.000Z", "backup", ledger.SUCCESSFUL)
    full = book.verify()
    book.record_verified(full)
    _run_at(book, "r6", "2026-11-06T10:00:00.000Z", "backup", ledger.SUCCESSFUL)
    result = book.verify_runs(["r2", "r6"])
    assert result.ok and result.since is not None and result.older_checked == 3
    assert result.since[:2] == (full.head_seq, full.head_hash)
    assert book.verify([(full.head_seq, full.head_hash)]).checkpoints == 1
    store.tamper("UPDATE entries SET payload = replace(payload, '\"ok\":1', '\"ok\":2')"
                 " WHERE run_id = 'r2' AND kind = 'run.host'")  # fmt: skip
    assert "was altered" in book.verify_runs(["r2"]).problem
    held = book.verify([(full.head_seq, full.head_hash)])
    assert not held.ok


# --- what only the shared store has -----------------------------------------------------------


@pytest.fixture
def shared(pg_server: pg.Server, pg_url: str) -> Iterator[ledger_pg.PostgresLedger]:
    book = ledger_pg.PostgresLedger(pg_url, None, pg_server.password_file)
    yield book
    book.close()


def test_a_forged_head_row_is_detected(shared, pg_server, pg_url) -> None:
    """Deleting the newest rows and moving the head row back to match, without the key."""
    _fill(shared)
    prev = shared._hashes([4])[4]
    _pg_sql(pg_server, pg_url, "DELETE FROM entries WHERE seq >= 5", past_triggers=True)
    _pg_sql(pg_server, pg_url, f"UPDATE ledger_head SET seq = 4, hash = '{prev}'", False)
    result = shared.verify()
    assert not result.ok and "head row (row 4) is not sealed with the ledger key" in result.problem
    _pg_sql(pg_server, pg_url, "DELETE FROM ledger_head", False)
    assert "head row is missing" in shared.verify().problem


def test_the_entries_cannot_be_truncated(shared, pg_server, pg_url) -> None:
    _fill(shared)
    with pytest.raises(psycopg.Error, match="append-only"):
        _pg_sql(pg_server, pg_url, "TRUNCATE entries", past_triggers=False)
    assert shared.verify().ok


def test_a_sqlite_ledger_copied_row_by_row_verifies_unchanged(tmp_path, shared) -> None:
    """The same entry_hash: the rows of a SQLite ledger are a valid PostgreSQL chain."""
    local = ledger.SqliteLedger(tmp_path / "ledger.sqlite3")
    _fill(local)
    copied, total = ledger_pg.migrate(local, shared)
    assert (copied, total) == (6, 6)
    assert [e.payload for e in shared.entries()] == [e.payload for e in local.entries()]
    assert shared.indexed() == local.indexed() and shared.head() == local.head()
    local.close()


WRITER = textwrap.dedent(
    """
    import sys
    from omctl import ledger_pg
    url, password_file, name, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    book = ledger_pg.PostgresLedger(url, None, __import__("pathlib").Path(password_file))
    for number in range(count):
        run = f"{name}-{number:04d}"
        book.append_many([
            (run, "run.started", {"client": name, "task": "healthcheck",
                                  "category": "maintenance", "in_scope": True}),
            (run, "run.finished", {"status": "successful"}),
        ])
    book.close()
    """
)


def test_two_processes_appending_1000_runs_leave_one_unbroken_chain(shared, pg_server, pg_url):
    shared.ensure_keyed()  # the key exists before both writers start, as `omctl init` does
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, pg_url, str(pg_server.password_file), name, "500"],
            cwd=ROOT,
        )
        for name in ("laptop", "controller")
    ]
    assert [writer.wait(timeout=240) for writer in writers] == [0, 0]
    result = shared.verify()
    assert result.ok and result.entries == 1 + 2 * 1000
    assert shared.count_runs("laptop") == shared.count_runs("controller") == 500
    runs = ledger.runs(shared)
    assert len(runs) == 1000 and {run.status for run in runs} == {ledger.SUCCESSFUL}
    clients = [run.client for run in runs]
    assert clients.index("controller") < 500 and clients.index("laptop") < 500  # interleaved


# --- the password never shows -----------------------------------------------------------------


def test_an_unreachable_server_is_one_line_without_the_password(pg_server) -> None:
    closed = pg._free_port()
    url = f"postgresql://omctl:s3cret-pw@127.0.0.1:{closed}/omctl?password=s3cret-pw"
    with pytest.raises(EnvironmentProblem) as caught:
        ledger_pg.PostgresLedger(url)
    message = str(caught.value)
    assert "s3cret-pw" not in message and "\n" not in message
    assert f"cannot reach the PostgreSQL ledger postgresql://omctl@127.0.0.1:{closed}/omctl" in (
        message
    )
    assert caught.value.exit_code == 7


def test_a_wrong_password_is_refused_without_echoing_it(pg_server, tmp_path) -> None:
    wrong = tmp_path / "pw"
    wrong.write_text("not-the-password-42\n")
    with pytest.raises(EnvironmentProblem) as caught:
        ledger_pg.PostgresLedger(pg_server.url(), None, wrong)
    assert "not-the-password-42" not in str(caught.value)
    assert "password authentication failed" in str(caught.value)


def test_redact() -> None:
    assert ledger_pg.redact("postgresql://u:p@h:5/db?sslmode=require&password=p") == (
        "postgresql://u@h:5/db?sslmode=require"
    )
    assert ledger_pg.redact("postgresql://h/db") == "postgresql://h/db"


# --- the client lock on a shared ledger -------------------------------------------------------

HOLDER = textwrap.dedent(
    """
    import sys, time
    from omctl import locking
    from omctl.workspace import Workspace
    with locking.client_lock(Workspace(__import__("pathlib").Path(sys.argv[1])), "acme", "run-1"):
        print("held", flush=True)
        time.sleep(600)
    """
)


@pytest.fixture
def shared_ws(ws, pg_server, pg_url, monkeypatch):
    monkeypatch.setenv("OMCTL_LEDGER_URL", pg_url)
    monkeypatch.setenv("OMCTL_LEDGER_PASSWORD_FILE", str(pg_server.password_file))
    return ws


def test_a_shared_client_lock_refuses_a_second_holder_at_once_and_dies_with_its_holder(
    shared_ws,
) -> None:
    from omctl import locking
    from omctl.errors import ClientLocked

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(shared_ws.root)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        started = time.monotonic()
        with pytest.raises(ClientLocked) as caught, locking.client_lock(shared_ws, "acme", "r2"):
            pass
        assert time.monotonic() - started < 2.0  # at once: no waiting for a dead holder
        assert caught.value.exit_code == 4
        assert f"locked by omctl run run-1 pid {holder.pid}" in str(caught.value)
        assert locking.try_lock(shared_ws, "acme") is None  # recovery sees the run as live
        with locking.client_lock(shared_ws, "beta", "r3"):  # other clients are free
            pass
        assert not locking.lock_path(shared_ws, "acme").exists()  # no file lock beside it
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        deadline = time.monotonic() + 10
        while (handle := locking.try_lock(shared_ws, "acme")) is None:
            assert time.monotonic() < deadline, "the killed holder's lock was not freed"
            time.sleep(0.05)
        # This process holds it now, on a session of its own: a second one is refused.
        with pytest.raises(ClientLocked), locking.client_lock(shared_ws, "acme", "r4"):
            pass
        locking.release(handle)
        with locking.client_lock(shared_ws, "acme", "r5"):
            pass
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_without_a_ledger_url_the_client_lock_is_the_file(ws) -> None:
    from omctl import locking

    with locking.client_lock(ws, "acme", "r1"):
        assert locking.lock_path(ws, "acme").exists()
        assert locking.try_lock(ws, "acme") is None


# --- the command line: omctl ledger migrate, verify, settings ---------------------------------


def _omctl(ws, *args: str, env: dict[str, str] | None = None):
    from typer.testing import CliRunner

    from omctl.cli.main import app

    return CliRunner().invoke(app, ["--workspace", str(ws.root), *args], env=env)


def test_migrate_round_trip_is_idempotent_and_refuses_another_history(
    ws, pg_server, pg_url, monkeypatch
) -> None:
    from omctl.settings import Settings

    local_path = Settings(workspace=ws).ledger
    local_path.parent.mkdir(parents=True, exist_ok=True)
    local = ledger.SqliteLedger(local_path)
    _fill(local)
    monkeypatch.setenv("OMCTL_LEDGER_PASSWORD_FILE", str(pg_server.password_file))
    first = _omctl(ws, "ledger", "migrate", "--to", pg_url)
    assert first.exit_code == 0, first.stderr
    assert "6 entries copied, 6 in the copy" in first.stdout
    again = _omctl(ws, "ledger", "migrate", "--to", pg_url)
    assert again.exit_code == 0 and "0 entries copied, 6 in the copy" in again.stdout
    _run_at(local, "r3", "2026-11-01T10:00:00.000Z", "backup", ledger.SUCCESSFUL)
    more = _omctl(ws, "ledger", "migrate", "--to", pg_url)
    assert more.exit_code == 0 and "3 entries copied, 9 in the copy" in more.stdout
    shared = ledger_pg.PostgresLedger(pg_url, None, pg_server.password_file)
    try:
        assert [e.payload for e in shared.entries()] == [e.payload for e in local.entries()]
        assert shared.indexed() == local.indexed() and shared.head() == local.head()
        assert shared.verify().ok
    finally:
        shared.close()
    # The shared ledger in use: the workspace's commands read it.
    monkeypatch.setenv("OMCTL_LEDGER_URL", pg_url)
    verified = _omctl(ws, "ledger", "verify")
    assert verified.exit_code == 0 and "ledger ok: 9 entries" in verified.stdout
    history = _omctl(ws, "history", "--json")
    assert history.exit_code == 0 and "r3" in history.stdout
    monkeypatch.delenv("OMCTL_LEDGER_URL")
    # Another ledger's history in the target is refused, and nothing is copied.
    other_ws = Workspace(ws.root.parent / "other")
    other_ws.root.mkdir()
    other_ws.ensure_state()
    other = ledger.SqliteLedger(Settings(workspace=other_ws).ledger)
    _fill(other)
    other.close()
    refused = _omctl(other_ws, "ledger", "migrate", "--to", pg_url)
    assert refused.exit_code == 6 and "holds a different history" in refused.stderr
    assert "nothing copied" in refused.stderr
    local.close()


def test_migrate_refuses_a_broken_ledger(ws, pg_server, pg_url, monkeypatch) -> None:
    from omctl.settings import Settings

    path = Settings(workspace=ws).ledger
    path.parent.mkdir(parents=True, exist_ok=True)
    local = ledger.SqliteLedger(path)
    _fill(local)
    local.close()
    _sqlite_sql(path, "DELETE FROM entries WHERE seq = 3", past_triggers=True)
    monkeypatch.setenv("OMCTL_LEDGER_PASSWORD_FILE", str(pg_server.password_file))
    result = _omctl(ws, "ledger", "migrate", "--to", pg_url)
    assert result.exit_code == 6 and "does not verify, nothing copied" in result.stderr
    shared = ledger_pg.PostgresLedger(pg_url, None, pg_server.password_file)
    assert list(shared.entries()) == []
    shared.close()


def test_an_unreachable_ledger_is_exit_7_in_one_line_without_the_password(ws) -> None:
    closed = pg._free_port()
    url = f"postgresql://omctl:hunter2-pw@127.0.0.1:{closed}/omctl"
    result = _omctl(ws, "ledger", "migrate", "--to", url)
    assert result.exit_code == 2 and "no SQLite ledger" in result.stderr
    result = _omctl(ws, "history", env={"OMCTL_LEDGER_URL": url.replace(":hunter2-pw", "")})
    assert result.exit_code == 7
    assert result.stderr.strip().count("\n") == 0 and "cannot reach" in result.stderr
    local = ledger.SqliteLedger(ws.state / "ledger.sqlite3")
    _fill(local)
    local.close()
    result = _omctl(ws, "ledger", "migrate", "--to", url)
    assert result.exit_code == 7 and "hunter2-pw" not in result.stderr + result.stdout
    assert f"postgresql://omctl@127.0.0.1:{closed}/omctl" in result.stderr


def test_a_ledger_url_with_a_password_is_refused_without_echoing_it(ws) -> None:
    (ws.root / "omctl.toml").write_text(
        'operator = "x"\nledger_url = "postgresql://omctl:hunter2-pw@db.example/omctl"\n'
    )
    result = _omctl(ws, "history")
    assert result.exit_code == 2 and "hunter2-pw" not in result.stderr
    assert "omctl.toml:2: ledger_url: holds a password" in " ".join(result.stderr.split())
    (ws.root / "omctl.toml").write_text('ledger_url = "mysql://db.example/omctl"\n')
    result = _omctl(ws, "history")
    assert result.exit_code == 2 and "must be a postgresql:// URL" in result.stderr


def test_the_ledger_settings(ws) -> None:
    from omctl import settings

    (ws.root / "omctl.toml").write_text(
        'ledger_url = "postgresql://omctl@db.example:5432/omctl?sslmode=verify-full"\n'
        'ledger_password_file = "../secrets/pg"\n'
    )
    loaded = settings.load(ws.root, environ={})
    assert loaded.ledger_url == "postgresql://omctl@db.example:5432/omctl?sslmode=verify-full"
    assert loaded.ledger_password_file == ws.root / "../secrets/pg"
    env = {"OMCTL_LEDGER_URL": "postgres://other@db2/omctl"}
    assert settings.load(ws.root, environ=env).ledger_url == "postgres://other@db2/omctl"
    with pytest.raises(BadInput) as caught:
        settings.load(ws.root, environ={"OMCTL_LEDGER_URL": "postgresql://u:pw-9x@h/db"})
    assert "holds a password" in str(caught.value) and "pw-9x" not in str(caught.value)
    with pytest.raises(BadInput, match="holds a password"):
        settings.load(ws.root, environ={"OMCTL_LEDGER_URL": "postgresql://h/db?password=pw"})


def test_omctl_run_records_into_the_shared_ledger_and_a_locked_client_exits_4(shared_ws):
    from tests.unit.test_runs import LOCAL_HOSTS, PLAYBOOK

    (shared_ws.client_dir("acme") / "hosts.yml").write_text(LOCAL_HOSTS)
    (shared_ws.playbooks / "maintenance" / "healthcheck.yml").write_text(PLAYBOOK)
    env = {"OMCTL_OPERATOR": "cli@test"}
    done = _omctl(shared_ws, "run", "acme", "healthcheck", "--limit", "web1", env=env)
    assert done.exit_code == 0, done.stderr
    assert not (shared_ws.state / "ledger.sqlite3").exists()  # nothing went to SQLite
    history = _omctl(shared_ws, "history", "acme", "--json", env=env)
    assert history.exit_code == 0 and '"status": "successful"' in history.stdout
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(shared_ws.root)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        started = time.monotonic()
        locked = _omctl(shared_ws, "run", "acme", "healthcheck", "--limit", "web1", env=env)
        assert locked.exit_code == 4 and "locked by omctl run run-1" in locked.stderr
        assert time.monotonic() - started < 10
    finally:
        holder.kill()
        holder.wait(timeout=10)
    verified = _omctl(shared_ws, "ledger", "verify", env=env)
    assert verified.exit_code == 0, verified.stderr


def test_a_run_live_on_another_controller_is_not_marked_interrupted(shared_ws, shared) -> None:
    """Recovery asks the shared lock: a run whose client another controller holds is live; once
    that controller is gone, the next command marks the run interrupted."""
    started = {"client": "acme", "task": "healthcheck", "category": "maintenance", "in_scope": True}
    shared.append("live-1", ledger.STARTED, started)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(shared_ws.root)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert _omctl(shared_ws, "history").exit_code == 0
        assert shared.unfinished() == ["live-1"]
    finally:
        holder.kill()
        holder.wait(timeout=10)
    deadline = time.monotonic() + 10
    while shared.unfinished():
        assert time.monotonic() < deadline
        assert _omctl(shared_ws, "history").exit_code == 0
    assert ledger.get_run(shared, "live-1").status == ledger.STATUS_INTERRUPTED
