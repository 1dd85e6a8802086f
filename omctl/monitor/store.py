"""The monitoring table: compact probe rows and incidents in one SQLite file (WAL).

A probe is one row of integers (site id, epoch seconds, status, latency ms, TLS days) with
error text only when it failed; rows older than ``monitor_keep_days`` are dropped, so the
table holds at most sites x probes a day x days. The daily summaries in the ledger are the
permanent record.

An incident opens when a site fails ``confirm`` probes in a row (it is dated from the first
of them) and closes at the first probe that succeeds.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from omctl.errors import EnvironmentProblem

STORE_FILE = "monitor.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS sites (
  id INTEGER PRIMARY KEY,
  client TEXT NOT NULL,
  url TEXT NOT NULL,
  last_at INTEGER,            -- the latest probe
  fails INTEGER NOT NULL DEFAULT 0,  -- consecutive failed probes up to last_at
  fail_since INTEGER,         -- the first of them
  fail_error TEXT,            -- and its error
  summarized TEXT,            -- the latest day (ISO date) summarized into the ledger
  UNIQUE (client, url)
);
CREATE TABLE IF NOT EXISTS probes (
  site INTEGER NOT NULL,
  at INTEGER NOT NULL,
  status INTEGER,
  latency_ms INTEGER,
  tls_days INTEGER,
  error TEXT,
  PRIMARY KEY (site, at)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS incidents (
  id INTEGER PRIMARY KEY,
  site INTEGER NOT NULL,
  opened_at INTEGER NOT NULL,
  closed_at INTEGER,
  first_error TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_site ON incidents (site, opened_at);
"""


# Here, not in omctl.monitor.probe: reading the store (status, the report) must not import
# the HTTP client.
@dataclass(frozen=True)
class Probe:
    """One probe's result; ``error`` is None exactly when the site was up."""

    at: int  # epoch seconds
    status: int | None
    latency_ms: int | None
    tls_days: int | None  # whole days the peer certificate has left at ``at``
    error: str | None

    @property
    def up(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Site:
    id: int
    client: str
    url: str
    last_at: int | None
    fails: int
    summarized: str | None


@dataclass(frozen=True)
class Incident:
    id: int
    site: int
    opened_at: int
    closed_at: int | None
    first_error: str


@dataclass(frozen=True)
class Change:
    """What one probe did to its site's incidents."""

    opened: Incident | None = None
    closed: Incident | None = None


class Store:
    def __init__(self, path: Path):
        self.path = path
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise EnvironmentProblem(f"monitoring store {path}: {exc}") from None

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- sites -------------------------------------------------------------------------------

    def sites(self, client: str) -> dict[str, Site]:
        rows = self._db.execute(
            "SELECT id, client, url, last_at, fails, summarized FROM sites WHERE client = ?",
            (client,),
        )
        return {row[2]: Site(*row) for row in rows}

    def site_ids(self, client: str, urls: list[str]) -> dict[str, int]:
        """The ids of the client's sites at ``urls``, made on first use."""
        with self.transaction():
            self._db.executemany(
                "INSERT INTO sites (client, url) VALUES (?, ?) ON CONFLICT DO NOTHING",
                [(client, url) for url in urls],
            )
        known = self.sites(client)
        return {url: known[url].id for url in urls}

    def mark_summarized(self, site: int, day: str) -> None:
        self._db.execute("UPDATE sites SET summarized = ? WHERE id = ?", (day, site))

    # --- probes and incidents ----------------------------------------------------------------

    def record(self, site: int, probe: Probe, confirm: int) -> Change:
        """Store a probe and open or close the site's incident; call inside a transaction."""
        self._db.execute(
            "INSERT OR REPLACE INTO probes VALUES (?, ?, ?, ?, ?, ?)",
            (site, probe.at, probe.status, probe.latency_ms, probe.tls_days, probe.error),
        )
        fails, since, error = self._db.execute(
            "SELECT fails, fail_since, fail_error FROM sites WHERE id = ?", (site,)
        ).fetchone()
        current = self.open_incident(site)
        if probe.up:
            self._db.execute(
                "UPDATE sites SET last_at = ?, fails = 0, fail_since = NULL, fail_error = NULL"
                " WHERE id = ?",
                (probe.at, site),
            )
            if current is None:
                return Change()
            self._db.execute("UPDATE incidents SET closed_at = ? WHERE id = ?",
                             (probe.at, current.id))  # fmt: skip
            return Change(closed=Incident(current.id, site, current.opened_at, probe.at,
                                          current.first_error))  # fmt: skip
        if fails == 0:
            since, error = probe.at, probe.error
        fails += 1
        self._db.execute(
            "UPDATE sites SET last_at = ?, fails = ?, fail_since = ?, fail_error = ? WHERE id = ?",
            (probe.at, fails, since, error, site),
        )
        if current is not None or fails < confirm:
            return Change()
        cursor = self._db.execute(
            "INSERT INTO incidents (site, opened_at, first_error) VALUES (?, ?, ?)",
            (site, since, error),
        )
        return Change(opened=Incident(int(cursor.lastrowid or 0), site, since, None, error))

    def add_probes(self, rows: Iterable[tuple[int, Probe]]) -> None:
        """Store probes as they are, without the incident bookkeeping of ``record``: for a
        history made elsewhere (the bench's simulated weeks)."""
        with self.transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO probes VALUES (?, ?, ?, ?, ?, ?)",
                ((site, p.at, p.status, p.latency_ms, p.tls_days, p.error) for site, p in rows),
            )

    def open_incident(self, site: int) -> Incident | None:
        row = self._db.execute(
            "SELECT id, site, opened_at, closed_at, first_error FROM incidents"
            " WHERE site = ? AND closed_at IS NULL",
            (site,),
        ).fetchone()
        return Incident(*row) if row else None

    def incidents(self, site: int, start: int, end: int) -> list[Incident]:
        """The site's incidents that were open at some time in ``[start, end)``."""
        rows = self._db.execute(
            "SELECT id, site, opened_at, closed_at, first_error FROM incidents"
            " WHERE site = ? AND opened_at < ? AND (closed_at IS NULL OR closed_at > ?)"
            " ORDER BY opened_at",
            (site, end, start),
        )
        return [Incident(*row) for row in rows]

    def probes(self, site: int, start: int, end: int) -> list[Probe]:
        rows = self._db.execute(
            "SELECT at, status, latency_ms, tls_days, error FROM probes"
            " WHERE site = ? AND at >= ? AND at < ? ORDER BY at",
            (site, start, end),
        )
        return [Probe(*row) for row in rows]

    def availability(self, site: int, start: int, end: int) -> tuple[int, int]:
        """(probes, probes that were up) in ``[start, end)``."""
        total, up = self._db.execute(
            "SELECT count(*), count(*) - count(error) FROM probes"
            " WHERE site = ? AND at >= ? AND at < ?",
            (site, start, end),
        ).fetchone()
        return int(total), int(up)

    def latest(self, site: int) -> Probe | None:
        row = self._db.execute(
            "SELECT at, status, latency_ms, tls_days, error FROM probes WHERE site = ?"
            " ORDER BY at DESC LIMIT 1",
            (site,),
        ).fetchone()
        return Probe(*row) if row else None

    def first_probe_at(self, site: int) -> int | None:
        row = self._db.execute("SELECT min(at) FROM probes WHERE site = ?", (site,)).fetchone()
        return row[0]

    def drop_before(self, cutoff: int) -> int:
        """Drop probes and closed incidents older than ``cutoff``; how many probes went."""
        dropped = 0
        for (site,) in self._db.execute("SELECT id FROM sites").fetchall():
            # By site: a range of the primary key each, with no index on the time alone.
            dropped += self._db.execute(
                "DELETE FROM probes WHERE site = ? AND at < ?", (site, cutoff)
            ).rowcount
        self._db.execute("DELETE FROM incidents WHERE closed_at IS NOT NULL AND closed_at < ?",
                         (cutoff,))  # fmt: skip
        return dropped

    def record_many(self, items: Iterable[tuple[int, Probe, int]]) -> list[tuple[int, Change]]:
        with self.transaction():
            return [(site, self.record(site, probe, confirm)) for site, probe, confirm in items]

    def size(self) -> tuple[int, int]:
        """(probe rows, bytes on disk including the WAL)."""
        (rows,) = self._db.execute("SELECT count(*) FROM probes").fetchone()
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        wal = self.path.with_name(self.path.name + "-wal")
        return int(rows), self.path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def store_path(state: Path) -> Path:
    return state / STORE_FILE


def open_existing(state: Path) -> Store | None:
    """The store when a tick made one (reads never create it)."""
    path = store_path(state)
    return Store(path) if path.exists() else None
