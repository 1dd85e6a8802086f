"""omctl request: the client's inquiries and requests, from added to closed (omctl.work)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from omctl import console, work
from omctl.cli import common
from omctl.cli.common import JsonOption
from omctl.errors import OmctlError

app = common.new_app(
    "Client requests: add, classify (operation, maintenance or out-of-scope), approve "
    "out-of-scope work, close, list."
)


class Category(StrEnum):
    OPERATION = "operation"
    MAINTENANCE = "maintenance"


class Classification(StrEnum):
    OPERATION = "operation"
    MAINTENANCE = "maintenance"
    OUT_OF_SCOPE = "out-of-scope"


RequestId = Annotated[str, typer.Argument(help="The request's id (R12), as add printed it.")]


def _print_state(state: work.RequestState, done: str, as_json: bool) -> None:
    if as_json:
        console.emit_json(state.as_dict())
        return
    console.out.print(f"{state.id} {done} ({state.client}: {state.state})", highlight=False)


def _zone(ctx: typer.Context, client: str) -> ZoneInfo:
    """The contract's time zone, which dates are shown in (UTC when the scope does not load:
    a list must still work for a client whose scope is being fixed)."""
    from omctl import scope

    try:
        terms = scope.load(common.settings(ctx).workspace.existing_client_dir(client) / "scope.yml")
    except OmctlError:
        return ZoneInfo("UTC")
    return ZoneInfo(terms.scope.timezone)


@app.command("add")
def add(
    ctx: typer.Context,
    client: Annotated[str, typer.Argument(help="The client (inventories/CLIENT).")],
    text: Annotated[str, typer.Argument(help="What the client asks, in their words.")],
    requested_by: Annotated[
        str | None, typer.Option("--from", help="Who asked (a name or an address).")
    ] = None,
    category: Annotated[
        Category | None,
        typer.Option("--category", help="operation or maintenance, when it is clear already."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Record a request or inquiry of CLIENT; prints its id."""
    current = common.settings(ctx)
    current.workspace.existing_client_dir(client)
    with common.open_ledger(ctx) as book:
        state = work.add(
            book,
            client,
            text,
            current.operator,
            requested_by=requested_by,
            category=category.value if category else None,
        )
    _print_state(state, "added", as_json)


@app.command("classify")
def classify(
    ctx: typer.Context,
    request_id: RequestId,
    classification: Annotated[
        Classification, typer.Argument(help="operation, maintenance or out-of-scope.")
    ],
    reason: Annotated[
        str, typer.Option("--reason", help="Why, in words the client can read (required).")
    ],
    as_json: JsonOption = False,
) -> None:
    """Say which service a request belongs to; out-of-scope work then needs approval."""
    current = common.settings(ctx)
    with common.open_ledger(ctx) as book:
        state = work.classify(book, request_id, classification.value, reason, current.operator)
    _print_state(state, f"classified {classification.value}", as_json)


@app.command("approve")
def approve(
    ctx: typer.Context,
    request_id: RequestId,
    by: Annotated[
        str, typer.Option("--by", help="Who at the client approved the work (required).")
    ],
    quote: Annotated[
        str | None, typer.Option("--quote", metavar="HOURS", help="The hours quoted, e.g. 2.5.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Record the client's approval of out-of-scope work (before it is billed)."""
    current = common.settings(ctx)
    hours = work.parse_hours(quote)  # bad input fails before the ledger is opened
    with common.open_ledger(ctx) as book:
        state = work.approve(book, request_id, by, current.operator, hours)
    _print_state(state, f"approved by {by}", as_json)


@app.command("close")
def close(
    ctx: typer.Context,
    request_id: RequestId,
    note: Annotated[
        str | None, typer.Option("--note", help="How it ended (answered, done, withdrawn).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Close a request: answered, done or withdrawn."""
    current = common.settings(ctx)
    with common.open_ledger(ctx) as book:
        state = work.close(book, request_id, current.operator, note)
    _print_state(state, "closed", as_json)


@app.command("list")
def list_requests(
    ctx: typer.Context,
    client: Annotated[str, typer.Argument(help="The client (inventories/CLIENT).")],
    only_open: Annotated[bool, typer.Option("--open", help="Only requests not closed.")] = False,
    as_json: JsonOption = False,
) -> None:
    """The client's requests, oldest first, with their state, age and logged minutes."""
    current = common.settings(ctx)
    current.workspace.existing_client_dir(client)
    with common.open_ledger(ctx) as book:
        found = work.requests(book, client)
        minutes = work.minutes_by_request(work.work_logged(book, client))
    if only_open:
        found = [state for state in found if state.open]
    now = datetime.now(UTC)
    if as_json:
        console.emit_json(
            [
                {
                    **state.as_dict(),
                    "age_days": state.age(now).days,
                    "minutes_logged": minutes.get(state.id, 0),
                }
                for state in found
            ]
        )
        return
    zone = _zone(ctx, client)
    table = Table(box=None, pad_edge=False)
    for column in ("id", "added", "age", "from", "class", "state", "approved", "logged"):
        table.add_column(column, no_wrap=True)
    table.add_column("request", overflow="fold")
    for state in found:
        approved = (
            f"{state.approved_by}" + (f", quote {state.quote_hours} h" if state.quote_hours else "")
            if state.approved
            else ""
        )
        table.add_row(
            state.id,
            f"{state.added_at.astimezone(zone):%Y-%m-%d}",
            f"{state.age(now).days} d",
            escape(state.requested_by or ""),
            state.classification.value if state.classification else state.category or "",
            state.state,
            escape(approved),
            f"{minutes.get(state.id, 0)} min",
            escape(state.text),
        )
    console.out.print(table)
