"""omctl run: run one task for one client, within the contract scope."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from omctl import console, ledger
from omctl.cli import common
from omctl.cli.tasks import JsonOption
from omctl.errors import ExitCode

if TYPE_CHECKING:  # imported by run(): `omctl show` prints summaries without them
    from omctl import runner
    from omctl.runs import Prepared

STATE_STYLE = {
    "ok": "green",
    "changed": "yellow",
    "failed": "bold red",
    "unreachable": "bold red",
    "skipped": "cyan",
}

DIFF_STYLE = {"+": "green", "-": "red", "@": "cyan"}


def print_progress(event: runner.Progress) -> None:
    style = STATE_STYLE.get(event.state, "")
    line = f"[{style}]{event.state:<11}[/] {escape(event.host):<16} {escape(event.task)}"
    if event.message:
        line += f" [dim]- {escape(event.message)}[/]"
    console.err.print(line, highlight=False)
    for diff_line in event.diff.splitlines():
        style = DIFF_STYLE.get(diff_line[:1], "dim")
        if diff_line.startswith(("---", "+++")):
            style = "bold"
        console.err.print(f"    [{style}]{escape(diff_line)}[/]", highlight=False)


def print_start(run_id: str, prepared: Prepared) -> None:
    scope_note = "in scope" if prepared.decision.in_scope else "[yellow]OUT OF SCOPE[/]"
    console.err.print(
        f"run [bold]{run_id}[/]: {prepared.task.category.value}/{prepared.task.name} for "
        f"{prepared.request.client} on {', '.join(prepared.targets)} ({scope_note})",
        highlight=False,
    )


def print_summary(run: ledger.Run) -> None:
    table = Table(title=f"run {run.id}: {run.task} {run.status}", title_justify="left")
    for column in ("host", "status", "ok", "changed", "failed", "unreachable", "skipped"):
        table.add_column(column)
    table.add_column("changed tasks")
    for name, host in run.hosts.items():
        table.add_row(
            name,
            f"[{STATE_STYLE.get(host.status, '')}]{host.status}[/]",
            str(host.ok),
            str(host.changed),
            str(host.failed),
            str(host.unreachable),
            str(host.skipped),
            escape(", ".join(host.changed_tasks)),
        )
    console.out.print(table)
    if run.message:
        console.err.print(f"[bold red]{escape(run.message)}[/]", highlight=False)


def exit_code_of(run: ledger.Run) -> ExitCode:
    return ExitCode.OK if run.status == ledger.SUCCESSFUL else ExitCode.HOST_FAILED


def run(
    ctx: typer.Context,
    client: Annotated[str, typer.Argument(help="Client name (a folder under inventories/).")],
    task: Annotated[str, typer.Argument(help="Task name (see omctl tasks).")],
    check: Annotated[bool, typer.Option("--check", help="Dry run: change nothing.")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Show file changes.")] = False,
    limit: Annotated[
        str | None, typer.Option("--limit", "-l", help="Ansible host pattern.")
    ] = None,
    out_of_scope: Annotated[
        str | None,
        typer.Option(
            "--out-of-scope",
            metavar="REASON",
            help="Run work the contract does not cover, recorded as out of scope with REASON.",
        ),
    ] = None,
    no_backup_check: Annotated[
        str | None,
        typer.Option(
            "--no-backup-check",
            metavar="REASON",
            help="Patch although the ledger shows no backup in the last 24 h; REASON is recorded.",
        ),
    ] = None,
    extra_vars: Annotated[
        list[str] | None,
        typer.Option(
            "--extra-var",
            "-e",
            metavar="NAME=VALUE",
            help="Set a role variable for this run (repeatable; recorded, secrets redacted).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run TASK on CLIENT's hosts if the contract covers it (or with --out-of-scope REASON)."""
    from omctl.runs import Request, execute, parse_extra_vars

    request = Request(
        client=client,
        task=task,
        check=check,
        diff=diff,
        limit=limit,
        out_of_scope_reason=out_of_scope,
        no_backup_check_reason=no_backup_check,
        extravars=parse_extra_vars(extra_vars or []),
    )
    with common.open_ledger(ctx, recover=False) as book:
        result = execute(
            common.settings(ctx), book, request, on_progress=print_progress, on_start=print_start
        )
    code = exit_code_of(result)
    if as_json:
        console.emit_json({**result.as_dict(), "exit_code": int(code)})
    else:
        print_summary(result)
    raise typer.Exit(int(code))
