"""What roles/backup's check mode probes before a backup or a drill: the repository, its locks
and latest snapshot, the problems that stop the real run (``backup_check``,
``restore_drill_check`` share it)."""

from __future__ import annotations

from typing import Any

from omctl.evidence import text
from omctl.evidence.base import Evidence, Part
from omctl.evidence.rows import Mark, Row, State, row

REPOSITORY_STATES: dict[str, State] = {
    "ok": "ok",
    "would_initialise": "warning",
    "not_probed": "warning",
}


class Problem(Part):
    code: str | None = None
    message: str | None = None


class Repository(Part):
    url: str | None = None
    state: str | None = None
    id: str | None = None
    detail: str | None = None


class Latest(Part):
    """The latest backup run in the repository."""

    run: str | None = None
    time: str | None = None
    age_seconds: int | float | None = None
    files: Any = None
    databases: dict[str, Any] | list[str] | None = None


class Lock(Part):
    exclusive: bool | None = None
    pid: int | None = None
    hostname: str | None = None
    time: str | None = None
    stale: bool | None = None


class SnapshotCount(Part):
    count: int | None = None
    runs: int | None = None


class Probe(Evidence):
    ok: bool
    check: bool = True
    error: Any = None
    problems: list[Problem] | None = None
    notices: list[Any] | None = None
    checked_at: str | None = None
    repository: Repository | None = None
    locks: list[Lock] | None = None
    latest: Latest | None = None
    snapshots: SnapshotCount | None = None
    # The set-up steps the real run does first (a key, the repository).
    setup_pending: list[Any] | None = None

    def head_rows(self) -> list[Row]:
        """The problems first, then the repository and its state."""
        rows = [
            row(Mark("problem", "failed"), Mark(str(p.message), "failed"), f" ({p.code})")
            for p in self.problems or []
        ]
        repository = self.repository or Repository()
        state = str(repository.state or "?")
        detail = repository.detail or ""
        rows.append(
            row(
                "repository",
                f"{repository.url}: ",
                Mark(state.replace("_", " "), REPOSITORY_STATES.get(state, "error")),
                f" (id {repository.id})" if repository.id else "",
                f" - {detail}" if detail and detail != "opens" else "",
            )
        )
        return rows

    def latest_rows(self) -> list[Row]:
        """The latest backup and the repository's locks."""
        latest, count = self.latest, self.snapshots or SnapshotCount()
        rows = []
        if latest is not None and latest.given:
            parts = (["files"] if latest.files else []) + [
                f"database {name}" for name in sorted(latest.databases or {})
            ]
            rows.append(
                row(
                    "latest backup",
                    f"run {latest.run} at {latest.time}, "
                    f"{text.age(latest.age_seconds)} ago ({', '.join(parts)}); "
                    f"{count.count} snapshots in {count.runs} runs",
                )
            )
        elif count.count == 0:
            rows.append(row("latest backup", Mark("no snapshot yet", "warning")))
        for lock in self.locks or []:
            kind = "exclusive" if lock.exclusive else "shared"
            since = f"{kind}, PID {lock.pid} on {lock.hostname} since {lock.time}"
            stale = (" ", Mark("(stale)", "warning")) if lock.stale else ()
            rows.append(row("lock", since, *stale))
        return rows

    def note_rows(self) -> list[Row]:
        return [row("not done yet", str(step)) for step in self.setup_pending or []] + [
            row(Mark("notice", "warning"), str(notice)) for notice in self.notices or []
        ]
