"""omctl report: the client-facing report of a month or a range of days."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from omctl.cli import common


class Format(StrEnum):
    MD = "md"
    HTML = "html"
    JSON = "json"


def report(
    ctx: typer.Context,
    client: Annotated[str, typer.Argument(help="The client (inventories/CLIENT).")],
    period: Annotated[
        str | None, typer.Option("--period", help="A month, YYYY-MM, in the contract's zone.")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="First day, YYYY-MM-DD (instead of --period).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (included).")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="md, html or json.")] = Format.MD,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to FILE (atomically), not stdout.")
    ] = None,
) -> None:
    """Report to the client: contract, work done, coverage, out-of-scope work, ledger check."""
    # Imported here: the report code is large and every other command starts without it.
    from omctl import report as core
    from omctl import report_render
    from omctl.runs import redactor

    current = common.settings(ctx)
    # Bad input fails here, before the ledger is opened.
    about = core.subject(current.workspace, client, period, start, end)
    if output is not None:
        core.check_writable(output)
    scrub = redactor(current, current.workspace.client_dir(client))
    with common.open_ledger(ctx) as book:
        built = core.collect(book, about)
        # The ledger keeps no secret; this also covers values made secret after they were
        # recorded.
        text = scrub.text(report_render.render(built, fmt.value))
        # Recorded before it is shown: no client holds a report the ledger does not know.
        core.record_checkpoint(book, built, fmt.value, text, output, current.operator)
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    state = current.workspace.state.resolve()
    core.write_atomic(output, text, private=output.resolve().is_relative_to(state))
