"""``inventory``: what omctl itself changed in hosts.yml after a run (omctl/runs.py)."""

from __future__ import annotations

from typing import Any, ClassVar

from omctl.evidence.base import Evidence


class Inventory(Evidence):
    KIND: ClassVar[str] = "inventory"

    file: str
    ansible_port: int
    updated: bool
    previous: Any = None
    # Why it was not updated, with file:line.
    reason: str | None = None
