"""``access_review``: the access-log summary and proposals of roles/access_review."""

from __future__ import annotations

from typing import Any, ClassVar, TypedDict

from pydantic import Field

from omctl.evidence.base import Evidence, Part


class ReviewRow(TypedDict):
    """One review in the report."""

    first_day: Any
    last_day: Any
    requests: int | None
    unique_visitors: int | None
    errors_4xx: int
    errors_5xx: int
    not_found: list[Any]
    login_posts: Any
    proposals: int


class ProposalRow(TypedDict):
    title: str | None
    why: str | None
    action: str | None


class Findings(Part):
    files: list[Any] | None = None
    period: dict[str, Any] | None = None
    requests: int | None = None
    unique_visitors: int | None = None
    status_classes: dict[str, int] | None = None
    top_404: list[dict[str, Any]] | None = None
    wp_login: dict[str, Any] | None = None


class Proposal(Part):
    title: str | None = None
    why: str | None = None
    action: str | None = None


class AccessReview(Evidence):
    KIND: ClassVar[str] = "access_review"

    findings: Findings
    proposals: list[Proposal] = Field(default_factory=list)

    def report_row(self) -> ReviewRow:
        found = self.findings
        days = found.period or {}
        classes = found.status_classes or {}
        return ReviewRow(
            first_day=days.get("first_day"),
            last_day=days.get("last_day"),
            requests=found.requests,
            unique_visitors=found.unique_visitors,
            errors_4xx=classes.get("4xx", 0),
            errors_5xx=classes.get("5xx", 0),
            not_found=[e.get("url") for e in found.top_404 or []][:5],
            login_posts=(found.wp_login or {}).get("posts"),
            proposals=len(self.proposals),
        )

    def proposal_rows(self) -> list[ProposalRow]:
        return [ProposalRow(title=p.title, why=p.why, action=p.action) for p in self.proposals]
