"""omctl notify: the alert channels (apprise URLs) of the workspace and its clients."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from omctl import console, notify, scope
from omctl.cli import common
from omctl.errors import EnvironmentProblem

app = common.new_app("Alerts: the apprise URLs of `notify` (omctl.toml, OMCTL_NOTIFY, scope).")


@app.command("test")
def test(
    ctx: typer.Context,
    client: Annotated[
        str | None, typer.Option("--client", "-c", help="Also the URLs of this client's scope.")
    ] = None,
) -> None:
    """Send a test message to every notification URL; exit 7 if one does not take it."""
    settings = common.settings(ctx)
    urls = list(settings.notify)
    if client is not None:
        urls += scope.load_checked(settings.workspace, client).loaded.scope.notify
    notify.check_urls(urls)
    alert = notify.Alert(
        key="test",
        title="omctl: test message",
        body=f"A test message from omctl on {socket.gethostname()} for the workspace "
        f"{settings.workspace.root}" + (f" and client {client}." if client else "."),
        level=notify.INFO,
    )
    problems = notify.send(urls, alert)
    sent = len(urls) - len(problems)
    console.out.print(f"test message taken by {sent} of {len(urls)} notification URLs",
                      highlight=False)  # fmt: skip
    if problems:
        raise EnvironmentProblem("; ".join(problems))
