"""omctl report: the client-facing report of a month or a range of days."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from omctl.cli import common
from omctl.errors import BadInput


class Format(StrEnum):
    MD = "md"
    HTML = "html"
    JSON = "json"
    PDF = "pdf"
    CSV = "csv"


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
    fmt: Annotated[
        Format,
        typer.Option(
            "--format",
            help="md, html, json, pdf (HTML printed by Chromium) or csv (the month's billable "
            "lines, for an invoicing tool; needs --period).",
        ),
    ] = Format.MD,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write to FILE (atomically), not stdout; a PDF goes to stdout only when it is "
            "not a terminal.",
        ),
    ] = None,
) -> None:
    """Report to the client: contract, work done, coverage, out-of-scope work, ledger check."""
    # Imported here: the report code is large and every other command starts without it.
    from omctl import report as core
    from omctl import report_issue

    current = common.settings(ctx)
    # Bad input fails here, before the ledger is opened.
    about = core.subject(current.workspace, client, period, start, end)
    if fmt is Format.CSV:
        core.check_csv(about)
    if output is not None:
        core.check_writable(output)
    elif fmt is Format.PDF and sys.stdout.isatty():
        raise BadInput("a PDF is not for a terminal: give --output FILE or redirect stdout")
    with common.open_ledger(ctx) as book:
        issued = report_issue.issue(current, book, about, fmt.value, output)
    if output is None:
        sys.stdout.buffer.write(issued.content)
        sys.stdout.flush()
        return
    state = current.workspace.state.resolve()
    core.write_atomic(output, issued.content, private=output.resolve().is_relative_to(state))
