"""The ``omctl`` entry point: global options, sub-commands, exit codes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from omctl import __version__, settings
from omctl.cli import common, history, init, lab, onboard, run, scope, tasks
from omctl.cli import ledger as ledger_cli
from omctl.cli import report as report_cli
from omctl.cli import status as status_cli

EXIT_CODES = """\
Exit codes: 0 success; 1 a host failed or was unreachable; 2 bad input (file, name or
option); 3 refused by the client's contract scope; 4 client locked by another run;
5 a contracted task is overdue (omctl status); 6 the ledger does not verify or
its key is missing; 7 a required tool (podman, ssh, ansible) is missing or failed.
"""

app = typer.Typer(
    name="omctl",
    help=(
        "Run operation and maintenance work on client servers, within each client's contract "
        "scope, and record every run in a tamper-evident ledger."
    ),
    epilog=EXIT_CODES,
    cls=common.OmctlGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"omctl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Workspace folder (default: $OMCTL_WORKSPACE or the current folder).",
            show_default=False,
        ),
    ] = None,
    vault_password_file: Annotated[
        Path | None,
        typer.Option(help="Ansible Vault password file (or $OMCTL_VAULT_PASSWORD_FILE)."),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    ctx.obj = settings.load(workspace, cli={"vault_password_file": vault_password_file})


app.command("tasks")(tasks.list_tasks)
app.command("run")(run.run)
app.command("history")(history.history)
app.command("show")(history.show)
app.command("onboard")(onboard.onboard)
app.command("init")(init.init)
app.command("status")(status_cli.status)
app.command("report")(report_cli.report)
app.add_typer(scope.app, name="scope")
app.add_typer(ledger_cli.app, name="ledger")
app.add_typer(lab.app, name="lab")


def main() -> None:
    app()
