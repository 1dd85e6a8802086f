"""Once a day per site, a summary in the hash-chained ledger: what stays for good.

A day is a calendar day in the client's contract time zone, as its reports count. On the
first tick after a day ends, each monitored site gets one ``monitor.daily`` entry for it
(run id ``monitor``: an entry of no run, which ``ledger.fold`` skips). A day without probes
gets none: it was not monitored, and the report says so. The ledger entries are written
before the store marks the day done, so a crash between the two repeats a day rather than
losing one; readers keep the last entry of a site and day (``latest_by_day``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from omctl import ledger
from omctl.monitor.store import Site, Store

MONITOR_ENTRY = "monitor"
DAILY = "monitor.daily"


class IncidentNote(BaseModel):
    model_config = ConfigDict(extra="allow")

    opened_at: str  # ISO 8601, UTC: the first failed probe
    closed_at: str | None  # the first probe that succeeded again; None: open when summarized
    error: str


class DailySummary(BaseModel):
    """One site's day: ``up`` of ``probes`` succeeded; latencies of the successful probes."""

    model_config = ConfigDict(extra="allow")

    client: str
    url: str
    day: date
    timezone: str
    probes: int
    up: int
    availability: float  # percent, 3 decimals
    incidents: list[IncidentNote]  # those open at some time of the day
    p50_ms: int | None
    p95_ms: int | None
    tls_days_min: int | None


def iso(epoch: int | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


def percentile(values: list[int], share: float) -> int | None:
    """Nearest rank: the smallest value with at least ``share`` of the values at or below."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def day_bounds(day: date, tz: ZoneInfo) -> tuple[int, int]:
    """``[start, end)`` of a local day in epoch seconds (23 or 25 hours on DST days)."""
    start = datetime.combine(day, time(), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=tz)
    return int(start.timestamp()), int(end.timestamp())


def summarize_day(store: Store, site: Site, day: date, tz: ZoneInfo) -> DailySummary | None:
    start, end = day_bounds(day, tz)
    probes = store.probes(site.id, start, end)
    if not probes:
        return None
    up = [probe for probe in probes if probe.up]
    tls = [probe.tls_days for probe in probes if probe.tls_days is not None]
    return DailySummary(
        client=site.client,
        url=site.url,
        day=day,
        timezone=str(tz),
        probes=len(probes),
        up=len(up),
        availability=round(100 * len(up) / len(probes), 3),
        incidents=[
            IncidentNote(
                opened_at=iso(i.opened_at) or "", closed_at=iso(i.closed_at), error=i.first_error
            )
            for i in store.incidents(site.id, start, end)
        ],
        p50_ms=percentile([p.latency_ms for p in up if p.latency_ms is not None], 0.5),
        p95_ms=percentile([p.latency_ms for p in up if p.latency_ms is not None], 0.95),
        tls_days_min=min(tls) if tls else None,
    )


def due(
    store: Store, sites: Iterable[Site], tz: ZoneInfo, now: datetime, keep_days: int
) -> tuple[list[DailySummary], dict[int, date]]:
    """The summaries of the days that ended since each site's last summarized day (none
    older than the probes kept), and the day each site is summarized up to then."""
    today = now.astimezone(tz).date()
    summaries: list[DailySummary] = []
    marks: dict[int, date] = {}
    for site in sites:
        if site.summarized is not None:
            first = date.fromisoformat(site.summarized) + timedelta(days=1)
        else:
            first_at = store.first_probe_at(site.id)
            if first_at is None:
                continue
            first = datetime.fromtimestamp(first_at, tz).date()
        first = max(first, today - timedelta(days=keep_days))
        if first >= today:
            continue
        day = first
        while day < today:
            found = summarize_day(store, site, day, tz)
            if found is not None:
                summaries.append(found)
            day += timedelta(days=1)
        marks[site.id] = today - timedelta(days=1)
    return summaries, marks


def append(book: ledger.Ledger, store: Store, summaries: list[DailySummary],
           marks: dict[int, date]) -> None:  # fmt: skip
    if summaries:
        book.append_many(
            [(MONITOR_ENTRY, DAILY, summary.model_dump(mode="json")) for summary in summaries]
        )
    with store.transaction():
        for site, day in marks.items():
            store.mark_summarized(site, day.isoformat())


def latest_by_day(entries: Iterable[ledger.Entry], client: str) -> list[DailySummary]:
    """The client's daily summaries from ledger entries, the last one of each site and day."""
    found: dict[tuple[str, date], DailySummary] = {}
    for entry in entries:
        if entry.kind != DAILY or entry.payload.get("client") != client:
            continue
        summary = DailySummary.model_validate(entry.payload)
        found[(summary.url, summary.day)] = summary
    return sorted(found.values(), key=lambda s: (s.url, s.day))
