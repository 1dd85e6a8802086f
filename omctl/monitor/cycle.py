"""What one ``omctl tick`` does for monitoring: probe the sites that are due (every client's,
at once, from the tick's parent process), record the probes and incidents, alert, append the
daily summaries of the days that ended and drop probes past ``monitor_keep_days``."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from omctl import ledger, notify, scope
from omctl.errors import OmctlError
from omctl.monitor import daily, probe
from omctl.monitor.store import Store, open_existing, store_path
from omctl.monitor.targets import MonitorTarget
from omctl.settings import Settings

DAY = 86400
MAX_SLACK = 30  # seconds: a timer's jitter must not make a site skip its turn


@dataclass(frozen=True)
class Due:
    client: str
    target: MonitorTarget


@dataclass
class Result:
    due: list[Due] = field(default_factory=list)
    waiting: int = 0  # sites whose last probe is younger than their interval
    probes: list[tuple[Due, probe.Probe]] = field(default_factory=list)
    opened: list[tuple[str, str]] = field(default_factory=list)  # (client, url)
    closed: list[tuple[str, str]] = field(default_factory=list)
    summaries: int = 0
    dropped: int = 0
    seconds: float = 0.0  # the wall time of this tick's monitoring

    def line(self, dry_run: bool) -> str:
        if dry_run:
            return (f"monitor: would probe {len(self.due)} sites "
                    f"({self.waiting} not due yet)")  # fmt: skip
        down = sum(1 for _, result in self.probes if not result.up)
        return (
            f"monitor: probed {len(self.probes)} sites ({down} failing, {self.waiting} not due "
            f"yet); incidents opened {len(self.opened)}, closed {len(self.closed)}; daily "
            f"summaries {self.summaries}; {self.seconds:.2f} s"
        )


def is_due(target: MonitorTarget, last_at: int | None, now: int) -> bool:
    if last_at is None:
        return True
    interval = int(target.interval.total_seconds())
    return now - last_at >= interval - min(MAX_SLACK, interval // 10)


def plan(store: Store | None, contracts: list[scope.ClientContract], now: int) -> Result:
    found = Result()
    for contract in contracts:
        terms = contract.loaded.scope
        sites = store.sites(terms.client) if store is not None else {}
        for target in terms.monitor:
            site = sites.get(target.url)
            if is_due(target, site.last_at if site else None, now):
                found.due.append(Due(terms.client, target))
            else:
                found.waiting += 1
    return found


def tick(
    settings: Settings,
    book: ledger.Ledger | None,
    clients: list[str],
    now: datetime,
    dry_run: bool,
    warn: Callable[[str], None],
) -> Result:
    """The tick's monitoring for ``clients``; a client whose files do not load is skipped
    here (its own tick reports it)."""
    contracts = []
    for name in clients:
        try:
            contracts.append(scope.load_checked(settings.workspace, name))
        except OmctlError:
            continue
    return run(settings, book, contracts, now, dry_run, warn)


def run(
    settings: Settings,
    book: ledger.Ledger | None,
    contracts: list[scope.ClientContract],
    now: datetime,
    dry_run: bool,
    warn: Callable[[str], None],
) -> Result:
    """One tick's monitoring; ``book`` may be None only for a dry run (which writes nothing)."""
    state = settings.workspace.state
    at = int(now.timestamp())
    monitored = [c for c in contracts if c.loaded.scope.monitor]
    if dry_run or book is None:
        existing = open_existing(state)
        try:
            return plan(existing, monitored, at)
        finally:
            if existing is not None:
                existing.close()
    if not monitored:
        return Result()
    started = time.perf_counter()
    store = Store(store_path(state))
    try:
        found = plan(store, monitored, at)
        targets = [d.target for d in found.due]
        concurrency, ca_file = settings.monitor_concurrency, settings.monitor_ca_file
        found.probes = list(zip(found.due, probe.probe_all(targets, at, concurrency, ca_file),
                                strict=True))  # fmt: skip
        known: dict[tuple[str, str], int] = {}
        for contract in monitored:
            client = contract.loaded.scope.client
            urls = [d.target.url for d in found.due if d.client == client]
            known.update({(client, url): id_ for url, id_ in store.site_ids(client, urls).items()})
        ids = [known[(d.client, d.target.url)] for d in found.due]
        changes = dict(store.record_many(
            (site, result, d.target.confirm)
            for site, (d, result) in zip(ids, found.probes, strict=True)
        ))  # fmt: skip
        for site, d in zip(ids, found.due, strict=True):
            if changes[site].opened is not None:
                found.opened.append((d.client, d.target.url))
            if changes[site].closed is not None:
                found.closed.append((d.client, d.target.url))
        for contract in monitored:
            terms = contract.loaded.scope
            _alert(settings, store, contract, now, warn)
            sites = list(store.sites(terms.client).values())
            summaries, marks = daily.due(store, sites, ZoneInfo(terms.timezone), now,
                                         settings.monitor_keep_days)  # fmt: skip
            daily.append(book, store, summaries, marks)
            found.summaries += len(summaries)
        with store.transaction():
            found.dropped = store.drop_before(at - settings.monitor_keep_days * DAY)
        found.seconds = time.perf_counter() - started
        return found
    finally:
        store.close()


def _alert(
    settings: Settings,
    store: Store,
    contract: scope.ClientContract,
    now: datetime,
    warn: Callable[[str], None],
) -> None:
    """Site down (once per incident, reminded after remind_hours), recovered (once, when the
    incident closes; retried by later ticks while the reminder period lasts, if no URL took
    it), TLS expiring (once, reminded, until the certificate is renewed)."""
    terms = contract.loaded.scope
    urls = [*settings.notify, *terms.notify]
    if not urls:
        return
    remind = timedelta(hours=settings.remind_hours)
    found = site_alerts(store, terms, int(now.timestamp()), remind)
    log = notify.AlertLog(settings.workspace.state / "alerts", terms.client)
    active = {alert.key for alert in found}
    for prefix in ("site:", "recovered:", "tls:"):
        log.forget_except(f"{prefix}{terms.client}:", active)
    for problem in notify.deliver(urls, found, log, now, remind):
        warn(problem)
    log.save()


def site_alerts(
    store: Store, terms: scope.Scope, now: int, remind: timedelta
) -> list[notify.Alert]:
    """The alerts the store's state calls for at ``now``. An incident that closed within the
    last ``remind`` is a recovery alert: sent once (the log keeps it while it is listed here,
    and it leaves this list before its reminder would be due), and tried again next tick when
    no URL took it."""
    client = terms.client
    sites = store.sites(client)
    since = now - int(remind.total_seconds())
    found: list[notify.Alert] = []
    for target in terms.monitor:
        site = sites.get(target.url)
        if site is None:
            continue
        closed = [i for i in store.incidents(site.id, since, now + 1)
                  if i.closed_at is not None and i.closed_at > since]  # fmt: skip
        if closed:
            gone = closed[-1]
            lasted = timedelta(seconds=(gone.closed_at or gone.opened_at) - gone.opened_at)
            found.append(notify.Alert(
                key=f"recovered:{client}:{target.url}:{daily.iso(gone.opened_at)}",
                title=f"omctl: {target.url} of {client} is up again",
                body=f"{target.url} ({terms.contract}) answers again at "
                     f"{daily.iso(gone.closed_at)}, after {_span(lasted)} down "
                     f"(first error: {gone.first_error}).",
                level=notify.INFO,
            ))  # fmt: skip
        incident = store.open_incident(site.id)
        if incident is not None:
            found.append(notify.Alert(
                key=f"site:{client}:{target.url}:{daily.iso(incident.opened_at)}",
                title=f"omctl: {target.url} of {client} is down",
                body=f"{target.url} ({terms.contract}) has failed since "
                     f"{daily.iso(incident.opened_at)}: {incident.first_error}",
            ))  # fmt: skip
        latest = store.latest(site.id)
        days = latest.tls_days if latest is not None else None
        if days is not None and days <= target.tls_warn_days:
            found.append(notify.Alert(
                key=f"tls:{client}:{target.url}",
                title=f"omctl: the TLS certificate of {target.url} expires soon",
                body=f"The certificate {target.url} ({client}, {terms.contract}) presents "
                     f"has {days} days left (warning at {target.tls_warn_days}).",
                level=notify.WARNING,
            ))  # fmt: skip
    return found


def _span(span: timedelta) -> str:
    minutes = round(span.total_seconds() / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"
