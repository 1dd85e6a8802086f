"""``backup``: one backup run by roles/backup's tool (its JSON result, with the sites)."""

from __future__ import annotations

from typing import Any, ClassVar

from omctl.evidence import text
from omctl.evidence.base import Evidence, Part
from omctl.evidence.rows import Mark, Piece, Row, row

Number = int | float


class BackupError(Part):
    code: str | None = None
    message: str | None = None


class FilesSnapshot(Part):
    id: str | None = None
    files_total: int | None = None
    files_new: int | None = None
    files_changed: int | None = None
    bytes_total: Number | None = None
    bytes_added: Number | None = None
    duration_seconds: Number | None = None


class DatabaseSnapshot(Part):
    id: str | None = None
    bytes_total: Number | None = None
    bytes_added: Number | None = None
    duration_seconds: Number | None = None


class Frontpage(Part):
    id: str | None = None
    skipped: Any = None


class Snapshots(Part):
    files: FilesSnapshot | None = None
    databases: dict[str, DatabaseSnapshot] | None = None
    frontpage: Frontpage | None = None


class Retention(Part):
    policy: dict[str, Any] | None = None
    snapshots_removed: int | None = None
    pruned: bool | None = None


class Site(Part):
    """A discovered WordPress site: its files and database, and whether they are backed up."""

    id: str | None = None
    layout: str | None = None
    files: list[str] | None = None
    files_backed_up: bool | None = None
    database: str | None = None


class Backup(Evidence):
    KIND: ClassVar[str] = "backup"

    ok: bool
    run: str | None = None
    repository: str | None = None
    error: BackupError | str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration_seconds: int | float | None = None
    snapshots: Snapshots | list[Any] | None = None
    retention: Retention | None = None
    repository_size_bytes: int | None = None
    repository_snapshots: int | None = None
    sites: list[Site] | None = None

    @property
    def stored(self) -> Snapshots:
        """The snapshots taken (none when the tool gave none or a list)."""
        return self.snapshots if isinstance(self.snapshots, Snapshots) else Snapshots()

    def show_rows(self) -> list[Row]:
        rows = []
        error = self.error
        if isinstance(error, str):
            rows.append(row("error", Mark(error, "failed")))
        elif error is not None and error.given:
            rows.append(row("error", Mark(str(error.message), "failed"), f" ({error.code})"))
        stored = self.stored
        files = stored.files
        if files is not None and files.given:
            rows.append(
                row(
                    "files",
                    f"snapshot {files.id}: {files.files_total} files "
                    f"({files.files_new} new, {files.files_changed} changed), "
                    f"{text.size(files.bytes_total)}, {text.size(files.bytes_added)} added, "
                    f"{text.seconds(files.duration_seconds)}",
                )
            )
        databases = stored.databases or {}
        for name, db in sorted(databases.items()):
            detail: Piece = (
                f"snapshot {db.id}: {text.size(db.bytes_total)} dump, "
                f"{text.size(db.bytes_added)} added, {text.seconds(db.duration_seconds)}"
                if db.id
                else Mark("not backed up", "failed")
            )
            rows.append(row(f"database {name}", detail))
        for site in self.sites or []:
            rows.append(row("site", f"{site.id}: ", *self._site(site)))
        page = stored.frontpage
        if page is not None and page.given:
            rows.append(row("front page", f"snapshot {page.id}" if page.id
                            else f"not kept: {page.skipped}"))  # fmt: skip
        retention = self.retention
        if retention is not None and retention.given:
            policy = ", ".join(f"{k.replace('keep_', '')} {v}"
                               for k, v in (retention.policy or {}).items())  # fmt: skip
            pruned = ", pruned" if retention.pruned else ""
            forgotten = f"{retention.snapshots_removed} snapshots forgotten{pruned}"
            rows.append(row("retention", f"keep {policy}: {forgotten}"))
        count = (
            "?"
            if "repository_snapshots" not in self.model_fields_set
            else self.repository_snapshots
        )
        rows.append(row("repository", f"{self.repository}: "
                        f"{text.size(self.repository_size_bytes)}, {count} snapshots"))  # fmt: skip
        rows.append(row("duration", text.seconds(self.duration_seconds)))
        return rows

    def _site(self, site: Site) -> tuple[Piece, ...]:
        """One site: its files and database, and whether the run stored them."""
        stored = self.stored
        files = ", ".join(site.files or []) or "no files"
        held: Piece = (
            "backed up" if site.files_backed_up else Mark("not in backup_paths", "warning")
        )
        if stored.files is None or not stored.files.given:
            held = Mark("not backed up", "failed")
        name = site.database
        db = (stored.databases or {}).get(name) if name else None
        database: Piece
        if not name:
            database = "no local database"
        elif db is not None and db.id:
            database = f"database {name} backed up"
        else:
            database = Mark(f"database {name} not backed up", "failed")
        return (f"{site.layout}: {files} ", held, "; ", database)
