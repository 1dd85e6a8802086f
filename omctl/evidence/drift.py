"""``drift``: what a drift check (a scheduled check-mode run of an idempotent task) found.

omctl writes it itself (omctl/runs.py), one record per host, from what Ansible reported in
check mode: each task that would have changed something is drift from the state the last
real run left. A host that failed or was unreachable was not verified.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from omctl.evidence.base import Evidence
from omctl.evidence.rows import Mark, Piece

NO_DRIFT, DRIFT, UNVERIFIED = "no drift", "drift", "not verified"


class Drift(Evidence):
    KIND: ClassVar[str] = "drift"

    task: str
    state: Literal["no drift", "drift", "not verified"]
    changes: int
    changed_tasks: list[str]
    # Why a host was not verified (it failed or was unreachable).
    reason: str | None = None

    def verdict(self, host: str) -> str:
        """The one line the evidence says: "verified: no drift", "drift: 2 changes on web1"."""
        if self.state == NO_DRIFT:
            return "verified: no drift"
        if self.state == DRIFT:
            noun = "change" if self.changes == 1 else "changes"
            return f"drift: {self.changes} {noun} on {host}"
        return f"not verified on {host}: {self.reason or 'the check did not complete'}"

    def show_line(self, host: str) -> tuple[Piece, ...]:
        state = {NO_DRIFT: "ok", DRIFT: "changed", UNVERIFIED: "failed"}[self.state]
        tasks = f": {'; '.join(self.changed_tasks)}" if self.changed_tasks else ""
        return (Mark(self.verdict(host), state), tasks)  # type: ignore[arg-type]


def from_host(task: str, ok: bool, changed_tasks: list[str], reason: str | None) -> Drift:
    """The drift record of one host of a drift check."""
    if not ok:
        return Drift(task=task, state=UNVERIFIED, changes=len(changed_tasks),
                     changed_tasks=changed_tasks, reason=reason)  # fmt: skip
    state = DRIFT if changed_tasks else NO_DRIFT
    return Drift(task=task, state=state, changes=len(changed_tasks), changed_tasks=changed_tasks)
