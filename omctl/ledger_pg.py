"""A shared ledger in PostgreSQL: the same entries, keyed chain and run index as SQLite.

``PostgresLedger`` is ``omctl.ledger.SqlLedger`` over a psycopg 3 connection (this is the one
module that imports psycopg, and only when a PostgreSQL ledger is used: read commands on a
SQLite workspace never pay for it). Every append is one transaction that first takes
``pg_advisory_xact_lock``: writers on many machines are serialised, so the chain never forks.
Instead of SQLite's head file, a head row (seq, hash) is written in the append's transaction
and sealed with an HMAC of the ledger key, so deleting the newest rows (or rewriting the head)
without the key is noticed by ``verify``. Updates, deletes and truncation of the entries are
refused by triggers.

The client lock of a run (``omctl.locking``) is a session advisory lock on a connection of its
own, held for the run: the server drops it when that connection dies (the holder crashed or
was killed), so a crashed controller never leaves a client locked.

The URL never carries the password into output: ``redact`` strips it from anything shown, and
the password comes from ``ledger_password_file`` (or libpq's PGPASSFILE / PGPASSWORD).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from omctl.errors import EnvironmentProblem, LedgerBroken
from omctl.ledger import (
    ENTRY_ROWS,
    INDEX_COLUMNS,
    INDEX_PLACEHOLDERS,
    SqliteLedger,
    SqlLedger,
)
from omctl.ledger_key import LedgerKey

if TYPE_CHECKING:
    import psycopg

SCHEMES = ("postgresql", "postgres")
# 1: entries, run index, head and verified rows; 2: signatures (omctl.operators), records.
PG_SCHEMA_VERSION = 2
CONNECT_TIMEOUT = 10  # seconds
# Advisory lock keys are (namespace, key) pairs of int4: one namespace for appends, one for
# the clients' run locks, so the two never collide (and other users' locks are unlikely to).
APPEND_LOCK = (0x6F6D6C67, 0)  # "omlg"
CLIENT_LOCK_NS = 0x6F6D636C  # "omcl"

_APPEND_ONLY = "ledger entries are append-only"
PG_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS entries (
    seq       BIGINT PRIMARY KEY,
    run_id    TEXT COLLATE "C" NOT NULL,
    kind      TEXT COLLATE "C" NOT NULL,
    at        TEXT COLLATE "C" NOT NULL,
    payload   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    signer    TEXT,
    signature TEXT
);
CREATE INDEX IF NOT EXISTS entries_run ON entries (run_id);
CREATE INDEX IF NOT EXISTS entries_kind ON entries (kind);
CREATE OR REPLACE FUNCTION omctl_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END $$;
CREATE OR REPLACE TRIGGER entries_no_update BEFORE UPDATE ON entries
    FOR EACH ROW EXECUTE FUNCTION omctl_append_only();
CREATE OR REPLACE TRIGGER entries_no_delete BEFORE DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION omctl_append_only();
CREATE OR REPLACE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION omctl_append_only();
CREATE TABLE IF NOT EXISTS run_index (
    run_id     TEXT COLLATE "C" PRIMARY KEY,
    client     TEXT COLLATE "C" NOT NULL,
    task       TEXT COLLATE "C" NOT NULL,
    category   TEXT COLLATE "C" NOT NULL,
    status     TEXT COLLATE "C" NOT NULL,
    in_scope   INTEGER NOT NULL,
    check_mode INTEGER NOT NULL,
    started_at TEXT COLLATE "C" NOT NULL,
    ended_at   TEXT COLLATE "C",
    first_seq  BIGINT NOT NULL,
    last_seq   BIGINT NOT NULL,
    summary    TEXT NOT NULL,
    hosts      TEXT NOT NULL,
    trigger    TEXT COLLATE "C" NOT NULL
);
CREATE INDEX IF NOT EXISTS run_index_client ON run_index (client, started_at);
CREATE INDEX IF NOT EXISTS run_index_task ON run_index (client, task, started_at);
CREATE INDEX IF NOT EXISTS run_index_status ON run_index (status);
CREATE INDEX IF NOT EXISTS run_index_client_status ON run_index (client, status, started_at);
CREATE INDEX IF NOT EXISTS run_index_trigger ON run_index (trigger, first_seq);
CREATE TABLE IF NOT EXISTS ledger_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL,
    mac  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger_verified (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger_records (
    name   TEXT PRIMARY KEY,
    record TEXT NOT NULL
)
"""
PG_UPGRADES = {  # from the version before: what brings its tables up to date
    2: (
        "ALTER TABLE entries ADD COLUMN IF NOT EXISTS signer TEXT",
        "ALTER TABLE entries ADD COLUMN IF NOT EXISTS signature TEXT",
    ),
}
_UPDATE_INDEX = ", ".join(
    f"{column.strip()} = EXCLUDED.{column.strip()}" for column in INDEX_COLUMNS.split(",")[1:]
)


def redact(url: str) -> str:
    """``url`` without a password (in the user part or a ``password=`` parameter): what any
    message may show of it."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            user, _, host = netloc.rpartition("@")
            netloc = f"{user.split(':', 1)[0]}@{host}"
        query = urlencode(
            [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "password"]
        )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "<unparsable PostgreSQL URL>"


def is_url(url: str) -> bool:
    return urlsplit(url).scheme in SCHEMES


def _password(password_file: Path | None) -> str | None:
    if password_file is None:
        return None
    try:
        return password_file.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise EnvironmentProblem(
            f"cannot read ledger_password_file {password_file}: {reason}"
        ) from None


def _scrub(message: str, secrets: Iterable[str | None]) -> str:
    line = " ".join(message.split()) or "connection failed"
    for secret in secrets:
        if secret:
            line = line.replace(secret, "***")
    return line


def _url_password(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        return parts.password or dict(parse_qsl(parts.query)).get("password")
    except ValueError:
        return None


def connect(
    url: str, password_file: Path | None = None, application_name: str = "omctl"
) -> psycopg.Connection[Any]:
    """An autocommit connection; EnvironmentProblem (one line, no password) when the server
    cannot be reached or refuses omctl."""
    try:
        import psycopg
    except ImportError as exc:  # psycopg, or the libpq5 it loads, is not installed
        raise EnvironmentProblem(
            f"a PostgreSQL ledger needs psycopg 3 and libpq5 (pip install 'psycopg>=3.1,<4', "
            f"apt-get install libpq5): {exc}"
        ) from None

    password = _password(password_file)
    extra: dict[str, Any] = {"password": password} if password is not None else {}
    try:
        return psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            application_name=application_name[:63],
            **extra,
        )
    except psycopg.Error as exc:
        detail = _scrub(str(exc), [password, _url_password(url)])
        raise EnvironmentProblem(
            f"cannot reach the PostgreSQL ledger {redact(url)}: {detail}"
        ) from None
    except ValueError:  # psycopg's own parse of a malformed URL (its message may echo it)
        raise EnvironmentProblem(f"invalid PostgreSQL ledger URL {redact(url)}") from None


class _Connection:
    """The psycopg connection as ``SqlLedger`` uses a connection: ``?`` placeholders, and a
    lost server is an EnvironmentProblem rather than a traceback."""

    def __init__(self, conn: psycopg.Connection[Any], name: str) -> None:
        self.conn = conn
        self.name = name
        self._queries: dict[str, str] = {}

    def _query(self, query: str) -> str:
        converted = self._queries.get(query)
        if converted is None:
            converted = self._queries[query] = query.replace("?", "%s")
        return converted

    def execute(self, query: str, params: Sequence[Any] | None = None) -> Any:
        import psycopg

        try:
            return self.conn.execute(self._query(query), list(params) if params else None)
        except psycopg.OperationalError as exc:
            raise EnvironmentProblem(
                f"the PostgreSQL ledger {self.name} failed: {_scrub(str(exc), [])}"
            ) from None

    def executemany(self, query: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(self._query(query), list(rows))

    def close(self) -> None:
        self.conn.close()


def _head_mac(secret: bytes, ledger_id: str, seq: int, digest: str) -> str:
    material = f"omctl-ledger-head\x1f{ledger_id}\x1f{seq}\x1f{digest}".encode()
    return hmac.digest(secret, material, "sha256").hex()


class PostgresLedger(SqlLedger):
    """The shared ledger: the tables of a PostgreSQL database (``url``), keyed by the same
    key file as a SQLite ledger (``key_file``, else ``ledger_key.default_path(id)``), which
    every controller writing to it needs a copy of."""

    head_kind = "head row"
    UPSERT_INDEX = (
        f"INSERT INTO run_index ({INDEX_COLUMNS}) VALUES ({INDEX_PLACEHOLDERS})"
        f" ON CONFLICT (run_id) DO UPDATE SET {_UPDATE_INDEX}"
    )

    def __init__(
        self, url: str, key_file: Path | None = None, password_file: Path | None = None
    ) -> None:
        self.url = url
        self.name = redact(url)
        self.where = None
        self.key_file = key_file
        self._key: LedgerKey | None = None
        self._db = _Connection(connect(url, password_file), self.name)
        try:
            self._migrate()
        except BaseException:
            self._db.close()
            raise

    def _version(self) -> int | None:
        import psycopg

        try:
            row = self._db.conn.execute(
                "SELECT value FROM ledger_meta WHERE name = 'schema_version'"
            ).fetchone()
        except psycopg.errors.UndefinedTable:
            return None
        return int(row[0]) if row else None

    def _migrate(self) -> None:
        """Create the tables once (under the append lock, so two first users do not race)."""
        if self._version() == PG_SCHEMA_VERSION:
            return
        self._begin_write()
        try:
            conn = self._db.conn
            conn.execute(
                "CREATE TABLE IF NOT EXISTS ledger_meta"
                " (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
            )
            version = self._version()
            if version is not None and version > PG_SCHEMA_VERSION:
                raise LedgerBroken(
                    f"the ledger {self.name} has schema version {version}, newer than this "
                    f"omctl knows ({PG_SCHEMA_VERSION}): upgrade omctl"
                )
            if version != PG_SCHEMA_VERSION:
                for upgrade in range((version or PG_SCHEMA_VERSION) + 1, PG_SCHEMA_VERSION + 1):
                    for statement in PG_UPGRADES[upgrade]:
                        conn.execute(statement)
                for statement in PG_SCHEMA.split(";\n"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(
                    "INSERT INTO ledger_meta (name, value) VALUES ('schema_version', %s)"
                    " ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
                    (str(PG_SCHEMA_VERSION),),
                )
            self._commit()
        except BaseException:
            self._rollback()
            raise

    def close(self) -> None:
        self._db.close()

    def _begin_write(self) -> None:
        self._db.execute("BEGIN")
        self._db.execute("SELECT pg_advisory_xact_lock(?, ?)", APPEND_LOCK)

    def _begin_read(self) -> None:
        self._db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    @property
    def _claim(self) -> str:
        return self.name

    def _sealed_head(self, seq: int, digest: str, key: LedgerKey) -> None:
        if seq == 0:
            return
        self._db.execute(
            "INSERT INTO ledger_head (id, seq, hash, mac) VALUES (1, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash,"
            " mac = EXCLUDED.mac",
            (seq, digest, _head_mac(key.secret, key.ledger_id, seq, digest)),
        )

    def _head_row(self) -> tuple[int, str, str] | None:
        row = self._db.execute("SELECT seq, hash, mac FROM ledger_head WHERE id = 1").fetchone()
        return (int(row[0]), str(row[1]), str(row[2])) if row else None

    def _read_head(self) -> tuple[int, str] | None:
        row = self._head_row()
        return (row[0], row[1]) if row else None

    def _check_head(self, hashes: dict[int, str], count: int) -> tuple[int | None, str] | None:
        row = self._head_row()
        if row is not None:
            seq, digest, mac = row
            key = self._key
            if key is None:
                return seq, "the head row is sealed but the ledger holds no keyed entry"
            if not hmac.compare_digest(mac, _head_mac(key.secret, key.ledger_id, seq, digest)):
                return seq, (
                    f"the head row (row {seq}) is not sealed with the ledger key: it was "
                    f"written by someone without the key"
                )
        return super()._check_head(hashes, count)

    def _load_verified(self) -> str | None:
        row = self._db.execute("SELECT record FROM ledger_verified WHERE id = 1").fetchone()
        return str(row[0]) if row else None

    def _store_verified(self, text: str) -> None:
        self._db.execute(
            "INSERT INTO ledger_verified (id, record) VALUES (1, ?)"
            " ON CONFLICT (id) DO UPDATE SET record = EXCLUDED.record",
            (text,),
        )

    def _load_record(self, name: str) -> str | None:
        row = self._db.execute("SELECT record FROM ledger_records WHERE name = ?", (name,))
        found = row.fetchone()
        return str(found[0]) if found else None

    def _store_record(self, name: str, text: str) -> None:
        self._db.execute(
            "INSERT INTO ledger_records (name, record) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET record = EXCLUDED.record",
            (name, text),
        )


# --- the client lock --------------------------------------------------------------------------


def client_key(client: str) -> int:
    """The advisory lock key of ``client`` (31 bits: pg_locks shows it as an oid)."""
    return int.from_bytes(hashlib.sha256(client.encode()).digest()[:4], "big") & 0x7FFFFFFF


def try_client_lock(
    url: str, password_file: Path | None, client: str, run_id: str
) -> tuple[psycopg.Connection[Any] | None, str | None]:
    """The client's session lock on a connection of its own: (the connection, None), or
    (None, who holds it) when another session does."""
    label = f"omctl run {run_id} pid {os.getpid()} on {socket.gethostname()}"
    conn = connect(url, password_file, application_name=label)
    try:
        (taken,) = conn.execute(
            "SELECT pg_try_advisory_lock(%s, %s)", (CLIENT_LOCK_NS, client_key(client))
        ).fetchone()
        if taken:
            return conn, None
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = %s::bigint::oid"
            " AND l.objid = %s::bigint::oid AND l.objsubid = 2",
            (CLIENT_LOCK_NS, client_key(client)),
        ).fetchone()
    except BaseException:
        conn.close()
        raise
    conn.close()
    return None, (str(row[0]) if row and row[0] else "another omctl")


# --- ledger migrate ---------------------------------------------------------------------------


SIGNED_ROWS = ENTRY_ROWS.replace(" FROM", ", signer, signature FROM")


def migrate(source: SqliteLedger, target: PostgresLedger) -> tuple[int, int]:
    """Copy the verified SQLite ledger into ``target`` (same seq, hashes, times), rebuild the
    target's run index and head in the same transaction, then verify the copy. Idempotent:
    only the rows the target lacks are copied; a target that holds a different history is
    refused. (Rows copied, rows in the target.)"""
    checked = source.verify()
    if not checked.ok:
        raise LedgerBroken(
            f"the ledger does not verify, nothing copied: {checked.problem}", path=source.path
        )
    keyed = source._keying()
    if keyed is None or checked.head_seq is None:
        raise LedgerBroken(
            "the ledger is empty or not keyed yet (`omctl init` keys it): nothing to copy",
            path=source.path,
        )
    key = source._key_for(keyed[1])
    rows = [
        tuple(row)
        for row in source._db.execute(
            SIGNED_ROWS + " WHERE seq <= ? ORDER BY seq", (checked.head_seq,)
        )
    ]
    target._begin_write()
    try:
        held = [tuple(row) for row in target._db.execute(SIGNED_ROWS + " ORDER BY seq")]
        if len(held) > len(rows):
            raise LedgerBroken(
                f"{target.name} holds {len(held)} entries, more than this ledger's "
                f"{len(rows)}: it holds a different history; nothing copied"
            )
        for mine, theirs in zip(rows, held, strict=False):
            if mine != theirs:
                raise LedgerBroken(
                    f"{target.name} holds a different history (its row {theirs[0]} differs "
                    f"from this ledger's): nothing copied"
                )
        missing = rows[len(held) :]
        if missing:
            target._db.executemany(
                "INSERT INTO entries (seq, run_id, kind, at, payload, prev_hash, hash, signer,"
                " signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                missing,
            )
            target._rebuild_index()
            target._sealed_head(rows[-1][0], rows[-1][6], key)
        target._commit()
    except BaseException:
        target._rollback()
        raise
    copy = target.verify()
    if not copy.ok:
        raise LedgerBroken(f"the copy in {target.name} does not verify: {copy.problem}")
    return len(missing), copy.entries
