"""omctl ledger: check the ledger's hash chain, and that it still holds reported history."""

from __future__ import annotations

from typing import Annotated

import typer

from omctl import console, ledger, ledger_key, operators
from omctl.cli import common
from omctl.errors import BadInput, LedgerBroken

app = common.new_app(
    "The run ledger: .omctl/ledger.sqlite3 (or a shared PostgreSQL ledger, ledger_url), "
    "append-only and hash-chained."
)


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
    full: Annotated[
        bool,
        typer.Option(
            "--full",
            help="Check every entry's signature again, not only those after the last "
            "verify's sealed signature check.",
        ),
    ] = False,
) -> None:
    """Recompute the keyed hash chain and check the operators' signatures; exit 6 naming the
    first bad row if any was altered or removed, if a --checkpoint is no longer held, if the
    run index differs from the entries, or if an entry's signer is unknown or revoked or its
    signature does not verify."""
    given = [ledger.parse_checkpoint(text) for text in checkpoint or []]
    current = common.settings(ctx)
    with common.open_ledger(ctx, recover=False) as book:
        result, signed, problem = operators.verify_ledger(book, current.workspace, given, full)
    if problem is not None:
        if current.ledger_url is not None:
            from omctl.ledger_pg import redact

            raise LedgerBroken(f"ledger {redact(current.ledger_url)} does not verify: "
                               f"{problem}")  # fmt: skip
        raise LedgerBroken(f"ledger does not verify: {problem}", path=current.ledger)
    held = (
        f", {result.checkpoints} checkpoint{'s' * (result.checkpoints != 1)} held" if given else ""
    )
    head = f", head {result.head_seq}:{result.head_hash}" if result.head_seq else ""
    signatures = ""
    if signed is not None:
        since = (
            f", the older ones sealed by a check up to row {signed.since}" if signed.since else ""
        )
        signatures = (
            f", {signed.signed} signed ({signed.checked} signature{'s' * (signed.checked != 1)} "
            f"checked now{since}), "
            f"{signed.unsigned} unsigned (from before the workspace had operators)"
        )
    console.out.print(
        f"ledger ok: {result.entries} entries, chain intact, run index matches{held}"
        f"{signatures}{head}"
    )


@app.command("reindex")
def reindex(ctx: typer.Context) -> None:
    """Rebuild the run index (what history, status and the guards read) from the entries,
    which stay the record; `omctl ledger verify` says when it is needed."""
    with common.open_ledger(ctx, recover=False) as book:
        count = book.reindex()
    console.out.print(f"run index rebuilt: {count} run{'s' * (count != 1)}")


@app.command("migrate")
def migrate(
    ctx: typer.Context,
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="URL",
            help="The PostgreSQL ledger to copy into (postgresql://user@host:port/db; the "
            "password from ledger_password_file, PGPASSFILE or PGPASSWORD).",
        ),
    ],
) -> None:
    """Copy the workspace's SQLite ledger into a PostgreSQL one: verify the chain (refused if
    broken), copy the entries with their seq, times and hashes, rebuild the copy's run index
    and head, verify the copy. Run it again to copy only what is new; a target that holds a
    different history is refused. Then set ledger_url to the URL."""
    from omctl import ledger_pg

    if not ledger_pg.is_url(to):
        raise BadInput("--to expects a postgresql:// URL")
    current = common.settings(ctx)
    if current.ledger_url is not None:
        raise BadInput("ledger_url is set: the workspace's ledger is PostgreSQL already")
    if current.ledger_key_file is not None:
        ledger_key.check_outside(current.ledger_key_file, current.workspace.root)
    if not current.ledger.exists():
        raise BadInput(f"no SQLite ledger at {current.ledger}: nothing to migrate")
    source = ledger.SqliteLedger(current.ledger, current.ledger_key_file)
    try:
        target = ledger_pg.PostgresLedger(to, current.ledger_key_file, current.ledger_password_file)
        try:
            copied, total = ledger_pg.migrate(source, target)
        finally:
            target.close()
    finally:
        source.close()
    console.out.print(
        f"ledger migrated to {ledger_pg.redact(to)}: {copied} entr{'ies' if copied != 1 else 'y'} "
        f"copied, {total} in the copy, which verifies; set ledger_url to use it",
        highlight=False,
    )
