"""``wordpress_update``: what roles/wordpress_update did to one host's WordPress plugins and
themes, item by item.

Each item names its from/to versions and package, the gates after the update with their
figures (HTTP status and marker per page, PHP fatals in the logs since the update started, the
share of changed pixels against the screenshot before), and its outcome: ``updated``,
``rolled_back`` (a gate failed; the restore point was put back and the proof - same file and
database digests, pages passing again - holds) or ``rollback_failed`` (the proof does not hold:
the run fails). Held items and those still waiting out ``delay_days`` are listed with why.
Screenshots are files in the run's own folder, named by path here.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from omctl.evidence.base import Evidence, Part
from omctl.evidence.rows import Mark, Row, State, row

Outcome = Literal["updated", "rolled_back", "rollback_failed"]
WAITING_FOR_CLIENT = "waiting for the client's decision"


class Page(Part):
    path: str
    url: str | None = None
    status: int | None = None
    marker_found: bool | None = None
    screenshot: str | None = None
    changed_percent: float | None = None
    threshold: float | None = None
    ok: bool
    problems: list[str] = Field(default_factory=list)


class Gate(Part):
    name: Literal["pages", "php_fatal", "visual", "core_checksums"]
    ok: bool
    detail: str = ""


class Rollback(Part):
    files_identical: bool
    database_identical: bool
    pages_ok: bool
    php_fatals: list[str] = Field(default_factory=list)
    pages: list[Page] = Field(default_factory=list)
    proven: bool


class Planned(Part):
    """One decision of the plan: an update to make, or one held or waiting (``reason``)."""

    site: str | None = None
    type: str
    slug: str
    from_: str = Field(alias="from")
    to: str | None = None
    package: str | None = None
    held: bool = False
    reason: str | None = None


class Item(Part):
    site: str
    type: str
    slug: str
    from_: str = Field(alias="from")
    to: str
    package: str | None = None
    outcome: Outcome
    reason: str | None = None
    gates: list[Gate] = Field(default_factory=list)
    before: list[Page] = Field(default_factory=list)
    after: list[Page] = Field(default_factory=list)
    restore_point: str | None = None
    rollback: Rollback | None = None

    @property
    def state(self) -> State:
        return {"updated": "ok", "rolled_back": "warning"}.get(self.outcome, "failed")

    def figures(self, gate: Gate) -> str:
        """What the gate measured, page by page."""
        if gate.name == "php_fatal":
            return gate.detail or "no new PHP fatal"
        if gate.name == "visual":
            compared = [p for p in self.after if p.changed_percent is not None]
            text = ", ".join(f"{p.path} {p.changed_percent:.2f}% changed "
                             f"(threshold {p.threshold or 0:g}%)" for p in compared)  # fmt: skip
            return text or "not compared"
        return ", ".join(f"{p.path} HTTP {p.status}" + ("" if p.marker_found is None else
                         f", marker {'found' if p.marker_found else 'MISSING'}")
                         for p in self.after)  # fmt: skip

    def screenshots(self) -> list[tuple[str, str, str | None]]:
        """(page path, before, after) screenshot files."""
        after = {p.path: p.screenshot for p in self.after}
        return [(p.path, p.screenshot, after.get(p.path)) for p in self.before if p.screenshot]


class WordPressUpdate(Evidence):
    KIND: ClassVar[str] = "wordpress_update"

    packages: str | None = None
    check_mode: bool = False
    planned: list[Planned] = Field(default_factory=list)
    items: list[Item] = Field(default_factory=list)
    held: list[Planned] = Field(default_factory=list)
    stopped: bool = False
    notes: list[str] = Field(default_factory=list)

    def summary_line(self) -> str:
        counts = {o: sum(1 for i in self.items if i.outcome == o) for o in
                  ("updated", "rolled_back", "rollback_failed")}  # fmt: skip
        parts = [f"{n} {o.replace('_', ' ')}" for o, n in counts.items() if n]
        if self.held:
            parts.append(f"{len(self.held)} held or waiting")
        if self.check_mode and self.planned:
            parts.append(f"{len(self.planned)} planned (check mode)")
        return ", ".join(parts) or "nothing to update"

    @property
    def state(self) -> State:
        states = [i.state for i in self.items]
        if "failed" in states:
            return "failed"
        return "warning" if "warning" in states or self.stopped else "ok"

    def show_rows(self) -> list[Row]:
        rows = [row("wordpress updates", Mark(self.summary_line(), self.state))]
        for item in self.items:
            text = f"{item.from_} -> {item.to}: {item.outcome.replace('_', ' ')}"
            if item.reason:
                text += f" ({item.reason})"
            rows.append(row(f"  {item.type} {item.slug}", Mark(text, item.state)))
            for gate in item.gates:
                state: State = "ok" if gate.ok else "failed"
                rows.append(row(f"    {gate.name}", Mark(state, state), f" {item.figures(gate)}"))
            if item.rollback is not None:
                back = item.rollback
                proof = (f"files {'identical' if back.files_identical else 'DIFFER'}, "
                         f"database {'identical' if back.database_identical else 'DIFFERS'}, "
                         f"pages {'pass' if back.pages_ok else 'FAIL'}")  # fmt: skip
                rows.append(
                    row("    rollback", Mark(proof, "ok" if item.rollback.proven else "failed"))
                )
        for held in self.held:
            rows.append(row(f"  {held.type} {held.slug}", Mark(
                f"{held.from_}" + (f" -> {held.to}" if held.to else "") + f": {held.reason}",
                "warning")))  # fmt: skip
        if self.stopped:
            rows.append(
                row(
                    "stopped",
                    Mark("after a rollback (wordpress_update_on_failure: stop)", "warning"),
                )
            )
        for note in self.notes:
            rows.append(row("note", Mark(note, "warning")))
        return rows
