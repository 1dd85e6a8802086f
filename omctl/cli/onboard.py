"""omctl onboard: take a new client server into care."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from omctl import console, ssh
from omctl import onboard as onboarding
from omctl.cli import common
from omctl.cli.common import JsonOption
from omctl.cli.run_output import exit_code_of, print_progress, print_start, print_summary
from omctl.runs import Request, execute

# How the login becomes root, as the confirmation line says it.
SUDO_NOTES = {
    None: "",
    "nopasswd": ", root through sudo without a password: ansible_become",
    "password": ", root through sudo with a password: ansible_become",
}


def onboard(
    ctx: typer.Context,
    client: Annotated[str, typer.Argument(help="Client name; created when new.")],
    host: Annotated[str, typer.Argument(help="Inventory name of the server, e.g. web1.")],
    address: Annotated[str, typer.Option("--address", help="Address to reach it over SSH.")],
    port: Annotated[int, typer.Option("--port", help="SSH port.")] = 22,
    user: Annotated[str, typer.Option("--user", help="SSH user.")] = "root",
    key: Annotated[Path | None, typer.Option("--key", help="SSH private key.")] = None,
    become_password_file: Annotated[
        Path | None,
        typer.Option(
            "--become-password-file",
            help="File (mode 0600) whose first line is the sudo password of --user; stored "
            "encrypted with the vault password.",
        ),
    ] = None,
    jump: Annotated[
        str | None,
        typer.Option(
            "--jump",
            help="USER@BASTION[:PORT]: reach the host through this bastion (its host key is "
            "pinned too, logged into with --key).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check SSH, Python and root (as root, or through sudo for another --user), add the host to
    the client's inventory, record its baseline."""
    current = common.settings(ctx)
    target = onboarding.Target(
        client=client,
        host=host,
        address=address,
        port=port,
        user=user,
        key=key.expanduser().resolve() if key else None,
        become_password_file=become_password_file.expanduser() if become_password_file else None,
        jump=ssh.parse_jump(jump) if jump is not None else None,
    )
    is_new, login = onboarding.prepare_host(
        current.workspace, target, date.today(), current.vault_password_file
    )
    client_dir = current.workspace.client_dir(client)
    console.err.print(
        f"{'created client ' + client if is_new else 'added to ' + client}: {host} "
        f"({user}@{address}:{port}{f' through {target.jump}' if target.jump else ''}"
        f"{SUDO_NOTES[login.sudo]}) in {client_dir / 'hosts.yml'}"
    )
    if login.sudo == "password":
        stored = onboarding.become_vars_file(current.workspace, target)
        console.err.print(f"sudo password stored vault-encrypted in {stored}")
    elif become_password_file is not None:
        console.err.print(f"{become_password_file} not used: {user} needs no sudo password")
    request = Request(client=client, task=onboarding.BASELINE_TASK, limit=host)
    with common.open_ledger(ctx) as book:
        result = execute(current, book, request, on_progress=print_progress, on_start=print_start)
    code = exit_code_of(result)
    if as_json:
        console.emit_json({**result.as_dict(), "sudo": login.sudo, "exit_code": int(code)})
    else:
        print_summary(result)
        console.err.print(f"baseline recorded as run {result.id}: omctl show {result.id}")
        if is_new:
            console.err.print(
                f"edit {client_dir / 'scope.yml'} to record the contract, then "
                f"omctl scope check {client}"
            )
    raise typer.Exit(int(code))
