"""omctl ledger: check the ledger's hash chain, and that it still holds reported history."""

from __future__ import annotations

from typing import Annotated

import typer

from omctl import console, ledger
from omctl.cli import common
from omctl.errors import LedgerBroken

app = common.new_app("The run ledger: .omctl/ledger.sqlite3, append-only and hash-chained.")


@app.command("verify")
def verify(
    ctx: typer.Context,
    checkpoint: Annotated[
        list[str] | None,
        typer.Option(
            "--checkpoint",
            metavar="SEQ:HASH",
            help="A head a report stated (repeatable): the ledger must still hold exactly the "
            "history up to it.",
        ),
    ] = None,
) -> None:
    """Recompute the keyed hash chain; exit 6 naming the first bad row if any was altered or
    removed, if a --checkpoint is no longer held, or if the run index differs from the entries."""
    given = [ledger.parse_checkpoint(text) for text in checkpoint or []]
    with common.open_ledger(ctx, recover=False) as book:
        result = book.verify(given)
        book.record_verified(result)  # where reports start verifying from
    if not result.ok:
        raise LedgerBroken(
            f"ledger does not verify: {result.problem}", path=common.settings(ctx).ledger
        )
    held = (
        f", {result.checkpoints} checkpoint{'s' * (result.checkpoints != 1)} held" if given else ""
    )
    head = f", head {result.head_seq}:{result.head_hash}" if result.head_seq else ""
    console.out.print(
        f"ledger ok: {result.entries} entries, chain intact, run index matches{held}{head}"
    )


@app.command("reindex")
def reindex(ctx: typer.Context) -> None:
    """Rebuild the run index (what history, status and the guards read) from the entries,
    which stay the record; `omctl ledger verify` says when it is needed."""
    with common.open_ledger(ctx, recover=False) as book:
        count = book.reindex()
    console.out.print(f"run index rebuilt: {count} run{'s' * (count != 1)}")
