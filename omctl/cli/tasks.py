"""omctl tasks: the task catalog, grouped by category."""

from __future__ import annotations

import typer
from rich.table import Table

from omctl import catalog, console
from omctl.cli import common
from omctl.cli.common import JsonOption


def list_tasks(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the tasks (playbooks) of the workspace, grouped by category."""
    found = catalog.discover(common.settings(ctx).workspace)
    if as_json:
        console.emit_json([task.as_dict() for task in found])
        return
    table = Table(box=None, pad_edge=False)
    table.add_column("category", style="bold")
    table.add_column("task")
    table.add_column("description")
    for category in catalog.Category:
        for task in (t for t in found if t.category is category):
            table.add_row(category.value, task.name, task.description)
    console.out.print(table)
