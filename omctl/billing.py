"""A month's bill from the contract's fees and the work done: pure, no I/O.

The caller passes the contract (``scope.Fees`` and its dates), the period as aware datetimes
(its start and end in the contract's time zone) and the work items (manual work from the
ledger, out-of-scope runs). Every amount is ``Decimal``, rounded ROUND_HALF_UP to the
currency's minor unit only where an amount is stated; hours are computed from whole minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal

from omctl.scope import FEE_CATEGORIES, Fees

# ISO 4217 currencies whose minor unit is not the cent (the others have two decimals).
ZERO_DECIMALS = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
THREE_DECIMALS = "BHD IQD JOD KWD LYD OMR TND"
MINOR_UNITS = {
    **dict.fromkeys(ZERO_DECIMALS.split(), 0),
    **dict.fromkeys(THREE_DECIMALS.split(), 3),
}
MINUTES_PER_HOUR = Decimal(60)
HOURS_SHOWN = Decimal("0.01")


def minor_unit(currency: str) -> Decimal:
    return Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2))


def money(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half up to the currency's minor unit (cents for EUR)."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_HALF_UP)


def hours(minutes: int | Decimal) -> Decimal:
    """Minutes as hours for display (two decimals); amounts are computed from the minutes."""
    return (Decimal(minutes) / MINUTES_PER_HOUR).quantize(HOURS_SHOWN, rounding=ROUND_HALF_UP)


def billed_minutes(minutes: int, fees: Fees) -> int:
    """One item's minutes rounded up to the billing increment, and at least the minimum."""
    if minutes < 0:
        raise ValueError(f"minutes must not be negative, not {minutes}")
    step = fees.increment_minutes
    rounded = -(-minutes // step) * step
    return max(rounded, fees.minimum)


def time_amount(minutes: int | Decimal, fees: Fees) -> Decimal:
    """What ``minutes`` cost at the hourly rate, rounded once."""
    return money(Decimal(minutes) * fees.hourly_rate / MINUTES_PER_HOUR, fees.currency or "")


@dataclass(frozen=True)
class WorkItem:
    """One piece of work of the period: a manual work entry or a run."""

    at: datetime  # aware
    category: str | None  # operation / maintenance; None when unknown
    minutes: int
    description: str
    out_of_scope: bool
    approved: bool  # out-of-scope work is billed only when approved
    request_id: str | None = None
    request_text: str | None = None
    approved_by: str | None = None
    quote_hours: Decimal | None = None
    task: str | None = None  # set for runs
    ref: str = ""  # the work entry's id or the run's id
    operator: str | None = None
    # How it was approved when not by a request: the operator's recorded reason of a run.
    reason: str | None = None


@dataclass(frozen=True)
class BilledItem:
    item: WorkItem
    minutes: int  # as billed: rounded up to the increment, at least the minimum
    hours: Decimal
    basis: str  # "included", "task price" or "hourly rate"
    unit_price: Decimal | None  # None for in-scope work (paid by the monthly fee)
    amount: Decimal  # 0 for in-scope work: its hours count against the included ones


@dataclass(frozen=True)
class MonthlyFee:
    category: str
    fee: Decimal  # the contract's monthly fee
    days_in_force: int
    days_in_period: int
    amount: Decimal  # charged: the fee, or its pro-rated part
    note: str  # "full month", "pro-rated 17/31 days", "not in force in this period"

    @property
    def share(self) -> Decimal:
        return (Decimal(self.days_in_force) / Decimal(self.days_in_period)).quantize(
            Decimal("0.0001"), rounding=ROUND_HALF_UP
        )


@dataclass(frozen=True)
class CategoryHours:
    category: str
    included_hours: Decimal
    used_minutes: int
    used_hours: Decimal
    overage_minutes: Decimal  # beyond the included hours (0 if none)
    overage_hours: Decimal
    overage_amount: Decimal
    items: tuple[BilledItem, ...]


@dataclass(frozen=True)
class Bill:
    currency: str
    start: datetime
    end: datetime
    hourly_rate: Decimal
    increment_minutes: int
    minimum_minutes: int
    monthly: tuple[MonthlyFee, ...]
    categories: tuple[CategoryHours, ...]
    out_of_scope: tuple[BilledItem, ...]  # approved: billed
    awaiting_approval: tuple[WorkItem, ...]  # out of scope, not approved: listed, not billed
    uncategorised: tuple[WorkItem, ...]  # in scope but of no known category: not counted
    total: Decimal

    @property
    def monthly_total(self) -> Decimal:
        return sum((fee.amount for fee in self.monthly), Decimal(0))

    @property
    def overage_total(self) -> Decimal:
        return sum((c.overage_amount for c in self.categories), Decimal(0))

    @property
    def out_of_scope_total(self) -> Decimal:
        return sum((b.amount for b in self.out_of_scope), Decimal(0))


def _local_day(moment: datetime, zone: tzinfo) -> date:
    return moment.astimezone(zone).date()


def _zone(start: datetime) -> tzinfo:
    """The contract's zone: the one the period's start is given in (days are counted there)."""
    if start.tzinfo is None:
        raise ValueError("the period's start must be an aware datetime in the contract's zone")
    return start.tzinfo


def _monthly_fee(
    category: str,
    fee: Decimal,
    currency: str,
    start: datetime,
    end: datetime,
    valid_from: date,
    valid_until: date,
) -> MonthlyFee:
    """The fee pro-rated by days in force when the contract starts or ends in the period."""
    zone = _zone(start)
    first, stop = _local_day(start, zone), _local_day(end, zone)  # [first, stop)
    days_in_period = (stop - first).days
    from_day = max(first, valid_from)
    to_day = min(stop, valid_until + timedelta(days=1))
    days_in_force = max(0, (to_day - from_day).days)
    if days_in_force == days_in_period:
        return MonthlyFee(
            category, fee, days_in_force, days_in_period, money(fee, currency), "full month"
        )
    amount = money(fee * days_in_force / days_in_period, currency)
    note = (
        f"pro-rated {days_in_force}/{days_in_period} days"
        if days_in_force
        else "contract not in force in this period"
    )
    return MonthlyFee(category, fee, days_in_force, days_in_period, amount, note)


def _included(item: WorkItem, fees: Fees) -> BilledItem:
    """In-scope work: paid by the monthly fee, its rounded time counts against the hours."""
    minutes = billed_minutes(item.minutes, fees)
    return BilledItem(item, minutes, hours(minutes), "included", None, Decimal(0))


def _priced(item: WorkItem, fees: Fees) -> BilledItem:
    """An approved out-of-scope item: the task's fixed price for a run of a priced task,
    else its rounded time at the hourly rate."""
    minutes = billed_minutes(item.minutes, fees)
    if item.task is not None and item.task in fees.task_prices:
        price = money(fees.task_prices[item.task], fees.currency or "")
        return BilledItem(item, minutes, hours(minutes), "task price", price, price)
    rate = fees.hourly_rate
    return BilledItem(
        item, minutes, hours(minutes), "hourly rate", rate, time_amount(minutes, fees)
    )


def bill(
    fees: Fees,
    *,
    valid_from: date,
    valid_until: date,
    start: datetime,
    end: datetime,
    items: list[WorkItem],
) -> Bill:
    """The bill of [start, end) (aware, in the contract's zone): monthly fees, hours used
    against the included ones per category, overage, approved out-of-scope work."""
    currency = fees.currency or ""
    _zone(start)
    inside = sorted((i for i in items if start <= i.at < end), key=lambda i: (i.at, i.ref))
    monthly = tuple(
        _monthly_fee(
            category, fees.monthly[category], currency, start, end, valid_from, valid_until
        )
        for category in FEE_CATEGORIES
        if category in fees.monthly
    )
    categories = []
    for category in FEE_CATEGORIES:
        billed = tuple(
            _included(item, fees)
            for item in inside
            if not item.out_of_scope and item.category == category
        )
        included = fees.included_hours.get(category, Decimal(0))
        used = sum(b.minutes for b in billed)
        over = max(Decimal(0), Decimal(used) - included * MINUTES_PER_HOUR)
        if not billed and category not in fees.included_hours and category not in fees.monthly:
            continue  # a category the contract prices in no way and nobody worked in
        categories.append(
            CategoryHours(
                category,
                included,
                used,
                hours(used),
                over,
                hours(over),
                time_amount(over, fees),
                billed,
            )
        )
    out_of_scope = tuple(_priced(i, fees) for i in inside if i.out_of_scope and i.approved)
    awaiting = tuple(i for i in inside if i.out_of_scope and not i.approved)
    uncategorised = tuple(
        i for i in inside if not i.out_of_scope and i.category not in FEE_CATEGORIES
    )
    total = (
        sum((fee.amount for fee in monthly), Decimal(0))
        + sum((c.overage_amount for c in categories), Decimal(0))
        + sum((b.amount for b in out_of_scope), Decimal(0))
    )
    return Bill(
        currency=currency,
        start=start,
        end=end,
        hourly_rate=fees.hourly_rate,
        increment_minutes=fees.increment_minutes,
        minimum_minutes=fees.minimum,
        monthly=monthly,
        categories=tuple(categories),
        out_of_scope=out_of_scope,
        awaiting_approval=awaiting,
        uncategorised=uncategorised,
        total=total,
    )


@dataclass(frozen=True)
class Line:
    """One line of the CSV an invoicing tool imports."""

    date: date
    client: str
    contract: str
    category: str
    description: str
    request_id: str
    quantity: Decimal
    unit: str  # month, h or task
    unit_price: Decimal
    amount: Decimal
    currency: str


CSV_COLUMNS = (
    "date",
    "client",
    "contract",
    "category",
    "description",
    "request_id",
    "quantity",
    "unit",
    "unit_price",
    "amount",
    "currency",
)


def billable_lines(found: Bill, *, client: str, contract: str) -> list[Line]:
    """A line per monthly fee, per category's overage and per billed out-of-scope item;
    their amounts add up to ``found.total`` exactly."""
    zone = _zone(found.start)
    first = _local_day(found.start, zone)
    last = _local_day(found.end, zone) - timedelta(days=1)
    lines = []
    for fee in found.monthly:
        if fee.days_in_force == 0:
            continue
        note = "" if fee.note == "full month" else f", {fee.note}"
        lines.append(
            Line(
                first,
                client,
                contract,
                fee.category,
                f"monthly fee {fee.category} {first:%Y-%m}{note}",
                "",
                fee.share,
                "month",
                money(fee.fee, found.currency),
                fee.amount,
                found.currency,
            )
        )
    for used in found.categories:
        if used.overage_minutes > 0:
            lines.append(
                Line(
                    last,
                    client,
                    contract,
                    used.category,
                    f"{used.category} hours beyond the {used.included_hours} h included "
                    f"({used.used_hours} h used)",
                    "",
                    used.overage_hours,
                    "h",
                    money(found.hourly_rate, found.currency),
                    used.overage_amount,
                    found.currency,
                )
            )
    for billed in found.out_of_scope:
        item = billed.item
        fixed = billed.basis == "task price"
        quantity, unit = (Decimal(1), "task") if fixed else (billed.hours, "h")
        lines.append(
            Line(
                _local_day(item.at, zone),
                client,
                contract,
                "out-of-scope",
                item.description,
                item.request_id or "",
                quantity,
                unit,
                money(billed.unit_price or Decimal(0), found.currency),
                billed.amount,
                found.currency,
            )
        )
    return lines
