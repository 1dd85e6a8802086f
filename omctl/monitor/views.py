"""What ``omctl status`` shows of a client's monitored sites: availability this month (from
the probes kept), the open incident and the TLS days left. No probes is "not monitored"
(None), never 100 %."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from omctl import coverage, scope
from omctl.monitor.daily import iso
from omctl.monitor.store import Store, open_existing


def percent(total: int, up: int) -> float | None:
    return round(100 * up / total, 3) if total else None


def _row(store: Store | None, client: str, url: str, start: int, end: int) -> dict[str, Any]:
    site = store.sites(client).get(url) if store is not None else None
    if store is None or site is None:
        return {"url": url, "availability": None, "probes": 0, "up": 0, "open_incident": None,
                "tls_days": None, "last_probe": None}  # fmt: skip
    total, up = store.availability(site.id, start, end)
    incident = store.open_incident(site.id)
    latest = store.latest(site.id)
    return {
        "url": url,
        "availability": percent(total, up),
        "probes": total,
        "up": up,
        "open_incident": {"opened_at": iso(incident.opened_at), "error": incident.first_error}
        if incident
        else None,
        "tls_days": latest.tls_days if latest else None,
        "last_probe": {"at": iso(latest.at), "status": latest.status, "error": latest.error}
        if latest
        else None,
    }


def sites(state: Path, terms: scope.Scope, now: datetime) -> list[dict[str, Any]]:
    """One row per monitored site of the client, for the current month in its time zone."""
    if not terms.monitor:
        return []
    month_start, month_end = coverage.current_month(now, ZoneInfo(terms.timezone))
    start, end = int(month_start.timestamp()), int(month_end.timestamp())
    store = open_existing(state)
    try:
        return [_row(store, terms.client, t.url, start, end) for t in terms.monitor]
    finally:
        if store is not None:
            store.close()


def availability_text(value: float | None) -> str:
    return "not monitored" if value is None else f"{value:.2f}%"


def glance(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The client's sites in one figure each: for ``omctl status`` without a client."""
    total, up = sum(r["probes"] for r in rows), sum(r["up"] for r in rows)
    return {
        "monitored_sites": len(rows),
        "open_incidents": sum(1 for r in rows if r["open_incident"]),
        "availability": percent(total, up),
    }
