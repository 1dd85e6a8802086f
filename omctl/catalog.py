"""The task catalog: one playbook per task under playbooks/<category>/.

The folder is the task's category and the single source of truth for it. A playbook's first
line is ``# description: <one line>``; an optional second line ``# needs: host_history`` asks
omctl for the ledger's history of each target host (see ``runs.host_history``). Both are read
here without parsing the YAML so that listing the catalog stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from omctl.errors import BadInput, UnknownTask
from omctl.workspace import Workspace

DESCRIPTION_PREFIX = "# description:"
NEEDS_PREFIX = "# needs:"
KNOWN_NEEDS = frozenset({"host_history"})
HEADER_LINE_MAX = 4096  # characters read of each header line


class Category(StrEnum):
    OPERATION = "operation"
    MAINTENANCE = "maintenance"
    ONBOARDING = "onboarding"

    @property
    def contracted(self) -> bool:
        """Operation and maintenance are what a client buys; onboarding is the handover."""
        return self is not Category.ONBOARDING


@dataclass(frozen=True)
class Task:
    name: str
    category: Category
    description: str
    playbook: Path
    needs: frozenset[str] = frozenset()

    def as_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "category": self.category.value,
            "description": self.description,
            "playbook": str(self.playbook),
        }


def read_header(playbook: Path) -> tuple[str, frozenset[str]]:
    """The description and the needs declared in a playbook's first two lines."""
    try:
        with playbook.open(encoding="utf-8") as handle:
            first = handle.readline(HEADER_LINE_MAX).strip()
            second = handle.readline(HEADER_LINE_MAX).strip()
    except (OSError, UnicodeDecodeError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise BadInput(f"cannot read the playbook: {detail}", path=playbook, line=1) from None
    description = _description(playbook, first)
    if not second.lower().startswith(NEEDS_PREFIX):
        return description, frozenset()
    needs = frozenset(
        part.strip() for part in second[len(NEEDS_PREFIX) :].split(",") if part.strip()
    )
    unknown = needs - KNOWN_NEEDS
    if unknown:
        raise BadInput(
            f"unknown need {sorted(unknown)[0]!r} (known: {', '.join(sorted(KNOWN_NEEDS))})",
            path=playbook,
            line=2,
        )
    return description, needs


def _description(playbook: Path, first: str) -> str:
    if not first.lower().startswith(DESCRIPTION_PREFIX):
        raise BadInput(
            f"first line must be '{DESCRIPTION_PREFIX} <one line>'", path=playbook, line=1
        )
    description = first[len(DESCRIPTION_PREFIX) :].strip()
    if not description:
        raise BadInput("the description is empty", path=playbook, line=1)
    return description


def discover(ws: Workspace) -> list[Task]:
    """Every task of the workspace, sorted by category then name."""
    tasks: list[Task] = []
    seen: dict[str, Path] = {}
    for category in Category:
        folder = ws.playbooks / category.value
        if not folder.is_dir():
            continue
        for playbook in sorted(folder.glob("*.yml")):
            name = playbook.stem
            if name in seen:
                raise BadInput(
                    f"task {name!r} exists in two categories (also {seen[name]})", path=playbook
                )
            seen[name] = playbook
            description, needs = read_header(playbook)
            tasks.append(Task(name, category, description, playbook, needs))
    return tasks


def by_name(ws: Workspace) -> dict[str, Task]:
    return {task.name: task for task in discover(ws)}


def get(ws: Workspace, name: str) -> Task:
    return find(by_name(ws), name, ws)


def find(tasks: dict[str, Task], name: str, ws: Workspace) -> Task:
    """The task called ``name`` of a catalog already read; UnknownTask names the known ones."""
    try:
        return tasks[name]
    except KeyError:
        known = ", ".join(sorted(tasks)) or "none"
        raise UnknownTask(f"unknown task {name!r} (known: {known})", path=ws.playbooks) from None
