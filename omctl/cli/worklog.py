"""omctl log: record manual work (an inquiry answered, an improvement proposed) in minutes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from omctl import console, work
from omctl.cli import common
from omctl.cli.common import JsonOption
from omctl.cli.request import Category
from omctl.errors import BadInput


def _moment(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(f"--at {text!r} is not an ISO 8601 time (2026-12-01T14:00+01:00)") from None


def log(
    ctx: typer.Context,
    client: Annotated[str, typer.Argument(help="The client (inventories/CLIENT).")],
    text: Annotated[str, typer.Argument(help="What was done, in words the client can read.")],
    category: Annotated[
        Category, typer.Option("--category", help="operation or maintenance (required).")
    ],
    minutes: Annotated[int, typer.Option("--minutes", help="Minutes worked (required).")],
    request_id: Annotated[
        str | None, typer.Option("--request", help="The request (R12) the work was for.")
    ] = None,
    at: Annotated[
        str | None,
        typer.Option("--at", help="When it was done, ISO 8601 with offset (default: now)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Record MINUTES of manual work on CLIENT; the report counts it against included hours."""
    current = common.settings(ctx)
    current.workspace.existing_client_dir(client)
    done_at = _moment(at)  # bad input fails before the ledger is opened
    with common.open_ledger(ctx) as book:
        item = work.log(
            book,
            client,
            category.value,
            minutes,
            text,
            current.operator,
            now=datetime.now(UTC),
            request=request_id,
            done_at=done_at,
        )
    if as_json:
        console.emit_json(item.as_dict())
        return
    linked = f" for {item.request}" if item.request else ""
    console.out.print(
        f"{item.id}: {item.minutes} min of {item.category}{linked} logged for {client}",
        highlight=False,
    )
