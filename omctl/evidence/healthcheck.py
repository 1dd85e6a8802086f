"""``healthcheck``: every check of roles/healthcheck with its result."""

from __future__ import annotations

from typing import ClassVar

from omctl.evidence.base import Evidence, Part


class Check(Part):
    name: str
    ok: bool
    detail: str | None = None


class Healthcheck(Evidence):
    KIND: ClassVar[str] = "healthcheck"

    ok: bool
    checks: list[Check]

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]
