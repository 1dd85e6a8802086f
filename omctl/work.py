"""The client's requests and the people's manual work, kept in the ledger beside the runs.

A request (an inquiry, a change the client asks for) is added, classified as operation,
maintenance or out-of-scope work, approved by the client when it is out of scope (before it is
billed), and closed. Manual work (the inquiry answered, the improvement proposed, the change
helped along) is logged in minutes against a category and, optionally, a request. Every step is
one typed, hash-chained entry with its operator; a request's state is the fold of its entries,
so nothing is updated in place.

A request's id is ``R`` and the ledger sequence number of the entry that added it, and a work
entry's ``W`` and its own: unique by construction, with no counter to race for, however many
omctl processes write to the ledger.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from omctl import billing, ledger
from omctl.errors import BadInput
from omctl.ledger import Ledger, Run

# run_id of the entries that belong to no run (``ledger.fold`` skips them).
REQUEST_ENTRY = "request"
WORK_ENTRY = "work"
# Entry kinds.
ADDED = "request.added"
CLASSIFIED = "request.classified"
APPROVED = "request.approved"
CLOSED = "request.closed"
LOGGED = "work.logged"

REQUEST_ID_RE = re.compile(r"^[Rr](?P<seq>[1-9][0-9]*)$")
MAX_MINUTES = 24 * 60  # one entry is at most a day's work: more is a typo, not a day
CATEGORIES = ("operation", "maintenance")


class Classification(StrEnum):
    OPERATION = "operation"
    MAINTENANCE = "maintenance"
    OUT_OF_SCOPE = "out-of-scope"


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Category = Annotated[str, Field(pattern="^(operation|maintenance)$")]


class _Record(BaseModel):
    # Built on first use: most commands that import this module read no such record.
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    v: int = 1
    client: Name
    operator: Name


class RequestAdded(_Record):
    """``request.added``: what the client asked for, who asked, and the category it was given."""

    text: Text
    requested_by: Name | None = None
    category: Category | None = None


class RequestClassified(_Record):
    """``request.classified``: which service the request belongs to, and why."""

    request: str
    classification: Classification
    reason: Text


class RequestApproved(_Record):
    """``request.approved``: the client approved out-of-scope work, with an optional quote."""

    request: str
    by: Name
    quote_hours: Decimal | None = Field(default=None, gt=0, max_digits=8, decimal_places=2)


class RequestClosed(_Record):
    """``request.closed``: the request is answered or done."""

    request: str
    note: Text | None = None


class WorkRecord(_Record):
    """``work.logged``: minutes of manual work on a category, for a request or not."""

    category: Category
    minutes: int = Field(gt=0, le=MAX_MINUTES)
    text: Text
    request: str | None = None
    # When the work was done (it may be logged later); the entry's own time otherwise.
    done_at: datetime | None = None


RECORDS: dict[str, type[_Record]] = {
    ADDED: RequestAdded,
    CLASSIFIED: RequestClassified,
    APPROVED: RequestApproved,
    CLOSED: RequestClosed,
    LOGGED: WorkRecord,
}


@dataclass(frozen=True)
class RequestState:
    """The fold of one request's entries."""

    id: str
    client: str
    text: str
    requested_by: str | None
    added_at: datetime
    added_by: str
    category: str | None
    classification: Classification | None = None
    classified_reason: str | None = None
    classified_by: str | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    quote_hours: Decimal | None = None
    closed_at: datetime | None = None
    closed_note: str | None = None

    @property
    def open(self) -> bool:
        return self.closed_at is None

    @property
    def out_of_scope(self) -> bool:
        return self.classification is Classification.OUT_OF_SCOPE

    @property
    def approved(self) -> bool:
        return self.approved_at is not None

    @property
    def awaiting_approval(self) -> bool:
        return self.out_of_scope and not self.approved

    def age(self, now: datetime) -> timedelta:
        return (self.closed_at or now) - self.added_at

    @property
    def state(self) -> str:
        if not self.open:
            return "closed"
        if self.classification is None:
            return "new"
        return "awaiting approval" if self.awaiting_approval else "open"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "client": self.client,
            "text": self.text,
            "requested_by": self.requested_by,
            "added_at": _iso(self.added_at),
            "added_by": self.added_by,
            "category": self.category,
            "classification": self.classification.value if self.classification else None,
            "classified_reason": self.classified_reason,
            "classified_by": self.classified_by,
            "approved_by": self.approved_by,
            "approved_at": _iso(self.approved_at),
            "quote_hours": str(self.quote_hours) if self.quote_hours is not None else None,
            "closed_at": _iso(self.closed_at),
            "closed_note": self.closed_note,
            "state": self.state,
        }


@dataclass(frozen=True)
class WorkLogged:
    """One logged piece of manual work."""

    id: str
    client: str
    category: str
    minutes: int
    text: str
    request: str | None
    operator: str
    at: datetime  # when the work was done

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "client": self.client,
            "category": self.category,
            "minutes": self.minutes,
            "text": self.text,
            "request": self.request,
            "operator": self.operator,
            "at": _iso(self.at),
        }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment is not None else None


def _record(entry: ledger.Entry) -> _Record | None:
    """The entry's typed record; None for a record this omctl cannot read (a newer version's,
    or one altered by hand: ``ledger verify`` says which), so reads never crash on it."""
    model = RECORDS.get(entry.kind)
    if model is None:
        return None
    try:
        return model.model_validate(entry.payload)
    except ValidationError:
        return None


def request_id(seq: int) -> str:
    return f"R{seq}"


def fold_requests(entries: list[ledger.Entry], client: str | None = None) -> list[RequestState]:
    """Requests (of ``client``) from their entries, oldest first."""
    found: dict[str, RequestState] = {}
    for entry in entries:
        record = _record(entry)
        if record is None or (client is not None and record.client != client):
            continue
        at = ledger.parse_stamp(entry.at)
        if isinstance(record, RequestAdded):
            found[request_id(entry.seq)] = RequestState(
                id=request_id(entry.seq),
                client=record.client,
                text=record.text,
                requested_by=record.requested_by,
                added_at=at,
                added_by=record.operator,
                category=record.category,
            )
            continue
        current = found.get(getattr(record, "request", ""))
        if current is None or current.client != record.client:
            continue
        if isinstance(record, RequestClassified):
            current = replace(
                current,
                classification=record.classification,
                classified_reason=record.reason,
                classified_by=record.operator,
            )
        elif isinstance(record, RequestApproved):
            current = replace(
                current, approved_by=record.by, approved_at=at, quote_hours=record.quote_hours
            )
        elif isinstance(record, RequestClosed):
            current = replace(current, closed_at=at, closed_note=record.note)
        found[current.id] = current
    return list(found.values())


def requests(book: Ledger, client: str) -> list[RequestState]:
    """The client's requests, oldest first."""
    return fold_requests(list(book.entries(run_id=REQUEST_ENTRY)), client)


def work_logged(
    book: Ledger, client: str, start: datetime | None = None, end: datetime | None = None
) -> list[WorkLogged]:
    """The client's manual work done in ``[start, end)``, in the order it was done."""
    found = []
    for entry in book.entries(run_id=WORK_ENTRY):
        record = _record(entry)
        if not isinstance(record, WorkRecord) or record.client != client:
            continue
        item = _logged(entry, record)
        if (start is not None and item.at < start) or (end is not None and item.at >= end):
            continue
        found.append(item)
    found.sort(key=lambda item: item.at)
    return found


def minutes_by_request(logged: list[WorkLogged]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for item in logged:
        if item.request is not None:
            totals[item.request] = totals.get(item.request, 0) + item.minutes
    return totals


def _logged(entry: ledger.Entry, record: WorkRecord) -> WorkLogged:
    return WorkLogged(
        id=f"W{entry.seq}",
        client=record.client,
        category=record.category,
        minutes=record.minutes,
        text=record.text,
        request=record.request,
        operator=record.operator,
        at=record.done_at or ledger.parse_stamp(entry.at),
    )


# --- Writing: every check first, then one entry -------------------------------------------


def parse_request_id(text: str) -> str:
    match = REQUEST_ID_RE.match(text.strip())
    if match is None:
        raise BadInput(f"{text!r} is not a request id (they look like R12)")
    return request_id(int(match["seq"]))


def find(book: Ledger, client: str | None, text: str) -> RequestState:
    """The request ``text`` names (of ``client`` when given); BadInput when there is none."""
    wanted = parse_request_id(text)
    for state in fold_requests(list(book.entries(run_id=REQUEST_ENTRY))):
        if state.id == wanted:
            if client is not None and state.client != client:
                raise BadInput(f"request {wanted} is {state.client}'s, not {client}'s")
            return state
    raise BadInput(f"no request {wanted} in the ledger (omctl request list CLIENT)")


def _check_open(state: RequestState, doing: str) -> None:
    if not state.open:
        raise BadInput(f"request {state.id} was closed on {state.closed_at:%Y-%m-%d}: {doing}")


def _validated(model: type[_Record], **fields: Any) -> dict[str, Any]:
    """The record as it is stored; a field that does not validate is one BadInput line."""
    try:
        record = model.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "record"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise BadInput(f"{name}: {message}") from None
    return record.model_dump(mode="json", exclude_none=True)


def add(
    book: Ledger,
    client: str,
    text: str,
    operator: str,
    requested_by: str | None = None,
    category: str | None = None,
) -> RequestState:
    payload = _validated(
        RequestAdded,
        client=client,
        operator=operator,
        text=text,
        requested_by=requested_by,
        category=category,
    )
    entry = book.append(REQUEST_ENTRY, ADDED, payload)
    return fold_requests([entry])[0]


def classify(
    book: Ledger, text_id: str, classification: str, reason: str, operator: str
) -> RequestState:
    state = find(book, None, text_id)
    _check_open(state, "it cannot be classified any more")
    try:
        kind = Classification(classification)
    except ValueError:
        allowed = ", ".join(c.value for c in Classification)
        raise BadInput(f"{classification!r} is not a classification (use {allowed})") from None
    payload = _validated(
        RequestClassified,
        client=state.client,
        operator=operator,
        request=state.id,
        classification=kind,
        reason=reason,
    )
    book.append(REQUEST_ENTRY, CLASSIFIED, payload)
    return find(book, state.client, state.id)


def parse_hours(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        hours = Decimal(text.strip())
    except InvalidOperation:
        raise BadInput(f"--quote: {text!r} is not a number of hours") from None
    if not hours.is_finite() or hours <= 0:
        raise BadInput(f"--quote: {text!r} must be a positive number of hours")
    return hours


def approve(
    book: Ledger, text_id: str, by: str, operator: str, quote_hours: Decimal | None = None
) -> RequestState:
    state = find(book, None, text_id)
    _check_open(state, "it cannot be approved any more")
    if not state.out_of_scope:
        given = state.classification.value if state.classification else "not classified yet"
        raise BadInput(
            f"request {state.id} is {given}: only out-of-scope work needs the client's "
            f"approval (omctl request classify {state.id} out-of-scope --reason ...)"
        )
    if state.approved:
        raise BadInput(
            f"request {state.id} was already approved by {state.approved_by} on "
            f"{state.approved_at:%Y-%m-%d}"
        )
    payload = _validated(
        RequestApproved,
        client=state.client,
        operator=operator,
        request=state.id,
        by=by,
        quote_hours=quote_hours,
    )
    book.append(REQUEST_ENTRY, APPROVED, payload)
    return find(book, state.client, state.id)


def close(book: Ledger, text_id: str, operator: str, note: str | None = None) -> RequestState:
    state = find(book, None, text_id)
    _check_open(state, "it cannot be closed twice")
    payload = _validated(
        RequestClosed, client=state.client, operator=operator, request=state.id, note=note
    )
    book.append(REQUEST_ENTRY, CLOSED, payload)
    return find(book, state.client, state.id)


def log(
    book: Ledger,
    client: str,
    category: str,
    minutes: int,
    text: str,
    operator: str,
    now: datetime,
    request: str | None = None,
    done_at: datetime | None = None,
) -> WorkLogged:
    """Record manual work; ``done_at`` (aware, not after ``now``) when it was done earlier."""
    linked = None
    if request is not None:
        linked = find(book, client, request)
        _check_open(linked, "log the work before closing it")
        classified = linked.classification
        if classified is not None and not linked.out_of_scope and classified.value != category:
            raise BadInput(f"request {linked.id} is classified {classified.value}, not {category}")
    if done_at is not None:
        if done_at.tzinfo is None:
            raise BadInput("--at needs a time zone offset (2026-12-01T14:00+01:00)")
        if done_at > now:
            raise BadInput(f"--at {done_at.isoformat()} is in the future")
    payload = _validated(
        WorkRecord,
        client=client,
        operator=operator,
        category=category,
        minutes=minutes,
        text=text,
        request=linked.id if linked else None,
        done_at=done_at.astimezone(UTC) if done_at else None,
    )
    entry = book.append(WORK_ENTRY, LOGGED, payload)
    return _logged(entry, WorkRecord.model_validate(entry.payload))


# --- What there is to bill -------------------------------------------------------------------


def run_minutes(run: Run) -> int:
    """A run's duration in whole minutes, rounded up (billing rounds further); 0 while it
    runs."""
    if run.ended_at is None:
        return 0
    took = ledger.parse_stamp(run.ended_at) - ledger.parse_stamp(run.started_at)
    return max(0, -(-int(took.total_seconds()) // 60))


def billable_items(
    book: Ledger, client: str, start: datetime, end: datetime, runs: list[Run]
) -> list[billing.WorkItem]:
    """The work of ``[start, end)`` a bill is made of: the manual work logged and the
    out-of-scope runs among ``runs`` (not check, not refused). Out-of-scope manual work is that
    of a request classified out-of-scope, approved when the request is; an out-of-scope run is
    approved by the approved request it names, else by the reason its operator recorded."""
    known = {state.id: state for state in requests(book, client)}
    items = []
    for logged in work_logged(book, client, start, end):
        request = known.get(logged.request) if logged.request else None
        out = request is not None and request.out_of_scope
        items.append(
            billing.WorkItem(
                at=logged.at,
                category=logged.category,
                minutes=logged.minutes,
                description=logged.text,
                out_of_scope=out,
                approved=bool(out and request and request.approved),
                request_id=logged.request,
                ref=logged.id,
                operator=logged.operator,
                **_request_fields(request),
            )
        )
    for run in runs:
        if run.in_scope or run.check or run.status == ledger.STATUS_REFUSED:
            continue
        moment = ledger.parse_stamp(run.started_at)
        if not start <= moment < end:
            continue
        request = known.get(run.request) if run.request else None
        if run.request:
            approved = request is not None and request.approved
        else:
            approved = run.out_of_scope_reason is not None
        items.append(
            billing.WorkItem(
                at=moment,
                category=run.category if run.category in CATEGORIES else None,
                minutes=run_minutes(run),
                description=f"run of {run.task} ({run.status})",
                out_of_scope=True,
                approved=approved,
                request_id=run.request,
                task=run.task,
                ref=run.id,
                operator=run.operator,
                reason=None if run.request else run.out_of_scope_reason,
                **_request_fields(request),
            )
        )
    return items


def _request_fields(request: RequestState | None) -> dict[str, Any]:
    """What a bill says of an item's request: its text, who approved it, the quote."""
    if request is None:
        return {"request_text": None, "approved_by": None, "quote_hours": None}
    return {
        "request_text": request.text,
        "approved_by": request.approved_by,
        "quote_hours": request.quote_hours,
    }
