"""The base of every evidence model: what all kinds share, and how a record is checked.

Every model keeps the keys it does not declare (``extra="allow"``): roles publish more than
omctl reads (a probe's full result, a new detail), and the ledger must hold all of it. What a
model declares is what ``omctl show`` and the report read, with its type: a renamed or
retyped key fails validation, in the role's Molecule verify and when a run is recorded.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError


class Part(BaseModel):
    """A nested part of a record (a check, a setting): typed where read, the rest kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    @property
    def given(self) -> bool:
        """Whether the role filled it (``{}`` stands for a step that did not run)."""
        return bool(self.model_dump(exclude_unset=True))


class Evidence(Part):
    """One host's record of one kind, as its role publishes it with ``set_stats``."""

    KIND: ClassVar[str]
    # Raised when a change makes records of the previous shape invalid; written into the schema.
    SCHEMA_VERSION: ClassVar[int] = 1

    # What the role skipped because the host lacks it; every kind may list it.
    not_applicable: list[str] | None = None

    def dump(self) -> dict[str, Any]:
        """The record as stored: the keys it came with (and no defaults added), JSON types."""
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


def summary(error: ValidationError, limit: int = 3) -> str:
    """A pydantic error in one line: where and what, for the first few problems."""
    parts = []
    for problem in error.errors()[:limit]:
        where = ".".join(str(p) for p in problem["loc"]) or "(record)"
        parts.append(f"{where}: {problem['msg']}")
    more = error.error_count() - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
