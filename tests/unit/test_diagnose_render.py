"""`omctl show` prints a diagnose incident: verdict, findings, timeline and actions."""

from __future__ import annotations

from omctl import console
from omctl.cli import evidence

INCIDENT = {
    "severity": "critical",
    "summary": "critical: 1 unit(s) down: nginx.service (failed)",
    "recover": True,
    "check_mode": False,
    "findings": [
        {"check": "units", "severity": "critical", "message": "1 unit(s) down: nginx.service",
         "details": []},
        {"check": "memory", "severity": "ok", "message": "no OOM kill", "details": {}},
    ],
    "timeline": [{"id": "r1", "task": "baseline", "status": "successful",
                  "started_at": "2026-11-01T10:00:00Z", "check": False, "message": None}],
    "actions": [{"action": "restart", "target": "nginx.service", "reason": "was failed",
                 "result": "restarted, now active"}],
}  # fmt: skip


def printed(data: dict) -> str:
    with console.out.capture() as captured:
        evidence.render("incident", "web1", data)
    return captured.get()


def test_incident_has_its_renderer() -> None:
    text = printed(INCIDENT)
    assert "incident on web1: critical" in text
    assert "1 unit(s) down: nginx.service" in text and "no OOM kill" in text
    assert "run r1 2026-11-01T10:00:00Z: baseline successful" in text
    assert "recovery actions" in text and "restarted, now active" in text


def test_read_only_incident_says_nothing_was_attempted() -> None:
    text = printed({**INCIDENT, "actions": [], "recover": False})
    assert "recovery actions" not in text
    assert "read-only: no recovery attempted" in text
