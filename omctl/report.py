"""The client report: what was contracted, what was done, what fell outside, what it proved.

``collect`` folds a client's ledger runs for a period into a ``Report`` (plain data, JSON-ready);
``omctl.report_render`` turns it into Markdown, HTML or JSON. Nothing here prints or writes.
The evidence read here is what the roles publish with ``set_stats`` (see each role's README).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypedDict, TypeVar
from zoneinfo import ZoneInfo

from omctl import (
    __version__,
    billing,
    coverage,
    evidence,
    files,
    inventory,
    ledger,
    operators,
    scope,
    work,
)
from omctl.coverage import Period
from omctl.errors import BadInput
from omctl.evidence.access_review import AccessReview
from omctl.evidence.backup import Backup
from omctl.evidence.config_tuning import ConfigTuning
from omctl.evidence.content_sync import ContentSync
from omctl.evidence.hardening import Hardening
from omctl.evidence.incident import Incident
from omctl.evidence.patching import Patching
from omctl.evidence.restore_drill import RestoreDrill
from omctl.ledger import Ledger, Run, parse_stamp
from omctl.monitor import reporting as monitor_reporting
from omctl.workspace import Workspace

CATEGORIES = ("operation", "maintenance", "onboarding")


def parse_period(period: str | None, start: str | None, end: str | None, timezone: str) -> Period:
    """--period YYYY-MM or --from/--to YYYY-MM-DD (both days included), in the contract's zone."""
    zone = ZoneInfo(timezone)
    if period is not None and (start is not None or end is not None):
        raise BadInput("give either --period or --from/--to, not both")
    if period is not None:
        first, last = coverage.month(period, zone)  # BadInput for 2026-13
        return Period(first, last, period)
    if start is None or end is None:
        raise BadInput("give --period YYYY-MM, or both --from and --to (YYYY-MM-DD)")
    days: list[date] = []
    for option, text in (("--from", start), ("--to", end)):
        try:
            days.append(date.fromisoformat(text))
        except ValueError:
            raise BadInput(f"{option} {text!r} is not a date like 2026-11-01") from None
    if days[0] > days[1]:
        raise BadInput(f"--from {days[0]} is after --to {days[1]}")
    return Period(
        datetime.combine(days[0], time(), zone),
        datetime.combine(days[1] + timedelta(days=1), time(), zone),
        f"{days[0]} to {days[1]}",
    )


@dataclass
class LedgerCheck:
    ok: bool
    entries: int
    problem: str | None
    head_seq: int | None
    head_hash: str | None
    first_seq: int | None  # the range of entries the report was built from
    last_seq: int | None
    # The head the report was built on, as a client can check it later: SEQ:HASH, and the
    # command that fails once the ledger no longer holds exactly that history.
    checkpoint: str | None = None
    verify_command: str | None = None
    # What was verified when not the whole chain (see Ledger.verify_runs); None: all of it.
    verified: str | None = None
    # Runs whose signer the report names, their signatures checked (0: no operators).
    signed: int = 0


Row = dict[str, Any]  # at, run, task (and host) of a run, then the values of its evidence


class Contract(TypedDict):
    contract: str
    valid_from: str
    valid_until: str
    timezone: str


class PeriodInfo(TypedDict):
    label: str
    start: str
    end: str
    last_day: str


class Operation(TypedDict):
    content_releases: list[Row]
    tuning_changes: list[Row]
    access_reviews: list[Row]
    proposals: list[Row]


class Backups(TypedDict):
    count: int
    failed: int
    hosts: list[dict[str, Any]]


class Maintenance(TypedDict):
    packages: list[Row]
    reboots: list[Row]
    hardening: list[Row]
    verifications: list[Row]
    backups: Backups
    restore_drills: list[Row]
    vulnerabilities: dict[str, Any]


class Charts(TypedDict):
    runs_per_week: list[dict[str, Any]]
    hardening_index: list[dict[str, Any]]
    backup_size: list[dict[str, Any]]


@dataclass
class Report:
    client: str
    contract: Contract
    period: PeriodInfo
    generated_at: str
    omctl_version: str
    tasks: list[dict[str, Any]]  # the contract: one row per contracted task
    operation: Operation
    maintenance: Maintenance
    coverage: list[dict[str, Any]]
    out_of_scope: list[Row]
    refused: list[Row]
    failures: list[Row]
    incidents: list[Row]
    charts: Charts
    ledger: LedgerCheck
    runs: int = 0
    notes: list[str] = field(default_factory=list)
    # Site monitoring (omctl.monitor.reporting): sites, incidents, latency; {} if none.
    monitoring: dict[str, Any] = field(default_factory=dict)
    # Who does what (the contract's responsibilities): area, provider, client.
    responsibilities: list[dict[str, str]] = field(default_factory=list)
    # The month's bill (``_fees``); amounts are decimal strings. ``stated`` False: the
    # contract names no fees, or the period is no calendar month (``note`` says which).
    fees: dict[str, Any] = field(default_factory=dict)
    # The client's requests open at the period's end, oldest first.
    open_requests: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _when(text: str | None) -> datetime | None:
    """A time stamp of the ledger or of evidence; None when missing or not a time."""
    if not text:
        return None
    try:
        return parse_stamp(text)
    except (TypeError, ValueError):
        return None


def _stamp(text: str | None, zone: ZoneInfo) -> str:
    moment = _when(text)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else "?"


def _row(run: Run, host: str | None, zone: ZoneInfo, **values: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"at": _stamp(run.started_at, zone), "run": run.id, "task": run.task}
    if host is not None:
        base["host"] = host
    base.update(values)
    return base


E = TypeVar("E", bound=evidence.Evidence)


def _evidence(runs: list[Run], model: type[E]) -> list[tuple[Run, str, E]]:
    """The records of one kind that match its model; the others are named in the notes."""
    found = []
    for run in runs:
        for host, result in sorted(run.hosts.items()):
            record = evidence.parse(model.KIND, result.evidence.get(model.KIND))
            if isinstance(record, model):
                found.append((run, host, record))
    return found


def _invalid_notes(runs: list[Run]) -> list[str]:
    """A note per record that does not match its model: left out of the figures, named."""
    return [
        f"{found['message']} (run {run.id}; left out of this report)"
        for run in runs
        for found in evidence.invalid_records(run.hosts)
    ]


def _operation(done: list[Run], zone: ZoneInfo) -> Operation:
    releases = []
    for run, host, sync in _evidence(done, ContentSync):
        releases.append(_row(run, host, zone, **sync.report_row()))
    tuning = []
    for run, host, tuned in _evidence(done, ConfigTuning):
        tuning += [_row(run, host, zone, **setting) for setting in tuned.report_rows()]
    reviews, proposals = [], []
    for run, host, review in _evidence(done, AccessReview):
        reviews.append(_row(run, host, zone, **review.report_row()))
        proposals += [_row(run, host, zone, **row) for row in review.proposal_rows()]
    return Operation(
        content_releases=releases,
        tuning_changes=tuning,
        access_reviews=reviews,
        proposals=proposals,
    )


def _patching(done: list[Run], zone: ZoneInfo) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    packages, reboots = [], []
    for run, host, patched in _evidence(done, Patching):
        if patched.check:
            continue
        packages += [_row(run, host, zone, **row) for row in patched.package_rows()]
        if (reboot := patched.reboot_row()) is not None:
            reboots.append(_row(run, host, zone, **reboot))
    return packages, reboots


def _hardening(done: list[Run], zone: ZoneInfo) -> tuple[list[dict[str, Any]], list[dict]]:
    rows, series = [], []
    for run, host, hardened in _evidence(done, Hardening):
        if hardened.check_mode:
            continue
        rows.append(_row(run, host, zone, **hardened.report_row()))
        before, after = hardened.lynis_before, hardened.lynis_after
        for audit, moment in ((before, run.started_at), (after, run.ended_at or run.started_at)):
            if audit is None or audit.score is None:
                continue
            point = _when(audit.audited_at) or _when(moment)
            if point is not None:
                series.append(
                    {"at": point.astimezone(zone).isoformat(), "host": host, "value": audit.score}
                )
    return rows, series


def _verifications(executed: list[Run], zone: ZoneInfo) -> list[dict[str, Any]]:
    """Each host of each drift check: maintenance done even when nothing had to change."""
    from omctl.evidence.drift import Drift

    rows = []
    for run, host, found in _evidence(executed, Drift):
        verdict = found.verdict(host)
        rows.append(_row(run, host, zone, checked=found.task, state=found.state,
                         verdict=verdict, changed_tasks=found.changed_tasks))  # fmt: skip
    return rows


SCAN_TASK = "vulnerability_scan"
UPDATE_TASK = "wordpress_update"


def _scans_before(book: Ledger, client: str, start: datetime) -> dict[str, Any]:
    """Each host's last vulnerability scan before ``start`` (what "found this period" is
    measured against), from the few latest scan runs before it."""
    from omctl.evidence.vulnerability_scan import VulnerabilityScan

    rows = book.scan(client, SCAN_TASK, until=ledger.stamp_bound(start),
                     statuses=(ledger.SUCCESSFUL, ledger.FAILED), newest_first=True)  # fmt: skip
    latest = [row.id for _, row in zip(range(5), rows, strict=False)]
    found: dict[str, Any] = {}
    for _, host, scan in reversed(_evidence(ledger.runs_of(book, latest), VulnerabilityScan)):
        found.setdefault(host, scan)
    return found


def _vulnerabilities(
    book: Ledger, client: str, done: list[Run], span: Period, zone: ZoneInfo
) -> dict[str, Any]:
    """Per host: the findings of its last scan in the period, each new (not in the host's
    last scan before the period) or still open, and those fixed (found earlier, gone from the
    last scan). Empty when no scan ran in the period."""
    from omctl.evidence.vulnerability_scan import VulnerabilityScan
    from omctl.evidence.wordpress_update import WAITING_FOR_CLIENT

    scans = _evidence([run for run in done if run.task == SCAN_TASK], VulnerabilityScan)
    if not scans:
        return {}
    before = _scans_before(book, client, span.start)
    last: dict[str, tuple[Run, Any]] = {}
    seen: dict[str, dict[tuple[str, ...], Any]] = {}
    for run, host, scan in scans:
        last[host] = (run, scan)
        for finding in scan.findings:
            seen.setdefault(host, {})[finding.key] = finding
    rows, notices = [], set()
    counts = {"new": 0, "still open": 0, "fixed": 0, "alerts": 0}
    held = _held_updates(done)
    for host in sorted(last):
        run, scan = last[host]
        earlier = {f.key: f for f in before[host].findings} if host in before else {}
        current = {f.key for f in scan.findings}
        notices.update(feed.notice for feed in scan.feeds if feed.notice)
        for finding in scan.findings:
            state = "still open" if finding.key in earlier else "new"
            if (host, finding.site or "", finding.type, finding.name) in held:
                state += f", {WAITING_FOR_CLIENT}"
            rows.append(_finding_row(run, host, zone, finding, state))
            counts["still open" if finding.key in earlier else "new"] += 1
            counts["alerts"] += finding.alert
        for key, finding in {**earlier, **seen.get(host, {})}.items():
            if key not in current:
                rows.append(_finding_row(run, host, zone, finding, "fixed"))
                counts["fixed"] += 1
    return {"hosts": sorted(last), "findings": rows, "counts": counts,
            "notices": sorted(notices)}  # fmt: skip


def _held_updates(done: list[Run]) -> set[tuple[str, str, str, str]]:
    """(host, site, type, slug) whose update the last wordpress_update run of each host held:
    the client has not decided yet, so a vulnerability it would fix stays open on purpose."""
    from omctl.evidence.wordpress_update import WordPressUpdate

    latest: dict[str, WordPressUpdate] = {}
    for _, host, record in _evidence([r for r in done if r.task == UPDATE_TASK], WordPressUpdate):
        latest[host] = record
    return {(host, held.site or "", held.type, held.slug)
            for host, record in latest.items() for held in record.held if held.held}  # fmt: skip


def _finding_row(run: Run, host: str, zone: ZoneInfo, finding: Any, state: str) -> dict:
    return _row(run, host, zone, state=state, source=finding.source, site=finding.site,
                component=f"{finding.type} {finding.name}", installed=finding.installed,
                fixed_in=finding.fixed_in, severity=finding.severity, score=finding.score,
                id=finding.id, title=finding.title, alert=finding.alert,
                reference=finding.reference)  # fmt: skip


def _backups(
    done: list[Run], zone: ZoneInfo, as_of: datetime
) -> tuple[Backups, list[dict[str, Any]]]:
    per_host: dict[str, dict[str, Any]] = {}
    series = []
    for run, host, backup in _evidence(done, Backup):
        entry = per_host.setdefault(
            host,
            {
                "host": host,
                "ok": 0,
                "failed": 0,
                "repository_size": None,
                "snapshots": None,
                "latest": None,
                "latest_age_seconds": None,
            },
        )
        if not backup.ok:
            entry["failed"] += 1
            continue
        entry["ok"] += 1
        entry["repository_size"] = backup.repository_size_bytes
        entry["snapshots"] = backup.repository_snapshots
        moment = _when(backup.finished_at or backup.started_at or run.started_at)
        if moment is not None:
            entry["latest"] = moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            entry["latest_age_seconds"] = max(0.0, (as_of - moment).total_seconds())
            if backup.repository_size_bytes is not None:
                series.append(
                    {
                        "at": moment.astimezone(zone).isoformat(),
                        "host": host,
                        "value": backup.repository_size_bytes,
                    }
                )
    hosts = sorted(per_host.values(), key=lambda e: e["host"])
    summary = Backups(
        count=sum(e["ok"] for e in hosts),
        failed=sum(e["failed"] for e in hosts),
        hosts=hosts,
    )
    return summary, series


def _drills(done: list[Run], zone: ZoneInfo) -> list[dict[str, Any]]:
    rows = []
    for run, host, drill in _evidence(done, RestoreDrill):
        rows.append(_row(run, host, zone, **drill.report_row()))
    return rows


def _wordpress_updates(done: list[Run], zone: ZoneInfo) -> list[dict[str, Any]]:
    """Each item a wordpress_update run installed, rolled back or held, with its screenshots
    (files kept in the run's folder; the HTML report shows them)."""
    from omctl.evidence.wordpress_update import WordPressUpdate

    rows = []
    for run, host, record in _evidence([r for r in done if r.task == UPDATE_TASK], WordPressUpdate):
        for item in record.items:
            shots = [list(shot) for shot in item.screenshots()]
            rows.append(_row(run, host, zone, component=f"{item.type} {item.slug}",
                             versions=f"{item.from_} -> {item.to}", outcome=item.outcome,
                             reason=item.reason, screenshots=shots))  # fmt: skip
        for held in record.held:
            rows.append(_row(run, host, zone, component=f"{held.type} {held.slug}",
                             versions=f"{held.from_} -> {held.to or '?'}",
                             outcome="held" if held.held else "waiting", reason=held.reason,
                             screenshots=[]))  # fmt: skip
    return rows


def _incidents(runs: list[Run], zone: ZoneInfo) -> list[dict[str, Any]]:
    """Evidence kind ``incident`` (role diagnose): summary, findings, actions."""
    rows = []
    for run, host, incident in _evidence(runs, Incident):
        rows.append(_row(run, host, zone, **incident.report_row()))
    return rows


def _failed_hosts(run: Run) -> list[str]:
    return sorted(h for h, r in run.hosts.items() if r.status in ("failed", "unreachable"))


def _weeks(runs: list[Run], period: Period, zone: ZoneInfo) -> list[dict[str, Any]]:
    """Runs per ISO week (Monday first) of the period, counted per category."""
    weeks: list[dict[str, Any]] = []
    monday = period.start.date() - timedelta(days=period.start.weekday())
    while datetime.combine(monday, time(), zone) < period.end:
        year, week, _ = monday.isocalendar()
        weeks.append(
            {
                "week": f"{year}-W{week:02d}",
                "monday": monday.isoformat(),
                "counts": dict.fromkeys(CATEGORIES, 0),
            }
        )
        monday += timedelta(days=7)
    for run in runs:
        moment = _when(run.started_at)
        if moment is None:
            continue
        day = moment.astimezone(zone).date()
        index = (day - date.fromisoformat(weeks[0]["monday"])).days // 7
        if 0 <= index < len(weeks):
            counts = weeks[index]["counts"]
            counts[run.category] = counts.get(run.category, 0) + 1
    return weeks


def _contract_tasks(current: scope.Scope) -> list[dict[str, Any]]:
    rows = []
    for category in ("operation", "maintenance"):
        for name, entry in sorted(getattr(current, category).items()):
            rows.append(
                {
                    "task": name,
                    "category": category,
                    "cadence": str(entry.every),
                    "window": str(entry.window) if entry.window else "any time",
                    "hosts": list(entry.hosts) if entry.hosts else ["all"],
                }
            )
    return rows


def _coverage_rows(found: Any) -> list[dict[str, Any]]:
    rows = []
    for task in found.tasks:
        missed = [task.missed_text(period) for period in task.missed]
        rows.append(
            {
                "task": task.task,
                "category": str(task.category),
                "cadence": str(task.cadence),
                "expected": task.expected,
                "done": task.done,
                "missed": missed,
                "last_success_at": _iso(task.last_success_at),
                "overdue": bool(task.overdue),
                "next_due": _iso(task.next_due),
                "pending": getattr(getattr(task, "pending", None), "label", None),
                "successes": getattr(task, "successes", task.done),
            }
        )
    return rows


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _ledger_check(
    book: Ledger, used: list[Run], read: list[Run], keys: dict[str, operators.Operator]
) -> LedgerCheck:
    """The chain checked for the runs the report ``read`` (``verify_runs``: in proportion
    to them once a full ``ledger verify`` recorded its checkpoint, else in full), then the
    signatures of the entries of the runs it is built from, whose signers it names: never a
    name or a figure a forged signature put there."""
    result = book.verify_runs(run.id for run in read)
    ok, problem, signed = result.ok, result.problem, 0
    if ok and keys and isinstance(book, ledger.SqlLedger):
        signed, problem = operators.verify_runs_signatures(book, keys, (run.id for run in used))
        ok = problem is None
    if result.ok:
        head_seq, head_hash = result.head_seq, result.head_hash
    else:
        head_seq, head_hash = book.head() or (None, None)
    checkpoint = f"{head_seq}:{head_hash}" if head_seq else None
    return LedgerCheck(
        ok=ok,
        entries=result.entries,
        problem=problem,
        head_seq=head_seq,
        head_hash=head_hash,
        first_seq=min((r.first_seq for r in used), default=None),
        last_seq=max((r.last_seq for r in used), default=None),
        checkpoint=checkpoint,
        verify_command=f"omctl ledger verify --checkpoint {checkpoint}" if checkpoint else None,
        verified=result.scope if result.since is not None else None,
        signed=signed,
    )


def record_checkpoint(
    book: Ledger, built: Report, fmt: str, text: str | bytes, output: Path | None, operator: str
) -> ledger.Entry:
    """Record in the ledger that this report was issued and the head it was built on, so the
    ledger itself witnesses every head it ever showed a client; ``text`` is what was issued
    (a PDF's bytes)."""
    check = built.ledger
    data = text.encode() if isinstance(text, str) else text
    return book.append(
        ledger.REPORT_ENTRY,
        ledger.CHECKPOINT,
        {
            "client": built.client,
            "period": built.period,
            "format": fmt,
            "seq": check.head_seq,
            "hash": check.head_hash,
            "verified": check.ok,
            "sha256": hashlib.sha256(data).hexdigest(),
            "output": str(output) if output is not None else None,
            "operator": operator,
        },
    )


# --- fees: the month's bill --------------------------------------------------------------

NO_FEES = "no fees in the contract"
NOT_A_MONTH = "fees are billed per calendar month: make the report with --period YYYY-MM"


def _billable(
    book: Ledger, client: str, current: scope.Scope, span: Period, executed: list[Run]
) -> list[billing.WorkItem]:
    if current.fees is None:
        return []  # nothing to bill them against: the report says "no fees in the contract"
    return work.billable_items(book, client, span.start, span.end, executed)


def _is_month(span: Period) -> bool:
    zone = span.start.tzinfo
    if not isinstance(zone, ZoneInfo):
        return False
    return coverage.month(f"{span.start:%Y-%m}", zone) == (span.start, span.end)


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _approval(item: billing.WorkItem) -> str:
    if item.request_id and item.approved_by:
        return f"request {item.request_id} by {item.approved_by}"
    if item.request_id:
        return f"request {item.request_id}: not approved"
    if item.reason:
        return f"reason: {item.reason}"
    return "not approved"


def _work_row(item: billing.WorkItem, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "at": item.at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
        "ref": item.ref,
        "category": item.category,
        "task": item.task,
        "description": item.description,
        "operator": item.operator,
        "request": item.request_id,
        "request_text": item.request_text,
        "approval": _approval(item),
        "quote_hours": _amount(item.quote_hours),
        "minutes": item.minutes,
    }


def _billed_row(billed: billing.BilledItem, zone: ZoneInfo) -> dict[str, Any]:
    return {
        **_work_row(billed.item, zone),
        "billed_minutes": billed.minutes,
        "billed_hours": str(billed.hours),
        "basis": billed.basis,
        "unit_price": _amount(billed.unit_price),
        "amount": str(billed.amount),
    }


def _fees(
    current: scope.Scope, span: Period, items: list[billing.WorkItem], client: str
) -> dict[str, Any]:
    """The month's bill as plain data (amounts as decimal strings, never floats), with the
    CSV's billable lines; ``stated`` False with a note when there is nothing to bill from."""
    fees = current.fees
    if fees is None:
        return {"stated": False, "note": NO_FEES}
    if not _is_month(span):
        return {"stated": False, "note": NOT_A_MONTH}
    zone = ZoneInfo(current.timezone)
    found = billing.bill(
        fees,
        valid_from=current.valid_from,
        valid_until=current.valid_until,
        start=span.start,
        end=span.end,
        items=items,
    )
    lines = billing.billable_lines(found, client=client, contract=current.contract)
    return {
        "stated": True,
        "currency": found.currency,
        "hourly_rate": str(billing.money(found.hourly_rate, found.currency)),
        "increment_minutes": found.increment_minutes,
        "minimum_minutes": found.minimum_minutes,
        "monthly": [
            {
                "category": fee.category,
                "fee": str(billing.money(fee.fee, found.currency)),
                "amount": str(fee.amount),
                "days_in_force": fee.days_in_force,
                "days_in_period": fee.days_in_period,
                "note": fee.note,
            }
            for fee in found.monthly
        ],
        "hours": [
            {
                "category": used.category,
                "included_hours": str(used.included_hours),
                "used_minutes": used.used_minutes,
                "used_hours": str(used.used_hours),
                "overage_hours": str(used.overage_hours),
                "overage_amount": str(used.overage_amount),
                "items": [_billed_row(billed, zone) for billed in used.items],
            }
            for used in found.categories
        ],
        "out_of_scope": [_billed_row(billed, zone) for billed in found.out_of_scope],
        "awaiting_approval": [_work_row(item, zone) for item in found.awaiting_approval],
        "uncategorised": [_work_row(item, zone) for item in found.uncategorised],
        "monthly_total": str(found.monthly_total),
        "overage_total": str(found.overage_total),
        "out_of_scope_total": str(found.out_of_scope_total),
        "total": str(found.total),
        "lines": [
            {
                "date": line.date.isoformat(),
                "client": line.client,
                "contract": line.contract,
                "category": line.category,
                "description": line.description,
                "request_id": line.request_id,
                "quantity": str(line.quantity),
                "unit": line.unit,
                "unit_price": str(line.unit_price),
                "amount": str(line.amount),
                "currency": line.currency,
            }
            for line in lines
        ],
    }


def _open_requests(book: Ledger, client: str, span: Period, as_of: datetime) -> list[dict]:
    """Requests added before the period's end and not closed by then, with their age."""
    rows = []
    zone = span.start.tzinfo
    for state in work.requests(book, client):
        if state.added_at >= span.end or (state.closed_at and state.closed_at < span.end):
            continue
        age = as_of - state.added_at
        rows.append(
            {
                "id": state.id,
                "added_at": state.added_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
                "text": state.text,
                "requested_by": state.requested_by,
                "classification": state.classification.value if state.classification else None,
                "approved_by": state.approved_by,
                "quote_hours": _amount(state.quote_hours),
                "age_days": max(0, age.days),
                "state": state.state,
            }
        )
    return rows


def check_csv(about: Subject) -> None:
    """BadInput before the ledger is opened when there can be no billable lines to export."""
    if about.contract.fees is None:
        raise BadInput(f"contract {about.contract.contract}: {NO_FEES}, so no CSV of fees")
    if not _is_month(about.span):
        raise BadInput("--format csv is a month's billable lines: give --period YYYY-MM")


@dataclass(frozen=True)
class Subject:
    """What a report is about: read and checked before the ledger is opened."""

    client: str
    contract: scope.Scope
    span: Period
    hosts: dict[str, set[str]]  # per contracted task, the hosts it covers
    operators: dict[str, operators.Operator] = field(default_factory=dict)  # who signs entries


def subject(
    ws: Workspace,
    client: str,
    period: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Subject:
    """The report's client, contract, period and contracted hosts. Raises BadInput."""
    client_dir = ws.existing_client_dir(client)
    contract = scope.load(client_dir / scope.SCOPE_FILE).scope
    span = parse_period(period, start, end, contract.timezone)
    hosts = coverage.contracted_hosts(contract, inventory.load(client_dir / inventory.HOSTS_FILE))
    return Subject(client, contract, span, hosts, operators.keyring(ws))


def collect(book: Ledger, about: Subject, now: datetime | None = None) -> Report:
    """Build the report of ``about`` from the ledger."""
    client, current, span = about.client, about.contract, about.span
    zone = ZoneInfo(current.timezone)
    moment = now or datetime.now(UTC)
    as_of = min(moment, span.end)
    every = coverage.runs_needed(book, client, current, span.start, span.end, moment, about.hosts)
    inside = [r for r in every if (w := _when(r.started_at)) is not None and span.contains(w)]
    # Who did a run: the operator whose key signed its start (omctl.operators), else the
    # ``operator`` setting its start recorded.
    signed = book.signers(run.first_seq for run in inside)
    for run in inside:
        run.operator = signed.get(run.first_seq) or run.operator
    executed = [r for r in inside if r.status != ledger.STATUS_REFUSED]
    done = [r for r in executed if not r.check]
    packages, reboots = _patching(done, zone)
    hardening_rows, hardening_series = _hardening(done, zone)
    backups, backup_series = _backups(done, zone, as_of)
    found = coverage.compute(current, every, span.start, span.end, moment, about.hosts)
    unresolved = {run.id for run in found.unresolved}
    by_status = Counter(r.status for r in inside)
    notes = []
    if by_status.get(ledger.RUNNING):
        notes.append(f"{by_status[ledger.RUNNING]} run(s) were still running when this was made")
    notes += _invalid_notes(executed)
    return Report(
        client=client,
        contract={
            "contract": current.contract,
            "valid_from": current.valid_from.isoformat(),
            "valid_until": current.valid_until.isoformat(),
            "timezone": current.timezone,
        },
        period={
            "label": span.label,
            "start": span.start.isoformat(),
            "end": span.end.isoformat(),
            "last_day": (span.end - timedelta(days=1)).date().isoformat(),
        },
        generated_at=moment.astimezone(zone).isoformat(timespec="seconds"),
        omctl_version=__version__,
        tasks=_contract_tasks(current),
        operation=_operation(done, zone),
        maintenance={
            "packages": packages,
            "reboots": reboots,
            "hardening": hardening_rows,
            "verifications": _verifications(executed, zone),
            "backups": backups,
            "restore_drills": _drills(done, zone),
            "vulnerabilities": _vulnerabilities(book, client, done, span, zone),
            "wordpress_updates": _wordpress_updates(done, zone),
        },
        coverage=_coverage_rows(found),
        out_of_scope=[
            _row(
                run,
                None,
                zone,
                category=run.category,
                reason=run.out_of_scope_reason,
                status=run.status,
                operator=run.operator,
                hosts=sorted(run.hosts),
                check=run.check,
            )
            for run in executed
            if not run.in_scope
        ],
        refused=[
            _row(
                run,
                None,
                zone,
                category=run.category,
                reason=run.refusal_reason,
                operator=run.operator,
            )
            for run in inside
            if run.status == ledger.STATUS_REFUSED
        ],
        failures=[
            _row(
                run,
                None,
                zone,
                category=run.category,
                status=run.status,
                message=run.message,
                hosts=_failed_hosts(run),
                resolved=run.id not in unresolved,
            )
            for run in executed
            if run.status in (ledger.FAILED, ledger.STATUS_INTERRUPTED)
        ],
        incidents=_incidents(executed, zone),
        charts={
            "runs_per_week": _weeks(executed, span, zone),
            "hardening_index": sorted(hardening_series, key=lambda p: p["at"]),
            "backup_size": sorted(backup_series, key=lambda p: p["at"]),
        },
        ledger=_ledger_check(book, inside, every, about.operators),
        runs=len(inside),
        notes=notes,
        monitoring=monitor_reporting.collect(book, current, span.start, span.end),
        responsibilities=[r.model_dump() for r in current.responsibilities],
        fees=_fees(current, span, _billable(book, client, current, span, executed), client),
        open_requests=_open_requests(book, client, span, as_of),
    )


def check_writable(path: Path) -> None:
    """BadInput when ``path`` cannot take the report, before anything is recorded."""
    if not path.parent.is_dir():
        raise BadInput(f"cannot write the report: folder {path.parent} does not exist", path=path)
    if path.is_dir():
        raise BadInput("cannot write the report: this is a folder", path=path)


def write_atomic(path: Path, text: str | bytes, private: bool = False) -> None:
    """Write ``text`` to ``path`` through a temporary file (0600) in the same folder and a
    rename; the file is 0600 when ``private`` (under .omctl/), else as the umask says."""
    check_writable(path)
    try:
        files.write_atomic(path, text, 0o600 if private else None)
    except OSError as exc:
        raise BadInput(f"cannot write the report: {exc.strerror}", path=path) from None
