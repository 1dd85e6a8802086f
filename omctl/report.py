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
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from omctl import __version__, coverage, files, inventory, ledger, scope
from omctl.coverage import Period
from omctl.errors import BadInput
from omctl.ledger import Ledger, Run, parse_stamp
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


@dataclass
class Report:
    client: str
    contract: dict[str, Any]
    period: dict[str, str]
    generated_at: str
    omctl_version: str
    tasks: list[dict[str, Any]]  # the contract: one row per contracted task
    operation: dict[str, list[dict[str, Any]]]
    maintenance: dict[str, Any]
    coverage: list[dict[str, Any]]
    out_of_scope: list[dict[str, Any]]
    refused: list[dict[str, Any]]
    failures: list[dict[str, Any]]
    incidents: list[dict[str, Any]]
    charts: dict[str, Any]
    ledger: LedgerCheck
    runs: int = 0
    notes: list[str] = field(default_factory=list)

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


def _evidence(runs: list[Run], kind: str) -> list[tuple[Run, str, dict[str, Any]]]:
    found = []
    for run in runs:
        for host, result in sorted(run.hosts.items()):
            data = result.evidence.get(kind)
            if isinstance(data, dict):
                found.append((run, host, data))
    return found


def _operation(done: list[Run], zone: ZoneInfo) -> dict[str, list[dict[str, Any]]]:
    releases = []
    for run, host, data in _evidence(done, "content_sync"):
        source = data.get("source") or {}
        if data.get("error"):
            state = "failed"
        elif data.get("up_to_date"):
            state = "up to date"
        elif data.get("action") == "rollback":
            state = "rolled back"
        else:
            state = "published" if data.get("switched") else "not switched"
        releases.append(
            _row(
                run,
                host,
                zone,
                release=data.get("release"),
                previous=data.get("previous"),
                ref=source.get("ref"),
                commit=str(source.get("commit") or "")[:12] or None,
                state=state,
                error=data.get("error"),
            )
        )
    tuning = []
    for run, host, data in _evidence(done, "config_tuning"):
        if not data.get("applied"):
            continue
        for setting in data.get("settings") or []:
            if setting.get("old") != setting.get("new"):
                tuning.append(
                    _row(
                        run,
                        host,
                        zone,
                        setting=setting.get("name"),
                        old=setting.get("old"),
                        new=setting.get("new"),
                        file=setting.get("file"),
                    )
                )
    reviews, proposals = [], []
    for run, host, data in _evidence(done, "access_review"):
        found = data.get("findings") or {}
        days = found.get("period") or {}
        classes = found.get("status_classes") or {}
        reviews.append(
            _row(
                run,
                host,
                zone,
                first_day=days.get("first_day"),
                last_day=days.get("last_day"),
                requests=found.get("requests"),
                unique_visitors=found.get("unique_visitors"),
                errors_4xx=classes.get("4xx", 0),
                errors_5xx=classes.get("5xx", 0),
                not_found=[e.get("url") for e in found.get("top_404") or []][:5],
                login_posts=(found.get("wp_login") or {}).get("posts"),
                proposals=len(data.get("proposals") or []),
            )
        )
        for proposal in data.get("proposals") or []:
            proposals.append(
                _row(
                    run,
                    host,
                    zone,
                    title=proposal.get("title"),
                    why=proposal.get("why"),
                    action=proposal.get("action"),
                )
            )
    return {
        "content_releases": releases,
        "tuning_changes": tuning,
        "access_reviews": reviews,
        "proposals": proposals,
    }


def _patching(done: list[Run], zone: ZoneInfo) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    packages, reboots = [], []
    for run, host, data in _evidence(done, "patching"):
        if data.get("check"):
            continue
        security = {p.get("name") for p in data.get("plan") or [] if p.get("security")}
        for item in data.get("applied") or []:
            packages.append(
                _row(
                    run,
                    host,
                    zone,
                    package=item.get("name"),
                    old=item.get("from"),
                    new=item.get("to"),
                    security=item.get("name") in security,
                )
            )
        reboot = data.get("reboot") or {}
        if reboot.get("done") or reboot.get("required") or reboot.get("pending"):
            state = "rebooted" if reboot.get("done") else "reboot pending"
            reboots.append(
                _row(
                    run,
                    host,
                    zone,
                    state=state,
                    policy=reboot.get("policy"),
                    required_by=list(reboot.get("required_by") or []),
                )
            )
    return packages, reboots


def _index(audit: Any) -> int | float | None:
    value = audit.get("index") if isinstance(audit, dict) else None
    return value if isinstance(value, int | float) else None


def _hardening(done: list[Run], zone: ZoneInfo) -> tuple[list[dict[str, Any]], list[dict]]:
    rows, series = [], []
    for run, host, data in _evidence(done, "hardening"):
        if data.get("check_mode"):
            continue
        before, after = data.get("lynis_before"), data.get("lynis_after")
        rows.append(
            _row(
                run,
                host,
                zone,
                index_before=_index(before),
                index_after=_index(after),
                warnings=(after or {}).get("warnings") if isinstance(after, dict) else None,
                warning_tests=list((after or {}).get("warning_tests") or [])
                if isinstance(after, dict)
                else [],
                changes=len(data.get("changes") or []),
                error=data.get("error") or None,
            )
        )
        for audit, moment in ((before, run.started_at), (after, run.ended_at or run.started_at)):
            audited = _when(audit.get("audited_at") if isinstance(audit, dict) else None)
            point = audited or _when(moment)
            if _index(audit) is not None and point is not None:
                series.append(
                    {"at": point.astimezone(zone).isoformat(), "host": host, "value": _index(audit)}
                )
    return rows, series


def _backups(
    done: list[Run], zone: ZoneInfo, as_of: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    per_host: dict[str, dict[str, Any]] = {}
    series = []
    for run, host, data in _evidence(done, "backup"):
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
        if not data.get("ok"):
            entry["failed"] += 1
            continue
        entry["ok"] += 1
        entry["repository_size"] = data.get("repository_size_bytes")
        entry["snapshots"] = data.get("repository_snapshots")
        moment = _when(data.get("finished_at") or data.get("started_at") or run.started_at)
        if moment is not None:
            entry["latest"] = moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")
            entry["latest_age_seconds"] = max(0.0, (as_of - moment).total_seconds())
            if isinstance(data.get("repository_size_bytes"), int | float):
                series.append(
                    {
                        "at": moment.astimezone(zone).isoformat(),
                        "host": host,
                        "value": data["repository_size_bytes"],
                    }
                )
    hosts = sorted(per_host.values(), key=lambda e: e["host"])
    summary = {
        "count": sum(e["ok"] for e in hosts),
        "failed": sum(e["failed"] for e in hosts),
        "hosts": hosts,
    }
    return summary, series


def _drills(done: list[Run], zone: ZoneInfo) -> list[dict[str, Any]]:
    rows = []
    for run, host, data in _evidence(done, "restore_drill"):
        # A check of one site (the drill drills each discovered site) is named with it.
        failed = [
            f"{c['site']}: {c.get('name')}" if c.get("site") else c.get("name")
            for c in data.get("checks") or []
            if not c.get("ok")
        ]
        rows.append(
            _row(
                run,
                host,
                zone,
                ok=bool(data.get("ok")),
                time_to_restore_seconds=data.get("time_to_restore_seconds"),
                snapshot_age_seconds=data.get("snapshot_age_seconds"),
                checks=len(data.get("checks") or []),
                failed_checks=failed,
                error=data.get("error"),
            )
        )
    return rows


def _incidents(runs: list[Run], zone: ZoneInfo) -> list[dict[str, Any]]:
    """Evidence kind ``incident`` (role diagnose): summary, findings, actions; keys may vary."""
    rows = []
    for run, host, data in _evidence(runs, "incident"):
        findings = list(data.get("findings") or [])
        problems = [f for f in findings if not (isinstance(f, dict) and f.get("severity") == "ok")]
        rows.append(
            _row(
                run,
                host,
                zone,
                summary=data.get("summary"),
                severity=data.get("severity"),
                findings=problems,
                checks_ok=len(findings) - len(problems),
                actions=list(data.get("actions") or []),
            )
        )
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


def _ledger_check(book: Ledger, used: list[Run], read: list[Run]) -> LedgerCheck:
    """The chain checked for the runs the report ``read`` (``verify_runs``: in proportion
    to them once a full ``ledger verify`` recorded its checkpoint, else in full)."""
    result = book.verify_runs(run.id for run in read)
    if result.ok:
        head_seq, head_hash = result.head_seq, result.head_hash
    else:
        head_seq, head_hash = book.head() or (None, None)
    checkpoint = f"{head_seq}:{head_hash}" if head_seq else None
    return LedgerCheck(
        ok=result.ok,
        entries=result.entries,
        problem=result.problem,
        head_seq=head_seq,
        head_hash=head_hash,
        first_seq=min((r.first_seq for r in used), default=None),
        last_seq=max((r.last_seq for r in used), default=None),
        checkpoint=checkpoint,
        verify_command=f"omctl ledger verify --checkpoint {checkpoint}" if checkpoint else None,
        verified=result.scope if result.since is not None else None,
    )


def record_checkpoint(
    book: Ledger, built: Report, fmt: str, text: str, output: Path | None, operator: str
) -> None:
    """Record in the ledger that this report was issued and the head it was built on, so the
    ledger itself witnesses every head it ever showed a client."""
    check = built.ledger
    book.append(
        ledger.REPORT_ENTRY,
        ledger.CHECKPOINT,
        {
            "client": built.client,
            "period": built.period,
            "format": fmt,
            "seq": check.head_seq,
            "hash": check.head_hash,
            "verified": check.ok,
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "output": str(output) if output is not None else None,
            "operator": operator,
        },
    )


@dataclass(frozen=True)
class Subject:
    """What a report is about: read and checked before the ledger is opened."""

    client: str
    contract: scope.Scope
    span: Period
    hosts: dict[str, set[str]]  # per contracted task, the hosts it covers


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
    return Subject(client, contract, span, hosts)


def collect(book: Ledger, about: Subject, now: datetime | None = None) -> Report:
    """Build the report of ``about`` from the ledger."""
    client, current, span = about.client, about.contract, about.span
    zone = ZoneInfo(current.timezone)
    moment = now or datetime.now(UTC)
    as_of = min(moment, span.end)
    every = coverage.runs_needed(book, client, current, span.start, span.end, moment, about.hosts)
    inside = [r for r in every if (w := _when(r.started_at)) is not None and span.contains(w)]
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
            "backups": backups,
            "restore_drills": _drills(done, zone),
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
        ledger=_ledger_check(book, inside, every),
        runs=len(inside),
        notes=notes,
    )


def check_writable(path: Path) -> None:
    """BadInput when ``path`` cannot take the report, before anything is recorded."""
    if not path.parent.is_dir():
        raise BadInput(f"cannot write the report: folder {path.parent} does not exist", path=path)
    if path.is_dir():
        raise BadInput("cannot write the report: this is a folder", path=path)


def write_atomic(path: Path, text: str, private: bool = False) -> None:
    """Write ``text`` to ``path`` through a temporary file (0600) in the same folder and a
    rename; the file is 0600 when ``private`` (under .omctl/), else as the umask says."""
    check_writable(path)
    try:
        files.write_atomic(path, text, 0o600 if private else None)
    except OSError as exc:
        raise BadInput(f"cannot write the report: {exc.strerror}", path=path) from None
