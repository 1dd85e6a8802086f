"""``backup_check``: what a backup would find and store, probed in check mode (roles/backup)."""

from __future__ import annotations

from typing import ClassVar

from omctl.evidence import text
from omctl.evidence.base import Part
from omctl.evidence.probe import Probe
from omctl.evidence.rows import Mark, Row, row


class Changed(Part):
    files: int | None = None
    bytes: int | float | None = None


class WouldFiles(Part):
    paths: list[str] | None = None
    files: int | None = None
    bytes: int | float | None = None
    excluded: int | None = None
    changed_since_latest: Changed | None = None


class DatabaseEstimate(Part):
    bytes: int | float | None = None
    tables: int | None = None


class WouldBackUp(Part):
    files: WouldFiles | None = None
    databases: dict[str, DatabaseEstimate] | None = None


class Site(Part):
    id: str | None = None
    files: list[str] | None = None
    files_backed_up: bool | None = None
    database: str | None = None


class BackupCheck(Probe):
    KIND: ClassVar[str] = "backup_check"

    would_back_up: WouldBackUp | None = None
    sites: list[Site] | None = None

    def show_rows(self) -> list[Row]:
        rows = self.head_rows() + self.latest_rows()
        would = self.would_back_up or WouldBackUp()
        files = would.files
        if files is not None and files.given:
            changed = files.changed_since_latest
            since = (
                f"; changed since the latest backup: {changed.files} files, "
                f"{text.size(changed.bytes)}"
                if changed is not None and changed.given
                else ""
            )
            rows.append(
                row(
                    "would back up",
                    f"{', '.join(files.paths or [])}: {files.files} "
                    f"files, {text.size(files.bytes)} ({files.excluded} excluded)" + since,
                )
            )
        for site in self.sites or []:
            rows.append(
                row(
                    "site",
                    f"{site.id}: {', '.join(site.files or [])}"
                    + (f"; database {site.database}" if site.database else ""),
                    *(
                        ()
                        if site.files_backed_up
                        else (" ", Mark("(not in backup_paths)", "warning"))
                    ),
                )
            )
        if would.databases is not None:
            rows.append(
                row(
                    "databases",
                    ", ".join(
                        f"{name} {text.size(db.bytes)} ({db.tables} tables)"
                        for name, db in sorted(would.databases.items())
                    )
                    or "none",
                )
            )
        return rows + self.note_rows()
