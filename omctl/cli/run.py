"""omctl run: run one task for one client, within the contract scope."""

from __future__ import annotations

from typing import Annotated

import typer

from omctl import console, work
from omctl.cli import common
from omctl.cli.common import JsonOption
from omctl.cli.run_output import exit_code_of, print_progress, print_start, print_summary
from omctl.runs import Request, execute, parse_extra_vars


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
    request_id: Annotated[
        str | None,
        typer.Option(
            "--request",
            metavar="ID",
            help="The client's request (R12) this run is for; an approved out-of-scope request "
            "stands for --out-of-scope.",
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
    request = Request(
        client=client,
        task=task,
        check=check,
        diff=diff,
        limit=limit,
        out_of_scope_reason=out_of_scope,
        no_backup_check_reason=no_backup_check,
        request_id=work.parse_request_id(request_id) if request_id else None,
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
