"""The run ledger: an append-only, hash-chained log of what omctl did, and read models over it.

Every fact is an entry (run started, refused, per-host result, evidence, finished,
interrupted); a run's record is the fold of its entries, so nothing is ever updated in place.
Each entry's hash covers the previous entry's hash, so an altered or removed row breaks the
chain from that row on. A head file beside the database remembers the last hash, so removing
the newest rows is noticed too.

SQLite (WAL) is the embedded store; everything else talks to the ``Ledger`` protocol so a
shared PostgreSQL ledger can be added behind it later.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from omctl.errors import LedgerBroken

GENESIS = "0" * 64
SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq       INTEGER PRIMARY KEY,
    run_id    TEXT NOT NULL,
    kind      TEXT NOT NULL,
    at        TEXT NOT NULL,
    payload   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_run ON entries (run_id);
CREATE INDEX IF NOT EXISTS entries_kind ON entries (kind);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
"""

# Entry kinds.
STARTED = "run.started"
REFUSED = "run.refused"
HOST = "run.host"
EVIDENCE = "run.evidence"
FINISHED = "run.finished"
INTERRUPTED = "run.interrupted"

RUNNING = "running"
SUCCESSFUL = "successful"
FAILED = "failed"
STATUS_REFUSED = "refused"
STATUS_INTERRUPTED = "interrupted"


def utcnow() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def canonical(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(prev_hash: str, seq: int, run_id: str, kind: str, at: str, payload: str) -> str:
    material = "\x1f".join((prev_hash, str(seq), run_id, kind, at, payload))
    return hashlib.sha256(material.encode()).hexdigest()


@dataclass(frozen=True)
class Entry:
    seq: int
    run_id: str
    kind: str
    at: str
    payload: dict[str, Any]


@dataclass
class HostResult:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0
    changed_tasks: list[str] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.unreachable:
            return "unreachable"
        if self.failed:
            return "failed"
        return "changed" if self.changed else "ok"


@dataclass
class Run:
    id: str
    client: str
    task: str
    category: str
    status: str
    in_scope: bool
    started_at: str
    contract: str | None = None
    out_of_scope_reason: str | None = None
    refusal_reason: str | None = None
    no_backup_check_reason: str | None = None
    check: bool = False
    diff: bool = False
    limit: str | None = None
    operator: str | None = None
    omctl_version: str | None = None
    workspace_commit: str | None = None
    targets: list[str] = field(default_factory=list)
    extra_vars: dict[str, Any] | None = None
    ended_at: str | None = None
    message: str | None = None
    hosts: dict[str, HostResult] = field(default_factory=dict)
    first_seq: int = 0
    last_seq: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "client": self.client,
            "contract": self.contract,
            "task": self.task,
            "category": self.category,
            "status": self.status,
            "in_scope": self.in_scope,
            "out_of_scope_reason": self.out_of_scope_reason,
            "refusal_reason": self.refusal_reason,
            "no_backup_check_reason": self.no_backup_check_reason,
            "check": self.check,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "operator": self.operator,
        }

    def as_dict(self) -> dict[str, Any]:
        data = self.summary()
        data.update(
            diff=self.diff,
            limit=self.limit,
            omctl_version=self.omctl_version,
            workspace_commit=self.workspace_commit,
            targets=self.targets,
            extra_vars=self.extra_vars,
            message=self.message,
            ledger_seq=[self.first_seq, self.last_seq],
            hosts={
                name: {
                    "status": host.status,
                    "ok": host.ok,
                    "changed": host.changed,
                    "failed": host.failed,
                    "unreachable": host.unreachable,
                    "skipped": host.skipped,
                    "rescued": host.rescued,
                    "ignored": host.ignored,
                    "changed_tasks": host.changed_tasks,
                    "failures": host.failures,
                    "evidence": host.evidence,
                }
                for name, host in self.hosts.items()
            },
        )
        return data


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str | None = None


class Ledger(Protocol):
    """What omctl needs from a ledger store."""

    def append(self, run_id: str, kind: str, payload: dict[str, Any]) -> Entry: ...

    def append_many(self, items: list[tuple[str, str, dict[str, Any]]]) -> list[Entry]:
        """Append (run_id, kind, payload) items atomically: all of them or none."""
        ...

    def entries(self, run_id: str | None = None) -> Iterator[Entry]: ...

    def unfinished(self) -> list[str]:
        """Ids of runs that started and have neither finished nor been marked interrupted."""
        ...

    def verify(self) -> VerifyResult: ...

    def head(self) -> tuple[int, str] | None:
        """The newest entry's sequence number and hash as the head file remembers them."""
        ...

    def close(self) -> None: ...


def fold(entries: Iterable[Entry]) -> dict[str, Run]:
    """Build run records from entries, in ledger order."""
    runs: dict[str, Run] = {}
    for entry in entries:
        data = entry.payload
        if entry.kind in (STARTED, REFUSED):
            run = Run(
                id=entry.run_id,
                client=data["client"],
                task=data["task"],
                category=data["category"],
                status=RUNNING if entry.kind == STARTED else STATUS_REFUSED,
                in_scope=data["in_scope"],
                started_at=entry.at,
                contract=data.get("contract"),
                out_of_scope_reason=data.get("out_of_scope_reason"),
                refusal_reason=data.get("refusal_reason"),
                no_backup_check_reason=data.get("no_backup_check_reason"),
                check=data.get("check", False),
                diff=data.get("diff", False),
                limit=data.get("limit"),
                operator=data.get("operator"),
                omctl_version=data.get("omctl_version"),
                workspace_commit=data.get("workspace_commit"),
                targets=data.get("targets", []),
                extra_vars=data.get("extra_vars"),
                first_seq=entry.seq,
            )
            if entry.kind == REFUSED:
                run.ended_at = entry.at
                run.message = data.get("refusal_reason")
            runs[entry.run_id] = run
        else:
            run = runs.get(entry.run_id)
            if run is None:
                continue
            if entry.kind == HOST:
                counts = {k: v for k, v in data.items() if k != "host"}
                run.hosts[data["host"]] = HostResult(
                    **counts, evidence=run.hosts.get(data["host"], HostResult()).evidence
                )
            elif entry.kind == EVIDENCE:
                run.hosts.setdefault(data["host"], HostResult()).evidence[data["kind"]] = data[
                    "data"
                ]
            elif entry.kind in (FINISHED, INTERRUPTED):
                run.status = data.get("status", STATUS_INTERRUPTED)
                run.ended_at = entry.at
                run.message = data.get("message")
        runs[entry.run_id].last_seq = entry.seq
    return runs


class SqliteLedger:
    """The embedded ledger: one SQLite file in WAL mode plus a head file."""

    def __init__(self, path: Path):
        self.path = path
        self.head_path = path.with_name(path.name + ".head")
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a recorded run survives a power cut
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version == 0:
            self._db.executescript(SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        os.chmod(path, 0o600)

    def close(self) -> None:
        self._db.close()

    def append(self, run_id: str, kind: str, payload: dict[str, Any]) -> Entry:
        return self.append_many([(run_id, kind, payload)])[0]

    def append_many(self, items: list[tuple[str, str, dict[str, Any]]]) -> list[Entry]:
        at = utcnow()
        written: list[Entry] = []
        self._db.execute("BEGIN IMMEDIATE")  # serialises writers: the chain never forks
        try:
            row = self._db.execute(
                "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            seq, prev = (row[0], row[1]) if row else (0, GENESIS)
            for run_id, kind, payload in items:
                text = canonical(payload)
                seq += 1
                digest = entry_hash(prev, seq, run_id, kind, at, text)
                self._db.execute(
                    "INSERT INTO entries (seq, run_id, kind, at, payload, prev_hash, hash)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (seq, run_id, kind, at, text, prev, digest),
                )
                written.append(Entry(seq, run_id, kind, at, payload))
                prev = digest
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._write_head()
        return written

    def _write_head(self) -> None:
        """Record the newest (seq, hash); under a lock so concurrent writers never regress it."""
        with open(self.head_path.with_suffix(".lock"), "a+") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            row = self._db.execute(
                "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            tmp = self.head_path.with_suffix(".tmp")
            tmp.write_text(f"{row[0]} {row[1]}\n")
            os.replace(tmp, self.head_path)

    def entries(self, run_id: str | None = None) -> Iterator[Entry]:
        query = "SELECT seq, run_id, kind, at, payload FROM entries"
        params: tuple[str, ...] = ()
        if run_id is not None:
            query += " WHERE run_id = ?"
            params = (run_id,)
        for seq, rid, kind, at, payload in self._db.execute(query + " ORDER BY seq", params):
            yield Entry(seq, rid, kind, at, json.loads(payload))

    def unfinished(self) -> list[str]:
        rows = self._db.execute(
            "SELECT run_id FROM entries WHERE kind = ? AND run_id NOT IN "
            "(SELECT run_id FROM entries WHERE kind IN (?, ?)) ORDER BY seq",
            (STARTED, FINISHED, INTERRUPTED),
        )
        return [row[0] for row in rows]

    def verify(self) -> VerifyResult:
        prev = GENESIS
        expected_seq = 1
        count = 0
        rows = self._db.execute(
            "SELECT seq, run_id, kind, at, payload, prev_hash, hash FROM entries ORDER BY seq"
        )
        hashes: dict[int, str] = {}
        for seq, run_id, kind, at, payload, prev_hash, digest in rows:
            count += 1
            if seq != expected_seq:
                return VerifyResult(
                    False, count, expected_seq, f"row {expected_seq} is missing (next is {seq})"
                )
            if prev_hash != prev:
                return VerifyResult(
                    False, count, seq, f"row {seq} does not follow row {seq - 1}: chain broken"
                )
            if entry_hash(prev, seq, run_id, kind, at, payload) != digest:
                return VerifyResult(False, count, seq, f"row {seq} was altered: hash mismatch")
            hashes[seq] = digest
            prev = digest
            expected_seq += 1
        head = self._read_head()
        if head is not None:
            head_seq, head_hash = head
            if head_seq not in hashes:
                return VerifyResult(
                    False,
                    count,
                    count + 1,
                    f"rows {count + 1} to {head_seq} are missing (the head file records "
                    f"row {head_seq})",
                )
            if hashes[head_seq] != head_hash:
                return VerifyResult(
                    False, count, head_seq, f"row {head_seq} differs from the head file"
                )
        elif count:
            return VerifyResult(False, count, None, f"head file {self.head_path} is missing")
        return VerifyResult(True, count)

    def head(self) -> tuple[int, str] | None:
        try:
            return self._read_head()
        except LedgerBroken:
            return None

    def _read_head(self) -> tuple[int, str] | None:
        try:
            seq_text, digest = self.head_path.read_text().split()
            return int(seq_text), digest
        except FileNotFoundError:
            return None
        except ValueError:
            raise LedgerBroken("head file is unreadable", path=self.head_path) from None


def runs(ledger: Ledger, client: str | None = None) -> list[Run]:
    records = fold(ledger.entries()).values()
    return [run for run in records if client is None or run.client == client]


def get_run(ledger: Ledger, run_id: str) -> Run | None:
    return fold(ledger.entries(run_id)).get(run_id)


def open_ledger(path: Path) -> Ledger:
    return SqliteLedger(path)
