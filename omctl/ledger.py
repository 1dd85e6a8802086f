"""The run ledger: an append-only, hash-chained log of what omctl did, and read models over it.

Every fact is an entry (run started, refused, per-host result, evidence, finished,
interrupted, a report issued); a run's record is the fold of its entries, so nothing is ever
updated in place. Each entry's hash covers the previous entry's hash, so an altered or removed
row breaks the chain from that row on. A head file beside the database remembers the last hash,
so removing the newest rows is noticed too.

The chain is keyed: each hash is an HMAC-SHA256 with the ledger's key, which lives outside the
workspace (``omctl.ledger_key``), so whoever can write ``.omctl/`` but not the key cannot
recompute a rewritten chain. The first keyed entry (``ledger.keyed``) names the ledger's id,
which finds its key; a ledger written before keys existed keeps its plain SHA-256 entries,
verified as such, and continues keyed from that entry. Against someone who holds the key, the
witnesses are checkpoints (seq and hash of the head) that every report states and records.

SQLite (WAL) is the embedded store; a shared PostgreSQL ledger (``omctl.ledger_pg``) is the
other. Both are ``SqlLedger``: the chain, the run index and verify are written once; everything
else talks to the ``Ledger`` protocol.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import hashlib
import hmac
import itertools
import json
import os
import pickle
import re
import secrets
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from omctl import files, ledger_key
from omctl.errors import BadInput, LedgerBroken, LedgerKeyMissing
from omctl.ledger_key import LedgerKey

if TYPE_CHECKING:
    from omctl.operators import Signer

GENESIS = "0" * 64
_IN_CHUNK = 500  # run ids per ``IN (...)`` query, well below SQLite's variable limit
# 1: entries; 2: the run index beside them; 3: its (client, status) index for failures;
# 4: the index says what triggered each run (operator or schedule); 5: entries carry their
# operator's signature (omctl.operators).
SCHEMA_VERSION = 5

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq       INTEGER PRIMARY KEY,
    run_id    TEXT NOT NULL,
    kind      TEXT NOT NULL,
    at        TEXT NOT NULL,
    payload   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    signer    TEXT,
    signature TEXT
);
CREATE INDEX IF NOT EXISTS entries_run ON entries (run_id);
CREATE INDEX IF NOT EXISTS entries_kind ON entries (kind);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END;
"""

# Derived from the entries, never the other way round: written in the same transaction as the
# entries it follows, rebuilt by ``reindex()`` and compared with the entries by ``verify()``.
# One row per run with what lists and filters read (a run's summary, its hosts' statuses), so
# that history, status and guards need not fold the whole ledger.
INDEX_SCHEMA = """
CREATE TABLE IF NOT EXISTS run_index (
    run_id     TEXT PRIMARY KEY,
    client     TEXT NOT NULL,
    task       TEXT NOT NULL,
    category   TEXT NOT NULL,
    status     TEXT NOT NULL,
    in_scope   INTEGER NOT NULL,
    check_mode INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    ended_at   TEXT,
    first_seq  INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL,
    summary    TEXT NOT NULL,
    hosts      TEXT NOT NULL,
    trigger    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS run_index_client ON run_index (client, started_at);
CREATE INDEX IF NOT EXISTS run_index_task ON run_index (client, task, started_at);
CREATE INDEX IF NOT EXISTS run_index_status ON run_index (status);
CREATE INDEX IF NOT EXISTS run_index_client_status ON run_index (client, status, started_at);
CREATE INDEX IF NOT EXISTS run_index_trigger ON run_index (trigger, first_seq);
"""
INDEX_COLUMNS = (
    "run_id, client, task, category, status, in_scope, check_mode, started_at, ended_at,"
    " first_seq, last_seq, summary, hosts, trigger"
)
INDEX_PLACEHOLDERS = ", ".join("?" * len(INDEX_COLUMNS.split(",")))

# What started a run: a person at the command line, or the contract's schedule (``omctl
# tick``). Runs recorded before omctl knew the difference were all started by a person.
TRIGGER_OPERATOR = "operator"
TRIGGER_SCHEDULE = "schedule"
TRIGGERS = (TRIGGER_OPERATOR, TRIGGER_SCHEDULE)

# Entry kinds.
STARTED = "run.started"
REFUSED = "run.refused"
HOST = "run.host"
EVIDENCE = "run.evidence"
FINISHED = "run.finished"
INTERRUPTED = "run.interrupted"
KEYED = "ledger.keyed"  # the chain is HMAC-keyed from this entry on
CHECKPOINT = "report.checkpoint"  # a report was issued, built on this head
# run_id of entries that belong to no run; fold() skips them.
LEDGER_ENTRY = "ledger"
REPORT_ENTRY = "report"

RUNNING = "running"
SUCCESSFUL = "successful"
FAILED = "failed"
STATUS_REFUSED = "refused"
STATUS_INTERRUPTED = "interrupted"


def utcnow() -> str:
    return stamp(datetime.now(UTC))


def stamp(moment: datetime) -> str:
    """``moment`` as the ledger writes times (``utcnow()``), to the millisecond (cut)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stamp_bound(moment: datetime) -> str:
    """The stamp that bounds ``moment`` exactly in a text comparison (stamps are fixed-width
    and to the millisecond): ``at >= stamp_bound(m)`` when the stamp's time is at or after
    ``m``, ``at < stamp_bound(m)`` when it is before ``m``."""
    cut = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    return stamp(cut if cut == moment else cut + timedelta(milliseconds=1))


def parse_stamp(stamp: str) -> datetime:
    """A ledger time stamp (``utcnow()``: UTC ISO with a ``Z``) as an aware datetime; an
    offset-less ISO time, as evidence may carry, is taken as UTC. ValueError when not ISO."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# One encoder for every canonical text: json.dumps with options builds a new one per call,
# which costs ``ledger verify`` a second on a big ledger. The same text as json.dumps with them.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(payload: dict[str, Any]) -> str:
    return _CANONICAL.encode(payload)


def parse_payload(text: str) -> Any:
    """An entry's stored JSON back as Python data. json.loads: a read command parses a few
    hundred entries at most; ``ledger verify``, which parses them all, has a faster parser
    (``_Chain``) whose import would cost every command a fifth of its start-up."""
    return json.loads(text)


def entry_hash(
    prev_hash: str,
    seq: int,
    run_id: str,
    kind: str,
    at: str,
    payload: str,
    key: bytes | None = None,
) -> str:
    """HMAC-SHA256 with ``key``; plain SHA-256 (entries from before the ledger was keyed)
    without."""
    material = f"{prev_hash}\x1f{seq}\x1f{run_id}\x1f{kind}\x1f{at}\x1f{payload}".encode()
    if key is None:
        return hashlib.sha256(material).hexdigest()
    return hmac.digest(key, material, "sha256").hex()


CHECKPOINT_RE = re.compile(r"^([1-9][0-9]*):([0-9a-f]{64})$")


def parse_checkpoint(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` as a report states it; BadInput otherwise."""
    match = CHECKPOINT_RE.match(text.strip().lower())
    if match is None:
        raise BadInput(
            f"--checkpoint expects SEQ:HASH (an entry number and its 64 hex digit hash, "
            f"as a report states them), got {text!r}"
        )
    return int(match[1]), match[2]


class Entry(NamedTuple):
    """One ledger entry. A tuple, so that ``fold`` unpacks entries and the rows ``verify``
    reads alike, without building an object per row."""

    seq: int
    run_id: str
    kind: str
    at: str
    payload: dict[str, Any]


EntryRow = tuple[int, str, str, str, dict[str, Any]]  # an Entry or a plain tuple in its shape


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
    trigger: str = TRIGGER_OPERATOR
    omctl_version: str | None = None
    workspace_commit: str | None = None
    execution_node: str | None = None  # where the job ran, when not on the controller
    targets: list[str] = field(default_factory=list)
    extra_vars: dict[str, Any] | None = None
    request: str | None = None  # the client's request (omctl.work) the run was started for
    ended_at: str | None = None
    message: str | None = None
    hosts: dict[str, HostResult] = field(default_factory=dict)
    first_seq: int = 0
    last_seq: int = 0

    def summary(self) -> dict[str, Any]:
        linked = {"request": self.request} if self.request else {}  # index rows of old runs
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
            "trigger": self.trigger,
            **linked,
        }

    def as_dict(self) -> dict[str, Any]:
        data = self.summary()
        data.update(
            diff=self.diff,
            limit=self.limit,
            omctl_version=self.omctl_version,
            workspace_commit=self.workspace_commit,
            execution_node=self.execution_node,
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


def index_row(run: Run) -> tuple[Any, ...]:
    """The run index's row of ``run`` (columns ``INDEX_COLUMNS``)."""
    summary = run.summary()
    summary["message"] = run.message  # the canonical text sorts the keys
    return (
        run.id,
        run.client,
        run.task,
        run.category,
        run.status,
        int(run.in_scope),
        int(run.check),
        run.started_at,
        run.ended_at,
        run.first_seq,
        run.last_seq,
        canonical(summary),
        canonical({name: host.status for name, host in run.hosts.items()}),
        run.trigger,
    )


@dataclass(frozen=True)
class IndexedRun:
    """A run as the run index holds it: its summary (``Run.summary()`` and its message) and
    each host's status, without the per-host counts and evidence that only the entries hold."""

    id: str
    client: str
    task: str
    category: str
    status: str
    in_scope: bool
    check: bool
    started_at: str
    ended_at: str | None
    first_seq: int
    last_seq: int
    summary: dict[str, Any]
    hosts: dict[str, str]
    trigger: str

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> IndexedRun:
        (rid, client, task, category, status, in_scope, check, started, ended, first, last,
         summary, hosts, trigger) = row  # fmt: skip
        return cls(
            rid, client, task, category, status, bool(in_scope), bool(check), started, ended,
            first, last, parse_payload(summary), parse_payload(hosts), trigger,
        )  # fmt: skip

    def as_run(self) -> Run:
        """A run record from this row alone: its summary and each host's status, without
        per-host counts (a failed or unreachable host counts one), targets or evidence."""
        data = self.summary
        hosts = {
            name: HostResult(failed=int(state == "failed"), unreachable=int(state == "unreachable"))
            for name, state in self.hosts.items()
        }
        return Run(
            id=self.id, client=self.client, task=self.task, category=self.category,
            status=self.status, in_scope=self.in_scope, started_at=self.started_at,
            contract=data.get("contract"), check=self.check, operator=data.get("operator"),
            trigger=self.trigger, ended_at=self.ended_at, message=data.get("message"),
            out_of_scope_reason=data.get("out_of_scope_reason"), request=data.get("request"),
            hosts=hosts, first_seq=self.first_seq, last_seq=self.last_seq,
        )  # fmt: skip


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problem: str | None = None
    head_seq: int | None = None  # the newest entry read, with its hash: a checkpoint
    head_hash: str | None = None
    keyed_from: int | None = None  # the seq of the ledger.keyed entry
    checkpoints: int = 0  # checkpoints given and held
    # What was checked, when not the whole chain (``verify_runs``): the verified checkpoint
    # it started from (seq, hash, when ``ledger verify`` recorded it) and the older entries
    # it checked one by one (those of the runs asked about).
    since: tuple[int, str, str] | None = None
    older_checked: int = 0

    @property
    def scope(self) -> str:
        """What was verified, in a sentence."""
        if self.since is None:
            return f"the whole hash chain ({self.entries} entries) and the run index"
        seq, _, at = self.since
        return (
            f"the hash chain from entry {seq} (the head the last full `omctl ledger verify` "
            f"checked and recorded, at {at}) to the head, that nothing up to entry {seq} is "
            f"missing, and the {self.older_checked} older entries of the runs used with their "
            f"links and index rows; the other older entries were verified by that full check"
        )


class Ledger(Protocol):
    """What omctl needs from a ledger store."""

    signer: Signer | None  # signs every entry appended (omctl.operators), when set

    def append(self, run_id: str, kind: str, payload: dict[str, Any]) -> Entry: ...

    def append_many(self, items: list[tuple[str, str, dict[str, Any]]]) -> list[Entry]:
        """Append (run_id, kind, payload) items atomically: all of them or none."""
        ...

    def entries(
        self,
        run_id: str | None = None,
        client: str | None = None,
        run_ids: Iterable[str] | None = None,
    ) -> Iterator[Entry]:
        """Entries in ledger order: all, one run's, those of one client's runs, or those of
        the runs ``run_ids``."""
        ...

    def indexed(
        self,
        client: str | None = None,
        task: str | None = None,
        last: int | None = None,
        trigger: str | None = None,
    ) -> list[IndexedRun]:
        """The run index, oldest first, of one client (and task) or all, of runs started by
        ``trigger`` or any; with ``last`` only that many of the most recent."""
        ...

    def count_runs(self, client: str | None = None) -> int:
        """How many runs the index holds, of one client or all."""
        ...

    def scan(
        self,
        client: str,
        task: str | None = None,
        since: str | None = None,
        until: str | None = None,
        statuses: tuple[str, ...] | None = None,
        counting: bool = False,
        newest_first: bool = False,
    ) -> Iterator[IndexedRun]:
        """The client's index rows (of ``task``) started in ``[since, until)`` (ledger stamps,
        see ``stamp_bound``) with one of ``statuses``; with ``counting`` only in-scope,
        non-check runs (those coverage counts). In start order (then ledger order), or the
        reverse; read lazily, so a caller that stops early reads no further."""
        ...

    def run_ids(self, prefix: str) -> list[str]:
        """Ids of the runs that start with ``prefix``."""
        ...

    def latest_spans(self, client: str, task: str, limit: int) -> list[tuple[str, str]]:
        """(started_at, ended_at) of the client's ``limit`` latest successful in-scope,
        non-check runs of ``task``, newest first (what a typical duration is made of)."""
        ...

    def reindex(self) -> int:
        """Rebuild the run index from the entries; the number of runs indexed."""
        ...

    def signers(self, seqs: Iterable[int]) -> dict[int, str | None]:
        """The operator who signed each entry ``seqs`` (None: unsigned)."""
        ...

    def unfinished(self) -> list[str]:
        """Ids of runs that started and have neither finished nor been marked interrupted."""
        ...

    def verify(self, checkpoints: Iterable[tuple[int, str]] = ()) -> VerifyResult:
        """Check the chain, the head file, the ledger's recorded report checkpoints and the
        ``checkpoints`` (seq, hash) given: the ledger must still hold exactly that history."""
        ...

    def verify_runs(self, run_ids: Iterable[str]) -> VerifyResult:
        """Verify in proportion to a question about ``run_ids``: from the checkpoint the last
        full ``verify`` recorded (``record_verified``) to the head, plus the older entries of
        those runs; the whole chain (``verify()``) when no valid checkpoint is recorded."""
        ...

    def record_verified(self, result: VerifyResult) -> None:
        """Record the head a full, passed ``verify()`` checked, keyed with the ledger key."""
        ...

    def head(self) -> tuple[int, str] | None:
        """The newest entry's sequence number and hash as the head file remembers them."""
        ...

    def close(self) -> None: ...


def fold(entries: Iterable[EntryRow], evidence: bool = True) -> dict[str, Run]:
    """Build run records from entries, in ledger order; without ``evidence`` the evidence
    entries only name their host (what the run index holds)."""
    runs: dict[str, Run] = {}
    for seq, run_id, kind, at, data in entries:
        if kind in (STARTED, REFUSED):
            run = Run(
                id=run_id,
                client=data["client"],
                task=data["task"],
                category=data["category"],
                status=RUNNING if kind == STARTED else STATUS_REFUSED,
                in_scope=data["in_scope"],
                started_at=at,
                contract=data.get("contract"),
                out_of_scope_reason=data.get("out_of_scope_reason"),
                refusal_reason=data.get("refusal_reason"),
                no_backup_check_reason=data.get("no_backup_check_reason"),
                check=data.get("check", False),
                diff=data.get("diff", False),
                limit=data.get("limit"),
                operator=data.get("operator"),
                trigger=data.get("trigger", TRIGGER_OPERATOR),
                omctl_version=data.get("omctl_version"),
                workspace_commit=data.get("workspace_commit"),
                execution_node=data.get("execution_node"),
                targets=data.get("targets", []),
                extra_vars=data.get("extra_vars"),
                request=data.get("request"),
                first_seq=seq,
            )
            if kind == REFUSED:
                run.ended_at = at
                run.message = data.get("refusal_reason")
            runs[run_id] = run
        else:
            found = runs.get(run_id)
            if found is None:
                continue
            run = found
            if kind == HOST:
                host = data["host"]
                counts = {k: v for k, v in data.items() if k != "host"}
                before = run.hosts.get(host)
                run.hosts[host] = HostResult(
                    **counts, evidence=before.evidence if before is not None else {}
                )
            elif kind == EVIDENCE:
                result = run.hosts.setdefault(data["host"], HostResult())
                if evidence:
                    result.evidence[data["kind"]] = data["data"]
            elif kind in (FINISHED, INTERRUPTED):
                run.status = data.get("status", STATUS_INTERRUPTED)
                run.ended_at = at
                run.message = data.get("message")
        run.last_seq = seq
    return runs


class SqlLedger:
    """What every SQL store of the ledger shares: appends (keyed chain and run index in one
    transaction), reads, the run index, verify and its checkpoints, key handling. A store
    (``SqliteLedger``, ``omctl.ledger_pg.PostgresLedger``) gives a connection whose
    ``execute`` takes ``?`` placeholders, its transactions, the run index's upsert and where
    the head and the verified record live."""

    name: str  # the ledger as messages name it (a path, a URL without its password)
    where: Path | None  # the path errors name, when the ledger is a file
    head_kind = "head file"
    key_file: Path | None
    _key: LedgerKey | None
    _db: Any
    signer: Signer | None = None
    UPSERT_INDEX = (
        f"INSERT OR REPLACE INTO run_index ({INDEX_COLUMNS}) VALUES ({INDEX_PLACEHOLDERS})"
    )

    def _begin_write(self) -> None:
        """A transaction that excludes every other writer until it ends."""
        self._db.execute("BEGIN IMMEDIATE")

    def _begin_read(self) -> None:
        """A transaction that reads one snapshot."""
        self._db.execute("BEGIN")

    def _commit(self) -> None:
        self._db.execute("COMMIT")

    def _rollback(self) -> None:
        self._db.execute("ROLLBACK")

    def _sealed_head(self, seq: int, digest: str, key: LedgerKey) -> None:
        """Record the head inside the append's transaction (a store whose head is a row)."""

    def _write_head(self) -> None:
        """Record the head after the append's transaction (a store whose head is a file)."""

    def _read_head(self) -> tuple[int, str] | None:
        raise NotImplementedError

    def _load_verified(self) -> str | None:
        raise NotImplementedError

    def _store_verified(self, text: str) -> None:
        raise NotImplementedError

    def _load_record(self, name: str) -> str | None:
        """A sealed record beside the entries (``omctl.operators``' signature check)."""
        raise NotImplementedError

    def _store_record(self, name: str, text: str) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self._db.close()

    def append(self, run_id: str, kind: str, payload: dict[str, Any]) -> Entry:
        return self.append_many([(run_id, kind, payload)])[0]

    def append_many(self, items: list[tuple[str, str, dict[str, Any]]]) -> list[Entry]:
        """Append atomically; the first append to an unkeyed ledger writes its keying entry
        (and creates its key) first, in the same transaction."""
        written = self._append(items)
        return written[len(written) - len(items) :]

    def ensure_keyed(self) -> LedgerKey:
        """Make the ledger keyed now (``omctl init``); the key, created if this is the first
        use."""
        self._append([])
        assert self._key is not None
        return self._key

    def _append(self, items: list[tuple[str, str, dict[str, Any]]]) -> list[Entry]:
        at = utcnow()
        written: list[Entry] = []
        created: LedgerKey | None = None
        self._begin_write()  # serialises writers: the chain never forks
        try:
            row = self._db.execute(
                "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            seq, prev = (row[0], row[1]) if row else (0, GENESIS)
            keyed = self._keying()
            if keyed is None:
                created = self._new_key()
                items = [
                    (
                        LEDGER_ENTRY,
                        KEYED,
                        {
                            "ledger_id": created.ledger_id,
                            "legacy_entries": seq,
                            "legacy_head": prev,
                        },
                    ),
                    *items,
                ]
                key = created
            else:
                key = self._key_for(keyed[1])
            for run_id, kind, payload in items:
                text = canonical(payload)
                seq += 1
                digest = entry_hash(prev, seq, run_id, kind, at, text, key.secret)
                signer = self.signer
                self._db.execute(
                    "INSERT INTO entries (seq, run_id, kind, at, payload, prev_hash, hash,"
                    " signer, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (seq, run_id, kind, at, text, prev, digest, signer and signer.name,
                     signer and signer.sign(digest)),
                )  # fmt: skip
                written.append(Entry(seq, run_id, kind, at, payload))
                prev = digest
            self._index_runs(
                {entry.run_id for entry in written},
                {entry.run_id for entry in written if entry.kind in (STARTED, REFUSED)},
            )
            self._sealed_head(seq, prev, key)
            self._commit()
        except BaseException:
            self._rollback()
            if created is not None:  # a key for a keying entry that was never written
                created.path.unlink(missing_ok=True)
                self._key = None
            raise
        self._write_head()
        return written

    def _keying(self) -> tuple[int, str] | None:
        """The seq of the ledger.keyed entry and the ledger id it names, if the ledger is keyed."""
        row = self._db.execute(
            "SELECT seq, payload FROM entries WHERE kind = ? ORDER BY seq LIMIT 1", (KEYED,)
        ).fetchone()
        if row is None:
            return None
        try:
            return row[0], str(json.loads(row[1])["ledger_id"])
        except (ValueError, KeyError, TypeError):
            raise LedgerBroken(
                f"row {row[0]}, the keying entry, is unreadable", path=self.where
            ) from None

    def _key_for(self, ledger_id: str) -> LedgerKey:
        if self._key is not None and self._key.ledger_id == ledger_id:
            return self._key
        path = self.key_file or ledger_key.default_path(ledger_id)
        try:
            key = ledger_key.read(path)
        except LedgerKeyMissing:
            raise LedgerKeyMissing(
                f"the ledger {self.name} is keyed (ledger id {ledger_id}) but its key file is "
                f"missing: restore it or point OMCTL_LEDGER_KEY_FILE at it; omctl never makes "
                f"a new key for a keyed ledger",
                path=path,
            ) from None
        if key.ledger_id != ledger_id:
            raise LedgerBroken(
                f"the key file belongs to ledger {key.ledger_id}, not to this ledger "
                f"({ledger_id}, {self.name})",
                path=path,
            )
        self._key = key
        return key

    def _replaced_claim(self) -> str | None:
        """Why an unkeyed ledger cannot be trusted: a key was made for this ledger's path, so
        the keyed chain it belonged to was rewritten or replaced."""
        claim = ledger_key.claiming(self._claim, self.key_file)
        if claim is None:
            return None
        return (
            f"the ledger was keyed (ledger id {claim.ledger_id}, key {claim.path}) but holds no "
            f"keyed entry now: it was rewritten or replaced; if you started a new ledger on "
            f"purpose, move that key file away"
        )

    def _new_key(self) -> LedgerKey:
        replaced = self._replaced_claim()
        if replaced is not None:
            raise LedgerBroken(replaced, path=self.where)
        ledger_id = secrets.token_hex(8)
        path = self.key_file or ledger_key.default_path(ledger_id)
        self._key = ledger_key.create(path, ledger_id, self._claim)
        return self._key

    def _index_runs(self, run_ids: Iterable[str], started: set[str]) -> None:
        """Re-fold the runs that just got entries into their index rows (in the caller's
        transaction, so the index never lags the entries). Entries of no run (reports,
        monitoring, requests: ids that neither start here nor are indexed) are not re-read."""
        for run_id in run_ids:
            is_run = (
                run_id in started
                or self._db.execute(
                    "SELECT 1 FROM run_index WHERE run_id = ?", (run_id,)
                ).fetchone()
            )
            if not is_run:
                continue
            run = fold(self.entries(run_id)).get(run_id)
            if run is not None:
                self._db.execute(self.UPSERT_INDEX, index_row(run))

    def _rebuild_index(self) -> int:
        self._db.execute("DELETE FROM run_index")
        folded = fold(self.entries())
        self._db.executemany(
            f"INSERT INTO run_index ({INDEX_COLUMNS}) VALUES ({INDEX_PLACEHOLDERS})",
            [index_row(run) for run in folded.values()],
        )
        return len(folded)

    def reindex(self) -> int:
        self._begin_write()
        try:
            count = self._rebuild_index()
            self._commit()
        except BaseException:
            self._rollback()
            raise
        return count

    def entries(
        self,
        run_id: str | None = None,
        client: str | None = None,
        run_ids: Iterable[str] | None = None,
    ) -> Iterator[Entry]:
        if run_ids is not None:
            yield from self._entries_of(sorted(set(run_ids)))
            return
        query = "SELECT seq, run_id, kind, at, payload FROM entries"
        where: list[str] = []
        params: list[str] = []
        if run_id is not None:
            where.append("run_id = ?")
            params.append(run_id)
        if client is not None:
            where.append("run_id IN (SELECT run_id FROM run_index WHERE client = ?)")
            params.append(client)
        if where:
            query += " WHERE " + " AND ".join(where)
        for seq, rid, kind, at, payload in self._db.execute(query + " ORDER BY seq", params):
            yield Entry(seq, rid, kind, at, parse_payload(payload))

    def _entries_of(self, run_ids: list[str]) -> Iterator[Entry]:
        """The entries of ``run_ids`` through the entries' run_id index, in ledger order."""
        rows: list[tuple[int, str, str, str, str]] = []
        for first in range(0, len(run_ids), _IN_CHUNK):
            chunk = run_ids[first : first + _IN_CHUNK]
            rows.extend(
                self._db.execute(
                    "SELECT seq, run_id, kind, at, payload FROM entries"
                    f" WHERE run_id IN ({', '.join('?' * len(chunk))})",
                    chunk,
                )
            )
        rows.sort()
        for seq, rid, kind, at, payload in rows:
            yield Entry(seq, rid, kind, at, parse_payload(payload))

    def scan(
        self,
        client: str,
        task: str | None = None,
        since: str | None = None,
        until: str | None = None,
        statuses: tuple[str, ...] | None = None,
        counting: bool = False,
        newest_first: bool = False,
    ) -> Iterator[IndexedRun]:
        where = ["client = ?"]
        params: list[Any] = [client]
        for clause, value in (("task = ?", task), ("started_at >= ?", since),
                              ("started_at < ?", until)):  # fmt: skip
            if value is not None:
                where.append(clause)
                params.append(value)
        if statuses is not None:
            where.append(f"status IN ({', '.join('?' * len(statuses))})")
            params.extend(statuses)
        if counting:
            where.append("in_scope = 1 AND check_mode = 0")
        order = "DESC" if newest_first else "ASC"
        rows = self._db.execute(
            f"SELECT {INDEX_COLUMNS} FROM run_index WHERE {' AND '.join(where)}"
            f" ORDER BY started_at {order}, first_seq {order}",
            params,
        )
        for row in rows:
            yield IndexedRun.from_row(row)

    def latest_spans(self, client: str, task: str, limit: int) -> list[tuple[str, str]]:
        return list(self._db.execute(
            "SELECT started_at, ended_at FROM run_index WHERE client = ? AND task = ?"
            " AND status = ? AND in_scope = 1 AND check_mode = 0 AND ended_at IS NOT NULL"
            " ORDER BY started_at DESC, first_seq DESC LIMIT ?",
            (client, task, SUCCESSFUL, limit),
        ))  # fmt: skip

    def indexed(
        self,
        client: str | None = None,
        task: str | None = None,
        last: int | None = None,
        trigger: str | None = None,
    ) -> list[IndexedRun]:
        query = f"SELECT {INDEX_COLUMNS} FROM run_index"
        where: list[str] = []
        params: list[str | int] = []
        for column, value in (("client", client), ("task", task), ("trigger", trigger)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if where:
            query += " WHERE " + " AND ".join(where)
        if last is None:
            rows = list(self._db.execute(query + " ORDER BY first_seq", params))
        else:  # the newest ``last`` by the ledger's order, then oldest first again
            newest = query + " ORDER BY first_seq DESC LIMIT ?"
            rows = list(self._db.execute(newest, [*params, last]))
            rows.reverse()
        return [IndexedRun.from_row(row) for row in rows]

    def count_runs(self, client: str | None = None) -> int:
        if client is None:
            (count,) = self._db.execute("SELECT count(*) FROM run_index").fetchone()
        else:
            query = "SELECT count(*) FROM run_index WHERE client = ?"
            (count,) = self._db.execute(query, (client,)).fetchone()
        return int(count)

    def run_ids(self, prefix: str) -> list[str]:
        # A range, not LIKE: run ids may hold _ and %, and the range uses the primary key.
        rows = self._db.execute(
            "SELECT run_id FROM run_index WHERE run_id >= ? AND run_id < ? ORDER BY first_seq",
            (prefix, prefix + "\U0010ffff"),
        )
        return [row[0] for row in rows]

    def signers(self, seqs: Iterable[int]) -> dict[int, str | None]:
        wanted = sorted(set(seqs))
        found: dict[int, str | None] = {}
        for first in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[first : first + _IN_CHUNK]
            found.update(self._db.execute(
                f"SELECT seq, signer FROM entries WHERE seq IN ({', '.join('?' * len(chunk))})",
                chunk,
            ))  # fmt: skip
        return found

    def unfinished(self) -> list[str]:
        # The index, not the entries: a NOT IN over every finished run's entries grows with
        # the ledger, and this runs before every command.
        rows = self._db.execute(
            "SELECT run_id FROM run_index WHERE status = ? ORDER BY first_seq", (RUNNING,)
        )
        return [row[0] for row in rows]

    def verify(self, checkpoints: Iterable[tuple[int, str]] = ()) -> VerifyResult:
        given = sorted(set(checkpoints))
        self._begin_read()  # one snapshot: a concurrent append cannot split the read
        try:
            return self._verify(given)
        finally:
            self._commit()

    def _verify(self, given: list[tuple[int, str]]) -> VerifyResult:
        try:
            keyed = self._keying()
        except LedgerBroken as exc:
            return VerifyResult(False, 0, None, exc.message)
        secret: bytes | None = None
        if keyed is None:
            replaced = self._replaced_claim()
            if replaced is not None:
                return VerifyResult(False, 0, None, replaced)
        else:
            try:
                secret = self._key_for(keyed[1]).secret
            except LedgerBroken as exc:
                return VerifyResult(False, 0, keyed[0], f"{exc.message} ({exc.path})")
        keyed_from = keyed[0] if keyed else None
        (upto,) = self._db.execute("SELECT coalesce(max(seq), 0) FROM entries").fetchone()
        with _gc_paused():
            parts = [outcome() for outcome in self._verify_parts(secret, keyed_from, upto)]
        chain = _joined([part.chain for part in parts])
        count = chain.count
        if chain.problem is not None:
            return VerifyResult(False, count, chain.bad_seq, chain.problem)
        head_seq, head_hash = (count, chain.prev) if count else (None, None)
        head = self._read_head()
        needed = [seq for seq, _ in given] + [seq for _, seq, _ in chain.witnessed]
        hashes = self._hashes(needed + ([head[0]] if head else []))
        failed = self._check_head(hashes, count)
        if failed is None:
            failed = _check_witnesses(hashes, chain.witnessed)
        if failed is None:
            failed = _check_checkpoints(hashes, given, count)
        if failed is None and any(part.index_rows is None for part in parts):
            failed = None, "the entries do not fold into runs: the run index cannot be checked"
        if failed is None:
            expected: dict[str, tuple[Any, ...]] = {}
            for part in parts:
                expected.update(part.index_rows or {})
            failed = self._check_index(expected)
        if failed is not None:
            bad, problem = failed
            return VerifyResult(False, count, bad, problem, head_seq, head_hash, keyed_from)
        return VerifyResult(True, count, None, None, head_seq, head_hash, keyed_from, len(given))

    def _verify_parts(
        self, secret: bytes | None, keyed_from: int | None, upto: int
    ) -> list[Callable[[], PartOutcome]]:
        """A full verify's work on the rows up to ``upto`` as parts in ledger order, each a
        call that gives its outcome. Here one part, done in this process before this returns;
        ``SqliteLedger`` shares a big ledger's with a worker process."""
        rows = self._db.execute(ENTRY_ROWS + " WHERE seq <= ? ORDER BY seq", (upto,))
        chain_rows = (
            (seq, f"{prev_hash}\x1f{seq}\x1f{run_id}\x1f{kind}\x1f{at}\x1f{payload}", prev_hash,
             digest, payload if kind == CHECKPOINT else None)
            for seq, run_id, kind, at, payload, prev_hash, digest in rows
        )  # fmt: skip
        chain = _Chain(secret, keyed_from)
        chain.check(chain_rows)
        fold_rows = self._db.execute(
            "SELECT seq, run_id, kind, at, payload, NULL FROM entries WHERE seq <= ? ORDER BY seq",
            (upto,),
        )
        outcome = PartOutcome(chain.outcome(), _expected_index(fold_rows))
        return [lambda: outcome]

    def record_verified(self, result: VerifyResult) -> None:
        if not result.ok or result.since is not None or result.head_seq is None:
            return
        keyed = self._keying()
        if keyed is None:
            return  # an unkeyed ledger has no key to seal the record with: reports verify all
        key = self._key_for(keyed[1])
        at = utcnow()
        record = {"seq": result.head_seq, "hash": result.head_hash, "at": at}
        record["mac"] = _verified_mac(key.secret, key.ledger_id, record)
        # Only a shortcut for later reports: without it they verify the whole chain.
        self._store_verified(canonical(record))

    def _verified(self, secret: bytes, ledger_id: str) -> tuple[int, str, str] | None:
        """The recorded verified head (seq, hash, at) if its seal holds."""
        try:
            record = json.loads(self._load_verified() or "")
            seq, digest, at = int(record["seq"]), str(record["hash"]), str(record["at"])
            sealed = hmac.compare_digest(
                str(record["mac"]), _verified_mac(secret, ledger_id, record)
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return (seq, digest, at) if sealed and seq >= 1 else None

    def verify_runs(self, run_ids: Iterable[str]) -> VerifyResult:
        wanted = sorted(set(run_ids))
        self._begin_read()  # one snapshot, as verify()
        try:
            result = self._verify_runs(wanted)
        finally:
            self._commit()
        return result if result is not None else self.verify()

    def _verify_runs(self, run_ids: list[str]) -> VerifyResult | None:
        """None when there is no valid verified checkpoint to start from."""
        try:
            keyed = self._keying()
        except LedgerBroken:
            return None
        if keyed is None:
            return None
        try:
            key = self._key_for(keyed[1])
        except LedgerBroken:
            return None
        since = self._verified(key.secret, key.ledger_id)
        if since is None:
            return None
        seq_c, hash_c, _ = since
        row = self._db.execute(ENTRY_ROWS + " WHERE seq = ?", (seq_c,)).fetchone()
        if row is None or row[6] != hash_c or seq_c < keyed[0]:
            return None  # not the history that was verified: check everything
        chain = _Chain(key.secret, keyed[0], prev=row[5], seq=seq_c - 1)
        list(chain.read([row]))
        # ``+seq``: not a walk of the table's rows by seq, but a count over its smallest
        # index (SQLite: entries_kind), a few times faster on a big ledger.
        present = self._db.execute("SELECT count(*) FROM entries WHERE +seq <= ?", (seq_c,))
        count = present.fetchone()[0]
        if chain.problem is not None:
            return VerifyResult(False, count, seq_c, chain.problem, since=since)
        if count != seq_c:
            return VerifyResult(
                False, count, None,
                f"rows are missing up to entry {seq_c}, which the last full verify checked",
                since=since,
            )  # fmt: skip
        newer = self._db.execute(ENTRY_ROWS + " WHERE seq > ? ORDER BY seq", (seq_c,))
        for _ in chain.read(newer):
            pass
        total = seq_c + chain.count - 1
        if chain.problem is not None:
            return VerifyResult(False, total, chain.bad_seq, chain.problem, since=since)
        head_seq, head_hash = chain.seq, chain.prev
        head = self._read_head()
        hashes = self._hashes([seq for _, seq, _ in chain.witnessed] + ([head[0]] if head else []))
        failed = self._check_head(hashes, total) or _check_witnesses(hashes, chain.witnessed)
        if failed is None:
            failed, older = self._check_runs(run_ids, key.secret, keyed[0], seq_c)
        if failed is not None:
            bad, problem = failed
            return VerifyResult(False, total, bad, problem, head_seq, head_hash, keyed[0],
                                since=since)  # fmt: skip
        return VerifyResult(True, total, None, None, head_seq, head_hash, keyed[0], since=since,
                            older_checked=older)  # fmt: skip

    def _check_runs(
        self, run_ids: list[str], secret: bytes, keyed_from: int, upto: int
    ) -> tuple[tuple[int | None, str] | None, int]:
        """The entries of ``run_ids`` up to entry ``upto`` each have their hash and follow
        the row before; their index rows say what their entries say. (The problem, the
        number of entries checked.)"""
        rows: list[tuple[Any, ...]] = []
        for first in range(0, len(run_ids), _IN_CHUNK):
            chunk = run_ids[first : first + _IN_CHUNK]
            rows.extend(
                self._db.execute(
                    ENTRY_ROWS + f" WHERE run_id IN ({', '.join('?' * len(chunk))})", chunk
                )
            )
        rows.sort()
        older = [row for row in rows if row[0] <= upto]
        before = self._hashes(row[0] - 1 for row in older)
        entries: list[Entry] = []
        for row in older:
            seq = row[0]
            if seq > 1 and before.get(seq - 1) != row[5]:
                return (seq, f"row {seq} does not follow row {seq - 1}: chain broken"), 0
            chain = _Chain(secret, keyed_from, prev=row[5], seq=seq - 1)
            entries.extend(chain.read([row]))
            if chain.problem is not None:
                return (seq, chain.problem), 0
        entries.extend(
            Entry(seq, rid, kind, at, parse_payload(payload))
            for seq, rid, kind, at, payload, _, _ in rows
            if seq > upto
        )
        try:
            folded = fold(entries, evidence=False)
        except (KeyError, TypeError, AttributeError):
            return (None, "the entries of the runs used do not fold into runs"), len(older)
        indexed = {row[0]: tuple(row) for row in self._index_rows(run_ids)}
        for run in folded.values():
            if run.id in indexed and index_row(run) != indexed[run.id]:
                return (run.first_seq, (
                    f"the run index differs from the entries of run {run.id}: "
                    f"`omctl ledger reindex` rebuilds it"
                )), len(older)  # fmt: skip
        return None, len(older)

    def _index_rows(self, run_ids: list[str]) -> Iterator[tuple[Any, ...]]:
        for first in range(0, len(run_ids), _IN_CHUNK):
            chunk = run_ids[first : first + _IN_CHUNK]
            yield from self._db.execute(
                f"SELECT {INDEX_COLUMNS} FROM run_index"
                f" WHERE run_id IN ({', '.join('?' * len(chunk))})",
                chunk,
            )

    def _hashes(self, seqs: Iterable[int]) -> dict[int, str]:
        """The stored hashes of the rows ``seqs`` that exist (once the chain verified, each is
        the hash its row was checked to have)."""
        wanted = sorted(set(seqs))
        found: dict[int, str] = {}
        for first in range(0, len(wanted), _IN_CHUNK):
            chunk = wanted[first : first + _IN_CHUNK]
            found.update(
                self._db.execute(
                    f"SELECT seq, hash FROM entries WHERE seq IN ({', '.join('?' * len(chunk))})",
                    chunk,
                )
            )
        return found

    def _check_index(self, expected: dict[str, tuple[Any, ...]]) -> tuple[int | None, str] | None:
        """The run index must hold the rows ``expected`` (``index_row`` of each run the entries
        fold into): it is what history, status and the report select runs by."""
        seen: set[str] = set()
        differs: list[tuple[int, str]] = []  # (first seq, run id)
        extra: list[str] = []
        for found in self._db.execute(f"SELECT {INDEX_COLUMNS} FROM run_index"):
            run_id = found[0]
            row = expected.get(run_id)
            if row is None:
                extra.append(run_id)
                continue
            seen.add(run_id)
            if row != tuple(found):
                differs.append((row[9], run_id))
        if len(seen) < len(expected):
            differs.extend(
                (row[9], run_id) for run_id, row in expected.items() if run_id not in seen
            )
        if differs:
            first_seq, run_id = min(differs)  # the first in ledger order
            return first_seq, (
                f"the run index differs from the entries of run {run_id}: "
                f"`omctl ledger reindex` rebuilds it"
            )
        if extra:
            return None, (
                f"the run index lists run {min(extra)}, which has no entries: "
                f"`omctl ledger reindex` rebuilds it"
            )
        return None

    def _check_head(self, hashes: dict[int, str], count: int) -> tuple[int | None, str] | None:
        head = self._read_head()
        if head is None:
            return (None, f"{self._head_name} is missing") if count else None
        head_seq, head_hash = head
        if head_seq not in hashes:
            return (
                count + 1,
                f"rows {count + 1} to {head_seq} are missing (the {self.head_kind} records row "
                f"{head_seq})",
            )
        if hashes[head_seq] != head_hash:
            return head_seq, f"row {head_seq} differs from the {self.head_kind}"
        return None

    @property
    def _head_name(self) -> str:
        return self.head_kind

    @property
    def _claim(self) -> Path | str:
        """What the ledger's key file records as its ledger (``ledger_key.claiming``)."""
        raise NotImplementedError

    def head(self) -> tuple[int, str] | None:
        try:
            return self._read_head()
        except LedgerBroken:
            return None


class SqliteLedger(SqlLedger):
    """The embedded ledger: one SQLite file in WAL mode plus a head file, keyed by a key file
    outside the workspace (``key_file``, else ``ledger_key.default_path(id)``)."""

    def __init__(self, path: Path, key_file: Path | None = None):
        self.path = path
        self.name = str(path)
        self.where = path
        self.head_path = path.with_name(path.name + ".head")
        self.lock_path = path.with_name(path.name + ".lock")
        self.verified_path = path.with_name(path.name + ".verified")
        self.key_file = key_file
        self._key: LedgerKey | None = None
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))  # sqlite gives -wal, -shm its mode
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a recorded run survives a power cut
        # Reads of a big ledger (verify, the index) map the file instead of copying pages.
        self._db.execute("PRAGMA mmap_size=1073741824")
        self._db.execute("PRAGMA cache_size=-32768")  # KiB
        self._migrate()
        for own in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
            if own.exists():
                os.chmod(own, 0o600)  # also tightens the files of an older omctl
        for own in (self.head_path, self.lock_path, self.verified_path):
            if own.exists():
                os.chmod(own, 0o600)

    # From this many entries ``verify`` shares its work with a worker process (two cores:
    # about half the time); below it the worker's start-up costs more than it saves.
    PARALLEL_VERIFY_FROM = 100_000

    def _verify_parts(
        self, secret: bytes | None, keyed_from: int | None, upto: int
    ) -> list[Callable[[], PartOutcome]]:
        if upto < self.PARALLEL_VERIFY_FROM:
            return super()._verify_parts(secret, keyed_from, upto)
        # Halves: the chain's rows by seq, the runs (for the index check) by run id, split
        # at the index's median run id (the index only balances the halves: each half's
        # expected rows come from the entries). The worker takes the second half.
        (runs,) = self._db.execute("SELECT count(*) FROM run_index").fetchone()
        middle = self._db.execute(
            "SELECT run_id FROM run_index ORDER BY run_id LIMIT 1 OFFSET ?", (runs // 2,)
        ).fetchone()
        split = middle[0] if middle else None
        first = VerifyPart(upto, (0, upto // 2), (None, split))
        second = VerifyPart(upto, (upto // 2, upto), (split, None))
        # The worker reads entries up to ``upto`` only: they are append-only, so its
        # snapshot holds the same rows as this transaction's (or the chain check names what
        # changed); the run index is compared here, in this transaction.
        worker = subprocess.Popen(
            [sys.executable, "-m", "omctl.ledger_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert worker.stdin is not None and worker.stdout is not None
        with contextlib.suppress(OSError):  # a worker that died is done here (below)
            pickle.dump((self.path, secret, keyed_from, second), worker.stdin)
            worker.stdin.close()
        here = _verify_part(self._db, secret, keyed_from, first)

        def there() -> PartOutcome:
            with worker.stdout:
                sent = worker.stdout.read()
            if worker.wait() == 0:
                with contextlib.suppress(pickle.UnpicklingError, EOFError):
                    return pickle.loads(sent)  # from this process's own child
            return _verify_part(self._db, secret, keyed_from, second)  # the worker failed

        return [lambda: here, there]

    def _migrate(self) -> None:
        """Create the schema, or bring an older ledger's up to date in one transaction: the
        run index is derived, so an older ledger's (or none, in version 1) is dropped and
        rebuilt from the entries in the current shape."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise LedgerBroken(
                f"the ledger has schema version {version}, newer than this omctl knows "
                f"({SCHEMA_VERSION}): upgrade omctl",
                path=self.path,
            )
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]  # under the lock
            if version < SCHEMA_VERSION:
                columns = {row[1] for row in self._db.execute("PRAGMA table_info(entries)")}
                for column in ("signer", "signature"):  # version 5; empty in older entries
                    if columns and column not in columns:
                        self._db.execute(f"ALTER TABLE entries ADD COLUMN {column} TEXT")
                if version > 0:
                    self._db.execute("DROP TABLE IF EXISTS run_index")
                for statement in (SCHEMA + INDEX_SCHEMA).split(";\n"):
                    if statement.strip():
                        self._db.execute(statement)
                if version > 0:
                    self._rebuild_index()
                self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    @property
    def _claim(self) -> Path:
        return self.path

    @property
    def _head_name(self) -> str:
        return f"head file {self.head_path}"

    def _write_head(self) -> None:
        """Record the newest (seq, hash); under a lock so concurrent writers never regress it."""
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            row = self._db.execute(
                "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            tmp = self.head_path.with_name(self.head_path.name + ".tmp")
            out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(out, "w") as handle:
                handle.write(f"{row[0]} {row[1]}\n")
            os.replace(tmp, self.head_path)
        finally:
            os.close(fd)  # closing drops the flock

    def _read_head(self) -> tuple[int, str] | None:
        try:
            seq_text, digest = self.head_path.read_text().split()
            return int(seq_text), digest
        except FileNotFoundError:
            return None
        except ValueError:
            raise LedgerBroken("head file is unreadable", path=self.head_path) from None

    def _load_verified(self) -> str | None:
        try:
            return self.verified_path.read_text()
        except OSError:
            return None

    def _store_verified(self, text: str) -> None:
        # Only a shortcut for later reports: without it they verify the whole chain.
        with contextlib.suppress(OSError):
            files.write_atomic(self.verified_path, text + "\n", 0o600)

    def _load_record(self, name: str) -> str | None:
        try:
            return self.path.with_name(f"{self.path.name}.{name}").read_text()
        except OSError:
            return None

    def _store_record(self, name: str, text: str) -> None:
        with contextlib.suppress(OSError):  # a shortcut too: without it all is checked again
            files.write_atomic(self.path.with_name(f"{self.path.name}.{name}"), text + "\n", 0o600)


ENTRY_ROWS = "SELECT seq, run_id, kind, at, payload, prev_hash, hash FROM entries"


class _Hasher:
    """``entry_hash`` for many rows with one key: HMAC-SHA256 from the key's precomputed
    inner and outer states (RFC 2104), cheaper per row than ``hmac.digest``."""

    def __init__(self, key: bytes) -> None:
        block = key.ljust(64, b"\0") if len(key) <= 64 else hashlib.sha256(key).digest()
        block = block.ljust(64, b"\0")
        self.inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self.outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))

    def __call__(self, material: bytes) -> str:
        inner = self.inner.copy()
        inner.update(material)
        outer = self.outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


@dataclass(frozen=True)
class ChainOutcome:
    """What a chain check found (picklable: a verify worker process sends it back)."""

    count: int  # rows read, the bad one included
    seq: int  # the last good row's seq and hash
    prev: str
    problem: str | None
    bad_seq: int | None
    witnessed: tuple[tuple[int, int, str], ...]  # (checkpoint entry, seq, hash)
    first: tuple[int, str] | None = None  # an unlinked check's first row: seq and prev_hash


class _Chain:
    """Checks rows of the entries table in seq order: each row follows the one before (seq,
    prev_hash) and has the hash it must have (keyed from ``keyed_from``); the report
    checkpoints the rows record are collected. ``check`` takes rows as ``PART_CHAIN_ROWS``
    reads them, ``read`` rows of ``ENTRY_ROWS`` (yielding their entries); both stop at the
    first bad row, naming it in ``problem``. Not ``linked``, the first row is taken as it
    links (``first`` remembers how, for ``_joined``): a later part of the ledger."""

    def __init__(
        self,
        secret: bytes | None,
        keyed_from: int | None,
        prev: str = GENESIS,
        seq: int = 0,
        linked: bool = True,
    ) -> None:
        self.keyed = _Hasher(secret) if secret is not None else None
        self.linked = linked
        self.first: tuple[int, str] | None = None
        self.keyed_from = keyed_from
        self.prev, self.seq = prev, seq  # the last row checked: seq and hash
        self.count = 0
        self.problem: str | None = None
        self.bad_seq: int | None = None
        self.witnessed: list[tuple[int, int, str]] = []  # (checkpoint entry, seq, hash)

    def check(self, rows: Iterable[tuple[int, str, str, str, str | None]]) -> bool:
        """Check (seq, material, prev_hash, hash, checkpoint payload) rows; False at a bad
        one. The hot loop of ``ledger verify``: locals only, state written back at the end."""
        rows = iter(rows)
        if not self.linked and self.first is None:
            head = next(rows, None)
            if head is None:
                return True
            self.first = head[0], head[2]
            self.seq, self.prev = head[0] - 1, head[2]
            rows = itertools.chain([head], rows)
        keyed, plain = self.keyed, hashlib.sha256
        keyed_from = self.keyed_from if keyed is not None else None
        count, last, prev = self.count, self.seq, self.prev
        problem: tuple[int, str] | None = None
        for seq, material, prev_hash, digest, checkpoint in rows:
            count += 1
            if seq != last + 1:
                problem = last + 1, f"row {last + 1} is missing (next is {seq})"
                break
            if prev_hash != prev:
                problem = seq, f"row {seq} does not follow row {seq - 1}: chain broken"
                break
            if keyed is not None and keyed_from is not None and seq >= keyed_from:
                computed = keyed(material.encode())
            else:
                computed = plain(material.encode()).hexdigest()
            if computed != digest:
                problem = seq, f"row {seq} was altered: hash mismatch"
                break
            last, prev = seq, digest
            if checkpoint is not None:
                data = parse_payload(checkpoint)
                if isinstance(data.get("seq"), int):  # None: a report of an empty ledger
                    self.witnessed.append((seq, data["seq"], str(data.get("hash"))))
        self.count, self.seq, self.prev = count, last, prev
        if problem is not None:
            self.bad_seq, self.problem = problem
            return False
        return True

    def read(self, rows: Iterable[tuple[Any, ...]]) -> Iterator[Entry]:
        """Check rows of ``ENTRY_ROWS`` (a few: the runs a report uses) and yield their
        entries."""
        for seq, run_id, kind, at, payload, prev_hash, digest in rows:
            material = f"{prev_hash}\x1f{seq}\x1f{run_id}\x1f{kind}\x1f{at}\x1f{payload}"
            witness = payload if kind == CHECKPOINT else None
            if not self.check([(seq, material, prev_hash, digest, witness)]):
                return
            yield Entry(seq, run_id, kind, at, parse_payload(payload))

    def outcome(self) -> ChainOutcome:
        return ChainOutcome(
            self.count, self.seq, self.prev, self.problem, self.bad_seq,
            tuple(self.witnessed), self.first,
        )  # fmt: skip


# A share of a big SQLite ledger's verify (``SqliteLedger._verify_parts``): the chain's rows
# seq in (lo, hi], with each row's hashed material as ``entry_hash`` joins it (put together by
# SQLite, not per row in Python) and the payload of a report checkpoint (whose witness is
# collected); and the entries up to the verified head of the runs with lo <= run_id < hi
# (NULL: unbounded), for an evidence entry (often the largest) only the host it names when
# that is a string (by SQLite's JSON functions, in a CASE, which tests in order, so json_type
# never sees text that is not JSON).
PART_CHAIN_ROWS = (
    "SELECT seq, prev_hash || char(31) || seq || char(31) || run_id || char(31) || kind"
    " || char(31) || at || char(31) || payload, prev_hash, hash,"
    f" CASE WHEN kind = '{CHECKPOINT}' THEN payload END"
    " FROM entries WHERE seq > ? AND seq <= ? ORDER BY seq"
)
_EVIDENCE_HOST = (
    f"CASE WHEN kind <> '{EVIDENCE}' THEN NULL WHEN NOT json_valid(payload) THEN NULL"
    " WHEN json_type(payload, '$.host') = 'text' THEN json_extract(payload, '$.host') END"
)
PART_FOLD_ROWS = (
    f"SELECT seq, run_id, kind, at, CASE WHEN ({_EVIDENCE_HOST}) IS NULL THEN payload END,"
    f" {_EVIDENCE_HOST} FROM entries WHERE seq <= ? AND (? IS NULL OR run_id >= ?)"
    " AND (? IS NULL OR run_id < ?) ORDER BY seq"
)


@dataclass(frozen=True)
class VerifyPart:
    """What one share of a full verify checks: chain rows ``lo < seq <= hi`` and the runs
    ``lo <= run_id < hi`` (None: unbounded) as the entries up to ``upto`` fold them."""

    upto: int
    seqs: tuple[int, int]
    runs: tuple[str | None, str | None]


@dataclass(frozen=True)
class PartOutcome:
    """A share's chain check, and the index rows its runs' entries fold into (None: they
    do not fold). Picklable: a worker process sends it back."""

    chain: ChainOutcome
    index_rows: dict[str, tuple[Any, ...]] | None


def _verify_part(
    db: sqlite3.Connection, secret: bytes | None, keyed_from: int | None, part: VerifyPart
) -> PartOutcome:
    lo, hi = part.seqs
    chain = _Chain(secret, keyed_from, linked=lo == 0)
    chain.check(db.execute(PART_CHAIN_ROWS, (lo, hi)))
    first, last = part.runs
    fold_rows = db.execute(PART_FOLD_ROWS, (part.upto, first, first, last, last))
    return PartOutcome(chain.outcome(), _expected_index(fold_rows))


def verify_part_file(
    path: Path, secret: bytes | None, keyed_from: int | None, part: VerifyPart
) -> PartOutcome:
    """``part`` of the SQLite ledger at ``path``, on a read-only connection of its own: what
    a verify worker process runs. (A further per-entry check, such as a signature, belongs in
    the chain's pass, so that it is shared out with it.)"""
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
    try:
        db.execute("PRAGMA mmap_size=1073741824")
        with _gc_paused():
            return _verify_part(db, secret, keyed_from, part)
    finally:
        db.close()


def _expected_index(rows: Iterable[tuple[Any, ...]]) -> dict[str, tuple[Any, ...]] | None:
    """The index rows that entry rows (seq, run_id, kind, at, payload, evidence host) fold
    into, without evidence; None when they do not fold (a run entry of an unknown shape)."""
    from pydantic_core import from_json  # as json.loads for canonical text, 3x faster

    entries = (
        (seq, run_id, kind, at, {"host": host} if host is not None else from_json(payload))
        for seq, run_id, kind, at, payload, host in rows
    )
    try:
        return {run.id: index_row(run) for run in fold(entries, evidence=False).values()}
    except (KeyError, TypeError, AttributeError, ValueError):
        return None


def _joined(parts: list[ChainOutcome]) -> ChainOutcome:
    """The chain check of consecutive parts as one check in a single pass would find it: a
    later part's first row must follow the last row of the ones before."""
    total = parts[0]
    for part in parts[1:]:
        if total.problem is not None or part.first is None:  # failed, or an empty part
            continue
        seq, prev_hash = part.first
        if seq != total.seq + 1:
            problem: tuple[int, str] | None = (
                total.seq + 1,
                f"row {total.seq + 1} is missing (next is {seq})",
            )
        elif prev_hash != total.prev:
            problem = seq, f"row {seq} does not follow row {seq - 1}: chain broken"
        else:
            problem = None
        if problem is not None:
            return replace(total, count=total.count + 1, bad_seq=problem[0], problem=problem[1])
        total = ChainOutcome(
            total.count + part.count, part.seq, part.prev, part.problem, part.bad_seq,
            total.witnessed + part.witnessed, total.first,
        )  # fmt: skip
    return total


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a whole ledger is read: the objects a pass builds
    are not cycles, and the collector's passes over them cost about half its time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _verified_mac(secret: bytes, ledger_id: str, record: dict[str, Any]) -> str:
    material = f"omctl-ledger-verified\x1f{ledger_id}\x1f{record['seq']}\x1f{record['hash']}"
    return hmac.digest(secret, f"{material}\x1f{record['at']}".encode(), "sha256").hex()


def _check_witnesses(
    hashes: dict[int, str], witnessed: list[tuple[int, int, str]]
) -> tuple[int, str] | None:
    """Each recorded report checkpoint must still name an entry with the hash it saw."""
    for at, seq, digest in witnessed:
        if hashes.get(seq) != digest:
            return seq, (
                f"row {seq} differs from the checkpoint that report entry {at} recorded: the "
                f"history up to row {seq} was rewritten"
            )
    return None


def _check_checkpoints(
    hashes: dict[int, str], given: list[tuple[int, str]], count: int
) -> tuple[int, str] | None:
    """The first given checkpoint (in ledger order) the ledger no longer holds."""
    held: int | None = None
    for seq, digest in given:
        if seq not in hashes:
            return seq, f"row {seq} of checkpoint {seq}:{digest[:12]}... is missing (the ledger "
            f"holds {count} entries)"
        if hashes[seq] != digest:
            since = f" (it still holds checkpoint {held}, so the change is after row {held})"
            return seq, (
                f"row {seq} differs from checkpoint {seq}:{digest[:12]}...: the ledger no longer "
                f"holds the history up to row {seq} that the checkpoint witnessed"
                + (since if held is not None else "")
            )
        held = seq
    return None


def runs(ledger: Ledger, client: str | None = None) -> list[Run]:
    """Whole run records (host counts and evidence), oldest first; only the entries of
    ``client``'s runs are read (the run index knows which)."""
    return list(fold(ledger.entries(client=client)).values())


def runs_of(ledger: Ledger, run_ids: Iterable[str], evidence: bool = True) -> list[Run]:
    """Whole run records of ``run_ids`` (those in the ledger), oldest first: only their
    entries are read (without ``evidence``, evidence entries only name their host)."""
    folded = fold(ledger.entries(run_ids=run_ids), evidence=evidence)
    return sorted(folded.values(), key=lambda run: run.first_seq)


def get_run(ledger: Ledger, run_id: str) -> Run | None:
    return fold(ledger.entries(run_id)).get(run_id)


def open_ledger(
    path: Path,
    key_file: Path | None = None,
    url: str | None = None,
    password_file: Path | None = None,
) -> Ledger:
    """The SQLite ledger at ``path``, or the PostgreSQL ledger at ``url`` when one is set."""
    if url is not None:
        from omctl.ledger_pg import PostgresLedger  # psycopg only for a PostgreSQL ledger

        return PostgresLedger(url, key_file, password_file)
    return SqliteLedger(path, key_file)
