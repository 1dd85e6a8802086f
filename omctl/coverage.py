"""Coverage of a contract: what the client bought against what the ledger shows was done.

Rules (the README's ``omctl status`` section says the same for operators):

- **Periods** are calendar periods in the contract's time zone: ``daily`` a calendar day,
  ``weekly`` an ISO week (Monday to Sunday), ``monthly`` a calendar month, ``quarterly`` a
  calendar quarter. A period is half-open ``[start, end)`` and is cut to the contract's dates
  (``valid_from`` 00:00 to the end of ``valid_until``): a contract that starts on a Wednesday
  expects its first weekly run in the rest of that week, and nothing after ``valid_until``.
  ``on_request`` tasks are never expected and never overdue.
- **A run covers a period** when it is of the task, in scope, not ``--check``, successful on
  every host it ran on (at least one), and started inside the period. Out-of-scope, refused,
  check-mode, failed and interrupted runs never cover anything. Given the hosts the contract
  covers for each task (resolved from the inventory, as ``omctl status`` and ``omctl report``
  do), coverage is per host: a period is covered only when every one of those hosts had a
  successful in-scope, non-check result of the task in it (a run that failed on one host still
  counts for the others); the hosts left without one are named with the missed period.
  The task's *last success* is then the latest success of its least recently done host
  (none while a contracted host never had one), each host's own is listed as well.
- **Expected / done / missed**: of the periods overlapping ``[start, end)`` within the contract,
  a covered period is *done*; an uncovered period that has ended by ``now`` is *missed*; the
  current period, still open and not yet covered, is *pending* (neither done nor missed);
  periods after ``now`` are not expected yet. ``expected == done + len(missed)``.
- **Next due** is the end of the current period when it is not covered yet, else the end of
  the next period (a weekly task done on Tuesday is next due by the end of the following
  week). ``None`` for ``on_request`` and once the contract has ended; before the contract
  starts it is the end of its first period.
- **Overdue**: while the contract is in force, the most recent fully elapsed period (cut to the
  contract) has no covering run *and* none has happened in the current period since. A task
  never run becomes overdue once its first period has elapsed; a late run clears the flag (the
  miss stays in ``missed``). A contract whose first period is still open has nothing overdue.
- **Unresolved failures**: failed or interrupted runs started before ``end`` (whenever: an
  open failure stays open across periods) that no later successful run of the same task has
  resolved as of ``now``. Resolution is per host: every host that failed (or, when the run
  recorded no host results, every targeted host) needs a later successful run on it. A later
  check-mode success only resolves a check-mode failure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from omctl import inventory, ledger, scope
from omctl.catalog import Category
from omctl.errors import BadInput
from omctl.ledger import Run, parse_stamp
from omctl.scope import Cadence

MONTH_RE = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{2})$")


@dataclass(frozen=True)
class Period:
    """One cadence period, half-open ``[start, end)`` in the contract's time zone."""

    start: datetime
    end: datetime
    label: str

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def as_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label}


@dataclass
class TaskCoverage:
    task: str
    category: str
    cadence: str
    window: str | None
    hosts: list[str] | None
    last_success_at: str | None
    last_success_run: str | None
    next_due: str | None
    overdue: bool
    expected: int
    done: int
    missed: list[Period]
    pending: Period | None = None  # the current period, open and not covered yet
    successes: int = 0  # covering runs started in [start, end) (on_request tasks too)
    overdue_period: Period | None = None  # when overdue: the elapsed period left without a run
    missing_hosts: dict[str, list[str]] = field(default_factory=dict)  # period label -> hosts
    contracted_hosts: list[str] | None = None  # resolved from the inventory; None: per task
    # Per host, when counted per host: the start of its latest success (None: never).
    last_success_by_host: dict[str, str | None] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "category": self.category,
            "cadence": self.cadence,
            "window": self.window,
            "hosts": self.hosts,
            "last_success_at": self.last_success_at,
            "last_success_run": self.last_success_run,
            "next_due": self.next_due,
            "overdue": self.overdue,
            "expected": self.expected,
            "done": self.done,
            "missed": [period.as_dict() for period in self.missed],
            "pending": self.pending.as_dict() if self.pending else None,
            "successes": self.successes,
            "overdue_period": self.overdue_period.as_dict() if self.overdue_period else None,
            "missing_hosts": self.missing_hosts,
            "contracted_hosts": self.contracted_hosts,
            "last_success_by_host": self.last_success_by_host,
        }

    def never_done_on(self) -> list[str]:
        """Contracted hosts that never had a success, when others had one."""
        never = [host for host, stamp in self.last_success_by_host.items() if stamp is None]
        return never if len(never) < len(self.last_success_by_host) else []

    def missed_text(self, period: Period) -> str:
        """The period's label, with the hosts left without a run when others had one."""
        hosts = self.missing_hosts.get(period.label)
        partial = hosts and self.contracted_hosts and set(hosts) != set(self.contracted_hosts)
        return f"{period.label} on {', '.join(hosts)}" if partial else period.label


@dataclass
class Coverage:
    client: str
    contract: str
    start: datetime
    end: datetime
    now: datetime
    tasks: list[TaskCoverage]
    out_of_scope: list[Run]
    refused: list[Run]
    unresolved: list[Run]
    timezone: str = "UTC"
    valid_from: date | None = None
    valid_until: date | None = None

    @property
    def overdue(self) -> bool:
        return any(task.overdue for task in self.tasks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "contract": self.contract,
            "timezone": self.timezone,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "now": self.now.isoformat(),
            "overdue": self.overdue,
            "tasks": [task.as_dict() for task in self.tasks],
            "out_of_scope": [run.summary() for run in self.out_of_scope],
            "refused": [run.summary() for run in self.refused],
            "unresolved": [_unresolved_dict(run) for run in self.unresolved],
        }


def _unresolved_dict(run: Run) -> dict[str, Any]:
    data = run.summary()
    data["failed_hosts"] = sorted(_failing_hosts(run))
    data["message"] = run.message
    return data


# --- calendar periods --------------------------------------------------------------------


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_start(cadence: Cadence, day: date) -> date:
    """The first day of the cadence period holding ``day``."""
    if cadence is Cadence.DAILY:
        return day
    if cadence is Cadence.WEEKLY:
        return day - timedelta(days=day.weekday())
    if cadence is Cadence.MONTHLY:
        return day.replace(day=1)
    if cadence is Cadence.QUARTERLY:
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    raise ValueError(f"{cadence.value} has no periods")


def next_period_start(cadence: Cadence, first: date) -> date:
    """The first day of the period after the one starting on ``first``."""
    if cadence is Cadence.DAILY:
        return first + timedelta(days=1)
    if cadence is Cadence.WEEKLY:
        return first + timedelta(days=7)
    if cadence is Cadence.MONTHLY:
        return _add_months(first, 1)
    if cadence is Cadence.QUARTERLY:
        return _add_months(first, 3)
    raise ValueError(f"{cadence.value} has no periods")


def _previous_period_start(cadence: Cadence, first: date) -> date:
    return period_start(cadence, first - timedelta(days=1))


def period_label(cadence: Cadence, first: date) -> str:
    if cadence is Cadence.DAILY:
        return first.isoformat()
    if cadence is Cadence.WEEKLY:
        year, week, _ = first.isocalendar()
        return f"week {year}-W{week:02d}"
    if cadence is Cadence.MONTHLY:
        return f"{first:%Y-%m}"
    return f"{first.year}-Q{(first.month - 1) // 3 + 1}"


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


class _Calendar:
    """Periods of one cadence, cut to the contract's dates."""

    def __init__(self, cadence: Cadence, contract: scope.Scope, tz: ZoneInfo):
        self.cadence = cadence
        self.tz = tz
        self.first_day = contract.valid_from
        self.end_day = contract.valid_until + timedelta(days=1)  # exclusive

    def period(self, first: date) -> Period | None:
        """The period starting (uncut) on ``first``, cut to the contract; None outside it."""
        after = next_period_start(self.cadence, first)
        start, end = max(first, self.first_day), min(after, self.end_day)
        if start >= end:
            return None
        label = period_label(self.cadence, first)
        return Period(_midnight(start, self.tz), _midnight(end, self.tz), label)

    def holding(self, moment: datetime) -> date:
        """The uncut first day of the period holding ``moment``."""
        return period_start(self.cadence, moment.astimezone(self.tz).date())

    def overlapping(self, start: datetime, end: datetime) -> list[Period]:
        first = self.holding(max(start, _midnight(self.first_day, self.tz)))
        found: list[Period] = []
        while _midnight(first, self.tz) < end and first < self.end_day:
            period = self.period(first)
            if period is not None and period.end > start:
                found.append(period)
            first = next_period_start(self.cadence, first)
        return found


def month(text: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``"2026-11"`` -> [2026-11-01 00:00, 2026-12-01 00:00) in ``tz``."""
    match = MONTH_RE.match(text.strip())
    if not match or not 1 <= int(match["month"]) <= 12:
        raise BadInput(f"period {text!r} is not a month like 2026-11")
    first = date(int(match["year"]), int(match["month"]), 1)
    return _midnight(first, tz), _midnight(_add_months(first, 1), tz)


def current_month(now: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The calendar month holding ``now`` in ``tz``."""
    local = now.astimezone(tz)
    return month(f"{local:%Y-%m}", tz)


# --- runs --------------------------------------------------------------------------------


def covers(run: Run) -> bool:
    """Does this run count as the contracted task done? (see the module's rules)"""
    return (
        run.status == ledger.SUCCESSFUL
        and run.in_scope
        and not run.check
        and bool(run.hosts)
        and all(not (h.failed or h.unreachable) for h in run.hosts.values())
    )


def _failing_hosts(run: Run) -> set[str]:
    failing = {name for name, h in run.hosts.items() if h.failed or h.unreachable}
    if failing:
        return failing
    return set(run.targets)  # nothing per host recorded (interrupted, tool failure): all targets


def _succeeded_hosts(run: Run) -> set[str]:
    return {name for name, h in run.hosts.items() if not (h.failed or h.unreachable)}


def _order(run: Run) -> tuple[datetime, int]:
    return parse_stamp(run.started_at), run.first_seq


def _later_successes(runs: list[Run], failed: Run, now: datetime) -> list[Run]:
    """Successful runs of the failed run's task after it and before ``now``; a check-mode
    success only counts for a check-mode failure."""
    return [
        later
        for later in runs
        if later.task == failed.task
        and later.status == ledger.SUCCESSFUL
        and _order(later) > _order(failed)
        and parse_stamp(later.started_at) < now
        and (failed.check or not later.check)
    ]


def unresolved_failures(runs: list[Run], end: datetime, now: datetime) -> list[Run]:
    """Failed or interrupted runs started before ``end`` not resolved by ``now``."""
    open_runs: list[Run] = []
    for failed in runs:
        if failed.status not in (ledger.FAILED, ledger.STATUS_INTERRUPTED):
            continue
        started = parse_stamp(failed.started_at)
        if started >= end or started >= now:
            continue
        later = _later_successes(runs, failed, now)
        remaining = _failing_hosts(failed)
        if not remaining:  # no host known at all: any later success resolves it
            resolved = bool(later)
        else:
            for success in later:
                remaining -= _succeeded_hosts(success)
            resolved = not remaining
        if not resolved:
            open_runs.append(failed)
    return open_runs


# --- coverage ----------------------------------------------------------------------------


def _task_coverage(
    name: str,
    category: Category,
    entry: scope.TaskScope,
    contract: scope.Scope,
    runs: list[Run],
    start: datetime,
    end: datetime,
    now: datetime,
    hosts: set[str] | None,
) -> TaskCoverage:
    tz = ZoneInfo(contract.timezone)
    done_at = sorted(
        (
            (parse_stamp(run.started_at), run)
            for run in runs
            if run.task == name and covers(run) and parse_stamp(run.started_at) < now
        ),
        key=lambda pair: (pair[0], pair[1].first_seq),
    )
    stamps = [moment for moment, _ in done_at]
    last = done_at[-1][1] if done_at else None
    host_results = _host_successes(runs, name, now) if hosts else []
    latest_by_host: dict[str, Run | None] = dict.fromkeys(sorted(hosts or ()))
    for _, host, run in host_results:
        latest = latest_by_host.get(host)
        if host in latest_by_host and (latest is None or _order(run) > _order(latest)):
            latest_by_host[host] = run
    if hosts:
        # The task was last done everywhere when its least recently done host had it:
        # never, while one contracted host has no success at all.
        latest_runs = [run for run in latest_by_host.values() if run is not None]
        last = min(latest_runs, key=_order) if len(latest_runs) == len(hosts) else None
    result = TaskCoverage(
        task=name,
        category=category.value,
        cadence=entry.every.value,
        window=str(entry.window) if entry.window else None,
        hosts=list(entry.hosts) if entry.hosts else None,
        last_success_at=last.started_at if last else None,
        last_success_run=last.id if last else None,
        next_due=None,
        overdue=False,
        expected=0,
        done=0,
        missed=[],
        successes=sum(1 for moment in stamps if start <= moment < end),
        contracted_hosts=sorted(hosts) if hosts else None,
        last_success_by_host={
            host: run.started_at if run else None for host, run in latest_by_host.items()
        },
    )
    if entry.every is Cadence.ON_REQUEST:
        return result

    def missing(period: Period) -> set[str]:
        """Contracted hosts without a success in ``period`` (none when counted per task)."""
        if not hosts:
            return set() if any(period.contains(m) for m in stamps) else {"*"}
        return set(hosts) - {host for moment, host, _ in host_results if period.contains(moment)}

    def covered(period: Period) -> bool:
        return not missing(period)

    def note_missing(period: Period) -> None:
        if hosts:
            result.missing_hosts[period.label] = sorted(missing(period))

    calendar = _Calendar(entry.every, contract, tz)
    for period in calendar.overlapping(start, end):
        if covered(period):
            result.done += 1
        elif period.end <= now:
            result.missed.append(period)
            note_missing(period)
        elif period.start <= now:
            result.pending = period
    result.expected = result.done + len(result.missed)

    contract_start = _midnight(contract.valid_from, tz)
    contract_end = _midnight(calendar.end_day, tz)
    if now < contract_start:
        first = calendar.period(calendar.holding(contract_start))
        result.next_due = first.end.isoformat() if first else None
        return result
    if now >= contract_end:
        return result
    current_first = calendar.holding(now)
    current = calendar.period(current_first)
    assert current is not None  # now is inside the contract
    previous = calendar.period(_previous_period_start(entry.every, current_first))
    if covered(current):
        following = calendar.period(next_period_start(entry.every, current_first))
        result.next_due = following.end.isoformat() if following else None
    else:
        result.next_due = current.end.isoformat()
        if previous is not None and not covered(previous):
            result.overdue, result.overdue_period = True, previous
            note_missing(previous)
    return result


def _host_successes(runs: list[Run], name: str, now: datetime) -> list[tuple[datetime, str, Run]]:
    """(start, host, run) of every successful host result of in-scope, non-check runs of a task."""
    found = []
    for run in runs:
        if run.task != name or not run.in_scope or run.check:
            continue
        if run.status not in (ledger.SUCCESSFUL, ledger.FAILED):
            continue  # refused, running or interrupted: no trustworthy per-host result
        moment = parse_stamp(run.started_at)
        if moment < now:
            found.extend((moment, host, run) for host in _succeeded_hosts(run))
    return found


def contracted_hosts(contract: scope.Scope, hosts: inventory.Inventory) -> dict[str, set[str]]:
    """Per contracted task, the inventory hosts its scope entry covers."""
    every = set(hosts.hosts)
    return {
        name: every if entry.hosts is None else hosts.covered(entry.hosts) or set()
        for category in scope.CONTRACTED
        for name, entry in contract.tasks(category).items()
    }


_BROKEN = ("failed", "unreachable")  # a host's index status that is no success


def runs_needed(
    book: ledger.Ledger,
    client: str,
    contract: scope.Scope,
    start: datetime,
    end: datetime,
    now: datetime,
    hosts: dict[str, set[str]] | None = None,
    failures: bool = True,
) -> list[Run]:
    """The runs of ``client`` that ``compute`` needs for ``[start, end)`` as of ``now``, found
    through the run index and folded; ``compute`` over them gives what it gives over all of
    the client's runs. They are: every run started in ``[start, end)``; per contracted task, its
    counting runs in the periods its coverage looks at (those overlapping ``[start, end)``, the
    current and the previous one); the latest success of the task (on each contracted host);
    each failed or interrupted run started before ``end`` and ``now``, with the later
    successes that resolve it (all of them when none does). Without ``failures`` the last
    are left out (the tick's planner reads only which periods are covered), and the runs are
    built from their index rows alone (``IndexedRun.as_run``: no evidence, no entries read)."""
    tz = ZoneInfo(contract.timezone)
    start, end, now = start.astimezone(tz), end.astimezone(tz), now.astimezone(tz)
    bound = ledger.stamp_bound
    before_now = bound(now)
    rows = {run.id: run for run in book.scan(client, since=bound(start), until=bound(end))}
    counted = (ledger.SUCCESSFUL, ledger.FAILED)
    for category in scope.CONTRACTED:
        for name, entry in contract.tasks(category).items():
            for low, high in _windows(entry.every, contract, tz, start, end, now):
                rows.update(
                    (run.id, run)
                    for run in book.scan(client, name, bound(low), min(bound(high), before_now),
                                         counted, counting=True)
                )  # fmt: skip
            rows.update(_latest_successes(book, client, name, (hosts or {}).get(name), now))
    if not failures:  # what the index rows hold is all the planner reads
        return sorted((row.as_run() for row in rows.values()), key=lambda run: run.first_seq)
    wanted = set(rows)
    failed_runs = book.scan(
        client,
        until=bound(min(end, now)),
        statuses=(ledger.FAILED, ledger.STATUS_INTERRUPTED),
    )
    for failed in ledger.runs_of(book, [run.id for run in failed_runs], evidence=False):
        wanted.add(failed.id)
        wanted.update(_resolving(book, failed, before_now))
    return ledger.runs_of(book, wanted)


def _windows(
    cadence: Cadence,
    contract: scope.Scope,
    tz: ZoneInfo,
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[tuple[datetime, datetime]]:
    """The spans of the periods ``_task_coverage`` checks for a cadence."""
    if cadence is Cadence.ON_REQUEST:
        return []
    calendar = _Calendar(cadence, contract, tz)
    periods = calendar.overlapping(start, end)
    found = [(periods[0].start, periods[-1].end)] if periods else []
    if _midnight(contract.valid_from, tz) <= now < _midnight(calendar.end_day, tz):
        current_first = calendar.holding(now)
        current = calendar.period(current_first)
        previous = calendar.period(_previous_period_start(cadence, current_first))
        around = [period for period in (previous, current) if period is not None]
        found.append((around[0].start, around[-1].end))
    return found


def _latest_successes(
    book: ledger.Ledger, client: str, task: str, hosts: set[str] | None, now: datetime
) -> dict[str, ledger.IndexedRun]:
    """The task's latest covering run before ``now``, or per contracted host the latest run
    it succeeded in (newest first through the index, until every host has one)."""
    found: dict[str, ledger.IndexedRun] = {}
    left = set(hosts or ())
    statuses = (ledger.SUCCESSFUL, ledger.FAILED) if hosts else (ledger.SUCCESSFUL,)
    rows = book.scan(client, task, until=ledger.stamp_bound(now), statuses=statuses,
                     counting=True, newest_first=True)  # fmt: skip
    for row in rows:
        succeeded = {host for host, state in row.hosts.items() if state not in _BROKEN}
        if not hosts:
            if row.hosts and len(succeeded) == len(row.hosts):
                found[row.id] = row
                break
            continue
        if succeeded & left:
            found[row.id] = row
            left -= succeeded
            if not left:
                break
    return found


def _resolving(book: ledger.Ledger, failed: Run, before_now: str) -> set[str]:
    """The later successes that resolve ``failed`` (see ``unresolved_failures``), read in
    start order until it is resolved: all of them when it stays open."""
    found: set[str] = set()
    remaining = _failing_hosts(failed)
    rows = book.scan(failed.client, failed.task, since=failed.started_at, until=before_now,
                     statuses=(ledger.SUCCESSFUL,))  # fmt: skip
    for row in rows:
        if (row.started_at, row.first_seq) <= (failed.started_at, failed.first_seq):
            continue
        if row.check and not failed.check:
            continue
        found.add(row.id)
        remaining -= {host for host, state in row.hosts.items() if state not in _BROKEN}
        if not remaining:
            break
    return found


def compute(
    contract: scope.Scope,
    runs: list[Run],
    start: datetime,
    end: datetime,
    now: datetime,
    hosts: dict[str, set[str]] | None = None,
) -> Coverage:
    """Coverage of ``contract`` over ``[start, end)`` as of ``now``, from the client's runs
    (all of them, any time: periods straddling ``start`` and failures resolved later need
    runs outside the range). With ``hosts`` (see ``contracted_hosts``) it is per host."""
    if start.tzinfo is None or end.tzinfo is None or now.tzinfo is None:
        raise BadInput("coverage needs time-zone aware start, end and now")
    if end <= start:
        raise BadInput(f"the period is empty: {start.isoformat()} is not before {end.isoformat()}")
    tz = ZoneInfo(contract.timezone)
    start, end, now = start.astimezone(tz), end.astimezone(tz), now.astimezone(tz)
    tasks = [
        _task_coverage(
            name, category, entry, contract, runs, start, end, now, (hosts or {}).get(name)
        )
        for category in scope.CONTRACTED
        for name, entry in contract.tasks(category).items()
    ]

    def within(run: Run) -> bool:
        return start <= parse_stamp(run.started_at) < end

    refused = [run for run in runs if run.status == ledger.STATUS_REFUSED and within(run)]
    out_of_scope = [
        run
        for run in runs
        if not run.in_scope and run.status != ledger.STATUS_REFUSED and within(run)
    ]
    return Coverage(
        client=contract.client,
        contract=contract.contract,
        start=start,
        end=end,
        now=now,
        tasks=tasks,
        out_of_scope=out_of_scope,
        refused=refused,
        unresolved=unresolved_failures(runs, end, now),
        timezone=contract.timezone,
        valid_from=contract.valid_from,
        valid_until=contract.valid_until,
    )
