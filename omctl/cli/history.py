"""omctl history / show: read the ledger back."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from omctl import console, ledger
from omctl import evidence as evidence_models
from omctl.cli import common, evidence
from omctl.cli.common import JsonOption
from omctl.cli.run_output import print_summary
from omctl.errors import BadInput

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
    if total > len(found):
        console.err.print(
            f"the {len(found)} most recent of {total} runs (--last 0 for all)", highlight=False
        )
    if as_json:
        console.emit_json([run.summary for run in found])
        return
    table = Table(box=None, pad_edge=False)
    for column in ("run", "started (UTC)", "client", "category", "task", "scope", "status"):
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
        table.add_row(
            run.id,
            run.started_at[:19].replace("T", " "),
            run.client,
            run.category,
            run.task + (" (check)" if run.check else ""),
            scope_note,
            run.status,
            escape(note),
        )
    console.out.print(table)


def _resolve(book: ledger.Ledger, run_id: str) -> ledger.Run:
    found = ledger.get_run(book, run_id)
    if found is not None:
        return found
    matches = book.run_ids(run_id)
    if len(matches) == 1 and (unique := ledger.get_run(book, matches[0])) is not None:
        return unique
    if matches:
        raise BadInput(f"run id {run_id!r} is ambiguous ({len(matches)} runs start with it)")
    raise BadInput(f"no run {run_id!r} in the ledger")


def show(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(help="Run id (a unique prefix is enough).")],
    as_json: JsonOption = False,
) -> None:
    """Show one run: its record, per-host results and the evidence its roles published."""
    with common.open_ledger(ctx) as book:
        found = _resolve(book, run_id)
    if as_json:
        shown = found.as_dict()
        # Present only when a record does not match its model (omctl/evidence/).
        if invalid := evidence_models.invalid_records(found.hosts):
            shown["invalid_evidence"] = invalid
        console.emit_json(shown)
        return
    details = found.as_dict()
    for key in (
        "client", "contract", "task", "category", "status", "in_scope", "out_of_scope_reason",
        "refusal_reason", "no_backup_check_reason", "check", "diff", "limit", "targets",
        "extra_vars", "operator", "omctl_version", "workspace_commit", "started_at", "ended_at",
        "message",
    ):  # fmt: skip
        value = details.get(key)
        if value not in (None, [], ""):
            console.out.print(f"{key + ':':<20} {escape(str(value))}", highlight=False)
    if found.hosts:
        print_summary(found)
    for host, result in found.hosts.items():
        for kind, data in result.evidence.items():
            evidence.render(kind, host, data)
