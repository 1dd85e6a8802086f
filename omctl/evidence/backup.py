"""``backup``: one backup run by roles/backup's tool (its JSON result, with the sites)."""

from __future__ import annotations

from typing import Any, ClassVar

from omctl.evidence.base import Evidence, Part


class BackupError(Part):
    code: str | None = None
    message: str | None = None


class Backup(Evidence):
    KIND: ClassVar[str] = "backup"

    ok: bool
    error: BackupError | str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    duration_seconds: int | float | None = None
    snapshots: dict[str, Any] | list[Any] | None = None
    retention: Any = None
    repository_size_bytes: int | None = None
    repository_snapshots: int | None = None
    sites: list[Any] | None = None
