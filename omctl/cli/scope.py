"""omctl scope: validate a client's contract scope and show what it covers."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from rich.table import Table

from omctl import console, scope
from omctl.cli import common
from omctl.cli.common import JsonOption

app = common.new_app("Contract scope of a client: inventories/<client>/scope.yml.")
ClientArg = Annotated[str, typer.Argument(help="Client name (a folder under inventories/).")]


def _entry_dict(entry: scope.TaskScope | None) -> dict[str, Any] | None:
    if entry is None:
        return None
    return {
        "every": entry.every.value,
        "window": str(entry.window) if entry.window else None,
        "hosts": entry.hosts,
    }


def _contract_dict(contract: scope.Scope) -> dict[str, Any]:
    return {
        "client": contract.client,
        "contract": contract.contract,
        "valid_from": contract.valid_from.isoformat(),
        "valid_until": contract.valid_until.isoformat(),
        "timezone": contract.timezone,
    }


@app.command("check")
def check(ctx: typer.Context, client: ClientArg) -> None:
    """Validate scope.yml (errors name scope.yml:LINE, exit 2) and print the contract."""
    loaded = scope.load_checked(common.settings(ctx).workspace, client).loaded
    scope.check_in_force(loaded, date.today())
    contract = loaded.scope
    console.out.print(
        f"{contract.client}: contract {contract.contract}, valid {contract.valid_from} to "
        f"{contract.valid_until} ({contract.timezone})"
    )
    for category in scope.CONTRACTED:
        entries = contract.tasks(category)
        listed = ", ".join(f"{name} ({e.every.value})" for name, e in entries.items())
        console.out.print(f"  {category.value}: {listed or 'nothing'}")
    console.err.print(f"[green]ok[/] {loaded.source.path}")


@app.command("show")
def show(ctx: typer.Context, client: ClientArg, as_json: JsonOption = False) -> None:
    """Show the full catalog side by side with what the contract covers."""
    checked = scope.load_checked(common.settings(ctx).workspace, client)
    contract = checked.loaded.scope
    rows = []
    for task in checked.tasks.values():
        if not task.category.contracted:
            continue
        entry = contract.entry(task)
        rows.append({**task.as_dict(), "in_scope": entry is not None, "scope": _entry_dict(entry)})
    if as_json:
        console.emit_json({"contract": _contract_dict(contract), "tasks": rows})
        return
    console.out.print(
        f"[bold]{contract.client}[/] contract {contract.contract} "
        f"({contract.valid_from} to {contract.valid_until}, {contract.timezone})"
    )
    for category in scope.CONTRACTED:
        table = Table(title=category.value, title_justify="left", box=None, pad_edge=False)
        for column in ("task", "in scope", "every", "window", "hosts", "description"):
            table.add_column(column)
        for row in (r for r in rows if r["category"] == category.value):
            entry = row["scope"] or {}
            table.add_row(
                row["name"],
                "[green]yes[/]" if row["in_scope"] else "[dim]no[/]",
                entry.get("every") or "",
                entry.get("window") or ("any time" if row["in_scope"] else ""),
                ", ".join(entry.get("hosts") or []) or ("all" if row["in_scope"] else ""),
                row["description"],
            )
        console.out.print(table)
