"""omctl node: a client's execution node, checked and prepared."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from omctl import console, inventory, nodes
from omctl.cli import common
from omctl.cli.common import JsonOption
from omctl.errors import BadInput, HostsFailed

app = common.new_app("Execution nodes: hosts inside a client's network that run its jobs.")

GroupOption = Annotated[
    str | None,
    typer.Option("--group", help="The node of this group of the client (default: the client's)."),
]


def _node(
    ctx: typer.Context, client: str, group: str | None
) -> tuple[nodes.ExecutionNode, inventory.Inventory]:
    ws = common.settings(ctx).workspace
    inv = inventory.load(ws.client_dir(client) / inventory.HOSTS_FILE)
    if group and group not in inv.groups:
        raise BadInput(f"client {client} has no group {group!r}", path=inv.path)
    hosts = inv.groups[group] if group else inv.hosts
    by_host = nodes.nodes_by_host(inv)
    found = {by_host[host] for host in hosts if host in by_host}
    if len(found) != 1:
        where = f"group {group}" if group else f"client {client}"
        raise BadInput(
            f"{where} names {'several' if found else 'no'} {nodes.NODE_VAR}"
            + (" (pass --group)" if found else ""),
            path=inv.path,
        )
    return found.pop(), inv


def _report(result: nodes.NodeCheck, as_json: bool) -> None:
    if as_json:
        console.emit_json(result.as_dict())
    else:
        for name, wanted in result.wanted.items():
            found = result.versions.get(name) or "missing"
            console.out.print(f"{name}: {found} (controller {wanted})", highlight=False)
        for host, state in result.reach.items():
            console.out.print(f"reaches {host}: {state}", highlight=False)
    if not result.compatible:
        console.err.print(f"{result.node}: no compatible Ansible: run omctl node prepare")
    if not result.ok:
        raise typer.Exit(int(HostsFailed.exit_code))


@app.command("check")
def check(
    ctx: typer.Context,
    client: Annotated[str, typer.Argument(help="The client whose execution node to check.")],
    group: GroupOption = None,
    as_json: JsonOption = False,
) -> None:
    """Prove the node has the controller's ansible-core and ansible-runner (same minor) and
    reaches the SSH port of each host it works on; exit 1 if not."""
    node, inv = _node(ctx, client, group)
    _report(nodes.check(node, inv, inv.path.parent / "known_hosts"), as_json)


@app.command("prepare")
def prepare(
    ctx: typer.Context,
    client: Annotated[str, typer.Argument(help="The client whose execution node to prepare.")],
    group: GroupOption = None,
    wheels: Annotated[
        Path | None,
        typer.Option(
            "--wheels",
            envvar="OMCTL_NODE_WHEELS",
            help="Folder of the wheels to install (default: .omctl/wheels of the workspace; "
            "`make node-wheels` fills it).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Install the controller's ansible-core and ansible-runner into the node's venv from the
    controller's wheels (the node needs no network), then check it."""
    node, inv = _node(ctx, client, group)
    folder = wheels or common.settings(ctx).workspace.state / "wheels"
    console.err.print(f"installing into {node.venv} on {node} from {folder}")
    _report(nodes.prepare(node, inv, inv.path.parent / "known_hosts", folder), as_json)
