"""How a run shows on the terminal: progress on stderr, the summary table, the exit code."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from omctl import console, ledger
from omctl.errors import ExitCode

if TYPE_CHECKING:  # `omctl show` and `history` print summaries without the run machinery
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
