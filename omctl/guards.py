"""Preconditions read from the ledger that can refuse a run before it starts.

Backup freshness: when a client's contract includes backups, patching a host that has no
successful backup in the last 24 hours is refused, unless the operator gives a reason
(``--no-backup-check REASON``, recorded with the run). Check-mode runs change nothing and are
never refused by it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from omctl import ledger
from omctl.catalog import Category
from omctl.ledger import Ledger
from omctl.scope import Scope

BACKUP_TASK = "backup"
NEEDS_FRESH_BACKUP = frozenset({"patching"})
BACKUP_MAX_AGE = timedelta(hours=24)


def last_backups(book: Ledger, client: str) -> dict[str, datetime]:
    """When each host of the client last finished a real (not check-mode) backup without
    failing on that host."""
    latest: dict[str, datetime] = {}
    for run in book.indexed(client, BACKUP_TASK):
        if run.check or run.ended_at is None:
            continue
        if run.status not in (ledger.SUCCESSFUL, ledger.FAILED):
            continue
        ended = ledger.parse_stamp(run.ended_at)
        for host, status in run.hosts.items():
            if status in ("failed", "unreachable"):
                continue
            if host not in latest or ended > latest[host]:
                latest[host] = ended
    return latest


def backup_freshness(
    book: Ledger, contract: Scope, client: str, task: str, targets: list[str], now: datetime
) -> str | None:
    """A refusal reason, or None when the run may go ahead."""
    if task not in NEEDS_FRESH_BACKUP:
        return None
    if BACKUP_TASK not in contract.tasks(Category.MAINTENANCE):
        return None
    latest = last_backups(book, client)
    stale = [host for host in targets if host not in latest or now - latest[host] > BACKUP_MAX_AGE]
    if not stale:
        return None
    hours = int(BACKUP_MAX_AGE.total_seconds() // 3600)
    return (
        f"contract {contract.contract} includes backups, and the ledger has no successful "
        f"backup in the last {hours} h of {', '.join(stale)}"
    )
