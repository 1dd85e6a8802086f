"""omctl lab: local lab hosts, Debian web servers in podman containers (see omctl.lab)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from omctl import console, lab
from omctl.cli import common
from omctl.cli.common import JsonOption

app = common.new_app("Local lab hosts: Debian web servers in podman containers.")


def _progress(message: str) -> None:
    console.err.print(Text.assemble(("lab: ", "dim"), message), highlight=False)


def _print_hosts(hosts: Sequence[lab.LabHost], as_json: bool) -> None:
    if as_json:
        console.emit_json([host.as_dict() for host in hosts])
        return
    table = Table(box=None, pad_edge=False)
    for column in ("host", "flavour", "ssh", "http", "state", "container", "internal"):
        table.add_column(column)
    for host in hosts:
        web = lab.FLAVOURS.get(host.flavour, lab.FLAVOURS[lab.DEFAULT_FLAVOUR]).web
        table.add_row(
            host.hostname,
            host.flavour,
            f"{lab.LOOPBACK}:{host.ssh_port}" if host.ssh_port else "-",
            f"http://{lab.LOOPBACK}:{host.http_port}/" if host.http_port and web else "-",
            host.state,
            host.name,
            host.address or "-",
        )
    console.out.print(table)


@app.command("image")
def image(ctx: typer.Context) -> None:
    """Build the lab image if its recipe changed (cached otherwise); print its reference."""
    ref = lab.ensure_image(_progress)
    console.out.print(ref, markup=False, highlight=False)


@app.command("up")
def up(
    ctx: typer.Context,
    hosts: Annotated[
        int,
        typer.Option(
            "--hosts",
            min=1,
            max=lab.MAX_HOSTS,
            help="Lab hosts of the flavour to have running (web1..webN, <flavour>1..N); "
            "hosts beyond N and of other flavours are kept.",
        ),
    ] = 1,
    flavour: Annotated[
        str,
        typer.Option(
            "--flavour",
            help=f"Kind of server: {', '.join(lab.FLAVOURS)} (default {lab.DEFAULT_FLAVOUR}).",
        ),
    ] = lab.DEFAULT_FLAVOUR,
    behind_bastion: Annotated[
        bool,
        typer.Option(
            "--behind-bastion",
            help="Put the hosts on an internal network reachable only through a bastion lab "
            "host (no inventory is written: onboard them with --jump).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Start lab hosts (building the image once) and write inventories/lab/."""
    ws = common.settings(ctx).workspace
    if behind_bastion:
        bastion, behind = lab.up_behind_bastion(ws, hosts, _progress)
        jump = lab.bastion_jump(bastion)
        for host in behind:
            _progress(
                f"onboard: omctl onboard CLIENT {host.hostname} --address {host.address} "
                f"--key {lab.key_path(ws)} --jump {jump}"
            )
        _print_hosts([bastion, *behind], as_json)
        return
    started = lab.up(ws, hosts, _progress, flavour_name=flavour)
    _progress(f"inventory: {lab.hosts_file(ws)}")
    _print_hosts(started, as_json)


@app.command("down")
def down(ctx: typer.Context) -> None:
    """Remove this workspace's lab containers and the inventory files `up` wrote."""
    removed = lab.down(common.settings(ctx).workspace, _progress)
    if not removed:
        _progress("no lab hosts to remove")


@app.command("status")
def status(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List this workspace's lab hosts: ports on 127.0.0.1 and container state."""
    hosts = lab.status(common.settings(ctx).workspace)
    if not hosts and not as_json:
        _progress("no lab hosts: start one with `omctl lab up`")
        return
    _print_hosts(hosts, as_json)
