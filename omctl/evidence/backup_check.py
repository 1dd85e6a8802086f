"""``backup_check``: what a backup would find and store, probed in check mode (roles/backup)."""

from __future__ import annotations

from typing import Any, ClassVar

from omctl.evidence.base import Evidence


class BackupCheck(Evidence):
    KIND: ClassVar[str] = "backup_check"

    ok: bool
    check: bool = True
    error: Any = None
    problems: list[Any] | None = None
    notices: list[Any] | None = None
    checked_at: str | None = None
    repository: dict[str, Any] | None = None
    locks: Any = None
    latest: Any = None
    snapshots: Any = None
    would_back_up: Any = None
    setup_pending: Any = None
    sites: list[Any] | None = None
