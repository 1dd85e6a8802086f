"""omctl status: is the contracted work of a client done, due or overdue?"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from omctl import console, coverage, delivered, ledger, schedule, scope, work
from omctl.cli import common
from omctl.cli.common import JsonOption
from omctl.errors import ExitCode, OmctlError
from omctl.monitor import views


def _when(stamp: str | None, tz: ZoneInfo) -> str:
    if stamp is None:
        return "never"
    return f"{ledger.parse_stamp(stamp).astimezone(tz):%Y-%m-%d %H:%M}"


def _last_success(task: coverage.TaskCoverage, tz: ZoneInfo) -> str:
    never = task.never_done_on()
    return f"never on {escape(', '.join(never))}" if never else _when(task.last_success_at, tz)


def _due_day(next_due: str) -> str:
    """``next_due`` is an exclusive end (midnight): the last day the task may be done on."""
    return str((datetime.fromisoformat(next_due) - timedelta(days=1)).date())


def _due(task: coverage.TaskCoverage) -> str:
    if task.next_due is None:
        return "on request" if task.cadence == "on_request" else ""
    return f"by {_due_day(task.next_due)}"


def _status_cell(task: coverage.TaskCoverage) -> str:
    if task.overdue:
        period = task.overdue_period
        missed = f" (missed {task.missed_text(period)})" if period else ""
        return f"[bold red]OVERDUE[/]{escape(missed)}"
    if task.pending is not None:
        return "due"
    return "[green]done[/]" if task.done else ""


def _print(found: coverage.Coverage) -> None:
    tz = ZoneInfo(found.timezone)
    console.out.print(
        f"[bold]{escape(found.client)}[/] contract {escape(found.contract)}, "
        f"{found.start:%Y-%m} ({found.timezone}), as of {found.now:%Y-%m-%d %H:%M}"
    )
    table = Table(box=None, pad_edge=False)
    for column in ("task", "category", "every", "window", "last success", "next due", "status"):
        table.add_column(column, no_wrap=True)
    table.add_column("this month", justify="right")
    for task in found.tasks:
        table.add_row(
            task.task,
            task.category,
            task.cadence,
            escape(task.window or "any time"),
            _last_success(task, tz),
            _due(task),
            _status_cell(task),
            "" if task.cadence == "on_request" else f"{task.done}/{task.expected}",
        )
    console.out.print(table)
    _runs_section("Out-of-scope work this month", found.out_of_scope, tz)
    _runs_section("Refused this month", found.refused, tz)
    _runs_section("Unresolved failures", found.unresolved, tz)


def _runs_section(title: str, runs: list[ledger.Run], tz: ZoneInfo) -> None:
    console.out.print()
    if not runs:
        console.out.print(f"[bold]{title}:[/] none")
        return
    table = Table(title=f"{title}:", title_justify="left", box=None, pad_edge=False)
    for column in ("run", "started", "task", "status"):
        table.add_column(column, no_wrap=True)
    table.add_column("note", overflow="fold")
    for run in runs:
        note = run.out_of_scope_reason or run.refusal_reason or run.message or ""
        table.add_row(
            run.id,
            _when(run.started_at, tz),
            run.task + (" (check)" if run.check else ""),
            run.status,
            escape(note),
        )
    console.out.print(table)


def _monitor_section(rows: list[dict], tz: ZoneInfo) -> None:
    """The monitored sites this month: availability, the open incident, TLS days left."""
    if not rows:
        return
    console.out.print()
    table = Table(title="Monitored sites this month:", title_justify="left", box=None,
                  pad_edge=False)  # fmt: skip
    for column in ("site", "availability", "tls days", "last probe"):
        table.add_column(column, no_wrap=True)
    table.add_column("open incident", overflow="fold")
    for row in rows:
        last, incident = row["last_probe"], row["open_incident"]
        table.add_row(
            escape(row["url"]),
            views.availability_text(row["availability"]),
            "" if row["tls_days"] is None else str(row["tls_days"]),
            (_when(last["at"], tz) + ("" if last["error"] is None else " [red]failed[/]"))
            if last else "never",
            f"[bold red]down since {_when(incident['opened_at'], tz)}:[/] "
            f"{escape(incident['error'])}" if incident else "none",
        )  # fmt: skip
    console.out.print(table)


def _requests_section(open_requests: list[work.RequestState], now: datetime, tz: ZoneInfo) -> None:
    """The client's open requests, oldest first, with their age; out-of-scope work that the
    client has not approved yet stands out (it is not billed until then)."""
    console.out.print()
    if not open_requests:
        console.out.print("[bold]Open requests:[/] none")
        return
    table = Table(title="Open requests:", title_justify="left", box=None, pad_edge=False)
    for column in ("id", "added", "age", "state"):
        table.add_column(column, no_wrap=True)
    table.add_column("request", overflow="fold")
    for state in open_requests:
        shown = "[bold yellow]awaiting approval[/]" if state.awaiting_approval else state.state
        table.add_row(
            state.id,
            f"{state.added_at.astimezone(tz):%Y-%m-%d}",
            f"{state.age(now).days} d",
            shown,
            escape(state.text),
        )
    console.out.print(table)


def _hours(
    terms: scope.Scope, book: ledger.Ledger, found: coverage.Coverage
) -> dict[str, Any] | None:
    """This month's hours against the included ones, as the report bills them (rounded per
    item), and the out-of-scope work the client has not approved; None without fees."""
    if terms.fees is None:
        return None
    from omctl import billing

    items = work.billable_items(book, terms.client, found.start, found.end, found.out_of_scope)
    bill = billing.bill(
        terms.fees,
        valid_from=terms.valid_from,
        valid_until=terms.valid_until,
        start=found.start,
        end=found.end,
        items=items,
    )
    return {
        "currency": bill.currency,
        "categories": [
            {
                "category": used.category,
                "included_hours": str(used.included_hours),
                "used_hours": str(used.used_hours),
                "overage_hours": str(used.overage_hours),
                "overage_amount": str(used.overage_amount),
            }
            for used in bill.categories
        ],
        "awaiting_approval": [
            {
                "ref": item.ref,
                "request": item.request_id,
                "minutes": item.minutes,
                "description": item.description,
            }
            for item in bill.awaiting_approval
        ],
    }


def _hours_section(hours: dict[str, Any] | None) -> None:
    if hours is None:
        return
    console.out.print()
    parts = []
    for used in hours["categories"]:
        over = (
            f", [bold yellow]{used['overage_hours']} h over: {used['overage_amount']} "
            f"{hours['currency']}[/]"
            if Decimal(used["overage_hours"])
            else ""
        )
        parts.append(f"{used['category']} {used['used_hours']} of {used['included_hours']} h{over}")
    console.out.print(f"[bold]Hours this month:[/] {'; '.join(parts) or 'none contracted'}")
    waiting = hours["awaiting_approval"]
    if waiting:
        minutes = sum(item["minutes"] for item in waiting)
        console.out.print(
            f"[bold yellow]Out-of-scope work awaiting the client's approval:[/] "
            f"{len(waiting)} item(s), {minutes} min (not billed until approved)"
        )


def _vulnerabilities(book: ledger.Ledger, client: str) -> list[dict[str, Any]]:
    """What the client's latest vulnerability scan found per host (none: never scanned)."""
    latest = next(book.scan(client, "vulnerability_scan", statuses=(ledger.SUCCESSFUL,
                  ledger.FAILED), newest_first=True), None)  # fmt: skip
    if latest is None:
        return []
    from omctl import evidence
    from omctl.evidence.vulnerability_scan import VulnerabilityScan

    (run,) = ledger.runs_of(book, [latest.id])
    found = []
    for host, result in sorted(run.hosts.items()):
        record = evidence.parse(VulnerabilityScan.KIND, result.evidence.get("vulnerability_scan"))
        if isinstance(record, VulnerabilityScan):
            found.append({"host": host, "run": run.id, "scanned_at": record.scanned_at,
                          "findings": len(record.findings), "counts": record.counts,
                          "alerts": record.alerts, "summary": record.summary_line()})  # fmt: skip
    return found


def _vulnerabilities_section(found: list[dict[str, Any]]) -> None:
    if not found:
        return
    console.out.print()
    console.out.print(f"[bold]Vulnerabilities[/] (last scan, run {found[0]['run']}):")
    for row in found:
        style = "bold red" if row["alerts"] else ("yellow" if row["findings"] else "green")
        console.out.print(f"  {escape(row['host'])}: [{style}]{escape(row['summary'])}[/]",
                          highlight=False)  # fmt: skip


def _request_counts(book: ledger.Ledger, client: str) -> dict[str, int]:
    open_requests = [state for state in work.requests(book, client) if state.open]
    return {
        "open_requests": len(open_requests),
        "awaiting_approval": sum(state.awaiting_approval for state in open_requests),
    }


def _every_client(ctx: typer.Context, as_json: bool) -> None:
    """One line per client: overdue tasks, what is due now, the next due, open failures."""
    ws = common.settings(ctx).workspace
    now = datetime.now(UTC)
    found = []
    with common.open_ledger(ctx) as book:
        for name in ws.clients():
            try:
                checked = scope.load_checked(ws, name)
                row = schedule.summary(checked, book, now)
                row.update(views.glance(views.sites(ws.state, checked.loaded.scope, now)))
                row.update(_request_counts(book, name))
                found.append(row)
            except OmctlError as exc:
                found.append({"client": name, "overdue": [], "error": str(exc)})
    if as_json:
        console.emit_json(found)
    else:
        for row in found:
            if row["error"]:
                line = f"[red]not readable:[/] {escape(row['error'])}"
            else:
                soon = row["next_due"]
                parts = [
                    f"[bold red]OVERDUE {escape(', '.join(row['overdue']))}[/]"
                    if row["overdue"] else "[green]nothing overdue[/]",
                    f"due now: {', '.join(row['due_now']) or 'nothing'}",
                    f"next due: {soon['task']} by {_due_day(soon['by'])}" if soon else "",
                    f"unresolved failures: {row['unresolved_failures']}",
                    f"[bold red]open incidents: {row['open_incidents']}[/]"
                    if row["open_incidents"] else "",
                    f"availability: {views.availability_text(row['availability'])}",
                    f"open requests: {row['open_requests']}" if row["open_requests"] else "",
                    f"[bold yellow]awaiting approval: {row['awaiting_approval']}[/]"
                    if row["awaiting_approval"] else "",
                ]  # fmt: skip
                line = "; ".join(part for part in parts if part)
            console.out.print(f"[bold]{escape(row['client'])}[/]  {line}", highlight=False)
    if any(row["overdue"] for row in found):
        raise typer.Exit(int(ExitCode.OVERDUE))
    if any(row["error"] for row in found):
        raise typer.Exit(int(ExitCode.BAD_INPUT))


def status(
    ctx: typer.Context,
    client: Annotated[
        str | None,
        typer.Argument(help="Client name (a folder under inventories/); none: every client."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Coverage of the client's contract for the current calendar month (in the contract's
    time zone): per task its last success, next due date and OVERDUE flag; out-of-scope and
    refused work this month; failures not yet followed by a success. Without a client, one
    line per client. Exits 5 when a task is overdue, so that a scheduler can alert."""
    if client is None:
        _every_client(ctx, as_json)
        return
    ws = common.settings(ctx).workspace
    checked = scope.load_checked(ws, client)
    now = datetime.now(UTC)
    with common.open_ledger(ctx) as book:
        found = schedule.this_month(checked, book, now)
        sent = delivered.last_delivery(book, checked.loaded.scope.client)
        open_requests = [state for state in work.requests(book, client) if state.open]
        hours = _hours(checked.loaded.scope, book, found)
        vulnerabilities = _vulnerabilities(book, client)
    monitored = views.sites(ws.state, checked.loaded.scope, now)
    if as_json:
        console.emit_json({
            **found.as_dict(),
            "monitor": monitored,
            "last_report_delivery": sent and sent.model_dump(),
            "hours": hours,
            "vulnerabilities": vulnerabilities,
            "open_requests": [
                {**state.as_dict(), "age_days": state.age(now).days} for state in open_requests
            ],
        })  # fmt: skip
    else:
        _print(found)
        _monitor_section(monitored, ZoneInfo(found.timezone))
        _vulnerabilities_section(vulnerabilities)
        _hours_section(hours)
        _requests_section(open_requests, now, ZoneInfo(found.timezone))
        if checked.loaded.scope.report_recipients or sent:
            console.out.print(
                f"\n[bold]Last report delivered:[/] {escape(delivered.describe(sent))}"
            )
    if found.overdue:
        overdue = ", ".join(task.task for task in found.tasks if task.overdue)
        console.err.print(f"[bold red]overdue:[/] {escape(overdue)}", highlight=False)
        raise typer.Exit(int(ExitCode.OVERDUE))
