"""``restore_drill``: a restore of the latest backup into scratch, checked (roles/backup)."""

from __future__ import annotations

from typing import Any, ClassVar, TypedDict

from omctl.evidence.base import Evidence, Part
from omctl.evidence.rows import Mark, Piece, Row, row


class DrillRow(TypedDict):
    """A drill in the report."""

    ok: bool
    time_to_restore_seconds: int | float | None
    snapshot_age_seconds: int | float | None
    checks: int
    failed_checks: list[str | None]
    error: str | None


class DrillCheck(Part):
    # The site a check is of (the drill drills each discovered site); None for the whole host.
    site: str | None = None
    name: str | None = None
    ok: bool | None = None
    detail: str | None = None


class DrilledSite(Part):
    """One drilled site (filter drill_results): its database, who served the copy, the result."""

    id: str | None = None
    database: str | None = None
    served_by: str | None = None
    # None when no check of the site ran.
    ok: bool | None = None
    checks: int | None = None

    def pieces(self) -> tuple[Piece, ...]:
        mark = {True: Mark("ok", "ok"), False: Mark("FAILED", "failed")}.get(
            self.ok, Mark("not drilled", "warning")
        )
        parts = [
            f"database {self.database}" if self.database else "no database",
            f"served by {self.served_by}" if self.served_by else "not served",
        ]
        return (mark, f" {', '.join(parts)} ({self.checks or 0} checks)")


class RestoreDrill(Evidence):
    KIND: ClassVar[str] = "restore_drill"

    ok: bool
    started_at: str | None = None
    run: Any = None
    snapshot_time: str | None = None
    snapshot_age_seconds: int | float | None = None
    snapshots: dict[str, Any] | None = None
    check_subset: Any = None
    restore_seconds: int | float | None = None
    import_seconds: int | float | None = None
    time_to_restore_seconds: int | float | None = None
    files_restored: int | None = None
    bytes_restored: int | None = None
    siteurl: str | None = None
    sites: list[DrilledSite] | None = None
    checks: list[DrillCheck] | None = None
    error: str | None = None
    scratch_removed: bool | None = None

    @property
    def failed_checks(self) -> list[str | None]:
        """The failed checks by name, a site's named with it."""
        return [
            f"{check.site}: {check.name}" if check.site else check.name
            for check in self.checks or []
            if not check.ok
        ]

    def report_row(self) -> DrillRow:
        return DrillRow(
            ok=self.ok,
            time_to_restore_seconds=self.time_to_restore_seconds,
            snapshot_age_seconds=self.snapshot_age_seconds,
            checks=len(self.checks or []),
            failed_checks=self.failed_checks,
            error=self.error,
        )

    def show_rows(self) -> list[Row]:
        """The checks, each site drilled, and where the drill stopped."""
        rows = []
        for check in self.checks or []:
            mark = Mark("ok", "ok") if check.ok else Mark("FAILED", "failed")
            name = f"{check.site}: {check.name}" if check.site else str(check.name)
            rows.append(row(name, mark, f" {check.detail}"))
        for site in self.sites or []:
            rows.append(row(f"site {site.id}", *site.pieces()))
        if self.error:
            rows.append(row(Mark("stopped", "failed"), self.error))
        return rows
