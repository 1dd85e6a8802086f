"""omctl ledger: check the ledger's hash chain."""

from __future__ import annotations

import typer

from omctl import console
from omctl.cli import common
from omctl.errors import LedgerBroken

app = common.new_app("The run ledger: .omctl/ledger.sqlite3, append-only and hash-chained.")


@app.command("verify")
def verify(ctx: typer.Context) -> None:
    """Recompute the hash chain; exit 6 naming the first bad row if any was altered or removed."""
    with common.open_ledger(ctx, recover=False) as book:
        result = book.verify()
    if not result.ok:
        raise LedgerBroken(
            f"ledger does not verify: {result.problem}", path=common.settings(ctx).ledger
        )
    console.out.print(f"ledger ok: {result.entries} entries, chain intact")
