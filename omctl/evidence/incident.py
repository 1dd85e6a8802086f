"""``incident``: what roles/diagnose found on a host and what it recovered."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from omctl.evidence.base import Evidence

Severity = Literal["ok", "warning", "critical"]


class Incident(Evidence):
    KIND: ClassVar[str] = "incident"

    severity: Severity
    summary: str | None = None
    check_mode: bool = False
    findings: list[Any] | None = None
    actions: list[Any] | None = None
    recover: Any = None
    timeline: Any = None
