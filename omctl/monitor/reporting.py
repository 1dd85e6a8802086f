"""The report's monitoring: per site the availability of the period (from the daily
summaries in the ledger, which outlive the raw probes), its incidents and its latency per
day. A site without a summary in the period is "not monitored" (availability None)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from omctl import ledger, scope
from omctl.monitor import daily
from omctl.monitor.views import percent


def collect(
    book: ledger.Ledger, terms: scope.Scope, start: datetime, end: datetime
) -> dict[str, Any]:
    """``start``/``end``: the period's bounds (midnights in the contract's zone); empty when
    the contract monitors nothing and the period has no summary."""
    first, after = start.date(), end.date()
    found = [
        s
        for s in daily.latest_by_day(book.entries(run_id=daily.MONITOR_ENTRY), terms.client)
        if first <= s.day < after
    ]
    urls = list(dict.fromkeys([*(t.url for t in terms.monitor), *(s.url for s in found)]))
    if not urls:
        return {}
    days_in_period = (after - first).days
    sites, incidents, latency = [], {}, []
    for url in urls:
        days = [s for s in found if s.url == url]
        probes, up = sum(s.probes for s in days), sum(s.up for s in days)
        p50s = sorted(s.p50_ms for s in days if s.p50_ms is not None)
        p95s = [s.p95_ms for s in days if s.p95_ms is not None]
        tls = [s.tls_days_min for s in days if s.tls_days_min is not None]
        for summary in days:
            for note in summary.incidents:  # the latest summary knows best when it closed
                incidents[(url, note.opened_at)] = {"site": url, **note.model_dump()}
            if summary.p50_ms is not None:
                noon = datetime.combine(summary.day, time(12), start.tzinfo)
                latency.append({"at": noon.isoformat(), "host": url, "value": summary.p50_ms,
                                "p95": summary.p95_ms})  # fmt: skip
        sites.append({
            "url": url,
            "monitored": url in {t.url for t in terms.monitor},
            "availability": percent(probes, up),
            "probes": probes,
            "days_monitored": len(days),
            "days_in_period": days_in_period,
            "incidents": sum(1 for key in incidents if key[0] == url),
            "p50_ms": p50s[len(p50s) // 2] if p50s else None,  # the median day's p50
            "p95_ms": max(p95s) if p95s else None,  # the worst day's p95
            "tls_days_min": min(tls) if tls else None,
        })  # fmt: skip
    return {
        "sites": sites,
        "incidents": sorted(incidents.values(), key=lambda i: i["opened_at"]),
        "latency": latency,
    }
