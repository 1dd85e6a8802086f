"""omctl tick: run what every client's contract has due now (what a timer calls)."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from omctl import (
    catalog,
    console,
    delivery,
    ledger,
    ledger_watch,
    locking,
    notify,
    operators,
    schedule,
    scope,
)
from omctl.cli import common
from omctl.cli.common import JsonOption
from omctl.cli.run_output import print_progress, print_start
from omctl.errors import BadInput, ExitCode, OmctlError
from omctl.monitor import cycle
from omctl.settings import Settings

DECISION_STYLE = {schedule.RUN: "bold", schedule.WAIT: "dim"}
STATUS_STYLE = {"successful": "green", "failed": "bold red", "error": "red"}


def parse_now(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BadInput(f"--now {text!r} is not an ISO 8601 date and time") from None
    if moment.tzinfo is None:
        raise BadInput(f"--now {text!r} needs a time zone offset, e.g. 2026-12-06T02:30+01:00")
    return moment


def _catalog(settings: Settings) -> dict[str, catalog.Task] | None:
    """The task catalog, read once per tick; None when it does not load (each client then
    reports the error as its own)."""
    try:
        return catalog.by_name(settings.workspace)
    except OmctlError:
        return None


def _plan(
    settings: Settings,
    book: ledger.Ledger,
    client: str,
    now: datetime,
    tasks: dict[str, catalog.Task] | None = None,
) -> tuple[scope.ClientContract | None, list[schedule.Planned], int]:
    """A client's plan; a client whose files do not load waits with the error (and exit 2)."""
    try:
        contract = scope.load_checked(settings.workspace, client, tasks)
        return contract, schedule.plan_client(contract, book, now), 0
    except OmctlError as exc:
        item = schedule.Planned(client, "*", "", schedule.WAIT, f"not planned: {exc}")
        return None, [item], int(exc.exit_code)


def _has_runs(
    settings: Settings,
    book: ledger.Ledger,
    client: str,
    now: datetime | None,
    tasks: dict[str, catalog.Task] | None,
) -> bool:
    _, plan, _ = _plan(settings, book, client, now or datetime.now(UTC), tasks)
    return any(item.decision == schedule.RUN for item in plan)


def _alert(
    settings: Settings,
    book: ledger.Ledger,
    contract: scope.ClientContract,
    outcomes: list[schedule.Outcome],
    now: datetime,
    sent: delivery.Delivery | None,
) -> None:
    """Send what this tick found (failed runs, overdue tasks, a report not delivered) that was
    not alerted yet; a notification that does not go out is a warning on stderr, never a
    failed tick."""
    urls = [*settings.notify, *contract.loaded.scope.notify]
    if not urls:
        return
    found, over_prefixes = schedule.alerts(contract, book, outcomes, now)
    # One file per client: a tick's clients run in parallel processes.
    log = notify.AlertLog(settings.workspace.state / "alerts", contract.loaded.scope.client)
    log.forget_except(over_prefixes, {alert.key for alert in found})
    if sent is not None:
        found += sent.alerts
        log.forget_except(sent.alert_prefix, {alert.key for alert in sent.alerts})
    remind = timedelta(hours=settings.remind_hours)
    for problem in notify.deliver(urls, found, log, now, remind):
        console.err.print(f"warning: {escape(problem)}", highlight=False)
    log.save()


def _one_client(
    settings: Settings,
    book: ledger.Ledger,
    client: str,
    now: datetime | None,
    dry_run: bool,
    tasks: dict[str, catalog.Task] | None = None,
) -> tuple[list[schedule.Outcome], int]:
    moment = now or datetime.now(UTC)
    contract, plan, code = _plan(settings, book, client, moment, tasks)
    if contract is None:
        return [schedule.Outcome(item) for item in plan], code
    if dry_run:
        sent = delivery.deliver(settings, book, contract, moment, dry_run=True)
        return [schedule.Outcome(item) for item in plan] + ([sent.outcome] if sent else []), code
    outcomes = schedule.carry_out(settings, book, contract, plan, now, print_progress, print_start)
    # Last month's report, after this month's work: a failed send is retried by the next tick
    # and alerted, and leaves the exit code to the runs.
    sent = delivery.deliver(settings, book, contract, now or datetime.now(UTC))
    _alert(settings, book, contract, outcomes, now or datetime.now(UTC), sent)
    code = max((outcome.exit_code for outcome in outcomes), default=0)
    return outcomes + ([sent.outcome] if sent else []), code


def _watch_ledger(ctx: typer.Context, settings: Settings, now: datetime) -> int:
    """The daily full verify of the ledger (alerted when it fails): its exit code."""
    if not ledger_watch.due(settings, now):
        return 0
    try:
        with common.open_ledger(ctx, recover=False, operator=operators.SCHEDULER) as book:
            problem = ledger_watch.verify(book, settings)
    except OmctlError as exc:
        problem = exc.message
    for failed in ledger_watch.alert_if_broken(settings, problem, now):
        console.err.print(f"warning: {escape(failed)}", highlight=False)
    if problem is None:
        return 0
    console.err.print(f"error: the ledger does not verify: {escape(problem)}", highlight=False)
    return int(ExitCode.LEDGER_BROKEN)


def _monitor(
    settings: Settings,
    book: ledger.Ledger,
    clients: list[str],
    now: datetime | None,
    dry_run: bool,
) -> int:
    """Probe the clients' monitored sites (omctl.monitor) once for the whole tick, before the
    clients' runs; a summary line on stderr. A broken monitoring store fails the tick's exit
    code, never the clients' runs."""

    def warn(problem: str) -> None:
        console.err.print(f"warning: {escape(problem)}", highlight=False)

    try:
        found = cycle.tick(settings, book, clients, now or datetime.now(UTC), dry_run, warn)
    except OmctlError as exc:
        console.err.print(f"[red]monitor:[/] {escape(exc.message)}", highlight=False)
        return int(exc.exit_code)
    if found.due or found.waiting:
        console.err.print(escape(found.line(dry_run)), highlight=False)
    return 0


def _child(root_args: list[str], client: str, now: str | None) -> tuple[list[dict], int]:
    """One client's tick in a process of its own (a run installs signal handlers, which only
    a main thread can): its JSON outcomes and exit code."""
    args = [sys.executable, "-m", "omctl", *root_args, "tick", "--client", client, "--json",
            "--part-of-tick"]  # fmt: skip
    if now is not None:
        args += ["--now", now]
    done = subprocess.run(args, stdout=subprocess.PIPE, text=True, check=False)
    try:
        outcomes = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        outcomes = []
    if not outcomes:
        message = f"the tick of client {client} ended with exit code {done.returncode}"
        outcomes = [{**schedule.Planned(client, "*", "", schedule.WAIT, message).as_dict(),
                     "run_id": None, "status": "error", "message": message}]  # fmt: skip
    return outcomes, done.returncode


def _print(rows: list[dict]) -> None:
    table = Table(box=None, pad_edge=False)
    for column in ("client", "task", "decision", "run", "status"):
        table.add_column(column, no_wrap=True)
    table.add_column("reason", overflow="fold")
    for row in rows:
        decision, status = row["decision"], row["status"] or ""
        table.add_row(
            escape(row["client"]),
            escape(row["task"]) + (" [dim](drift check)[/]" if row.get("drift_check") else ""),
            f"[{DECISION_STYLE[decision]}]{decision}[/]",
            row["run_id"] or "",
            f"[{STATUS_STYLE.get(status, '')}]{escape(status)}[/]" if status else "",
            escape(row["message"] if status == "error" else row["reason"]),
        )
    console.out.print(table)


def tick(
    ctx: typer.Context,
    client: Annotated[
        str | None, typer.Option("--client", "-c", help="Only this client (default: every one).")
    ] = None,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            metavar="ISO8601",
            help="Plan (and decide the scope) as at this instant, with its offset.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan; run and record nothing.")
    ] = False,
    parallel: Annotated[
        int | None,
        typer.Option(
            "--parallel",
            min=1,
            help="Clients at the same time (default: tick_parallel_clients, 2).",
            show_default=False,
        ),
    ] = None,
    part_of_tick: Annotated[bool, typer.Option("--part-of-tick", hidden=True)] = False,
    as_json: JsonOption = False,
) -> None:
    """Run each contracted task whose period has no run yet and whose window is open now: one
    run per client at a time, backup before patching, retries as the scope allows."""
    settings = common.settings(ctx)
    moment = parse_now(now)
    ws = settings.workspace
    clients = [ws.existing_client_dir(client).name] if client else ws.clients()
    width = parallel or settings.tick_parallel_clients
    rows: list[dict] = []
    codes: list[int] = []
    if dry_run or part_of_tick or len(clients) <= 1 or width == 1:
        # A dry run changes nothing and may plan beside a running tick; a part of a tick runs
        # under its parent's lock.
        held = nullcontext() if dry_run or part_of_tick else locking.tick_lock(ws)
        with (
            held,
            common.open_ledger(ctx, recover=not dry_run, operator=operators.SCHEDULER) as book,
        ):
            if not part_of_tick:
                codes.append(_monitor(settings, book, clients, moment, dry_run))
            tasks = _catalog(settings)
            for name in clients:
                outcomes, code = _one_client(settings, book, name, moment, dry_run, tasks)
                rows += [outcome.as_dict() for outcome in outcomes]
                codes.append(code)
    else:
        # Only a client with a run due needs a process of its own (a run installs signal
        # handlers, which only a main thread can); the others are planned and alerted here.
        by_client: dict[str, tuple[list[dict], int]] = {}
        with locking.tick_lock(ws):
            with common.open_ledger(
                ctx, operator=operators.SCHEDULER
            ) as book:  # made (with its key) before children race
                codes.append(_monitor(settings, book, clients, moment, dry_run))
                tasks = _catalog(settings)
                busy = [n for n in clients if _has_runs(settings, book, n, moment, tasks)]
                for name in clients:
                    if name not in busy:
                        outcomes, code = _one_client(settings, book, name, moment, False, tasks)
                        by_client[name] = [outcome.as_dict() for outcome in outcomes], code
            root_args = ["--workspace", str(ws.root)]
            if settings.vault_password_file is not None:
                root_args += ["--vault-password-file", str(settings.vault_password_file)]
            with ThreadPoolExecutor(max_workers=width) as pool:
                children = pool.map(lambda name: _child(root_args, name, now), busy)
                by_client.update(zip(busy, children, strict=True))
        for name in clients:
            outcome_rows, code = by_client[name]
            rows += outcome_rows
            codes.append(code)
    if not dry_run and not part_of_tick:
        codes.append(_watch_ledger(ctx, settings, moment or datetime.now(UTC)))
    if as_json:
        console.emit_json(rows)
    else:
        _print(rows)
    failed = [code for code in codes if code]
    if failed:
        # The gravest first: a broken environment, then a locked client, bad files, failures.
        order = [ExitCode.ENVIRONMENT, ExitCode.LEDGER_BROKEN, ExitCode.LOCKED,
                 ExitCode.BAD_INPUT, ExitCode.HOST_FAILED]  # fmt: skip
        raise typer.Exit(next((int(c) for c in order if int(c) in failed), failed[0]))
