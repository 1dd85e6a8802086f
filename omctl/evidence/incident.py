"""``incident``: what roles/diagnose found on a host and what it recovered."""

from __future__ import annotations

from typing import Any, ClassVar, Literal, TypedDict

from omctl.evidence.base import Evidence

Severity = Literal["ok", "warning", "critical"]


class IncidentRow(TypedDict):
    """An incident in the report: its problems (findings not ok) and how many checks passed."""

    summary: str | None
    severity: Severity
    findings: list[Any]
    checks_ok: int
    actions: list[Any]


class Incident(Evidence):
    KIND: ClassVar[str] = "incident"

    severity: Severity
    summary: str | None = None
    check_mode: bool = False
    findings: list[Any] | None = None
    actions: list[Any] | None = None
    recover: Any = None
    timeline: Any = None

    def report_row(self) -> IncidentRow:
        findings = list(self.findings or [])
        problems = [f for f in findings if not (isinstance(f, dict) and f.get("severity") == "ok")]
        return IncidentRow(
            summary=self.summary,
            severity=self.severity,
            findings=problems,
            checks_ok=len(findings) - len(problems),
            actions=list(self.actions or []),
        )
