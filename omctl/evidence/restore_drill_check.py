"""``restore_drill_check``: what a restore drill would restore, probed in check mode."""

from __future__ import annotations

from typing import Any, ClassVar

from omctl.evidence.base import Evidence


class RestoreDrillCheck(Evidence):
    KIND: ClassVar[str] = "restore_drill_check"

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
    drill: dict[str, Any] | None = None
    sites: list[Any] | None = None
