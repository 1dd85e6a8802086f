"""omctl operator: the keys operators sign the ledger with."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer
from rich.markup import escape

from omctl import console, ledger, operators
from omctl.cli import common
from omctl.cli.common import JsonOption
from omctl.errors import BadInput

app = common.new_app(
    "Operators: each one's Ed25519 key signs what their omctl writes to the ledger "
    "(private key in ~/.config/omctl/, public key in the workspace's operators/)."
)


@app.command("init")
def init(
    ctx: typer.Context,
    name: Annotated[
        str | None,
        typer.Option(help="Operator name (default: your login name); `scheduler` for the "
                     "controller's `omctl tick`.", show_default=False),
    ] = None,
) -> None:  # fmt: skip
    """Create your operator key: the private key under ~/.config/omctl/ (mode 0600, never
    overwritten), the public key as operators/NAME.pub in the workspace: commit it."""
    current = common.settings(ctx)
    made = operators.init(current.workspace, name or getpass.getuser())
    shown = made.path.relative_to(current.workspace.root)
    console.out.print(f"{made.name} {made.fingerprint} {shown}", highlight=False)
    console.err.print(
        f"private key: {operators.private_key_path(made.name)} (keep it, mode 0600); "
        f"commit {shown}: from now on this workspace's ledger entries are signed"
    )


@app.command("list")
def list_operators(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The workspace's operators: name, key fingerprint, whether the key is revoked."""
    keys = operators.keyring(common.settings(ctx).workspace)
    rows = [
        {"name": op.name, "fingerprint": op.fingerprint, "revoked": op.revoked,
         "key_here": operators.private_key_path(op.name).exists()}
        for op in sorted(keys.values(), key=lambda op: op.name)
    ]  # fmt: skip
    if as_json:
        console.emit_json(rows)
        return
    for row in rows:
        state = "revoked" if row["revoked"] else "active"
        here = " (key on this machine)" if row["key_here"] else ""
        console.out.print(
            f"{escape(row['name'])} {row['fingerprint']} {state}{here}", highlight=False
        )


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The operator whose key is revoked.")],
) -> None:
    """Revoke an operator's key from now on: move operators/NAME.pub to operators/revoked/
    (commit that) and record the revocation, signed by you, in the ledger. Entries the key
    signed before stay valid; any it signs later fail `omctl ledger verify`."""
    current = common.settings(ctx)
    operators.check_name(name)
    found = operators.keyring(current.workspace).get(name)
    if found is None or found.revoked:
        raise BadInput(f"no active operator {name} in {operators.OPERATORS_DIR}/")
    with common.open_ledger(ctx, recover=False) as book:
        if book.signer is not None and book.signer.name == name:
            raise BadInput(f"operator {name} cannot revoke its own key: another operator does")
        book.append(
            ledger.LEDGER_ENTRY, operators.REVOKED, {"name": name, "fingerprint": found.fingerprint}
        )
    target = found.path.parent / operators.REVOKED_DIR / found.path.name
    target.parent.mkdir(exist_ok=True)
    found.path.rename(target)
    console.out.print(
        f"{name} revoked: {target.relative_to(current.workspace.root)}; commit it", highlight=False
    )
