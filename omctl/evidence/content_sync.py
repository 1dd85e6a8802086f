"""``content_sync``: one release published (or rolled back) by roles/content_sync."""

from __future__ import annotations

from typing import Any, ClassVar, Literal, TypedDict

from omctl.evidence.base import Evidence, Part

# What became of the sync, read by `omctl show` and the report alike.
Outcome = Literal["failed", "proposal", "up_to_date", "switched", "not_switched"]


class ReleaseRow(TypedDict):
    """A row of the report's content releases (with the run's at, run, task, host)."""

    release: str | None
    previous: str | None
    ref: str | None
    commit: str | None
    state: str
    error: str | None


class Source(Part):
    type: str | None = None
    source: str | None = None
    ref: str | None = None
    commit: str | None = None


class ContentSync(Evidence):
    KIND: ClassVar[str] = "content_sync"

    # A run that failed before the record was started publishes only its error.
    action: Literal["sync", "rollback"] | None = None
    check_mode: bool = False
    release: str | None = None
    previous: str | None = None
    source: Source | None = None
    root: str | None = None
    shared: list[str] | None = None
    switched: bool = False
    switched_back: bool | None = None
    up_to_date: bool = False
    transferred: dict[str, Any] | None = None
    changes: list[Any] | None = None
    releases: list[Any] | None = None
    removed: list[Any] | None = None
    removed_incomplete: list[Any] | None = None
    db: dict[str, Any] | None = None
    # {ok, detail} of the check after the switch.
    health: dict[str, Any] | None = None
    error: str | None = None

    @property
    def rollback(self) -> bool:
        return self.action == "rollback"

    @property
    def outcome(self) -> Outcome:
        if self.error:
            return "failed"
        if self.check_mode:
            return "proposal"
        if self.up_to_date:
            return "up_to_date"
        return "switched" if self.switched else "not_switched"

    @property
    def report_state(self) -> str:
        """The state in the report's release table (check runs are not reported)."""
        outcome = self.outcome
        if outcome in ("failed", "up_to_date"):
            return outcome.replace("_", " ")
        if self.rollback:
            return "rolled back"
        return "published" if self.switched else "not switched"

    @property
    def short_commit(self) -> str | None:
        return str((self.source.commit if self.source else None) or "")[:12] or None

    def report_row(self) -> ReleaseRow:
        return ReleaseRow(
            release=self.release,
            previous=self.previous,
            ref=self.source.ref if self.source else None,
            commit=self.short_commit,
            state=self.report_state,
            error=self.error,
        )
