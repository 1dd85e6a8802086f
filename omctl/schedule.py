"""What a client's contract wants done now: the plan ``omctl tick`` carries out.

For each contracted task the planner answers ``run`` or ``wait``, with the reason, from the
scope, the run index and an injected ``now``. A task runs when its current cadence period has
no covering run yet (the coverage ``omctl status`` reports), the contract is in force and no
blackout holds today, its window is open and stays open for the task's typical duration (the
median of its latest successful runs), and its scheduled runs have not failed more often in
this period than the task's ``retries`` allow. What is planned is in scope by construction: the
run records ``trigger: schedule`` and is counted like an operator's.

A controller that was off for days catches up in the next open window: the missed periods stay
missed (coverage says so), and the current one gets its run.
"""

from __future__ import annotations

import hashlib
import statistics
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from omctl import coverage, guards, ledger, notify, scope
from omctl.errors import ClientLocked, ExitCode, OmctlError
from omctl.scope import Cadence, Window
from omctl.settings import Settings

if TYPE_CHECKING:
    from omctl import runner, runs

RUN = "run"
WAIT = "wait"
TYPICAL_RUNS = 5  # a task's typical duration is the median of this many latest successes
# Run first when due in the same tick: patching's freshness guard wants today's backup.
FIRST = ("backup",)


@dataclass(frozen=True)
class Planned:
    client: str
    task: str
    category: str
    decision: str  # RUN or WAIT
    reason: str
    # A check-mode run of an idempotent task that proves nothing drifted (scope `verify:`).
    drift_check: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "task": self.task,
            "category": self.category,
            "decision": self.decision,
            "reason": self.reason,
            "drift_check": self.drift_check,
        }

    def waiting(self, reason: str) -> Planned:
        return Planned(self.client, self.task, self.category, WAIT, reason, self.drift_check)


def window_closes(window: Window, moment: datetime) -> datetime:
    """When the window open at ``moment`` (aware, in the contract's zone) closes."""
    day = moment.date()
    if window.start > window.end and moment.time().replace(tzinfo=None) >= window.start:
        day += timedelta(days=1)  # opened this evening, closes tomorrow morning
    if window.end == window.end.max:  # "24:00"
        return datetime(day.year, day.month, day.day, tzinfo=moment.tzinfo) + timedelta(days=1)
    return datetime.combine(day, window.end, tzinfo=moment.tzinfo)


def window_opens(window: Window, moment: datetime) -> datetime:
    """When the window next opens after ``moment`` (aware, in the contract's zone)."""
    for offset in range(8):
        day = moment.date() + timedelta(days=offset)
        start = datetime.combine(day, window.start, tzinfo=moment.tzinfo)
        if start > moment and day.weekday() in window.days:
            return start
    raise AssertionError(f"window {window} never opens")  # a window has at least one day


def typical_duration(book: ledger.Ledger, client: str, task: str) -> timedelta | None:
    """The median duration of the task's latest successful runs for the client (None: none)."""
    durations = [
        (ledger.parse_stamp(ended) - ledger.parse_stamp(started)).total_seconds()
        for started, ended in book.latest_spans(client, task, TYPICAL_RUNS)
    ]
    return timedelta(seconds=statistics.median(durations)) if durations else None


def scheduled_failures(
    book: ledger.Ledger, client: str, task: str, since: datetime, now: datetime
) -> int:
    """Runs of the task the schedule started since ``since`` that failed or were interrupted."""
    rows = book.scan(client, task, since=ledger.stamp_bound(since), until=ledger.stamp_bound(now),
                     statuses=(ledger.FAILED, ledger.STATUS_INTERRUPTED))  # fmt: skip
    return sum(1 for row in rows if row.trigger == ledger.TRIGGER_SCHEDULE)


def _minutes(span: timedelta) -> str:
    minutes = max(1, round(span.total_seconds() / 60))
    return f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def plan_client(
    contract: scope.ClientContract, book: ledger.Ledger, now: datetime
) -> list[Planned]:
    """The decision for every contracted task of one client at ``now`` (aware), the tasks to
    run first in the order they run (backup before the rest), then those that wait."""
    if now.tzinfo is None:
        raise ValueError("the planner needs a time-zone aware now")
    terms = contract.loaded.scope
    client = terms.client
    tz = ZoneInfo(terms.timezone)
    local = now.astimezone(tz)
    entries = [
        (category, name, entry)
        for category in scope.CONTRACTED
        for name, entry in terms.tasks(category).items()
    ]

    def everyone(reason: str) -> list[Planned]:
        return [Planned(client, name, c.value, WAIT, reason) for c, name, _ in entries]

    if not terms.in_force(local.date()):
        return everyone(
            f"contract {terms.contract} is in force from {terms.valid_from} to "
            f"{terms.valid_until}, not on {local.date()}"
        )
    hosts = coverage.contracted_hosts(terms, contract.hosts)
    instant = local + timedelta(microseconds=1)
    runs = coverage.runs_needed(book, client, terms, local, instant, local, hosts, failures=False)
    covered = {task.task: task for task in coverage.compute(terms, runs, local, instant, local,
                                                            hosts).tasks}  # fmt: skip
    blackout = terms.blackout(local.date())
    planned: list[Planned] = []
    for category, name, entry in entries:
        state = covered[name]

        def wait(reason: str, name: str = name, category: scope.Category = category) -> None:
            planned.append(Planned(client, name, category.value, WAIT, reason))

        if entry.every is Cadence.ON_REQUEST:
            wait("on request: runs when an operator asks")
            continue
        period = state.pending
        if period is None:
            wait(f"done this period ({entry.every.value}; last at {state.last_success_at})")
            continue
        if blackout is not None:
            wait(f"blackout {blackout.start} to {blackout.until}: {blackout.reason}")
            continue
        if entry.window is not None and not entry.window.is_open(local):
            opens = window_opens(entry.window, local)
            wait(f"window {entry.window} ({terms.timezone}) opens {opens:%a %Y-%m-%d %H:%M}")
            continue
        typical = typical_duration(book, client, name)
        if entry.window is not None and typical is not None:
            closes = window_closes(entry.window, local)
            if local + typical > closes:
                wait(
                    f"window {entry.window} closes at {closes:%H:%M}, before a typical run "
                    f"({_minutes(typical)}) would end: waits for the next window"
                )
                continue
        failures = scheduled_failures(book, client, name, period.start, local)
        if failures > entry.retries:
            wait(
                f"{failures} scheduled runs failed in {period.label}: no more retries this "
                f"period (retries: {entry.retries})"
            )
            continue
        attempt = f", retry {failures} of {entry.retries}" if failures else ""
        due = f"due: {period.label} has no run yet{attempt}"
        planned.append(Planned(client, name, category.value, RUN, due))
    _guard_patching(planned, terms, hosts, book, local)
    applying = {p.task for p in planned if p.decision == RUN}
    planned += [
        _drift_check(terms, category, name, entry.verify, book, local, applying, blackout)
        for category, name, entry in entries
        if entry.verify is not None
    ]
    # Backup first, then the runs that change hosts, then the drift checks (read-only).
    runs_now = sorted(
        (p for p in planned if p.decision == RUN),
        key=lambda p: 0 if p.task in FIRST else 2 if p.drift_check else 1,
    )
    return runs_now + [p for p in planned if p.decision == WAIT]


def _drift_check(
    terms: scope.Scope,
    category: scope.Category,
    name: str,
    cadence: Cadence,
    book: ledger.Ledger,
    local: datetime,
    applying: set[str],
    blackout: scope.Blackout | None,
) -> Planned:
    """Whether the task's drift check (check mode, at its ``verify:`` cadence) runs now. It is
    read-only, so it needs no window; it waits for a blackout, for the task's own run in this
    tick, and until the task has been applied once (there is no state to drift from before)."""
    client = terms.client
    item = Planned(client, name, category.value, RUN, "", drift_check=True)
    first = coverage.period_start(cadence, local.date())
    label = coverage.period_label(cadence, first)
    if blackout is not None:
        return item.waiting(f"blackout {blackout.start} to {blackout.until}: {blackout.reason}")
    if name in applying:
        return item.waiting("the task itself runs in this tick: the next tick checks for drift")
    applied = next(book.scan(client, name, statuses=(ledger.SUCCESSFUL,), counting=True,
                             newest_first=True), None)  # fmt: skip
    if applied is None:
        return item.waiting("never applied: a drift check needs a successful run to compare with")
    start = datetime(first.year, first.month, first.day, tzinfo=local.tzinfo)
    period_runs = book.scan(
        client, name, since=ledger.stamp_bound(start), until=ledger.stamp_bound(local)
    )
    checks = [row for row in period_runs if row.check and row.trigger == ledger.TRIGGER_SCHEDULE]
    done = next((row for row in reversed(checks) if row.status == ledger.SUCCESSFUL), None)
    if done is not None:
        return item.waiting(f"verified in {label} (verify: {cadence.value}; at {done.started_at})")
    failures = sum(1 for row in checks if row.status in (ledger.FAILED, ledger.STATUS_INTERRUPTED))
    entry = terms.tasks(category)[name]
    if failures > entry.retries:
        return item.waiting(
            f"{failures} drift checks failed in {label}: no more retries (retries: {entry.retries})"
        )
    attempt = f", retry {failures} of {entry.retries}" if failures else ""
    return replace(item, reason=f"drift check due: {label} not verified yet{attempt}")


def _guard_patching(
    planned: list[Planned],
    terms: scope.Scope,
    hosts: dict[str, set[str]],
    book: ledger.Ledger,
    now: datetime,
) -> None:
    """A run the backup guard would refuse waits, unless the backup runs first in this tick.
    ``hosts``: each task's contracted hosts (``coverage.contracted_hosts``)."""
    backing_up = any(p.task in FIRST and p.decision == RUN for p in planned)
    for index, item in enumerate(planned):
        if item.decision != RUN or item.task not in guards.NEEDS_FRESH_BACKUP or backing_up:
            continue
        targets = sorted(hosts[item.task])
        stale = guards.backup_freshness(book, terms, item.client, item.task, targets, now)
        if stale is not None:
            planned[index] = Planned(item.client, item.task, item.category, WAIT, stale)


# --- carrying the plan out -----------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """A planned task after the tick: the run it started (id, status) or why it did not."""

    planned: Planned
    run_id: str | None = None
    status: str | None = None  # the run's status; "error" when it could not start
    message: str | None = None
    exit_code: int = 0
    # A drift check's findings: each host that drifted, with the tasks that would change.
    drift: dict[str, list[str]] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.planned.as_dict(),
            "run_id": self.run_id,
            "status": self.status,
            "message": self.message,
            "drift": self.drift,
        }


def drifted(run: ledger.Run) -> dict[str, list[str]]:
    """The hosts a drift check found drifted, with the tasks that would have changed."""
    found: dict[str, list[str]] = {}
    for host, result in run.hosts.items():
        record = result.evidence.get("drift")
        if isinstance(record, dict) and record.get("state") == "drift":
            found[host] = list(record.get("changed_tasks") or [])
    return found


def carry_out(
    settings: Settings,
    book: ledger.Ledger,
    contract: scope.ClientContract,
    plan: list[Planned],
    now: datetime | None,
    on_progress: Callable[[runner.Progress], None],
    on_start: Callable[[str, runs.Prepared], None] | None = None,
) -> list[Outcome]:
    """Run the client's planned tasks one after the other (``now``: the instant the scope
    decides at, None for the clock). Patching waits when this tick's backup did not succeed,
    and the rest wait when the client turns out to be locked by an operator's run."""
    from omctl import runs  # what running needs; planning and status do not

    terms = contract.loaded.scope
    outcomes: list[Outcome] = []
    first_failed = locked = None
    for item in plan:
        if item.decision != RUN:
            outcomes.append(Outcome(item))
            continue
        needs_backup = item.task in guards.NEEDS_FRESH_BACKUP and not item.drift_check
        if locked is not None or (first_failed and needs_backup):
            reason = locked or f"this tick's {first_failed} did not succeed: it waits"
            outcomes.append(Outcome(item.waiting(reason)))
            continue
        entry = terms.tasks(scope.Category(item.category))[item.task]
        request = runs.Request(
            client=item.client,
            task=item.task,
            limit=",".join(entry.hosts) if entry.hosts else None,
            trigger=ledger.TRIGGER_SCHEDULE,
            check=item.drift_check,
            drift_check=item.drift_check,
        )
        try:
            done = runs.execute(settings, book, request, on_progress, on_start, now=now)
        except ClientLocked as exc:
            locked = f"client busy: {exc.message}"
            outcomes.append(Outcome(item, status="error", message=exc.message,
                                    exit_code=int(exc.exit_code)))  # fmt: skip
            continue
        except OmctlError as exc:
            outcome = Outcome(item, status="error", message=exc.message,
                              exit_code=int(exc.exit_code))  # fmt: skip
        else:
            failed = done.status != ledger.SUCCESSFUL
            outcome = Outcome(item, done.id, done.status, done.message,
                              int(ExitCode.HOST_FAILED) if failed else 0,
                              drifted(done) if item.drift_check else None)  # fmt: skip
        outcomes.append(outcome)
        if item.task in FIRST and outcome.status != ledger.SUCCESSFUL:
            first_failed = item.task
    return outcomes


# --- what a tick alerts ----------------------------------------------------------------------


def this_month(
    contract: scope.ClientContract, book: ledger.Ledger, now: datetime
) -> coverage.Coverage:
    """The client's coverage of the current month (in its contract's zone), as ``status``."""
    terms = contract.loaded.scope
    start, end = coverage.current_month(now, ZoneInfo(terms.timezone))
    hosts = coverage.contracted_hosts(terms, contract.hosts)
    found = coverage.runs_needed(book, terms.client, terms, start, end, now, hosts)
    return coverage.compute(terms, found, start, end, now, hosts)


def alerts(
    contract: scope.ClientContract, book: ledger.Ledger, outcomes: list[Outcome], now: datetime
) -> tuple[list[notify.Alert], tuple[str, ...]]:
    """The alerts of one client's tick: each scheduled run that failed (or could not start),
    each drift check that found drift, and each task overdue now (keyed by its missed period,
    so it is one incident until a run clears it), and each task whose latest drift check found
    drift. Also the prefixes of the incidents that are over when not among them."""
    terms = contract.loaded.scope
    client = terms.client
    found: list[notify.Alert] = []
    for outcome in outcomes:
        item = outcome.planned
        if outcome.planned.decision != RUN or outcome.status is None:
            continue
        if outcome.status == ledger.SUCCESSFUL:
            continue
        key = f"run:{outcome.run_id}" if outcome.run_id else f"error:{client}:{item.task}"
        what = f"drift check of {item.task}" if item.drift_check else item.task
        found.append(notify.Alert(
            key=key,
            title=f"omctl: {what} of {client} {outcome.status}",
            body=f"The scheduled {item.category} task {what} of {client} "
                 f"({terms.contract}) {outcome.status}"
                 + (f" in run {outcome.run_id}" if outcome.run_id else "")
                 + (f": {outcome.message}" if outcome.message else "."),
        ))  # fmt: skip
    for task in this_month(contract, book, now).tasks:
        if not task.overdue or task.overdue_period is None:
            continue
        period = task.missed_text(task.overdue_period)
        found.append(notify.Alert(
            key=f"overdue:{client}:{task.task}:{task.overdue_period.label}",
            title=f"omctl: {task.task} of {client} is overdue",
            body=f"Contract {terms.contract} wants {task.task} {task.cadence}; {period} had "
                 f"no successful run, and none has happened since (last success: "
                 f"{task.last_success_at or 'never'}).",
            level=notify.WARNING,
        ))  # fmt: skip
    found += drift_alerts(terms, book)
    found += vulnerability_alerts(terms, book)
    return found, (f"overdue:{client}:", f"drift:{client}:", f"vulnerable:{client}:")


def drift_alerts(terms: scope.Scope, book: ledger.Ledger) -> list[notify.Alert]:
    """One incident per task whose latest drift check found drift and that no run of the task
    (nor a later check without drift) has set right since: alerted once, then reminded."""
    found = []
    for category in scope.CONTRACTED:
        for name, entry in terms.tasks(category).items():
            if entry.verify is None:
                continue
            latest = next(book.scan(terms.client, name, statuses=(ledger.SUCCESSFUL,
                                    ledger.FAILED), newest_first=True), None)  # fmt: skip
            if latest is None or not latest.check or latest.trigger != ledger.TRIGGER_SCHEDULE:
                continue
            run = ledger.get_run(book, latest.id)
            drift = drifted(run) if run is not None else {}
            if not drift:
                continue
            count = sum(len(tasks) for tasks in drift.values())
            changes = f"{count} change" if count == 1 else f"{count} changes"
            lines = [f"{host}: {'; '.join(tasks)}" for host, tasks in sorted(drift.items())]
            found.append(notify.Alert(
                key=f"drift:{terms.client}:{name}",
                title=f"omctl: drift in {name} of {terms.client} ({changes} on "
                      f"{', '.join(sorted(drift))})",
                body=f"The drift check {latest.id} of {name} ({terms.contract}) found, in check "
                     f"mode, what changed since the last {name} run:\n" + "\n".join(lines)
                     + f"\nRun {name} to set it right, or change the role's settings if the "
                     "change was intended.",
                level=notify.WARNING,
            ))  # fmt: skip
    return found


def vulnerability_alerts(terms: scope.Scope, book: ledger.Ledger) -> list[notify.Alert]:
    """One incident per host whose latest vulnerability scan found something at or above the
    alert score (``vulnerability_alert_score``), keyed by what it found: a new finding makes a
    new incident, a fixed one ends it, and the same findings are only reminded of."""
    latest = next(book.scan(terms.client, "vulnerability_scan", statuses=(ledger.SUCCESSFUL,
                  ledger.FAILED), newest_first=True), None)  # fmt: skip
    run = ledger.get_run(book, latest.id) if latest is not None else None
    if run is None:
        return []
    from omctl import evidence
    from omctl.evidence.vulnerability_scan import VulnerabilityScan

    found = []
    for host, result in sorted(run.hosts.items()):
        record = evidence.parse(VulnerabilityScan.KIND, result.evidence.get(VulnerabilityScan.KIND))
        if not isinstance(record, VulnerabilityScan):
            continue
        alerting = [finding for finding in record.findings if finding.alert]
        if not alerting:
            continue
        which = hashlib.sha256(repr(sorted(f.key for f in alerting)).encode()).hexdigest()[:12]
        lines = [f"{f.type} {f.name} {f.installed}: {f.id} ({f.severity}"
                 + (f" {f.score:.1f}" if f.score is not None else "") + f"), {f.fix_text}"
                 + (f" - {f.reference}" if f.reference else "")
                 for f in alerting]  # fmt: skip
        found.append(notify.Alert(
            key=f"vulnerable:{terms.client}:{host}:{which}",
            title=f"omctl: {len(alerting)} known vulnerabilit"
                  f"{'y' if len(alerting) == 1 else 'ies'} on {host} of {terms.client}",
            body=f"The vulnerability scan {run.id} of {host} ({terms.contract}) found, at or "
                 f"above the alert score {record.alert_score}:\n" + "\n".join(lines),
            level=notify.WARNING,
        ))  # fmt: skip
    return found


# --- one line per client ---------------------------------------------------------------------


def summary(contract: scope.ClientContract, book: ledger.Ledger, now: datetime) -> dict[str, Any]:
    """A client at a glance, as of ``now``: its overdue tasks, what a tick would run now, the
    task due soonest after (by its coverage's next due date) and its unresolved failures."""
    terms = contract.loaded.scope
    found = this_month(contract, book, now)
    upcoming = sorted((t.next_due, t.task) for t in found.tasks if t.next_due)
    return {
        "client": terms.client,
        "contract": terms.contract,
        "overdue": [t.task for t in found.tasks if t.overdue],
        "due_now": [
            f"{p.task} (drift check)" if p.drift_check else p.task
            for p in plan_client(contract, book, now)
            if p.decision == RUN
        ],
        "next_due": {"task": upcoming[0][1], "by": upcoming[0][0]} if upcoming else None,
        "unresolved_failures": len(found.unresolved),
        "error": None,
    }
