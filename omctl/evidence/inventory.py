"""``inventory``: what omctl itself changed in hosts.yml after a run (omctl/runs.py)."""

from __future__ import annotations

from typing import Any, ClassVar

from omctl.evidence.base import Evidence
from omctl.evidence.rows import Mark, Piece


class Inventory(Evidence):
    KIND: ClassVar[str] = "inventory"

    file: str
    ansible_port: int
    updated: bool
    previous: Any = None
    # Why it was not updated, with file:line.
    reason: str | None = None

    def show_line(self) -> tuple[Piece, ...]:
        """What became of the inventory: the port set, or why it was not updated."""
        if not self.updated:
            return (Mark("not updated", "changed"), f": {self.reason}")
        was, port = self.previous, self.ansible_port
        change = f"{was} -> {port}" if was is not None else f"set to {port}"
        return (f"ansible_port {change} in {self.file}",)
