"""``healthcheck``: every check of roles/healthcheck with its result."""

from __future__ import annotations

from typing import ClassVar

from omctl.evidence.base import Evidence, Part
from omctl.evidence.rows import Mark, Row, row
from omctl.evidence.wordpress import WordPressSite
from omctl.evidence.wordpress import rows as wordpress_rows


class Check(Part):
    name: str
    ok: bool
    detail: str | None = None


class Healthcheck(Evidence):
    KIND: ClassVar[str] = "healthcheck"

    ok: bool
    checks: list[Check]
    # What each WordPress has installed (roles/wordpress_facts); absent in older records.
    wordpress: list[WordPressSite] | None = None

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]

    def show_rows(self) -> list[Row]:
        return [
            row(check.name, Mark("ok", "ok") if check.ok else Mark("FAILED", "failed"),
                f" {check.detail}")
            for check in self.checks
        ] + wordpress_rows(self.wordpress)  # fmt: skip
