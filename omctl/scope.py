"""The contract scope of a client: inventories/<client>/scope.yml.

A typed model validates the file; errors name scope.yml:LINE. ``decide`` turns the contract
into an in-scope or refused verdict for one requested run.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from omctl import catalog as task_catalog
from omctl import inventory, yamlfile
from omctl.catalog import Category, Task
from omctl.errors import ScopeInvalid
from omctl.monitor.targets import MonitorTarget, check_unique
from omctl.workspace import Workspace

SCOPE_FILE = "scope.yml"
CONTRACTED = (Category.OPERATION, Category.MAINTENANCE)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WINDOW_RE = re.compile(
    r"^(?P<days>[A-Za-z,*\-]+)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})$"
)


class Cadence(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    ON_REQUEST = "on_request"


def _parse_days(spec: str) -> frozenset[int]:
    spec = spec.lower()
    if spec in {"*", "daily", "any"}:
        return frozenset(range(7))
    days: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.partition("-")
        if first[:3] not in DAYS or (last and last[:3] not in DAYS):
            raise ValueError(f"unknown day in {part!r} (use Mon..Sun, ranges like Mon-Fri)")
        if len(first) != 3 or (last and len(last) != 3):
            raise ValueError(f"write days as three letters, not {part!r}")
        start = DAYS.index(first)
        stop = DAYS.index(last) if last else start
        index = start
        while True:  # ranges may wrap around the week, e.g. Fri-Mon
            days.add(index)
            if index == stop:
                break
            index = (index + 1) % 7
    return frozenset(days)


def _parse_time(text: str) -> time:
    hours, minutes = (int(part) for part in text.split(":"))
    if hours == 24 and minutes == 0:
        return time.max
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise ValueError(f"{text!r} is not a time of day")
    return time(hours, minutes)


@dataclass(frozen=True)
class Window:
    """When a task may start: days of the week and a time range; a range may cross midnight."""

    text: str
    days: frozenset[int]
    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> Window:
        match = WINDOW_RE.match(text.strip())
        if not match:
            raise ValueError(
                f"window {text!r} must look like 'Sun 02:00-04:00' or 'Mon-Fri 22:00-06:00'"
            )
        start, end = _parse_time(match["start"]), _parse_time(match["end"])
        if start == end:
            raise ValueError(f"window {text!r} is empty: start and end are the same")
        return cls(text.strip(), _parse_days(match["days"]), start, end)

    def is_open(self, moment: datetime) -> bool:
        clock = moment.time().replace(tzinfo=None)
        if self.start < self.end:
            return moment.weekday() in self.days and self.start <= clock < self.end
        # Crosses midnight: the day names the evening on which the window opens.
        if clock >= self.start:
            return moment.weekday() in self.days
        yesterday = (moment - timedelta(days=1)).weekday()
        return clock < self.end and yesterday in self.days

    def __str__(self) -> str:
        return self.text


# Tasks whose run converges a host to a declared state, so that a run in check mode that would
# change something has found drift (a patching check would only find new updates).
DRIFT_CHECKABLE = frozenset({"hardening", "config_tuning"})
DRIFT_CADENCES = (Cadence.DAILY, Cadence.WEEKLY)


class TaskScope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    every: Cadence
    window: Window | None = None
    hosts: list[str] | None = Field(default=None, min_length=1)
    # How many times `omctl tick` starts the task again in a period after a scheduled run of
    # it failed; an operator's runs are not counted.
    retries: int = Field(default=1, ge=0, le=10)
    # How often `omctl tick` runs the (idempotent) task in check mode to prove nothing drifted.
    verify: Cadence | None = None

    @field_validator("verify")
    @classmethod
    def _verify(cls, value: Cadence | None) -> Cadence | None:
        if value is not None and value not in DRIFT_CADENCES:
            raise ValueError(f"verify must be daily or weekly, not {value.value}")
        return value

    @field_validator("window", mode="before")
    @classmethod
    def _window(cls, value: Any) -> Any:
        if value is None or isinstance(value, Window):
            return value
        if not isinstance(value, str):
            raise ValueError("window must be a string like 'Sun 02:00-04:00'")
        return Window.parse(value)


class Blackout(BaseModel):
    """Days (in the contract's time zone, both inclusive) without scheduled work."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    start: date = Field(alias="from")
    until: date
    reason: str = Field(min_length=1)

    @field_validator("until")
    @classmethod
    def _order(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("start")
        if start is not None and value < start:
            raise ValueError(f"until is before from ({start})")
        return value

    def holds(self, day: date) -> bool:
        return self.start <= day <= self.until


FEE_CATEGORIES = ("operation", "maintenance")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
MAX_AMOUNT = Decimal(10) ** 12


def _decimal(value: Any) -> Decimal:
    """An amount or a number of hours from YAML, exactly: an int or a string as written, a
    float through its shortest repr (12.5 -> Decimal('12.5'), never binary float noise)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a number")
        value = str(value)
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a number")
    if number < 0:
        raise ValueError(f"{value} is negative")
    if number >= MAX_AMOUNT:  # a typo, and rounding it to the cent would overflow Decimal
        raise ValueError(f"{value} is too large")
    return number


def _fee_category(value: str) -> str:
    if value not in FEE_CATEGORIES:
        raise ValueError(f"unknown category {value!r} (use operation or maintenance)")
    return value


# Money and hours are Decimal from the file on: a float never enters a bill.
Amount = Annotated[Decimal, BeforeValidator(_decimal)]
FeeCategory = Annotated[str, AfterValidator(_fee_category)]
Minutes = Annotated[int, Field(strict=True, ge=1, le=24 * 60)]


class Fees(BaseModel):
    """What the contract costs: monthly fees and included hours per category, the hourly rate
    for out-of-scope work and for hours beyond the included ones, the billing increment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str | None = None  # required: checked in ``parse`` to name the amount's line
    monthly: dict[FeeCategory, Amount] = Field(default_factory=dict)
    included_hours: dict[FeeCategory, Amount] = Field(default_factory=dict)
    hourly_rate: Amount
    increment_minutes: Minutes = 15
    minimum_minutes: Minutes | None = None  # billed at least per item; default: the increment
    task_prices: dict[str, Amount] = Field(default_factory=dict)  # out-of-scope run of a task

    @field_validator("monthly", "included_hours", "task_prices", mode="before")
    @classmethod
    def _empty_map(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is not None and not CURRENCY_RE.match(value):
            raise ValueError(f"{value!r} is not an ISO 4217 code (three capital letters, EUR)")
        return value

    @property
    def minimum(self) -> int:
        return self.increment_minutes if self.minimum_minutes is None else self.minimum_minutes


class Responsibility(BaseModel):
    """Who does what in one area: the provider's part and the client's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    area: str = Field(min_length=1)
    provider: str = Field(min_length=1)
    client: str = Field(min_length=1)


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    client: str = Field(min_length=1)
    contract: str = Field(min_length=1)
    valid_from: date
    valid_until: date
    timezone: str = "UTC"
    operation: dict[str, TaskScope] = Field(default_factory=dict)
    maintenance: dict[str, TaskScope] = Field(default_factory=dict)
    blackouts: list[Blackout] = Field(default_factory=list)
    # apprise URLs this client's alerts go to besides the workspace's `notify` setting.
    notify: list[str] = Field(default_factory=list)
    # Sites the tick probes from the controller (omctl.monitor).
    monitor: list[MonitorTarget] = Field(default_factory=list)
    # Who gets last month's report as a PDF on the first tick of a month (omctl.delivery).
    report_recipients: list[EmailStr] = Field(default_factory=list)
    fees: Fees | None = None  # None: the contract states no fees (never a made-up 0)
    responsibilities: list[Responsibility] = Field(default_factory=list)

    @field_validator("operation", "maintenance", mode="before")
    @classmethod
    def _empty_map(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator(
        "blackouts", "notify", "monitor", "report_recipients", "responsibilities", mode="before"
    )
    @classmethod
    def _empty_list(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("notify")
    @classmethod
    def _urls(cls, value: list[str]) -> list[str]:
        for index, url in enumerate(value):
            if "://" not in url:  # the URL itself is never echoed: it may hold a token
                raise ValueError(f"entry {index} is not a notification URL (scheme://...)")
        return value

    @field_validator("monitor")
    @classmethod
    def _unique_sites(cls, value: list[MonitorTarget]) -> list[MonitorTarget]:
        return check_unique(value)

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("valid_until")
    @classmethod
    def _dates(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("valid_from")
        if start is not None and value < start:
            raise ValueError(f"valid_until is before valid_from ({start})")
        return value

    def tasks(self, category: Category) -> dict[str, TaskScope]:
        return self.operation if category is Category.OPERATION else self.maintenance

    def entry(self, task: Task) -> TaskScope | None:
        if not task.category.contracted:
            return None
        return self.tasks(task.category).get(task.name)

    def in_force(self, today: date) -> bool:
        return self.valid_from <= today <= self.valid_until

    def blackout(self, day: date) -> Blackout | None:
        """The blackout holding ``day``, if any (the first listed)."""
        return next((blackout for blackout in self.blackouts if blackout.holds(day)), None)

    def now(self) -> datetime:
        return datetime.now(ZoneInfo(self.timezone))


@dataclass(frozen=True)
class LoadedScope:
    scope: Scope
    source: yamlfile.LocatedYaml

    def line_of(self, *key: str | int) -> int:
        return self.source.line_of(key)


def _pydantic_message(error: Any) -> str:
    kind = error["type"]
    loc = error["loc"]
    # A bad mapping key (loc ends in KEY, "[key]"): named by the mapping it is in.
    shown = loc[:-2] if loc and loc[-1] == "[key]" else loc
    field = ".".join(str(part) for part in shown) or "file"
    if kind == "extra_forbidden":
        return f"unknown key {loc[-1]!r}"
    if kind == "missing":
        return f"missing key {field!r}"
    if kind == "enum":
        allowed = ", ".join(c.value for c in Cadence)
        return f"{field}: {error['input']!r} is not a cadence (use {allowed})"
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{field}: {message}"


def parse(located: yamlfile.LocatedYaml) -> LoadedScope:
    if not isinstance(located.data, dict):
        raise located.error("scope must be a mapping of keys to values", cls=ScopeInvalid)
    try:
        scope = Scope.model_validate(located.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = tuple(first["loc"])
        raise located.error(_pydantic_message(first), key, cls=ScopeInvalid) from None
    _check_fees(scope, located)
    _check_responsibilities(scope, located)
    return LoadedScope(scope, located)


def _check_fees(scope: Scope, located: yamlfile.LocatedYaml) -> None:
    fees = scope.fees
    if fees is None or fees.currency is not None:
        return
    # The line of the first amount: an amount is what lacks its currency.
    key = ("fees", "monthly") if fees.monthly else ("fees", "hourly_rate")
    raise located.error(
        f"fees.{key[1]}: an amount needs a currency (add currency: EUR to fees)",
        key,
        cls=ScopeInvalid,
    )


def _check_responsibilities(scope: Scope, located: yamlfile.LocatedYaml) -> None:
    seen: dict[str, int] = {}
    for index, entry in enumerate(scope.responsibilities):
        area = entry.area.strip().casefold()
        if area in seen:
            raise located.error(
                f"responsibilities: area {entry.area!r} is listed twice "
                f"(first on line {located.line_of(('responsibilities', seen[area]))})",
                ("responsibilities", index, "area"),
                cls=ScopeInvalid,
            )
        seen[area] = index


def load(path: Path) -> LoadedScope:
    return parse(yamlfile.load(path, cls=ScopeInvalid))


@dataclass(frozen=True)
class ClientContract:
    """A client's scope.yml checked against the task catalog and its inventory, with both."""

    loaded: LoadedScope
    tasks: dict[str, Task]
    hosts: inventory.Inventory


def load_checked(
    ws: Workspace, client: str, tasks: dict[str, Task] | None = None
) -> ClientContract:
    """Load and cross-check a client's contract: BadInput family errors name file and line.
    ``tasks``: the workspace's catalog when already read (a tick reads it once for all)."""
    client_dir = ws.existing_client_dir(client)
    if tasks is None:
        tasks = task_catalog.by_name(ws)
    hosts = inventory.load(client_dir / inventory.HOSTS_FILE)
    loaded = load(client_dir / SCOPE_FILE)
    check_against(loaded, client=client, catalog=tasks, inventory_names=hosts.names)
    return ClientContract(loaded, tasks, hosts)


def check_against(
    loaded: LoadedScope,
    *,
    client: str,
    catalog: dict[str, Task],
    inventory_names: set[str] | None,
) -> None:
    """Cross-checks that need the workspace: client name, catalog, inventory hosts/groups."""
    scope = loaded.scope
    src = loaded.source
    if scope.client != client:
        raise src.error(
            f"client is {scope.client!r} but the folder is {client!r}", ("client",), ScopeInvalid
        )
    for category in CONTRACTED:
        for name, entry in scope.tasks(category).items():
            task = catalog.get(name)
            if task is None:
                raise src.error(f"unknown task {name!r}", (category.value, name), ScopeInvalid)
            if task.category is not category:
                raise src.error(
                    f"task {name!r} is {task.category.value}, not {category.value}",
                    (category.value, name),
                    ScopeInvalid,
                )
            if entry.verify is not None and name not in DRIFT_CHECKABLE:
                raise src.error(
                    f"{name}: verify is for tasks whose check mode shows drift "
                    f"({', '.join(sorted(DRIFT_CHECKABLE))})",
                    (category.value, name, "verify"),
                    ScopeInvalid,
                )
            if inventory_names is not None and entry.hosts:
                for index, host in enumerate(entry.hosts):
                    if host not in inventory_names:
                        raise src.error(
                            f"{name}: host or group {host!r} is not in the inventory",
                            (category.value, name, "hosts", index),
                            ScopeInvalid,
                        )
    for name in scope.fees.task_prices if scope.fees else ():
        if name not in catalog:
            raise src.error(
                f"fees.task_prices: unknown task {name!r}",
                ("fees", "task_prices", name),
                ScopeInvalid,
            )


def check_in_force(loaded: LoadedScope, today: date) -> None:
    scope = loaded.scope
    if today < scope.valid_from:
        raise loaded.source.error(
            f"contract {scope.contract} starts on {scope.valid_from}, it is not in force yet",
            ("valid_from",),
            ScopeInvalid,
        )
    if today > scope.valid_until:
        raise loaded.source.error(
            f"contract {scope.contract} ended on {scope.valid_until}",
            ("valid_until",),
            ScopeInvalid,
        )


@dataclass(frozen=True)
class Decision:
    in_scope: bool
    reason: str


def decide(
    scope: Scope,
    task: Task,
    *,
    targets: list[str],
    covered: set[str] | None,
    now: datetime,
) -> Decision:
    """May ``task`` run now on ``targets``? ``covered`` is the set of hosts the entry covers
    (None: every host)."""
    if not task.category.contracted:
        return Decision(True, f"{task.category.value} work is the provider's handover")
    today = now.date()
    if not scope.in_force(today):
        return Decision(
            False,
            f"contract {scope.contract} is valid from {scope.valid_from} to "
            f"{scope.valid_until}, not on {today}",
        )
    entry = scope.entry(task)
    if entry is None:
        return Decision(
            False, f"{task.category.value} task {task.name!r} is not in contract {scope.contract}"
        )
    if covered is not None:
        outside = [host for host in targets if host not in covered]
        if outside:
            return Decision(
                False,
                f"contract {scope.contract} covers {task.name!r} on "
                f"{', '.join(sorted(covered)) or 'no host'}, not on {', '.join(outside)}",
            )
    if entry.window is not None and not entry.window.is_open(now):
        return Decision(
            False,
            f"{task.name!r} may run only in its window {entry.window} ({scope.timezone}); "
            f"it is {now:%a %H:%M} now",
        )
    return Decision(True, f"{task.category.value} task {task.name!r}, {entry.every.value}")
