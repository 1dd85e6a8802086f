"""omctl schedule: the systemd timer that runs ``omctl tick`` for this workspace."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape

from omctl import console, ledger, schedule, scope, systemd
from omctl.cli import common
from omctl.cli.common import JsonOption
from omctl.errors import OmctlError

app = common.new_app("The timer that runs `omctl tick` for this workspace (systemd).")

UserOption = Annotated[
    bool,
    typer.Option("--user", help="The caller's systemd user instance instead of the system's."),
]
LAST_RUNS = 10


def _units(ctx: typer.Context, user: bool, every: int = 5) -> systemd.Units:
    return systemd.render(common.settings(ctx).workspace, every, user, dict(os.environ))


@app.command("install")
def install(
    ctx: typer.Context,
    user: UserOption = False,
    every: Annotated[
        int, typer.Option("--every", metavar="MINUTES", help="Minutes between ticks (1-60).")
    ] = 5,
    print_only: Annotated[
        bool, typer.Option("--print", help="Print both units; write and start nothing.")
    ] = False,
) -> None:
    """Install and start a systemd service and timer running `omctl tick` every 5 minutes
    (both checked with systemd-analyze verify first)."""
    units = _units(ctx, user, every)
    if print_only:
        service_path, timer_path = units.paths
        console.out.print(f"# {service_path}\n{units.service}\n# {timer_path}\n{units.timer}",
                          highlight=False, markup=False, end="")  # fmt: skip
        return
    systemd.install(units)
    console.err.print(f"installed and started {units.name}.timer in {units.directory}",
                      highlight=False)  # fmt: skip


@app.command("remove")
def remove(ctx: typer.Context, user: UserOption = False) -> None:
    """Stop the timer and remove both units."""
    units = _units(ctx, user)
    systemd.remove(units)
    console.err.print(f"removed {units.name} from {units.directory}", highlight=False)


def _clients(ctx: typer.Context, book: ledger.Ledger, now: datetime) -> list[dict[str, Any]]:
    """Per client: what a tick would run now, and the task due soonest after."""
    ws = common.settings(ctx).workspace
    found = []
    for name in ws.clients():
        try:
            found.append(schedule.summary(scope.load_checked(ws, name), book, now))
        except OmctlError as exc:
            found.append({"client": name, "due_now": [], "next_due": None, "error": str(exc)})
    return found


@app.command("status")
def status(ctx: typer.Context, user: UserOption = False, as_json: JsonOption = False) -> None:
    """The timer as systemd sees it, the latest scheduled runs, and per client what is due."""
    units = _units(ctx, user)
    timer = systemd.timer_state(units)
    now = datetime.now(UTC)
    with common.open_ledger(ctx) as book:
        latest = book.indexed(last=LAST_RUNS, trigger=ledger.TRIGGER_SCHEDULE)
        clients = _clients(ctx, book, now)
    runs = [{"id": r.id, "client": r.client, "task": r.task, "status": r.status,
             "started_at": r.started_at} for r in latest]  # fmt: skip
    if as_json:
        console.emit_json({"unit": units.name, "directory": str(units.directory),
                           "timer": timer, "scheduled_runs": runs, "clients": clients})  # fmt: skip
        return
    out = console.out
    out.print(f"timer {units.name}.timer ({units.directory}): installed {timer['installed']}, "
              f"active {timer['active'] or '-'}, last {timer['last_trigger'] or '-'}, "
              f"next {timer['next'] or '-'}", highlight=False, markup=False)  # fmt: skip
    out.print(f"latest scheduled runs ({len(runs)}):", highlight=False)
    for run in runs:
        when = run["started_at"][:19].replace("T", " ")
        what = f"{escape(run['client'])}/{run['task']}"
        out.print(f"  {when}  {run['id']}  {what}  {run['status']}", highlight=False)
    for client in clients:
        line = f"not planned: {client['error']}"
        if not client["error"]:
            soon = client["next_due"]
            line = f"due now: {', '.join(client['due_now']) or 'nothing'}"
            line += f"; next due {soon['task']} by {soon['by']}" if soon else ""
        out.print(f"{escape(client['client'])}: {escape(line)}", highlight=False)
