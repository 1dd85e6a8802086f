"""omctl.billing: a month's bill from the contract's fees and the work items."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from omctl import billing
from omctl.billing import WorkItem
from omctl.scope import Fees

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def fees(**changes: Any) -> Fees:
    data: dict[str, Any] = {
        "currency": "EUR",
        "monthly": {"operation": 300, "maintenance": 200},
        "included_hours": {"operation": 2, "maintenance": 1},
        "hourly_rate": 90,
        "increment_minutes": 15,
        "task_prices": {"restore_drill": 50},
    }
    data.update(changes)
    return Fees.model_validate(data)


def month(year: int, number: int, zone: ZoneInfo = BERLIN) -> tuple[datetime, datetime]:
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    return start, end


def item(at: datetime, minutes: int, category: str | None = "operation", **kw: Any) -> WorkItem:
    values: dict[str, Any] = {
        "description": "answered the client's question",
        "out_of_scope": False,
        "approved": False,
        "ref": f"w-{at:%d%H%M}-{minutes}",
    }
    values.update(kw)
    return WorkItem(at=at, category=category, minutes=minutes, **values)


def bill(items: list[WorkItem], contract: Fees | None = None, **kw: Any) -> billing.Bill:
    start, end = kw.pop("period", month(2026, 11))
    return billing.bill(
        contract or fees(),
        valid_from=kw.pop("valid_from", date(2026, 1, 1)),
        valid_until=kw.pop("valid_until", date(2027, 12, 31)),
        start=start,
        end=end,
        items=items,
    )


@pytest.mark.parametrize(
    ("minutes", "increment", "minimum", "billed"),
    [
        (1, 15, None, 15),
        (15, 15, None, 15),
        (16, 15, None, 30),
        (44, 15, None, 45),
        (0, 15, None, 15),  # the minimum applies to every item
        (5, 6, 30, 30),
        (31, 6, 30, 36),
        (61, 60, 15, 120),
    ],
)
def test_an_item_is_rounded_up_to_the_increment_and_at_least_the_minimum(
    minutes: int, increment: int, minimum: int | None, billed: int
) -> None:
    contract = fees(increment_minutes=increment, minimum_minutes=minimum)
    assert billing.billed_minutes(minutes, contract) == billed


def test_negative_minutes_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        billing.billed_minutes(-1, fees())


def test_included_hours_are_counted_per_category_and_the_overage_billed() -> None:
    at = datetime(2026, 11, 10, 10, 0, tzinfo=BERLIN)
    found = bill(
        [
            item(at, 50),  # 60
            item(at + timedelta(hours=1), 70),  # 75
            item(at + timedelta(hours=2), 10),  # 15 -> 150 min of operation: 2 h included
            item(at, 40, "maintenance"),  # 45 of 60 included
        ]
    )
    operation, maintenance = found.categories
    assert (operation.category, operation.used_minutes, operation.used_hours) == (
        "operation",
        150,
        Decimal("2.50"),
    )
    assert operation.included_hours == 2 and operation.overage_hours == Decimal("0.50")
    assert operation.overage_amount == Decimal("45.00")  # 30 min x 90 / h
    assert (maintenance.used_minutes, maintenance.overage_minutes) == (45, 0)
    assert maintenance.overage_amount == Decimal("0.00")
    assert [fee.amount for fee in found.monthly] == [Decimal("300.00"), Decimal("200.00")]
    assert found.total == Decimal("545.00")


def test_out_of_scope_is_billed_when_approved_and_listed_when_awaiting() -> None:
    at = datetime(2026, 11, 12, 9, 0, tzinfo=BERLIN)
    approved = item(at, 100, out_of_scope=True, approved=True, request_id="R1",
                    approved_by="Eva", quote_hours=Decimal(2))  # fmt: skip
    awaiting = item(at, 30, out_of_scope=True, approved=False, request_id="R2")
    drill = item(at, 7, "maintenance", out_of_scope=True, approved=True, task="restore_drill",
                 ref="run-drill")  # fmt: skip
    rerun = item(at, 7, "maintenance", out_of_scope=True, approved=True, task="backup",
                 ref="run-backup")  # fmt: skip
    found = bill([approved, awaiting, drill, rerun])
    by_ref = {b.item.ref: b for b in found.out_of_scope}
    assert set(by_ref) == {approved.ref, drill.ref, rerun.ref}
    assert (by_ref[approved.ref].minutes, by_ref[approved.ref].amount) == (105, Decimal("157.50"))
    assert by_ref[drill.ref].basis == "task price" and by_ref[drill.ref].amount == Decimal("50.00")
    assert by_ref[rerun.ref].basis == "hourly rate" and by_ref[rerun.ref].amount == Decimal("22.50")
    assert found.awaiting_approval == (awaiting,)
    # Out-of-scope time does not use up the included hours.
    assert all(c.used_minutes == 0 for c in found.categories)
    assert found.total == Decimal("500") + Decimal("157.50") + Decimal("50") + Decimal("22.50")


def test_month_boundaries_are_the_contracts_time_zone() -> None:
    start, end = month(2026, 10, NEW_YORK)
    late = datetime(2026, 10, 31, 23, 30, tzinfo=NEW_YORK)  # 2026-11-01 03:30 UTC
    assert late.astimezone(ZoneInfo("UTC")).date() == date(2026, 11, 1)
    early = datetime(2026, 10, 1, 2, 0, tzinfo=ZoneInfo("UTC"))  # 30 Sep 22:00 in New York
    first = datetime(2026, 10, 1, 0, 0, tzinfo=NEW_YORK)
    found = bill([item(late, 60), item(early, 60), item(first, 60)], period=(start, end))
    counted = [b.item.at for b in found.categories[0].items]
    assert counted == [first, late]
    november = bill([item(late, 60)], period=month(2026, 11, NEW_YORK))
    assert november.categories[0].used_minutes == 0


def test_a_contract_starting_mid_month_pro_rates_the_fee_and_says_so() -> None:
    found = bill([], valid_from=date(2026, 12, 15), period=month(2026, 12))
    operation, maintenance = found.monthly
    assert (operation.days_in_force, operation.days_in_period) == (17, 31)
    assert operation.note == "pro-rated 17/31 days"
    assert operation.amount == Decimal("164.52")  # 300 x 17 / 31 = 164.516...
    assert maintenance.amount == Decimal("109.68")  # 200 x 17 / 31 = 109.677...
    assert found.total == Decimal("274.20")
    ending = bill([], valid_until=date(2026, 11, 10)).monthly[0]
    assert (ending.note, ending.amount) == ("pro-rated 10/30 days", Decimal("100.00"))
    before = bill([], valid_from=date(2027, 1, 1), period=month(2026, 12)).monthly[0]
    assert (before.note, before.amount) == ("contract not in force in this period", Decimal(0))


def test_arithmetic_is_decimal_and_rounds_half_up_to_the_cent() -> None:
    # 20 min at 100.05 / h = 33.35: binary floats would make it 33.349999...
    contract = fees(hourly_rate="100.05", increment_minutes=20, included_hours={})
    found = bill([item(datetime(2026, 11, 3, 9, 0, tzinfo=BERLIN), 20)], contract)
    operation = found.categories[0]
    assert operation.overage_amount == Decimal("33.35")
    assert type(operation.overage_amount) is Decimal and type(found.total) is Decimal
    assert billing.money(Decimal("0.125"), "EUR") == Decimal("0.13")
    assert billing.money(Decimal("12.5"), "JPY") == Decimal("13")
    assert billing.money(Decimal("1.0005"), "KWD") == Decimal("1.001")
    assert fees(hourly_rate=12.1).hourly_rate == Decimal("12.1")  # through the float's repr


def test_in_scope_work_of_no_known_category_is_not_counted_but_kept() -> None:
    unknown = item(datetime(2026, 11, 3, 9, 0, tzinfo=BERLIN), 30, None)
    found = bill([unknown])
    assert found.uncategorised == (unknown,)
    assert all(c.used_minutes == 0 for c in found.categories)


def test_the_billable_lines_add_up_to_the_total() -> None:
    at = datetime(2026, 12, 20, 9, 0, tzinfo=BERLIN)
    found = bill(
        [
            item(at, 200),
            item(at, 25, out_of_scope=True, approved=True, request_id="R7", description="DNS"),
            item(at, 5, "maintenance", out_of_scope=True, approved=True, task="restore_drill"),
            item(at, 25, out_of_scope=True, approved=False, request_id="R8"),
        ],
        valid_from=date(2026, 12, 15),
        period=month(2026, 12),
    )
    lines = billing.billable_lines(found, client="acme", contract="ACME-1")
    assert sum(line.amount for line in lines) == found.total
    kinds = [(line.category, line.unit, line.amount) for line in lines]
    assert kinds == [
        ("operation", "month", Decimal("164.52")),
        ("maintenance", "month", Decimal("109.68")),
        ("operation", "h", Decimal("135.00")),  # 200 -> 210 min: 1.5 h beyond the 2 included
        ("out-of-scope", "h", Decimal("45.00")),
        ("out-of-scope", "task", Decimal("50.00")),
    ]
    assert lines[0].description == "monthly fee operation 2026-12, pro-rated 17/31 days"
    assert lines[0].date == date(2026, 12, 1) and lines[2].date == date(2026, 12, 31)
    assert lines[3].request_id == "R7" and lines[3].quantity == Decimal("0.50")
