"""The tick's daily full ``ledger verify``, and the alert when the ledger does not verify.

A ledger edited behind omctl's back is found by ``omctl ledger verify``; a workspace run by a
timer has nobody typing it, so the tick verifies the whole chain (and the operators'
signatures since the last sealed check) once a day (the time of the last attempt is kept in
``.omctl/alerts/ledger-verified``) and alerts the workspace's ``notify`` URLs while it fails.
A verify that passes also seals the head that reports verify from
(``Ledger.record_verified``), as the command does.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from omctl import files, ledger, notify, operators
from omctl.settings import Settings

VERIFY_EVERY = timedelta(hours=24)
ALERT_KEY = "ledger:verify"
# The alert log of what belongs to no client; no client is named ".ledger" (names are slugs).
LOG_NAME = ".ledger"


def _attempt_file(settings: Settings) -> Path:
    return settings.workspace.state / "alerts" / "ledger-verified"


def due(settings: Settings, now: datetime) -> bool:
    try:
        last = datetime.fromisoformat(_attempt_file(settings).read_text().strip())
    except (OSError, ValueError):
        return True
    return now - last >= VERIFY_EVERY or last > now


def verify(book: ledger.Ledger, settings: Settings) -> str | None:
    """A full verify of the chain, and of the signatures since the last sealed check (as
    ``omctl ledger verify``); the problem, or None when the ledger verifies."""
    return operators.verify_ledger(book, settings.workspace)[2]


def alert_if_broken(settings: Settings, problem: str | None, now: datetime) -> list[str]:
    """Record this attempt and alert (once, then reminded) while ``problem`` stands; the
    problems of sending."""
    path = _attempt_file(settings)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    files.write_atomic(path, now.isoformat() + "\n", 0o600)
    log = notify.AlertLog(path.parent, LOG_NAME)
    found = []
    if problem is not None:
        found.append(notify.Alert(
            key=ALERT_KEY,
            title=f"omctl: the ledger of {settings.workspace.root.name} does not verify",
            body=f"omctl ledger verify failed: {problem}\nThe records cannot be trusted until "
                 f"this is explained; `omctl ledger verify` repeats the check "
                 f"({settings.ledger}).",
        ))  # fmt: skip
    log.forget_except(ALERT_KEY, {alert.key for alert in found})
    problems = notify.deliver(
        settings.notify, found, log, now, timedelta(hours=settings.remind_hours)
    )
    log.save()
    return problems
