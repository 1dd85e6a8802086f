"""omctl history: the recorded runs, from the run index."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from omctl import console
from omctl.cli import common
from omctl.cli.common import JsonOption

# Enough for a month of a busy contract; a two-year ledger's thousands of rows need --last 0.
DEFAULT_LAST = 100


def history(
    ctx: typer.Context,
    client: Annotated[str | None, typer.Argument(help="Only this client's runs.")] = None,
    last: Annotated[
        int,
        typer.Option("--last", min=0, help="Only the N most recent runs; 0 for every run."),
    ] = DEFAULT_LAST,
    as_json: JsonOption = False,
) -> None:
    """List recorded runs, oldest first: refused, in scope and out of scope alike (the most
    recent 100 unless --last says otherwise)."""
    if client is not None:
        common.settings(ctx).workspace.existing_client_dir(client)
    with common.open_ledger(ctx) as book:
        # The run index: no entry is folded for a list, and only the rows shown are read.
        found = book.indexed(client, last=last or None)
        total = book.count_runs(client) if last and len(found) == last else len(found)
        # Who signed each run's first entry (omctl.operators): one query for the rows shown.
        signers = book.signers(run.first_seq for run in found)
    if total > len(found):
        console.err.print(
            f"the {len(found)} most recent of {total} runs (--last 0 for all)", highlight=False
        )
    if as_json:
        console.emit_json(
            [{**run.summary, "signed_by": signers.get(run.first_seq)} for run in found]
        )
        return
    signed = any(signers.values())
    table = Table(box=None, pad_edge=False)
    columns = ("run", "started (UTC)", "client", "category", "task", "scope", "status")
    for column in (*columns, "by") if signed else columns:
        table.add_column(column, no_wrap=True)
    table.add_column("note", overflow="fold")
    for run in found:
        scope_note = "in" if run.in_scope else "[yellow]out[/]"
        summary = run.summary
        note = (
            summary.get("out_of_scope_reason")
            or summary.get("refusal_reason")
            or summary.get("message")
            or ""
        )
        cells = [
            run.id,
            run.started_at[:19].replace("T", " "),
            run.client,
            run.category,
            run.task + (" (check)" if run.check else ""),
            scope_note,
            run.status,
        ]
        if signed:
            cells.append(escape(signers.get(run.first_seq) or "-"))
        table.add_row(*cells, escape(note))
    console.out.print(table)
