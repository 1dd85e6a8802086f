"""Site monitoring: probes against loopback servers, the store's incidents, daily summaries
in the ledger, retention, and a tick's monitoring with its alerts."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from omctl import ledger, report, report_render, scope
from omctl.monitor import cycle, daily, probe, views
from omctl.monitor.store import Change, Store, store_path
from omctl.monitor.targets import MonitorTarget
from omctl.settings import Settings
from omctl.workspace import Workspace
from tests import sites
from tests.unit.conftest import make_workspace, scope_text
from tests.unit.webhook import Receiver

NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)
AT = int(NOW.timestamp())


@pytest.fixture(scope="module")
def web() -> Iterator[sites.Server]:
    server = sites.serve()
    yield server
    server.shutdown()


def target(url: str, **values: object) -> MonitorTarget:
    return MonitorTarget.model_validate({"url": url, **values})


def probe_one(item: MonitorTarget, ca_file: Path | None = None, at: int = AT) -> probe.Probe:
    (result,) = probe.probe_all([item], at, concurrency=4, ca_file=ca_file)
    return result


# --- the scope's items ---------------------------------------------------------------------


def test_a_monitor_item_has_the_documented_defaults() -> None:
    item = target("https://shop.example.com/")
    assert (item.keyword, item.expect, item.interval, item.timeout, item.confirm,
            item.tls_warn_days) == (None, 200, dt.timedelta(minutes=5),
                                    dt.timedelta(seconds=10), 2, 14)  # fmt: skip
    assert target("http://a.test/", interval="30m", timeout="30s").interval.total_seconds() == 1800


def test_a_scope_lists_its_sites(tmp_path: Path) -> None:
    body = "monitor:\n  - url: https://shop.example.com/\n    keyword: Add to cart\n"
    ws = make_workspace(tmp_path, scope=scope_text(body=body))
    (item,) = scope.load_checked(ws, "acme").loaded.scope.monitor
    assert (item.url, item.keyword) == ("https://shop.example.com/", "Add to cart")


# --- probing -------------------------------------------------------------------------------


def test_an_answering_site_is_up_with_its_latency(web: sites.Server) -> None:
    result = probe_one(target(sites.url(web), keyword="Add to cart"))
    assert (result.up, result.status, result.tls_days, result.at) == (True, 200, None, AT)
    assert result.latency_ms is not None and result.latency_ms >= 0


def test_a_redirect_is_followed(web: sites.Server) -> None:
    assert probe_one(target(sites.url(web, "/redirect"))).status == 200


@pytest.mark.parametrize(
    ("path", "values", "error"),
    [
        ("/", {"keyword": "Checkout"}, "keyword 'Checkout' not on the page"),
        ("/status/503", {}, "status 503, expected 200"),
        ("/status/200", {"expect": 301}, "status 200, expected 301"),
        ("/slow/3000", {"timeout": "1s"}, "no answer within 1s"),
    ],
)
def test_a_failing_site_says_why(web: sites.Server, path: str, values: dict, error: str) -> None:
    result = probe_one(target(sites.url(web, path), **values))
    assert (result.up, result.error) == (False, error)


def test_a_closed_port_is_a_failure() -> None:
    server = sites.serve()
    address = sites.url(server)
    server.shutdown()
    server.server_close()
    result = probe_one(target(address))
    assert not result.up and result.status is None and result.error


def test_tls_days_left_come_from_the_verified_certificate(tmp_path: Path) -> None:
    not_after = dt.datetime(2026, 12, 12, 11, 0, tzinfo=dt.UTC)
    certs = sites.make_certificates(tmp_path, not_after)
    server = sites.serve(certs.server)
    try:
        result = probe_one(target(sites.url(server)), ca_file=certs.ca_file)
        assert (result.up, result.tls_days) == (True, 10)  # 10 days and 1 hour after AT
        expiring = probe_one(target(sites.url(server)), certs.ca_file, at=AT + 9 * 86400)
        assert expiring.tls_days == 1
        untrusted = probe_one(target(sites.url(server)))  # the test CA is not trusted
        assert not untrusted.up and "CERTIFICATE_VERIFY_FAILED" in (untrusted.error or "")
    finally:
        server.shutdown()


def test_probes_run_at_once_up_to_the_concurrency(web: sites.Server) -> None:
    items = [target(sites.url(web, f"/slow/{300 + i}")) for i in range(8)]
    results = probe.probe_all(items, AT, concurrency=8)
    assert all(r.up for r in results)
    # In order; 8 probes of 0.3 s in flight together take far less than 8 x 0.3 s.
    assert sum(r.latency_ms or 0 for r in results) > 2400


# --- store and incidents -------------------------------------------------------------------


def up(at: int) -> probe.Probe:
    return probe.Probe(at, 200, 120, None, None)


def down(at: int, error: str = "status 502, expected 200") -> probe.Probe:
    return probe.Probe(at, 502, 30, None, error)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "monitor.sqlite3")
    yield opened
    opened.close()


def test_an_incident_opens_after_confirm_failures_and_closes_on_recovery(store: Store) -> None:
    site = store.site_ids("acme", ["https://shop.example.com/"])["https://shop.example.com/"]
    first = store.record_many([(site, down(AT, "connection refused"), 2)])
    assert first[0][1].opened is None  # one failure is not yet an incident
    (change,) = store.record_many([(site, down(AT + 300), 2)])
    opened = change[1].opened
    assert opened is not None and (opened.opened_at, opened.first_error) == (
        AT, "connection refused"
    )  # fmt: skip
    assert store.record_many([(site, down(AT + 600), 2)])[0][1] == Change()  # still open
    (closing,) = store.record_many([(site, up(AT + 900), 2)])
    closed = closing[1].closed
    assert closed is not None and (closed.opened_at, closed.closed_at) == (AT, AT + 900)
    assert store.open_incident(site) is None
    assert store.availability(site, AT, AT + 901) == (4, 1)


def test_a_single_failure_between_successes_is_no_incident(store: Store) -> None:
    site = store.site_ids("acme", ["http://a.test/"])["http://a.test/"]
    for result in (up(AT), down(AT + 300), up(AT + 600), down(AT + 900)):
        store.record_many([(site, result, 2)])
    assert store.incidents(site, 0, AT + 1000) == []


def test_confirm_one_opens_at_the_first_failure(store: Store) -> None:
    site = store.site_ids("acme", ["http://a.test/"])["http://a.test/"]
    (change,) = store.record_many([(site, down(AT), 1)])
    assert change[1].opened is not None


def test_retention_drops_old_probes_and_closed_incidents(store: Store) -> None:
    site = store.site_ids("acme", ["http://a.test/"])["http://a.test/"]
    for result in (down(AT), down(AT + 60), up(AT + 120), up(AT + 86400)):
        store.record_many([(site, result, 2)])
    with store.transaction():
        assert store.drop_before(AT + 3600) == 3
    assert store.availability(site, 0, AT + 10**6) == (1, 1)
    assert store.incidents(site, 0, AT + 10**6) == []


# --- daily summaries -----------------------------------------------------------------------


ZONE = ZoneInfo("Europe/Berlin")


def test_a_day_is_summarized_once_into_the_ledger(store: Store, tmp_path: Path) -> None:
    book = ledger.SqliteLedger(tmp_path / "ledger.sqlite3")
    url = "http://a.test/"
    site = store.site_ids("acme", [url])[url]
    # 2026-12-01 in Berlin: from 2026-11-30T23:00Z. A probe at 23:30Z on the 30th is the 1st.
    day_start = int(dt.datetime(2026, 11, 30, 23, 0, tzinfo=dt.UTC).timestamp())
    latencies = [100, 200, 300, 400]
    for index, latency in enumerate(latencies):
        store.record_many([(site, probe.Probe(day_start + 1800 + index * 300, 200, latency, 40,
                                              None), 2)])  # fmt: skip
    store.record_many([(site, down(day_start + 3000), 2)])
    store.record_many([(site, down(day_start + 3300), 2)])  # an incident, still open
    noon = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
    sites_now = list(store.sites("acme").values())
    summaries, marks = daily.due(store, sites_now, ZONE, noon, keep_days=35)
    (summary,) = summaries
    assert (str(summary.day), summary.probes, summary.up, summary.availability) == (
        "2026-12-01", 6, 4, 66.667
    )  # fmt: skip
    assert (summary.p50_ms, summary.p95_ms, summary.tls_days_min) == (200, 400, 40)
    assert [(i.opened_at, i.closed_at) for i in summary.incidents] == [
        ("2026-11-30T23:50:00Z", None)  # 00:50 in Berlin
    ]
    daily.append(book, store, summaries, marks)
    again, _ = daily.due(store, list(store.sites("acme").values()), ZONE, noon, keep_days=35)
    assert again == []
    entries = list(book.entries(run_id=daily.MONITOR_ENTRY))
    assert [e.kind for e in entries] == [daily.DAILY]
    assert daily.latest_by_day(entries * 2, "acme") == [summary]  # a repeated day counts once
    assert ledger.fold(book.entries()) == {}  # an entry of no run
    assert book.verify().ok
    book.close()


def test_a_day_without_probes_gets_no_summary(store: Store) -> None:
    site = store.site_ids("acme", ["http://a.test/"])["http://a.test/"]
    store.record_many([(site, up(AT - 3 * 86400), 2)])  # 2026-11-29; none on the 30th or 1st
    found, marks = daily.due(store, list(store.sites("acme").values()), dt.UTC, NOW, 35)
    assert [str(s.day) for s in found] == ["2026-11-29"]
    assert marks == {site: dt.date(2026, 12, 1)}


# --- a tick's monitoring -------------------------------------------------------------------


def monitored_workspace(tmp_path: Path, body: str) -> Workspace:
    return make_workspace(tmp_path / "ws", scope=scope_text(body=body))


def test_a_tick_probes_what_is_due_and_alerts_once_per_incident(
    tmp_path: Path, receiver: Receiver
) -> None:
    web = sites.serve()
    web.failing = True
    failing = sites.url(web, "/switch")
    working = sites.url(web, "/")
    ws = monitored_workspace(tmp_path, f"monitor:\n  - url: {failing}\n  - url: {working}\n"
                                       "    interval: 10m\n")  # fmt: skip
    settings = Settings(workspace=ws, operator="t@unit", notify=(receiver.url(),))
    book = ledger.SqliteLedger(tmp_path / "ledger.sqlite3")
    warnings: list[str] = []

    def tick(minutes: int, dry_run: bool = False) -> cycle.Result:
        moment = NOW + dt.timedelta(minutes=minutes)
        return cycle.tick(settings, book, ["acme"], moment, dry_run, warnings.append)

    planned = tick(0, dry_run=True)
    assert (len(planned.due), planned.waiting) == (2, 0)
    assert not (ws.state / "monitor.sqlite3").exists()  # a dry run writes nothing
    first = tick(0)
    assert (len(first.probes), first.opened) == (2, [])
    second = tick(5)  # the working site waits for its 10 minutes
    assert (len(second.probes), second.waiting, second.opened) == (1, 1, [("acme", failing)])
    for minutes in (10, 15, 20):
        tick(minutes)
    titles = [message["title"] for message in receiver.received]
    assert titles == [f"omctl: {failing} of acme is down"]  # once, not once per tick
    web.failing = False
    assert tick(25).closed == [("acme", failing)]
    tick(30)
    assert [m["title"] for m in receiver.received[1:]] == [f"omctl: {failing} of acme is up again"]
    assert (
        receiver.received[1]["type"] == "info"
        and "after 25 min down" in receiver.received[1]["message"]
    )
    assert warnings == []
    web.shutdown()
    book.close()


def test_a_recovery_alert_no_url_took_is_sent_by_a_later_tick_once(
    tmp_path: Path, receiver: Receiver
) -> None:
    web = sites.serve()
    web.failing = True
    url = sites.url(web, "/switch")
    ws = monitored_workspace(tmp_path, f"monitor:\n  - url: {url}\n")
    settings = Settings(workspace=ws, operator="t@unit", notify=(receiver.url(),),
                        remind_hours=1)  # fmt: skip
    book = ledger.SqliteLedger(tmp_path / "ledger.sqlite3")
    warnings: list[str] = []

    def tick(minutes: int) -> cycle.Result:
        moment = NOW + dt.timedelta(minutes=minutes)
        return cycle.tick(settings, book, ["acme"], moment, False, warnings.append)

    for minutes in (0, 5, 10):
        tick(minutes)
    assert [m["title"] for m in receiver.received] == [f"omctl: {url} of acme is down"]
    web.failing = False
    receiver.refusing = True  # the channel is down when the site comes back
    assert tick(15).closed == [("acme", url)]
    assert len(receiver.received) == 1 and len(warnings) == 1
    receiver.refusing = False
    tick(20)
    tick(25)
    assert [m["title"] for m in receiver.received[1:]] == [f"omctl: {url} of acme is up again"]
    tick(90)  # past the reminder period: the recovery is not sent again
    assert len(receiver.received) == 2
    web.shutdown()
    book.close()


def test_a_certificate_near_its_end_is_alerted(store: Store) -> None:
    url = "https://shop.example.com/"
    site = store.site_ids("acme", [url])[url]
    store.record_many([(site, probe.Probe(AT, 200, 80, 9, None), 2)])
    terms = scope.Scope.model_validate({
        "client": "acme", "contract": "ACME-1", "valid_from": "2026-01-01",
        "valid_until": "2099-12-31", "monitor": [{"url": url, "tls_warn_days": 10}],
    })  # fmt: skip
    (alert,) = cycle.site_alerts(store, terms, AT + 600, dt.timedelta(hours=24))
    assert (alert.key, alert.level) == (f"tls:acme:{url}", "warning")
    assert "has 9 days left" in alert.body
    store.record_many([(site, probe.Probe(AT + 300, 200, 80, 89, None), 2)])  # renewed
    assert cycle.site_alerts(store, terms, AT + 600, dt.timedelta(hours=24)) == []


# --- the report ----------------------------------------------------------------------------


def test_the_report_shows_availability_incidents_latency_and_not_monitored(
    tmp_path: Path, store: Store
) -> None:
    watched, silent = "https://shop.example.com/", "https://blog.example.com/"
    body = f"timezone: Europe/Berlin\nmonitor:\n  - url: {watched}\n  - url: {silent}\n"
    ws = monitored_workspace(tmp_path, body)
    book = ledger.SqliteLedger(tmp_path / "ledger.sqlite3")
    site = store.site_ids("acme", [watched])[watched]
    day = int(dt.datetime(2026, 11, 10, 8, 0, tzinfo=dt.UTC).timestamp())
    for result in (up(day), down(day + 300), down(day + 600), up(day + 900)):
        store.record_many([(site, result, 2)])
    store.record_many([(site, probe.Probe(day + 86400, 200, 300, 30, None), 2)])
    summaries, marks = daily.due(store, list(store.sites("acme").values()), ZONE,
                                 dt.datetime(2026, 12, 1, 6, tzinfo=dt.UTC), 35)  # fmt: skip
    daily.append(book, store, summaries, marks)
    built = report.collect(book, report.subject(ws, "acme", "2026-11"))
    shop, blog = built.monitoring["sites"]
    assert (shop["availability"], shop["days_monitored"], shop["incidents"]) == (60.0, 2, 1)
    assert (blog["url"], blog["availability"], blog["days_monitored"]) == (silent, None, 0)
    (incident,) = built.monitoring["incidents"]
    assert (incident["opened_at"], incident["closed_at"]) == (
        "2026-11-10T08:05:00Z", "2026-11-10T08:15:00Z"
    )  # fmt: skip
    text = report_render.to_markdown(built)
    assert "## Site monitoring" in text
    assert f"| {silent} | not monitored | 0 of 30 |" in text
    assert "| 2026-11-10 09:05 | 2026-11-10 09:15 | 10 min |" in text  # Berlin time
    assert "| 2026-11-11 | https://shop.example.com/ | 300 | 300 |" in text
    page = report_render.to_html(built)
    chart = re.search(r'<svg id="chart-latency".*?</svg>', page, re.DOTALL)
    assert chart and chart.group(0).count("<circle") == 2
    book.close()


def test_a_report_without_monitoring_has_no_such_section(tmp_path: Path) -> None:
    ws = monitored_workspace(tmp_path, "")
    book = ledger.SqliteLedger(tmp_path / "ledger.sqlite3")
    built = report.collect(book, report.subject(ws, "acme", "2026-11"))
    assert built.monitoring == {}
    assert "Site monitoring" not in report_render.to_markdown(built)
    book.close()


def test_an_incident_across_a_month_end(tmp_path: Path) -> None:
    """Down from 23:50 on 30 November to 00:10 on 1 December (UTC contract): December's
    availability counts December's probes only; the incident is open in November's last
    summary, closed in December's first, and the report lists it once, closed."""
    url = "https://shop.example.com/"
    ws = monitored_workspace(tmp_path, f"monitor:\n  - url: {url}\n")
    terms = scope.load_checked(ws, "acme").loaded.scope
    book = ledger.SqliteLedger(tmp_path / "ledger.sqlite3")
    store = Store(store_path(ws.state))  # where status reads it
    site = store.site_ids("acme", [url])[url]
    midnight = int(dt.datetime(2026, 12, 1, tzinfo=dt.UTC).timestamp())

    def summarize(at: int) -> None:
        moment = dt.datetime.fromtimestamp(at, dt.UTC)
        daily.append(book, store, *daily.due(store, list(store.sites("acme").values()),
                                             dt.UTC, moment, 35))  # fmt: skip

    for result in (up(midnight - 1200), down(midnight - 600), down(midnight + 300)):
        store.record_many([(site, result, 2)])
    summarize(midnight + 420)  # November 30, with the incident still open
    store.record_many([(site, up(midnight + 600), 2)])
    (row,) = views.sites(ws.state, terms, dt.datetime.fromtimestamp(midnight + 700, dt.UTC))
    assert (row["availability"], row["probes"], row["open_incident"]) == (50.0, 2, None)
    summarize(midnight + 86400 + 60)  # December 1
    days = daily.latest_by_day(book.entries(run_id=daily.MONITOR_ENTRY), "acme")
    assert [(str(s.day), [i.closed_at for i in s.incidents]) for s in days] == [
        ("2026-11-30", [None]),
        ("2026-12-01", ["2026-12-01T00:10:00Z"]),
    ]
    built = report.collect(book, report.subject(ws, "acme", None, "2026-11-15", "2026-12-10"))
    (incident,) = built.monitoring["incidents"]
    assert (incident["opened_at"], incident["closed_at"]) == (
        "2026-11-30T23:50:00Z", "2026-12-01T00:10:00Z"
    )  # fmt: skip
    assert built.monitoring["sites"][0]["availability"] == 50.0  # 2 of 4 probes
    store.close()
    book.close()
