"""Coverage over a ledger of real runs' records placed at chosen times (see ledger_replay)."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from omctl import coverage, scope
from omctl.errors import BadInput
from tests.unit.ledger_replay import Replay, open_replay

BERLIN = ZoneInfo("Europe/Berlin")

CONTRACT: dict[str, Any] = {
    "client": "acme",
    "contract": "ACME-2026",
    "valid_from": date(2026, 1, 1),
    "valid_until": date(2027, 12, 31),
    "timezone": "Europe/Berlin",
    "operation": {
        "content_sync": {"every": "weekly", "window": "Mon-Fri 09:00-17:00"},
        "access_review": {"every": "on_request"},
    },
    "maintenance": {
        "healthcheck": {"every": "daily", "hosts": ["web"]},
        "patching": {"every": "monthly", "window": "Sun 02:00-04:00"},
        "restore_drill": {"every": "quarterly"},
    },
}
CATEGORY = {"content_sync": "operation", "access_review": "operation"}


@pytest.fixture
def replay(tmp_path, tmp_path_factory):
    opened = open_replay(tmp_path, tmp_path_factory)
    yield opened
    opened.book.close()


def contract(**changes: Any) -> scope.Scope:
    return scope.Scope.model_validate({**CONTRACT, **changes})


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)


def add(replay: Replay, template: str, at: datetime, task: str = "healthcheck") -> str:
    return replay.add(template, at, task=task, category=CATEGORY.get(task, "maintenance"))


def status(replay: Replay, now: datetime, agreed: scope.Scope | None = None, month: str = ""):
    agreed = agreed or contract()
    start, end = coverage.month(month, BERLIN) if month else coverage.current_month(now, BERLIN)
    return compute(agreed, replay, start, end, now)


def compute(
    agreed: scope.Scope,
    replay: Replay,
    start: datetime,
    end: datetime,
    now: datetime,
    hosts: dict[str, set[str]] | None = None,
) -> coverage.Coverage:
    """Coverage over all of the client's runs, checked against coverage over the runs the run
    index selects for the question (``runs_needed``, what status and report read)."""
    every = replay.runs()
    result = coverage.compute(agreed, every, start, end, now, hosts)
    needed = coverage.runs_needed(replay.book, "acme", agreed, start, end, now, hosts)
    assert {run.id for run in needed} <= {run.id for run in every}
    assert coverage.compute(agreed, needed, start, end, now, hosts).as_dict() == result.as_dict()
    return result


def task(result: coverage.Coverage, name: str) -> coverage.TaskCoverage:
    (found,) = [t for t in result.tasks if t.task == name]
    return found


def labels(periods: list[coverage.Period]) -> list[str]:
    return [period.label for period in periods]


# --- periods --------------------------------------------------------------------------------


def test_month_is_the_calendar_month_in_the_zone() -> None:
    start, end = coverage.month("2026-11", BERLIN)
    assert start == berlin(2026, 11, 1) and end == berlin(2026, 12, 1)
    assert start.utcoffset().total_seconds() == 3600  # CET, after the October change
    assert coverage.month("2026-12", BERLIN)[1] == berlin(2027, 1, 1)


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-1", "11-2026", "2026/11", ""])
def test_bad_month_is_bad_input(text: str) -> None:
    with pytest.raises(BadInput, match="not a month"):
        coverage.month(text, BERLIN)


@pytest.mark.parametrize(
    ("cadence", "day", "first", "after", "label"),
    [
        ("daily", date(2026, 11, 3), date(2026, 11, 3), date(2026, 11, 4), "2026-11-03"),
        ("weekly", date(2026, 11, 1), date(2026, 10, 26), date(2026, 11, 2), "week 2026-W44"),
        ("weekly", date(2027, 1, 2), date(2026, 12, 28), date(2027, 1, 4), "week 2026-W53"),
        ("monthly", date(2026, 12, 31), date(2026, 12, 1), date(2027, 1, 1), "2026-12"),
        ("quarterly", date(2026, 11, 3), date(2026, 10, 1), date(2027, 1, 1), "2026-Q4"),
    ],
)
def test_calendar_periods(cadence: str, day: date, first: date, after: date, label: str) -> None:
    every = scope.Cadence(cadence)
    assert coverage.period_start(every, day) == first
    assert coverage.next_period_start(every, first) == after
    assert coverage.period_label(every, first) == label


# --- due and overdue, per cadence -------------------------------------------------------------


def test_daily(replay: Replay) -> None:
    add(replay, "ok", berlin(2026, 11, 2, 10))
    add(replay, "ok", berlin(2026, 11, 3, 10))
    daily = task(status(replay, berlin(2026, 11, 4, 12)), "healthcheck")
    assert (daily.expected, daily.done) == (3, 2)
    assert labels(daily.missed) == ["2026-11-01"]
    assert daily.pending is not None and daily.pending.label == "2026-11-04"
    assert not daily.overdue
    assert daily.next_due == berlin(2026, 11, 5).isoformat()
    assert daily.last_success_at is not None and daily.last_success_at.startswith("2026-11-03T09")

    later = task(status(replay, berlin(2026, 11, 5, 12)), "healthcheck")
    assert later.overdue and labels(later.missed) == ["2026-11-01", "2026-11-04"]
    assert later.next_due == berlin(2026, 11, 6).isoformat()


def test_weekly_done_on_tuesday_is_next_due_by_the_end_of_next_week(replay: Replay) -> None:
    add(replay, "ok", berlin(2026, 11, 3, 10), task="content_sync")  # Tuesday of W45
    thursday = task(status(replay, berlin(2026, 11, 5, 12)), "content_sync")
    assert not thursday.overdue
    assert thursday.next_due == berlin(2026, 11, 16).isoformat()  # end of W46 (Sun 24:00)
    assert thursday.category == "operation" and thursday.window == "Mon-Fri 09:00-17:00"

    next_tuesday = task(status(replay, berlin(2026, 11, 10, 12)), "content_sync")
    assert not next_tuesday.overdue  # W45 was done, W46 is still open
    assert next_tuesday.next_due == berlin(2026, 11, 16).isoformat()

    week_after = task(status(replay, berlin(2026, 11, 17, 12)), "content_sync")
    assert week_after.overdue  # W46 elapsed without a run
    assert "week 2026-W46" in labels(week_after.missed)


def test_late_run_clears_overdue_but_the_miss_stays(replay: Replay) -> None:
    add(replay, "ok", berlin(2026, 11, 3, 10), task="content_sync")
    add(replay, "ok", berlin(2026, 11, 18, 10), task="content_sync")  # W47, W46 skipped
    result = status(replay, berlin(2026, 11, 19, 12))
    weekly = task(result, "content_sync")
    assert not weekly.overdue
    assert weekly.next_due == berlin(2026, 11, 30).isoformat()
    # November overlaps W44 (Sun Nov 1) to W48; W44 and W46 have no run.
    assert labels(weekly.missed) == ["week 2026-W44", "week 2026-W46"]
    assert (weekly.expected, weekly.done) == (4, 2)


def test_monthly(replay: Replay) -> None:
    add(replay, "ok", berlin(2026, 10, 11, 3), task="patching")
    mid_november = task(status(replay, berlin(2026, 11, 15, 12)), "patching")
    assert not mid_november.overdue  # October was done, November still open
    assert mid_november.next_due == berlin(2026, 12, 1).isoformat()
    assert mid_november.expected == 0 and mid_november.pending.label == "2026-11"

    december = task(status(replay, berlin(2026, 12, 2, 12)), "patching")
    assert december.overdue and december.next_due == berlin(2027, 1, 1).isoformat()
    assert december.overdue_period is not None and december.overdue_period.label == "2026-11"

    november = task(status(replay, berlin(2026, 12, 2, 12), month="2026-11"), "patching")
    assert (november.expected, november.done, labels(november.missed)) == (1, 0, ["2026-11"])


def test_quarterly(replay: Replay) -> None:
    add(replay, "ok", berlin(2026, 8, 1, 10), task="restore_drill")
    in_q4 = task(status(replay, berlin(2026, 11, 15, 12)), "restore_drill")
    assert not in_q4.overdue and in_q4.next_due == berlin(2027, 1, 1).isoformat()
    in_q1 = task(status(replay, berlin(2027, 1, 5, 12)), "restore_drill")
    assert in_q1.overdue and in_q1.next_due == berlin(2027, 4, 1).isoformat()

    add(replay, "ok", berlin(2026, 12, 20, 10), task="restore_drill")
    covered_q4 = task(status(replay, berlin(2026, 12, 21, 12)), "restore_drill")
    assert covered_q4.next_due == berlin(2027, 4, 1).isoformat()  # Q4 done: due by end of Q1


def test_on_request_is_never_expected_nor_overdue(replay: Replay) -> None:
    result = status(replay, berlin(2026, 11, 20, 12))
    review = task(result, "access_review")
    assert (review.expected, review.done, review.missed, review.overdue) == (0, 0, [], False)
    assert review.next_due is None and review.successes == 0
    add(replay, "ok", berlin(2026, 11, 10, 10), task="access_review")
    review = task(status(replay, berlin(2026, 11, 20, 12)), "access_review")
    assert review.successes == 1 and review.last_success_run is not None and not review.overdue


def test_never_run_task_is_overdue_once_its_first_period_elapsed(replay: Replay) -> None:
    agreed = contract(valid_from=date(2026, 11, 4))  # a Wednesday
    in_first_week = status(replay, berlin(2026, 11, 8, 23), agreed)
    assert not task(in_first_week, "content_sync").overdue
    assert task(in_first_week, "healthcheck").overdue  # Nov 4..7 have elapsed
    assert task(in_first_week, "content_sync").next_due == berlin(2026, 11, 9).isoformat()
    second_week = status(replay, berlin(2026, 11, 9, 1), agreed)
    assert task(second_week, "content_sync").overdue
    assert second_week.overdue


# --- time zone, contract dates ----------------------------------------------------------------


def test_month_boundary_is_in_the_contract_time_zone(replay: Replay) -> None:
    add(replay, "ok", datetime(2026, 10, 31, 23, 30, tzinfo=UTC), task="patching")
    now = berlin(2026, 12, 15, 12)
    november = task(status(replay, now, month="2026-11"), "patching")
    october = task(status(replay, now, month="2026-10"), "patching")
    assert (november.done, november.missed) == (1, [])  # 00:30 on Nov 1 in Berlin
    assert labels(october.missed) == ["2026-10"]

    in_utc = contract(timezone="UTC")
    utc_oct = compute(in_utc, replay, *coverage.month("2026-10", ZoneInfo("UTC")), now)
    assert task(utc_oct, "patching").done == 1  # the same run is October in UTC


def test_contract_starting_mid_month_expects_only_what_it_overlaps(replay: Replay) -> None:
    agreed = contract(valid_from=date(2026, 11, 18))  # a Wednesday
    add(replay, "ok", berlin(2026, 11, 10, 3), task="patching")  # before the contract
    add(replay, "ok", berlin(2026, 11, 19, 10), task="content_sync")
    result = status(replay, berlin(2026, 12, 15, 12), agreed, month="2026-11")
    monthly = task(result, "patching")
    assert (monthly.expected, monthly.done) == (1, 0)
    assert monthly.missed[0].start == berlin(2026, 11, 18)
    assert monthly.missed[0].end == berlin(2026, 12, 1)
    weekly = task(result, "content_sync")
    assert (weekly.expected, weekly.done) == (3, 1)  # W47 from Wed, W48, W49 (Nov 30)
    assert labels(weekly.missed) == ["week 2026-W48", "week 2026-W49"]
    assert task(result, "healthcheck").expected == 13  # Nov 18..30

    early = status(replay, berlin(2026, 11, 20, 12), agreed)
    assert not task(early, "patching").overdue and not task(early, "content_sync").overdue


def test_nothing_is_expected_after_the_contract_ends(replay: Replay) -> None:
    agreed = contract(valid_until=date(2026, 11, 25))  # a Wednesday
    result = status(replay, berlin(2026, 12, 15, 12), agreed, month="2026-11")
    weekly = task(result, "content_sync")
    assert labels(weekly.missed)[-1] == "week 2026-W48"
    assert weekly.missed[-1].end == berlin(2026, 11, 26)
    assert task(result, "healthcheck").expected == 25
    after = status(replay, berlin(2026, 12, 15, 12), agreed)
    assert not after.overdue and all(t.next_due is None for t in after.tasks)


# --- what counts --------------------------------------------------------------------------


def test_check_failed_and_out_of_scope_runs_do_not_count(replay: Replay) -> None:
    day = berlin(2026, 11, 3, 10)
    add(replay, "check", day)
    add(replay, "failed", day.replace(hour=11))
    add(replay, "out_of_scope", day.replace(hour=12))
    add(replay, "refused", day.replace(hour=13))
    replay.interrupted(day.replace(hour=14))
    daily = task(status(replay, berlin(2026, 11, 4, 12)), "healthcheck")
    assert "2026-11-03" in labels(daily.missed)
    assert daily.last_success_at is None and daily.overdue

    add(replay, "ok", day.replace(hour=15))
    daily = task(status(replay, berlin(2026, 11, 4, 12)), "healthcheck")
    assert "2026-11-03" not in labels(daily.missed) and not daily.overdue


def test_out_of_scope_and_refused_are_listed_for_the_period(replay: Replay) -> None:
    oos = add(replay, "out_of_scope", berlin(2026, 11, 5, 10))
    refused = add(replay, "refused", berlin(2026, 11, 6, 10))
    add(replay, "out_of_scope", berlin(2026, 10, 30, 10))  # October: not this period
    add(replay, "ok", berlin(2026, 11, 6, 11))  # in scope: listed in neither
    result = status(replay, berlin(2026, 11, 20, 12))
    assert [run.id for run in result.out_of_scope] == [oos]
    assert result.out_of_scope[0].out_of_scope_reason == "client asked by phone"
    assert [run.id for run in result.refused] == [refused]
    assert "not on db1" in result.refused[0].refusal_reason


def test_failure_followed_by_a_success_is_resolved_per_host(replay: Replay) -> None:
    failed = add(replay, "failed", berlin(2026, 11, 3, 10))  # web2 failed, web1 ok
    now = berlin(2026, 11, 20, 12)
    assert [run.id for run in status(replay, now).unresolved] == [failed]

    add(replay, "ok", berlin(2026, 11, 4, 10))  # web1 only: web2 is still failing
    add(replay, "check", berlin(2026, 11, 4, 11))  # a check run proves nothing
    assert [run.id for run in status(replay, now).unresolved] == [failed]
    assert status(replay, now).as_dict()["unresolved"][0]["failed_hosts"] == ["web2"]

    add(replay, "ok_web", berlin(2026, 11, 5, 10))
    assert status(replay, now).unresolved == []
    assert status(replay, berlin(2026, 11, 5, 9)).unresolved[0].id == failed  # not yet then


def test_interrupted_run_is_unresolved_until_a_later_success(replay: Replay) -> None:
    add(replay, "ok", berlin(2026, 11, 2, 10))  # before: resolves nothing
    interrupted = replay.interrupted(berlin(2026, 11, 3, 10))
    assert [run.id for run in status(replay, berlin(2026, 11, 4, 12)).unresolved] == [interrupted]
    add(replay, "check", berlin(2026, 11, 4, 9))  # a check-mode success on web1 proves nothing
    assert [run.id for run in status(replay, berlin(2026, 11, 4, 12)).unresolved] == [interrupted]
    add(replay, "ok", berlin(2026, 11, 4, 10))  # its target, web1, succeeded
    assert status(replay, berlin(2026, 11, 4, 12)).unresolved == []


def test_as_dict_is_json(replay: Replay) -> None:
    add(replay, "ok", berlin(2026, 11, 3, 10))
    add(replay, "failed", berlin(2026, 11, 4, 10))
    add(replay, "out_of_scope", berlin(2026, 11, 4, 11))
    assert replay.book.verify().ok  # the replayed ledger is a valid hash chain
    result = status(replay, berlin(2026, 11, 20, 12))
    data = json.loads(json.dumps(result.as_dict()))
    assert data["overdue"] is True and data["timezone"] == "Europe/Berlin"
    assert data["start"] == "2026-11-01T00:00:00+01:00"
    by_task = {t["task"]: t for t in data["tasks"]}
    assert set(by_task) == {"content_sync", "access_review", "healthcheck", "patching",
                            "restore_drill"}  # fmt: skip
    assert by_task["healthcheck"]["done"] == 1
    assert by_task["healthcheck"]["missed"][0] == {
        "start": "2026-11-01T00:00:00+01:00",
        "end": "2026-11-02T00:00:00+01:00",
        "label": "2026-11-01",
    }
    assert data["out_of_scope"][0]["in_scope"] is False
    assert data["unresolved"][0]["failed_hosts"] == ["web2"]


def test_naive_or_empty_range_is_bad_input() -> None:
    agreed = contract()
    with pytest.raises(BadInput, match="aware"):
        coverage.compute(
            agreed, [], datetime(2026, 11, 1), berlin(2026, 12, 1), berlin(2026, 12, 1)
        )
    with pytest.raises(BadInput, match="empty"):
        coverage.compute(agreed, [], berlin(2026, 12, 1), berlin(2026, 11, 1), berlin(2026, 12, 1))


def test_week_across_the_daylight_saving_change(replay: Replay) -> None:
    # Sunday 25 October 2026, 23:30 in Berlin (CET since 03:00) is 22:30 UTC: still week 43.
    add(replay, "ok", datetime(2026, 10, 25, 22, 30, tzinfo=UTC), task="content_sync")
    october = task(status(replay, berlin(2026, 11, 15, 12), month="2026-10"), "content_sync")
    assert "week 2026-W43" not in labels(october.missed)
    assert october.done == 1
    monday = task(status(replay, berlin(2026, 10, 26, 0, 30)), "content_sync")
    assert not monday.overdue  # W43, the last completed week, was done
    assert monday.next_due == berlin(2026, 11, 2).isoformat()  # by the end of W44
    assert monday.next_due.endswith("+01:00")


def test_per_host_a_period_is_done_only_when_every_contracted_host_had_a_success(
    replay: Replay,
) -> None:
    web = {"healthcheck": {"web1", "web2"}}
    add(replay, "ok", berlin(2026, 11, 2, 10))  # web1 only
    add(replay, "failed", berlin(2026, 11, 3, 10))  # web1 ok, web2 failed
    add(replay, "ok_web", berlin(2026, 11, 4, 10))  # both
    agreed = contract()
    start, end = coverage.month("2026-11", BERLIN)
    now = berlin(2026, 11, 5, 12)
    per_host = task(compute(agreed, replay, start, end, now, web), "healthcheck")
    assert labels(per_host.missed) == ["2026-11-01", "2026-11-02", "2026-11-03"]
    assert per_host.missing_hosts["2026-11-02"] == ["web2"]
    assert per_host.missing_hosts["2026-11-03"] == ["web2"]
    assert per_host.missed_text(per_host.missed[1]) == "2026-11-02 on web2"
    assert per_host.missed_text(per_host.missed[0]) == "2026-11-01"  # nothing ran: no host list
    assert (per_host.expected, per_host.done) == (4, 1)
    # Counted per task (no inventory given), any successful run covers its day.
    per_task = task(status(replay, now), "healthcheck")
    assert labels(per_task.missed) == ["2026-11-01", "2026-11-03"]


def test_per_host_the_last_success_is_that_of_the_least_recently_done_host(
    replay: Replay,
) -> None:
    web = {"healthcheck": {"web1", "web2"}}
    agreed = contract()
    start, end = coverage.month("2026-11", BERLIN)

    def healthcheck(now: datetime) -> coverage.TaskCoverage:
        return task(compute(agreed, replay, start, end, now, web), "healthcheck")

    add(replay, "ok", berlin(2026, 11, 2, 10))  # web1 only
    failed = add(replay, "failed", berlin(2026, 11, 3, 10))  # web1 ok, web2 failed
    early = healthcheck(berlin(2026, 11, 3, 12))
    assert early.last_success_at is None and early.last_success_run is None
    assert early.never_done_on() == ["web2"]
    assert early.last_success_by_host["web1"] == replay.runs()[-1].started_at
    assert early.last_success_by_host["web2"] is None
    assert replay.runs()[-1].id == failed

    both = add(replay, "ok_web", berlin(2026, 11, 4, 10))
    add(replay, "ok", berlin(2026, 11, 5, 10))  # web1 again: web2 is still at the 4th
    later = healthcheck(berlin(2026, 11, 5, 12))
    assert later.last_success_run == both and later.never_done_on() == []
    assert later.last_success_at.startswith("2026-11-04T09")  # 10:00 in Berlin is 09:00 UTC
    assert later.last_success_by_host["web1"].startswith("2026-11-05T09")
    assert later.as_dict()["last_success_by_host"] == later.last_success_by_host


# --- the runs the run index selects ---------------------------------------------------------


@pytest.mark.parametrize("zone", ["Europe/Berlin", "UTC", "America/New_York", "Pacific/Auckland"])
def test_the_selected_runs_answer_as_all_runs_do_across_month_ends(replay: Replay, zone) -> None:
    """Runs of every shape at pseudo-random times, and on the month boundaries of the zone
    (one millisecond before, exactly on them); for each month, several moments of asking and
    per host and per task, the coverage over the selected runs equals that over all runs
    (``compute`` above asserts it)."""
    rng = random.Random(13)
    tz = ZoneInfo(zone)
    shapes = ["ok", "ok_web", "failed", "check", "out_of_scope", "refused", "ok_web"]
    tasks = ["healthcheck", "patching", "restore_drill", "content_sync", "access_review"]
    moment = datetime(2026, 8, 25, tzinfo=UTC)
    while moment < datetime(2026, 12, 20, tzinfo=UTC):
        moment += timedelta(hours=rng.randint(2, 70), seconds=rng.random() * 60)
        add(replay, rng.choice(shapes), moment, task=rng.choice(tasks))
    months = ("2026-09", "2026-10", "2026-11", "2026-12")
    for month in months:
        first = coverage.month(month, tz)[0]
        add(replay, "ok_web", first - timedelta(milliseconds=1), task="patching")
        add(replay, "failed", first, task="restore_drill")
    replay.interrupted(datetime(2026, 11, 5, tzinfo=UTC), task="patching")
    agreed = contract(timezone=zone)
    per_host = {"healthcheck": {"web1", "web2"}, "patching": {"web1"}, "content_sync": set()}
    for month in months:
        start, end = coverage.month(month, tz)
        for now in (start, start + timedelta(milliseconds=1), start + timedelta(days=9, hours=7),
                    end - timedelta(milliseconds=1), end, end + timedelta(days=40)):  # fmt: skip
            for hosts in (None, per_host):
                compute(agreed, replay, start, end, now, hosts)


def test_status_reads_the_recent_runs_not_the_whole_history(replay: Replay) -> None:
    old = [add(replay, "ok", berlin(2026, 3, day, 10)) for day in range(1, 21)]
    failed = add(replay, "failed", berlin(2026, 4, 2, 10))  # web2 failed
    resolving = add(replay, "ok_web", berlin(2026, 4, 3, 10))
    later = [add(replay, "ok_web", berlin(2026, 4, day, 10)) for day in range(4, 11)]
    recent = add(replay, "ok", berlin(2026, 11, 10, 10))  # web1 only
    start, end = coverage.month("2026-11", BERLIN)
    now = berlin(2026, 11, 15, 12)
    agreed = contract()
    per_task = coverage.runs_needed(replay.book, "acme", agreed, start, end, now)
    assert {run.id for run in per_task} == {recent, failed, resolving}
    web = {"healthcheck": {"web1", "web2"}}
    per_host = coverage.runs_needed(replay.book, "acme", agreed, start, end, now, web)
    # web2's latest success is the last April run; nothing older is read
    assert {run.id for run in per_host} == {recent, later[-1], failed, resolving}
    assert not {run.id for run in per_host} & set(old)
    compute(agreed, replay, start, end, now, web)


def test_an_earlier_period_asked_later_reads_the_periods_around_now(replay: Replay) -> None:
    """September's report made on 9 November: whether patching is overdue now depends on
    October, which is neither in the period nor the latest success."""
    add(replay, "ok_web", berlin(2026, 9, 6, 3), task="patching")
    october = add(replay, "ok_web", berlin(2026, 10, 11, 3), task="patching")
    add(replay, "ok_web", berlin(2026, 11, 3, 3), task="patching")
    start, end = coverage.month("2026-09", BERLIN)
    now = berlin(2026, 11, 9, 12)
    needed = coverage.runs_needed(replay.book, "acme", contract(), start, end, now)
    assert october in {run.id for run in needed}
    assert not task(compute(contract(), replay, start, end, now), "patching").overdue
