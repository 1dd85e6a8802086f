"""``hardening``: what roles/hardening changed, proved and audited on one host."""

from __future__ import annotations

from typing import Any, ClassVar, TypedDict

from omctl.evidence.base import Evidence, Part


class HardeningRow(TypedDict):
    """A real hardening run in the report."""

    index_before: int | float | None
    index_after: int | float | None
    warnings: int | None
    warning_tests: list[str]
    changes: int
    error: str | None


class LynisAudit(Part):
    index: int | float | None = None
    warnings: int | None = None
    warning_tests: list[str] | None = None
    same_as_before: bool | None = None
    fresh: bool | None = None
    audited_at: str | None = None

    @property
    def score(self) -> int | float | None:
        """The hardening index when it is a number (the report's table and chart)."""
        return self.index if isinstance(self.index, int | float) else None


class Ssh(Part):
    port: int | None = None
    previous_port: int | None = None
    fresh_login: str | None = None
    # What ansible_port must become in the inventory after a port change (omctl sets it).
    set_inventory_port: int | None = None


class Hardening(Evidence):
    KIND: ClassVar[str] = "hardening"

    check_mode: bool = False
    container: bool | None = None
    lynis_before: LynisAudit | None = None
    lynis_after: LynisAudit | None = None
    changes: list[Any] | None = None
    reverted: bool | None = None
    skipped: list[Any] | None = None
    notes: list[str] | None = None
    error: str | None = None
    sites: Any = None
    # Before the sites were proved one by one the record held one ``site``.
    site: Any = None
    ssh: Ssh | None = None
    services: dict[str, Any] | None = None
    firewall: dict[str, Any] | None = None

    def report_row(self) -> HardeningRow:
        before, after = self.lynis_before, self.lynis_after
        return HardeningRow(
            index_before=before.score if before else None,
            index_after=after.score if after else None,
            warnings=after.warnings if after else None,
            warning_tests=list(after.warning_tests or []) if after else [],
            changes=len(self.changes or []),
            error=self.error or None,
        )
