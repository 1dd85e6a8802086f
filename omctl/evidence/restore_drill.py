"""``restore_drill``: a restore of the latest backup into scratch, checked (roles/backup)."""

from __future__ import annotations

from typing import Any, ClassVar, TypedDict

from omctl.evidence.base import Evidence, Part


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
    sites: list[Any] | None = None
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
