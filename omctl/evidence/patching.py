"""``patching``: one host's patching record (roles/patching), published on failure too."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from omctl.evidence.base import Evidence

Status = Literal["running", "failed", "planned", "patched", "up to date"]


class Patching(Evidence):
    KIND: ClassVar[str] = "patching"

    status: Status
    check: bool = False
    scope: Any = None
    batch: list[str] | None = None
    started_at: str | None = None
    finished_at: str | None = None
    preflight: dict[str, Any] | None = None
    lists_refreshed: bool | None = None
    plan: list[Any] | None = None
    deferred: list[Any] | None = None
    applied: list[Any] | None = None
    services: dict[str, Any] | None = None
    reboot: dict[str, Any] | None = None
    health: dict[str, Any] | None = None
    wordpress: dict[str, Any] | None = None
    # Set by the rescue when the host failed.
    failed_task: str | None = None
    message: str | None = None
