"""Grants: what each operator may run, from the workspace's ``operators.yml``.

Each operator is granted clients (a list or ``"*"``) and task categories and/or tasks; without
the file every operator may run everything. A run outside its operator's grant is refused before
anything starts (omctl.runs records the refusal). Kept apart from omctl.operators so that the
commands that only sign or read do not load the models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, RootModel, ValidationError, model_validator

from omctl import yamlfile
from omctl.errors import NotGranted

if TYPE_CHECKING:
    from omctl.workspace import Workspace

GRANTS_FILE = "operators.yml"

Everything = Literal["*"]


class Grant(BaseModel):
    """What one operator may run: for these clients, these categories and/or these tasks."""

    model_config = ConfigDict(extra="forbid")
    clients: Everything | list[str]
    categories: Everything | list[Literal["onboarding", "maintenance", "operation"]] = []
    tasks: list[str] = []

    @model_validator(mode="after")
    def _grants_something(self) -> Grant:
        if not self.categories and not self.tasks:
            raise ValueError("grants nothing: give categories or tasks")
        return self

    def allows(self, client: str, category: str, task: str) -> bool:
        client_ok = self.clients == "*" or client in self.clients
        work_ok = self.categories == "*" or category in self.categories or task in self.tasks
        return client_ok and work_ok


class Grants(RootModel[dict[str, Grant]]):
    pass


def load_grants(ws: Workspace) -> dict[str, Grant] | None:
    """``operators.yml``, or None when the workspace has none (no grant check)."""
    path = ws.root / GRANTS_FILE
    if not path.exists():
        return None
    located = yamlfile.load(path)
    if not isinstance(located.data, dict):
        raise located.error("operators.yml must map operator names to their grants")
    try:
        return Grants.model_validate(located.data).root
    except ValidationError as exc:
        # Of a union's errors ("*" or a list), the one that went deepest says most.
        first = max(reversed(exc.errors()), key=lambda error: len(error["loc"]))
        loc = tuple(
            part for part in first["loc"] if not str(part).startswith(("list[", "literal["))
        )
        field = ".".join(str(part) for part in loc) or "file"
        if first["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}"
        else:
            message = f"{field}: {str(first['msg']).removeprefix('Value error, ')}"
        raise located.error(message, loc) from None


def check_grant(ws: Workspace, operator: str, client: str, category: str, task: str) -> None:
    """NotGranted unless operators.yml lets ``operator`` run ``task`` for ``client``."""
    grants = load_grants(ws)
    if grants is None:
        return
    grant = grants.get(operator)
    if grant is None or not grant.allows(client, category, task):
        why = "has no grant" if grant is None else "is not granted this"
        raise NotGranted(
            f"operator {operator} may not run {category}/{task} for client {client}: it {why} "
            f"in {GRANTS_FILE}"
        )
