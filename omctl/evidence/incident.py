"""``incident``: what roles/diagnose found on a host and what it recovered."""

from __future__ import annotations

from typing import Any, ClassVar, Literal, TypedDict

from omctl.evidence.base import Evidence, Part
from omctl.evidence.rows import Mark, State

Severity = Literal["ok", "warning", "critical"]
SEVERITY_STATE: dict[str, State] = {"ok": "ok", "warning": "warning", "critical": "failed"}


class IncidentRow(TypedDict):
    """An incident in the report: its problems (findings not ok) and how many checks passed."""

    summary: str | None
    severity: Severity
    findings: list[Any]
    checks_ok: int
    actions: list[Any]


class Finding(Part):
    """One check of the diagnosis (filter_plugins/diagnose.py ``_finding``)."""

    check: str | None = None
    severity: str | None = None
    message: str | None = None
    details: Any = None


class Action(Part):
    """A recovery diagnose applied (``diagnose_recover``)."""

    action: str | None = None
    target: str | None = None
    reason: str | None = None
    result: str | None = None


class TimelineRun(Part):
    """An earlier run on the host, from the ledger."""

    id: str | None = None
    task: str | None = None
    status: str | None = None
    check: Any = None
    started_at: str | None = None
    message: str | None = None


class FindingRow(TypedDict):
    check: str
    severity: Mark
    finding: str


class Incident(Evidence):
    KIND: ClassVar[str] = "incident"

    severity: Severity
    summary: str | None = None
    check_mode: bool = False
    findings: list[Finding] | None = None
    actions: list[Action] | None = None
    recover: Any = None
    timeline: list[TimelineRun] | None = None

    @property
    def state(self) -> State:
        return SEVERITY_STATE[self.severity]

    def report_row(self) -> IncidentRow:
        findings = list(self.findings or [])
        problems = [f for f in findings if f.severity != "ok"]
        return IncidentRow(
            summary=self.summary,
            severity=self.severity,
            findings=[_plain(f) for f in problems],
            checks_ok=len(findings) - len(problems),
            actions=[_plain(a) for a in self.actions or []],
        )

    def finding_rows(self) -> list[FindingRow]:
        return [
            FindingRow(
                check=str(f.check),
                severity=Mark(str(f.severity), SEVERITY_STATE.get(str(f.severity), "error")),
                finding=str(f.message),
            )
            for f in self.findings or []
        ]

    def timeline_lines(self) -> list[str]:
        return [
            f"run {run.id} {run.started_at}: {run.task} {run.status}"
            + (" (check)" if run.check else "")
            + (f" - {run.message}" if run.message else "")
            for run in self.timeline or []
        ]

    def action_rows(self) -> list[tuple[str, str, str, str]]:
        return [(str(a.action), str(a.target), str(a.reason), str(a.result))
                for a in self.actions or []]  # fmt: skip


def _plain(part: Part) -> dict[str, Any]:
    return part.model_dump(mode="json", exclude_unset=True, by_alias=True)
