"""``content_sync``: one release published (or rolled back) by roles/content_sync."""

from __future__ import annotations

from typing import Any, ClassVar, Literal, TypedDict

from omctl.evidence import text
from omctl.evidence.base import Evidence, Part
from omctl.evidence.rows import Mark, Row, row

# What became of the sync, read by `omctl show` and the report alike.
Outcome = Literal["failed", "proposal", "up_to_date", "switched", "not_switched"]


# How `omctl show` names each outcome, in its state.
OUTCOMES: dict[str, Mark | str] = {
    "failed": Mark("failed", "failed"),
    "proposal": Mark("proposal (check mode)", "warning"),
    "up_to_date": Mark("up to date", "ok"),
    "switched": Mark("switched", "ok"),
    "not_switched": "not switched",
}


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


class Transferred(Part):
    """rsync's statistics of the transfer."""

    files_transferred: int | None = None
    total_files: int | None = None
    literal_bytes: int | float | None = None
    bytes_sent: int | float | None = None
    total_size: int | float | None = None
    deleted_files: int | None = None


class Health(Part):
    ok: bool | None = None
    detail: Any = None


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
    transferred: Transferred | None = None
    changes: list[Any] | None = None
    releases: list[Any] | None = None
    removed: list[Any] | None = None
    removed_incomplete: list[Any] | None = None
    db: dict[str, Any] | None = None
    # {ok, detail} of the check after the switch.
    health: Health | None = None
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

    @property
    def outcome_text(self) -> Mark | str:
        return OUTCOMES[self.outcome]

    def show_rows(self) -> list[Row]:
        rows = [
            row("release", str(self.release or "-")),
            row("previous", str(self.previous or "-")),
        ]
        source = self.source
        if source is not None and source.given:
            ref = f" at {source.ref} ({self.short_commit or ''})" if source.ref else ""
            rows.append(row("source", f"{source.type} {source.source}{ref}"))
        moved = self.transferred
        if moved is not None and moved.given:
            sizes = (
                f"{text.size(moved.literal_bytes)} of data, {text.size(moved.bytes_sent)} sent "
                f"(tree {text.size(moved.total_size)})"
            )
            rows.append(row("transferred", f"{moved.files_transferred} of {moved.total_files} "
                            f"files, {sizes}, {moved.deleted_files} deleted"))  # fmt: skip
        for items, label in ((self.changes, "would change"), (self.releases, "releases kept"),
                             (self.removed, "removed"),
                             (self.removed_incomplete, "removed unfinished"),
                             (self.shared, "shared")):  # fmt: skip
            if items:
                rows.append(row(label, ", ".join(str(item) for item in items)))
        if self.db:
            rows.append(row("database", ", ".join(f"{k} {v}" for k, v in self.db.items())))
        health = self.health
        if health is not None and health.given:
            shown = health.model_dump(mode="json", exclude_unset=True)
            rows.append(row("health", Mark("ok", "ok") if health.ok else str(shown)))
        if self.switched_back:
            rows.append(row("switched back", Mark("yes", "warning")))
        if self.error:
            rows.append(row("error", Mark(self.error, "error")))
        return rows
