"""``baseline``: the host's state as found (roles/baseline, with roles/discover's findings)."""

from __future__ import annotations

from typing import Any, ClassVar

from omctl.evidence.base import Evidence, Part


class Disk(Part):
    mount: str | None = None
    size_bytes: int | None = None
    used_percent: int | float | None = None
    inodes_used_percent: int | float | None = None


class Port(Part):
    proto: str | None = None
    port: int | None = None
    process: str | None = None


class Baseline(Evidence):
    KIND: ClassVar[str] = "baseline"

    collected_at: str
    os: dict[str, Any] | None = None
    packages: dict[str, Any] | None = None
    services: dict[str, Any] | None = None
    ports: list[Port] | None = None
    ports_error: Any = None
    disks: list[Disk] | None = None
    webstack: dict[str, Any] | None = None
    discovered: dict[str, Any] | None = None
