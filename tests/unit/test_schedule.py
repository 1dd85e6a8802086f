"""The tick's planner over a ledger of real runs' records placed at chosen times: cadences,
windows across midnight, typical durations, week and month ends, DST, blackouts, retries,
catch-up, and backup before patching."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from omctl import ledger, schedule, scope
from omctl.scope import Window
from tests.unit.conftest import make_workspace
from tests.unit.ledger_replay import Replay, open_replay

BERLIN = ZoneInfo("Europe/Berlin")
HOSTS = """\
all:
  children:
    web:
      hosts:
        web1: {}
        web2: {}
"""
PLAYBOOKS = {
    f"{category}/{task}.yml": task
    for category, tasks in {
        "maintenance": (
            "healthcheck",
            "backup",
            "patching",
            "restore_drill",
            "diagnose",
            "hardening",
        ),
        "operation": ("content_sync",),
    }.items()
    for task in tasks
}
CATEGORY = {"content_sync": "operation"}
BODY = """\
timezone: Europe/Berlin
operation:
  content_sync: {every: weekly, window: "Mon-Fri 09:00-17:00"}
maintenance:
  healthcheck: {every: daily, window: "Mon-Fri 22:00-06:00"}
  backup: {every: daily}
  patching: {every: monthly, window: "Sun 02:00-04:00"}
  restore_drill: {every: monthly, retries: 2}
  diagnose: {every: on_request}
"""


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN)


class Planner:
    """A workspace (client acme on web1 and web2) and its ledger, to add runs to and plan."""

    def __init__(self, root: Path, factory: pytest.TempPathFactory, body: str = BODY):
        self.root = root
        make_workspace(root, hosts=HOSTS, playbooks=PLAYBOOKS, scope=self.scope_text(body))
        self.replay: Replay = open_replay(root, factory)

    @staticmethod
    def scope_text(body: str) -> str:
        return f"client: acme\ncontract: ACME-2026\nvalid_from: 2026-01-01\n" \
               f"valid_until: 2027-06-30\n{body}"  # fmt: skip

    def rewrite(self, body: str) -> None:
        (self.root / "inventories" / "acme" / "scope.yml").write_text(self.scope_text(body))

    def add(self, task: str, at: datetime, template: str = "ok_web", trigger: str = "") -> str:
        return self.replay.add(
            template, at, task=task, category=CATEGORY.get(task, "maintenance"),
            trigger=trigger or None,
        )  # fmt: skip

    def plan(self, now: datetime) -> dict[str, schedule.Planned]:
        contract = scope.load_checked(self.replay.ws, "acme")
        return {p.task: p for p in schedule.plan_client(contract, self.replay.book, now)}

    def decision(self, task: str, now: datetime) -> tuple[str, str]:
        planned = self.plan(now)[task]
        return planned.decision, planned.reason

    def drift_check(self, task: str, now: datetime) -> tuple[str, str]:
        contract = scope.load_checked(self.replay.ws, "acme")
        plan = schedule.plan_client(contract, self.replay.book, now)
        (planned,) = [p for p in plan if p.task == task and p.drift_check]
        return planned.decision, planned.reason


@pytest.fixture
def planner(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory):
    made = Planner(tmp_path, tmp_path_factory)
    yield made
    made.replay.book.close()


def test_a_due_task_runs_once_per_period(planner: Planner) -> None:
    now = berlin(2026, 12, 2, 10, 0)  # a Wednesday
    assert planner.decision("backup", now) == ("run", "due: 2026-12-02 has no run yet")
    planner.add("backup", berlin(2026, 12, 2, 9, 0))
    decision, reason = planner.decision("backup", now)
    assert decision == "wait" and reason.startswith("done this period (daily; last at 2026-12-02")
    assert planner.decision("backup", berlin(2026, 12, 3, 0, 0))[0] == "run"  # the next day


def test_a_run_on_one_host_leaves_the_other_due(planner: Planner) -> None:
    planner.add("backup", berlin(2026, 12, 2, 9, 0), template="ok")  # web1 only
    assert planner.decision("backup", berlin(2026, 12, 2, 10, 0))[0] == "run"


def test_on_request_tasks_never_run_by_themselves(planner: Planner) -> None:
    assert planner.decision("diagnose", berlin(2026, 12, 2, 10, 0)) == (
        "wait", "on request: runs when an operator asks"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("now", "decision"),
    [
        (berlin(2026, 12, 1, 21, 59), "wait"),  # Tue evening, before the window
        (berlin(2026, 12, 1, 22, 0), "run"),  # Tue's window opens
        (berlin(2026, 12, 2, 5, 59), "run"),  # still Tue's window, past midnight
        (berlin(2026, 12, 2, 6, 0), "wait"),  # closed
        (berlin(2026, 12, 5, 23, 0), "wait"),  # Sat: no window opens on Saturdays
        (berlin(2026, 12, 5, 3, 0), "run"),  # Fri's window, on Saturday morning
    ],
)
def test_a_window_across_midnight(planner: Planner, now: datetime, decision: str) -> None:
    assert planner.decision("healthcheck", now)[0] == decision


def test_a_closed_window_says_when_it_opens(planner: Planner) -> None:
    decision, reason = planner.decision("healthcheck", berlin(2026, 12, 5, 12, 0))  # Sat
    assert decision == "wait"
    assert reason == "window Mon-Fri 22:00-06:00 (Europe/Berlin) opens Mon 2026-12-07 22:00"


def test_window_closes_and_opens_across_midnight_and_week_end() -> None:
    night = Window.parse("Mon-Fri 22:00-06:00")
    assert schedule.window_closes(night, berlin(2026, 12, 4, 23, 0)) == berlin(2026, 12, 5, 6, 0)
    assert schedule.window_closes(night, berlin(2026, 12, 5, 1, 0)) == berlin(2026, 12, 5, 6, 0)
    assert schedule.window_opens(night, berlin(2026, 12, 5, 6, 0)) == berlin(2026, 12, 7, 22, 0)
    whole = Window.parse("Sun 00:00-24:00")
    assert schedule.window_closes(whole, berlin(2026, 12, 6, 9, 0)) == berlin(2026, 12, 7, 0, 0)


def test_a_run_starts_only_if_its_typical_duration_fits_the_window(planner: Planner) -> None:
    planner.replay.duration = timedelta(minutes=100)
    for month in (9, 10, 11):
        planner.add("patching", berlin(2026, month, 1, 2, 0))
    sunday = (2026, 12, 6)
    assert planner.decision("patching", berlin(*sunday, 2, 10))[0] == "run"  # ends 03:50
    decision, reason = planner.decision("patching", berlin(*sunday, 2, 30))  # would end 04:10
    assert decision == "wait"
    assert reason == (
        "window Sun 02:00-04:00 closes at 04:00, before a typical run (100 min) would end: "
        "waits for the next window"
    )


def test_the_typical_duration_is_the_median_of_the_latest_successes(planner: Planner) -> None:
    book = planner.replay.book
    assert schedule.typical_duration(book, "acme", "patching") is None
    for minutes, day in ((10, 1), (30, 2), (20, 3), (500, 4)):
        planner.replay.duration = timedelta(minutes=minutes)
        planner.add("patching", berlin(2026, 11, day, 2, 0))
    assert schedule.typical_duration(book, "acme", "patching") == timedelta(minutes=25)
    planner.replay.duration = timedelta(minutes=90)
    planner.add("patching", berlin(2026, 11, 5, 2, 0), template="failed")  # not a success
    assert schedule.typical_duration(book, "acme", "patching") == timedelta(minutes=25)


def test_dst_spring_forward_keeps_the_window_in_wall_clock_time(planner: Planner) -> None:
    # 2026-03-29: Berlin's clocks jump from 02:00 to 03:00; 03:30 CEST is 01:30 UTC.
    now = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert planner.decision("patching", now) == ("run", "due: 2026-03 has no run yet")
    assert planner.decision("patching", datetime(2026, 3, 29, 2, 0, tzinfo=UTC))[0] == "wait"


def test_dst_fall_back_the_repeated_hour_and_the_local_day(planner: Planner) -> None:
    # 2026-10-25: 02:00-03:00 happens twice in Berlin (CEST, then CET).
    for first_or_second in (datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
                            datetime(2026, 10, 25, 1, 30, tzinfo=UTC)):  # fmt: skip
        assert planner.decision("patching", first_or_second)[0] == "run"
    # A backup at 01:30 local on the 25th (23:30 UTC on the 24th) covers the local day.
    planner.add("backup", datetime(2026, 10, 24, 23, 30, tzinfo=UTC))
    assert planner.decision("backup", datetime(2026, 10, 25, 22, 30, tzinfo=UTC))[0] == "wait"
    assert planner.decision("backup", datetime(2026, 10, 25, 23, 30, tzinfo=UTC))[0] == "run"


def test_month_end_in_the_contract_time_zone(planner: Planner) -> None:
    planner.add("restore_drill", berlin(2026, 11, 30, 23, 30))  # 22:30 UTC, still November
    assert planner.decision("restore_drill", berlin(2026, 11, 30, 23, 50))[0] == "wait"
    assert planner.decision("restore_drill", datetime(2026, 11, 30, 23, 5, tzinfo=UTC)) == (
        "run", "due: 2026-12 has no run yet"
    )  # fmt: skip


def test_catch_up_after_the_controller_was_off(planner: Planner) -> None:
    """Off from Thursday to Monday: missed periods stay missed, the current one runs in its
    next open window, never outside it."""
    planner.add("content_sync", berlin(2026, 11, 26, 10, 0))  # week 48, Thursday
    planner.add("backup", berlin(2026, 11, 26, 10, 0))
    assert planner.decision("content_sync", berlin(2026, 11, 29, 10, 0))[0] == "wait"  # Sun
    assert planner.decision("content_sync", berlin(2026, 11, 30, 8, 59))[0] == "wait"  # closed
    assert planner.decision("content_sync", berlin(2026, 11, 30, 9, 0)) == (
        "run", "due: week 2026-W49 has no run yet"
    )  # fmt: skip
    assert planner.decision("backup", berlin(2026, 11, 30, 9, 0)) == (
        "run", "due: 2026-11-30 has no run yet"
    )  # fmt: skip


def test_blackouts_hold_scheduled_work(planner: Planner) -> None:
    holidays = "  - {from: 2026-12-24, until: 2026-12-26, reason: shop's holiday sale}\n"
    planner.rewrite(BODY + "blackouts:\n" + holidays)
    assert planner.decision("backup", berlin(2026, 12, 24, 0, 0)) == (
        "wait", "blackout 2026-12-24 to 2026-12-26: shop's holiday sale"
    )  # fmt: skip
    assert planner.decision("backup", berlin(2026, 12, 26, 23, 59))[0] == "wait"
    assert planner.decision("backup", berlin(2026, 12, 27, 0, 0))[0] == "run"


def test_failed_scheduled_runs_are_retried_as_often_as_the_scope_allows(planner: Planner) -> None:
    now = berlin(2026, 12, 2, 12, 0)
    schedule_trigger = ledger.TRIGGER_SCHEDULE
    planner.add("backup", berlin(2026, 12, 2, 1, 0), template="failed", trigger=schedule_trigger)
    assert planner.decision("backup", now) == (
        "run",
        "due: 2026-12-02 has no run yet, retry 1 of 1",
    )
    planner.add("backup", berlin(2026, 12, 2, 2, 0), template="failed", trigger=schedule_trigger)
    assert planner.decision("backup", now) == (
        "wait", "2 scheduled runs failed in 2026-12-02: no more retries this period (retries: 1)"
    )  # fmt: skip
    assert planner.decision("backup", berlin(2026, 12, 3, 0, 0))[0] == "run"  # a new period
    # restore_drill allows 2 retries; an operator's failed runs do not count.
    for hour in (1, 2):
        planner.add("restore_drill", berlin(2026, 12, 2, hour, 0), "failed", schedule_trigger)
    planner.add("restore_drill", berlin(2026, 12, 2, 3, 0), "failed", ledger.TRIGGER_OPERATOR)
    assert planner.decision("restore_drill", now)[1].endswith("retry 2 of 2")


def test_backup_runs_before_patching_and_patching_waits_without_a_fresh_backup(
    planner: Planner,
) -> None:
    sunday = berlin(2026, 12, 6, 2, 30)
    order = [p.task for p in planner.plan(sunday).values() if p.decision == "run"]
    assert order[0] == "backup" and "patching" in order
    planner.rewrite(BODY.replace("backup: {every: daily}", "backup: {every: weekly}"))
    planner.add("backup", berlin(2026, 12, 1, 1, 0))  # this week's, but five days old
    decision, reason = planner.decision("patching", sunday)
    assert decision == "wait"
    assert "no successful backup in the last 24 h of web1, web2" in reason
    planner.add("backup", berlin(2026, 12, 6, 1, 0))
    assert planner.decision("patching", sunday)[0] == "run"


def test_outside_the_contract_everything_waits(planner: Planner) -> None:
    plan = planner.plan(berlin(2027, 7, 1, 10, 0))
    assert {p.decision for p in plan.values()} == {"wait"}
    assert plan["backup"].reason == (
        "contract ACME-2026 is in force from 2026-01-01 to 2027-06-30, not on 2027-07-01"
    )


def test_the_planner_needs_an_aware_now(planner: Planner) -> None:
    with pytest.raises(ValueError, match="time-zone aware"):
        planner.plan(datetime(2026, 12, 2, 10, 0))


def test_blackouts_are_checked_when_the_scope_loads(tmp_path: Path) -> None:
    path = tmp_path / "scope.yml"
    path.write_text(Planner.scope_text(BODY + "blackouts:\n  - {from: 2026-12-24, until: "
                                              "2026-12-20, reason: x}\n"))  # fmt: skip
    with pytest.raises(scope.ScopeInvalid, match=r"scope.yml:\d+: blackouts.0.until: until is"):
        scope.load(path)
    assert scope.Blackout(**{"from": date(2026, 1, 1), "until": date(2026, 1, 1),
                             "reason": "x"}).holds(date(2026, 1, 1))  # fmt: skip


DRIFT_BODY = """\
timezone: Europe/Berlin
maintenance:
  backup: {every: daily}
  hardening: {every: monthly, window: "Sun 02:00-04:00", verify: daily}
"""


def test_a_drift_check_runs_daily_in_check_mode_once_the_task_was_applied(
    planner: Planner,
) -> None:
    planner.rewrite(DRIFT_BODY)
    wednesday = berlin(2026, 12, 2, 10, 0)  # outside the hardening window: checks are read-only
    assert planner.drift_check("hardening", wednesday) == (
        "wait", "never applied: a drift check needs a successful run to compare with"
    )  # fmt: skip
    planner.add("hardening", berlin(2026, 11, 29, 2, 30))  # Sunday's run
    assert planner.drift_check("hardening", wednesday) == (
        "run", "drift check due: 2026-12-02 not verified yet"
    )  # fmt: skip
    # A check run the schedule started today verifies today; an operator's --check does not.
    planner.add("hardening", berlin(2026, 12, 2, 8, 0), "check", ledger.TRIGGER_OPERATOR)
    assert planner.drift_check("hardening", wednesday)[0] == "run"
    planner.add("hardening", berlin(2026, 12, 2, 9, 0), "check", ledger.TRIGGER_SCHEDULE)
    decision, reason = planner.drift_check("hardening", wednesday)
    assert decision == "wait" and reason.startswith("verified in 2026-12-02 (verify: daily; at ")
    # The next day in Berlin (23:30 UTC) is a new period.
    assert planner.drift_check("hardening", datetime(2026, 12, 2, 23, 30, tzinfo=UTC))[0] == "run"
    # The check does not count as the task's own monthly run.
    assert planner.decision("hardening", berlin(2026, 12, 6, 2, 30))[0] == "wait"  # November's run


def test_a_weekly_drift_check_and_its_retries(planner: Planner) -> None:
    planner.rewrite(DRIFT_BODY.replace("verify: daily", "verify: weekly, retries: 1"))
    planner.add("hardening", berlin(2026, 11, 1, 2, 30))
    planner.add("hardening", berlin(2026, 11, 30, 9, 0), "check", ledger.TRIGGER_SCHEDULE)
    sunday = berlin(2026, 12, 6, 12, 0)
    assert planner.drift_check("hardening", sunday)[1].startswith("verified in week 2026-W49")
    monday = berlin(2026, 12, 7, 9, 0)
    planner.add("hardening", monday, "check_failed", ledger.TRIGGER_SCHEDULE)
    later = monday + timedelta(hours=1)
    assert planner.drift_check("hardening", later) == (
        "run", "drift check due: week 2026-W50 not verified yet, retry 1 of 1"
    )  # fmt: skip
    planner.add("hardening", later, "check_failed", ledger.TRIGGER_SCHEDULE)
    assert planner.drift_check("hardening", later + timedelta(hours=1)) == (
        "wait", "2 drift checks failed in week 2026-W50: no more retries (retries: 1)"
    )  # fmt: skip


def test_drift_checks_wait_for_blackouts_and_for_the_task_itself(planner: Planner) -> None:
    planner.rewrite(DRIFT_BODY)
    planner.add("hardening", berlin(2026, 11, 1, 2, 30))  # last month's: December's is due
    sunday = berlin(2026, 12, 6, 2, 30)
    plan = schedule.plan_client(scope.load_checked(planner.replay.ws, "acme"),
                                planner.replay.book, sunday)  # fmt: skip
    assert [(p.task, p.drift_check) for p in plan if p.decision == "run"] == [
        ("backup", False), ("hardening", False)
    ]  # fmt: skip
    assert planner.drift_check("hardening", sunday) == (
        "wait", "the task itself runs in this tick: the next tick checks for drift"
    )  # fmt: skip
    planner.rewrite(DRIFT_BODY + "blackouts:\n  - {from: 2026-12-02, until: 2026-12-03, "
                    "reason: client release}\n")  # fmt: skip
    assert planner.drift_check("hardening", berlin(2026, 12, 2, 10, 0)) == (
        "wait", "blackout 2026-12-02 to 2026-12-03: client release"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("backup: {every: daily, verify: daily}", "backup: verify is for tasks whose check mode"),
        ("hardening: {every: monthly, verify: monthly}", "verify must be daily or weekly"),
    ],
)
def test_verify_is_checked_when_the_scope_loads(tmp_path: Path, entry: str, message: str) -> None:
    ws = make_workspace(tmp_path, hosts=HOSTS, playbooks=PLAYBOOKS,
                        scope=Planner.scope_text(f"maintenance:\n  {entry}\n"))  # fmt: skip
    with pytest.raises(scope.ScopeInvalid, match=message) as caught:
        scope.load_checked(ws, "acme")
    assert "scope.yml:6: " in str(caught.value)
