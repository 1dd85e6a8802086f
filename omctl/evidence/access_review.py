"""``access_review``: the access-log summary and proposals of roles/access_review."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from omctl.evidence.base import Evidence, Part


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
