"""The ``omctl`` entry point: global options, sub-commands, exit codes."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.main
from typer.models import TyperInfo

from omctl import __version__, settings
from omctl.cli import common

# name: (module, attribute), in the order of `omctl --help`; a function is a command, a Typer
# app a group of them. Imported when the command is looked up, so that `omctl history` does
# not import what `omctl run` or `omctl lab` need (start-up time is most of a read command's).
COMMANDS = {
    "tasks": ("omctl.cli.tasks", "list_tasks"),
    "run": ("omctl.cli.run", "run"),
    "tick": ("omctl.cli.tick", "tick"),
    "schedule": ("omctl.cli.schedule", "app"),
    "notify": ("omctl.cli.notify", "app"),
    "request": ("omctl.cli.request", "app"),
    "log": ("omctl.cli.worklog", "log"),
    "history": ("omctl.cli.history", "history"),
    "show": ("omctl.cli.show", "show"),
    "onboard": ("omctl.cli.onboard", "onboard"),
    "init": ("omctl.cli.init", "init"),
    "status": ("omctl.cli.status", "status"),
    "report": ("omctl.cli.report", "report"),
    "scope": ("omctl.cli.scope", "app"),
    "ledger": ("omctl.cli.ledger", "app"),
    "operator": ("omctl.cli.operator", "app"),
    "lab": ("omctl.cli.lab", "app"),
    "node": ("omctl.cli.node", "app"),
}

EXIT_CODES = """\
Exit codes: 0 success; 1 a host failed or was unreachable; 2 bad input (file, name or
option); 3 refused by the client's contract scope; 4 client locked by another run (or
another tick running); 5 a contracted task is overdue (omctl status); 6 the ledger does
not verify or its key is missing; 7 a required tool (podman, ssh, ansible) is missing or
failed; 8 operators.yml does not grant the operator this client or task.
"""


class LazyCommands(MutableMapping[str, Any]):
    """``COMMANDS`` as click commands, each built (as Typer would) on first access."""

    def __init__(self) -> None:
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            module, attribute = COMMANDS[name]
            target = getattr(importlib.import_module(module), attribute)
            if isinstance(target, typer.Typer):
                self._built[name] = typer.main.get_group_from_info(
                    TyperInfo(target, name=name),
                    pretty_exceptions_short=True,
                    suggest_commands=True,
                    rich_markup_mode=None,
                )
            else:
                single = typer.Typer(rich_markup_mode=None, add_completion=False)
                single.command(name)(target)
                self._built[name] = typer.main.get_command(single)
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS


class LazyGroup(common.OmctlGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = LazyCommands()

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self.commands)


app = typer.Typer(
    name="omctl",
    help=(
        "Run operation and maintenance work on client servers, within each client's contract "
        "scope, and record every run in a tamper-evident ledger."
    ),
    epilog=EXIT_CODES,
    cls=LazyGroup,
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
    operator: Annotated[
        str | None,
        typer.Option(
            help="Who you are: recorded with each run, and the operator key that signs "
            "(or $OMCTL_OPERATOR).",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    ctx.obj = settings.load(
        workspace, cli={"vault_password_file": vault_password_file, "operator": operator}
    )


def main() -> None:
    app()
