"""What every command shares: settings from the context, the ledger, error mapping."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from omctl import console, ledger, ledger_key, operators
from omctl.errors import OmctlError
from omctl.settings import Settings

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")]


class OmctlGroup(TyperGroup):
    """Maps OmctlError and usage errors to one line on stderr and the documented exit code."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
        except typer.Abort:
            console.err.print("[bold red]error:[/] aborted")
            result = 130
        except typer.TyperException as exc:  # typer's usage errors: bad option, argument, command
            ctx = getattr(exc, "ctx", None)
            where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
            message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
            console.err.print(f"[bold red]error:[/] {escape(message + where)}", highlight=False)
            result = getattr(exc, "exit_code", 2)
        code = result if isinstance(result, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code

    def invoke(self, ctx: typer.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OmctlError as exc:
            console.err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(int(exc.exit_code)) from None


def settings(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    if not isinstance(obj, Settings):  # pragma: no cover - the root callback always sets it
        raise RuntimeError("settings missing from the context")
    return obj


@contextmanager
def open_ledger(
    ctx: typer.Context, recover: bool = True, operator: str | None = None
) -> Iterator[ledger.Ledger]:
    """The workspace's ledger, signing what it appends as this machine's operator (or as
    ``operator``) once the workspace has operators; first marks runs whose process died as
    interrupted."""
    current = settings(ctx)
    current.workspace.ensure_state()
    if current.ledger_key_file is not None:
        ledger_key.check_outside(current.ledger_key_file, current.workspace.root)
    book = ledger.open_ledger(
        current.ledger, current.ledger_key_file, current.ledger_url, current.ledger_password_file
    )
    book.signer = operators.signer_for(current, operator)
    try:
        if recover and book.unfinished():
            _recover(current, book)
        yield book
    finally:
        book.close()


def _recover(current: Settings, book: ledger.Ledger) -> None:
    """Mark dead runs interrupted, which appends signed entries: a machine that cannot sign
    (an auditor's, without an operator key) still reads, and leaves them to one that can."""
    cannot_sign = book.signer.unavailable() if book.signer is not None else None
    if cannot_sign is not None:
        console.err.print(
            f"note: unfinished runs are not checked for interruption here: {escape(cannot_sign)}",
            highlight=False,
        )
        return
    from omctl.runs import recover_interrupted  # what a run needs, only when needed

    recover_interrupted(current.workspace, book)


def new_app(help_text: str) -> typer.Typer:
    return typer.Typer(
        help=help_text,
        cls=OmctlGroup,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
