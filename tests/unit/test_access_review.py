"""The access review module's analysis, imported from the very file Ansible ships to the host."""

from __future__ import annotations

import datetime
import gzip
import http.server
import os
import threading
from pathlib import Path

import pytest

from tests.unit import role_code

MODULE = Path(__file__).resolve().parents[2] / "roles/access_review/library/access_review.py"
ar = role_code.load(MODULE, "access_review")

TODAY = datetime.date(2026, 11, 27)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
GOOGLE = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def stamp(days_ago: int, clock: str = "10:00:00") -> str:
    day = TODAY - datetime.timedelta(days=days_ago)
    return f"{day:%d/%b/%Y}:{clock} +0100"


def line(
    ip: str = "192.0.2.1",
    days_ago: int = 0,
    request: str = "GET / HTTP/1.1",
    status: int = 200,
    size: int = 1000,
    referer: str = "-",
    agent: str = FIREFOX,
    request_time: float | None = None,
) -> str:
    text = f'{ip} - - [{stamp(days_ago)}] "{request}" {status} {size} "{referer}" "{agent}"'
    return text + (f" {request_time:.3f}" if request_time is not None else "") + "\n"


def analyse(lines: list[str], days: int = 7):
    first, last = ar.period_days(days, TODAY.isoformat())
    analysis = ar.Analysis(first, last)
    analysis.feed(lines)
    return analysis.result()


def test_requests_visitors_and_bytes_per_day_within_the_period() -> None:
    found = analyse(
        [
            line("192.0.2.1", 0, size=100),
            line("192.0.2.1", 0, size=200),
            line("192.0.2.2", 0, size=300),
            line("192.0.2.1", 1, size=400),
            line("192.0.2.3", 6, size=500),
            line("192.0.2.9", 7, size=9999),  # one day before a 7-day period
            line("192.0.2.9", -1, size=9999),  # tomorrow: after the period
        ]
    )
    assert found["per_day"] == [
        {"date": "2026-11-21", "requests": 1, "unique_visitors": 1, "bytes": 500},
        {"date": "2026-11-26", "requests": 1, "unique_visitors": 1, "bytes": 400},
        {"date": "2026-11-27", "requests": 3, "unique_visitors": 2, "bytes": 600},
    ]
    assert found["requests"] == 5
    assert found["unique_visitors"] == 3
    assert found["bytes"] == 1500
    assert found["lines"] == {
        "read": 7,
        "in_period": 5,
        "out_of_period": 2,
        "malformed": 0,
        "own_probes": 0,
        "with_request_time": 0,
    }
    assert found["period"] == {"days": 7, "first_day": "2026-11-21", "last_day": "2026-11-27"}


def test_malformed_and_blank_lines_are_counted_apart() -> None:
    found = analyse(
        [
            line(),
            "\n",
            "garbage without quotes\n",
            '192.0.2.1 - - [99/Foo/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "x"\n',
            '192.0.2.1 - - [27/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 - "-" "x"\n',
        ]
    )
    assert found["lines"]["read"] == 4
    assert found["lines"]["malformed"] == 3
    assert found["requests"] == 1


def test_status_mix_top_urls_without_query_strings() -> None:
    found = analyse(
        [
            line(request="GET /?p=1 HTTP/1.1"),
            line(request="GET /?p=2 HTTP/1.1"),
            line(request="GET /about/ HTTP/2.0", status=301),
            line(request="GET /about/ HTTP/2.0"),
            line(request="GET /about/ HTTP/2.0"),
            line(request="GET /broken HTTP/1.1", status=500),
            line(request="-", status=400),
        ]
    )
    assert found["status"] == {"200": 4, "301": 1, "400": 1, "500": 1}
    assert found["status_classes"] == {"2xx": 4, "3xx": 1, "4xx": 1, "5xx": 1}
    assert found["top_urls"][:2] == [
        {"url": "/about/", "requests": 3},
        {"url": "/", "requests": 2},
    ]


def test_top_404s_name_their_referers() -> None:
    found = analyse(
        [line(request="GET /old HTTP/1.1", status=404, referer="https://a.example/")] * 3
        + [line(request="GET /old HTTP/1.1", status=404)]
        + [line(request="GET /gone.html HTTP/1.1", status=404)]
    )
    assert found["top_404"] == [
        {
            "url": "/old",
            "requests": 4,
            "referers": [
                {"referer": "https://a.example/", "requests": 3},
                {"referer": "-", "requests": 1},
            ],
        },
        {"url": "/gone.html", "requests": 1, "referers": [{"referer": "-", "requests": 1}]},
    ]


def test_slowest_urls_from_request_time() -> None:
    found = analyse(
        [
            line(request="GET /slow HTTP/1.1", request_time=2.0),
            line(request="GET /slow HTTP/1.1", request_time=4.0),
            line(request="GET /fast HTTP/1.1", request_time=0.010),
            line(request="GET /untimed HTTP/1.1"),
        ]
    )
    assert found["slowest"] == [
        {"url": "/slow", "requests": 2, "avg_s": 3.0, "max_s": 4.0},
        {"url": "/fast", "requests": 1, "avg_s": 0.01, "max_s": 0.01},
    ]
    assert found["lines"]["with_request_time"] == 3


def test_bots_by_user_agent() -> None:
    found = analyse(
        [line(agent=GOOGLE)] * 2
        + [line(agent="Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)")]
        + [line(agent="curl/7.88.1"), line(agent="-"), line(agent=FIREFOX)]
    )
    assert found["bots"]["requests"] == 5
    assert found["bots"]["share"] == round(5 / 6, 4)
    assert found["bots"]["top"] == [
        {"name": "Googlebot", "requests": 2},
        {"name": "(no user agent)", "requests": 1},
        {"name": "AhrefsBot", "requests": 1},
        {"name": "curl", "requests": 1},
    ]


@pytest.mark.parametrize(
    ("agent", "name"),
    [
        (FIREFOX, ""),
        ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1", ""),
        ("python-requests/2.31.0", "python-requests"),
        ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "bingbot"),
        ("WPScan v3.8.25 (https://wpscan.com/wordpress-security-scanner)", "WPScan"),
        ("", "(no user agent)"),
    ],
)
def test_bot_names(agent: str, name: str) -> None:
    assert ar.bot_name(agent) == name


def test_wp_login_and_xmlrpc_abuse_per_address() -> None:
    login = "POST /wp-login.php HTTP/1.1"
    found = analyse(
        [line("203.0.113.9", request=login)] * 5
        + [line("203.0.113.7", request=login)] * 2
        + [line("192.0.2.1", request="GET /wp-login.php?redirect_to=x HTTP/1.1")]
        + [line("203.0.113.7", request="POST /xmlrpc.php HTTP/1.1")] * 3
    )
    assert found["wp_login"] == {
        "requests": 8,
        "posts": 7,
        "addresses": 3,
        "top": [
            {"ip": "203.0.113.9", "requests": 5, "posts": 5},
            {"ip": "203.0.113.7", "requests": 2, "posts": 2},
            {"ip": "192.0.2.1", "requests": 1, "posts": 0},
        ],
    }
    assert found["xmlrpc"]["posts"] == 3 and found["xmlrpc"]["addresses"] == 1


def test_static_files_count_successful_answers_only() -> None:
    found = analyse(
        [line(request="GET /wp-content/uploads/a.JPG HTTP/1.1")] * 2
        + [line(request="GET /wp-content/uploads/a.JPG HTTP/1.1", status=304)]
        + [line(request="GET /style.css?ver=6.4 HTTP/1.1")]
        + [line(request="GET /missing.png HTTP/1.1", status=404)]
        + [line(request="GET /page.php HTTP/1.1")]
    )
    assert found["static"] == {
        "requests": 4,
        "top": [
            {"url": "/wp-content/uploads/a.JPG", "requests": 3},
            {"url": "/style.css", "requests": 1},
        ],
    }


def test_escaped_quotes_and_own_probes() -> None:
    escaped = (
        '192.0.2.1 - - [27/Nov/2026:10:00:00 +0000] "GET /q\\x22x HTTP/1.1" 200 5 '
        '"-" "Agent \\x22quoted\\x22"\n'
    )
    probe = line("127.0.0.1", request="HEAD /a.css HTTP/1.1", agent=ar.PROBE_USER_AGENT)
    found = analyse([escaped, probe])
    assert found["top_urls"] == [{"url": "/q\\x22x", "requests": 1}]
    assert found["lines"]["own_probes"] == 1
    assert found["requests"] == 1


def _touch(path: Path, text: str, compress: bool = False) -> Path:
    if compress:
        with gzip.open(path, "wt") as out:
            out.write(text)
    else:
        path.write_text(text)
    return path


def test_rotated_and_gzipped_logs_are_found_oldest_first_and_read(tmp_path: Path) -> None:
    current = _touch(tmp_path / "site.access.log", line(days_ago=0))
    _touch(tmp_path / "site.access.log.1", line(days_ago=1) * 2)
    _touch(tmp_path / "site.access.log.2.gz", line(days_ago=2) * 3, compress=True)
    _touch(tmp_path / "site.access.log.10.gz", line(days_ago=3) * 4, compress=True)
    _touch(tmp_path / "site.error.log", "not an access log\n")
    _touch(tmp_path / "site.access.log.bak", line() * 100)
    files = ar.log_files([str(tmp_path / "*access.log")])
    assert [Path(f).name for f in files] == [
        "site.access.log.10.gz",
        "site.access.log.2.gz",
        "site.access.log.1",
        "site.access.log",
    ]
    assert ar.log_files([str(current)]) == files
    # A pattern that also matches the rotations lists each file once.
    broad = ar.log_files([str(tmp_path / "*access.log*"), str(current)])
    assert broad == [*files, str(tmp_path / "site.access.log.bak")]
    first, last = ar.period_days(7, TODAY.isoformat())
    found, entries = ar.analyse(files, first, last)
    assert [r["requests"] for r in found["per_day"]] == [4, 3, 2, 1]
    assert [e["lines"] for e in entries] == [4, 3, 2, 1]


def test_files_last_written_before_the_period_are_not_read(tmp_path: Path) -> None:
    old = _touch(tmp_path / "a.access.log.3.gz", line(days_ago=1), compress=True)
    ancient = datetime.datetime.combine(TODAY - datetime.timedelta(days=30), datetime.time())
    os.utime(old, (ancient.timestamp(), ancient.timestamp()))
    first, last = ar.period_days(7, TODAY.isoformat())
    found, entries = ar.analyse([str(old)], first, last)
    assert entries == [{"path": str(old), "skipped": "last written before the period"}]
    assert found["requests"] == 0


def test_a_broken_gzip_is_reported_not_fatal(tmp_path: Path) -> None:
    broken = tmp_path / "a.access.log.2.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00garbage")
    good = _touch(tmp_path / "a.access.log", line())
    first, last = ar.period_days(7, TODAY.isoformat())
    found, entries = ar.analyse([str(broken), str(good)], first, last)
    assert "error" in entries[0]
    assert found["requests"] == 1


@pytest.mark.parametrize(
    ("headers", "cached"),
    [
        ({"Cache-Control": "max-age=604800"}, True),
        ({"cache-control": "public, max-age=0"}, False),
        ({"Expires": "Thu, 03 Dec 2026 10:00:00 GMT"}, True),
        ({"Expires": "Thu, 03 Dec 2026 10:00:00 GMT", "Cache-Control": "no-cache"}, False),
        ({"Content-Type": "text/css"}, False),
    ],
)
def test_cache_headers(headers: dict[str, str], cached: bool) -> None:
    assert ar.has_cache_headers(headers) is cached


class _Handler(http.server.BaseHTTPRequestHandler):
    """/cached.css has Expires, /plain.css has none, HEAD is refused on /nohead.js."""

    seen: list[tuple[str, str, str]] = []  # noqa: RUF012 - test recorder

    def _answer(self) -> None:
        _Handler.seen.append((self.command, self.path, self.headers.get("User-Agent", "")))
        if self.command == "HEAD" and self.path == "/nohead.js":
            self.send_response(405)
            self.end_headers()
            return
        self.send_response(200)
        if self.path == "/cached.css":
            self.send_header("Expires", "Thu, 03 Dec 2026 10:00:00 GMT")
            self.send_header("Cache-Control", "max-age=604800")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = _answer  # noqa: N815

    def log_message(self, *_args: object) -> None:
        pass


def test_probe_asks_the_live_site() -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        probed = ar.probe_static(base, ["/cached.css", "/plain.css", "/nohead.js"])
    finally:
        server.shutdown()
    assert [(p["url"], p["status"], p["cached"]) for p in probed] == [
        ("/cached.css", 200, True),
        ("/plain.css", 200, False),
        ("/nohead.js", 200, False),
    ]
    assert probed[0]["cache_control"] == "max-age=604800"
    assert ("GET", "/nohead.js", ar.PROBE_USER_AGENT) in _Handler.seen


def test_probe_of_a_closed_port_is_an_error_entry() -> None:
    probed = ar.probe_static("http://127.0.0.1:9", ["/a.css"], timeout=2)
    assert probed[0]["status"] is None and probed[0]["cached"] is None and probed[0]["error"]


def _findings(lines: list[str], probe: list[dict] | None = None) -> dict:
    found = analyse(lines)
    found["cache_probe"] = probe or []
    return found


def _ids(proposals: list[dict]) -> list[str]:
    return [p["id"] for p in proposals]


def test_no_proposal_for_a_quiet_healthy_site() -> None:
    found = _findings([line(request_time=0.05)] * 10)
    assert ar.propose(found) == []


def test_login_abuse_proposes_the_fail2ban_jail_above_the_threshold() -> None:
    post = "POST /wp-login.php HTTP/1.1"
    below = _findings([line(f"203.0.113.{i}", request=post, request_time=0.1) for i in range(19)])
    assert "wp_login_fail2ban" not in _ids(ar.propose(below))
    at = _findings([line(f"203.0.113.{i}", request=post, request_time=0.1) for i in range(20)])
    (proposal,) = [p for p in ar.propose(at) if p["id"] == "wp_login_fail2ban"]
    assert proposal["why"].startswith("20 POSTs to /wp-login.php in 7 days from 20 addresses")
    assert proposal["evidence"]["posts"] == 20
    # One loud address is enough, whatever the total.
    loud = _findings([line("203.0.113.9", request=post, request_time=0.1)] * 10)
    assert "wp_login_fail2ban" in _ids(ar.propose(loud))
    assert "wp_login_fail2ban" not in _ids(ar.propose(loud, {"per_ip_posts": 11}))


def test_broken_links_slow_pages_errors_bots_and_cache_proposals() -> None:
    found = _findings(
        [line(request="GET /old HTTP/1.1", status=404, request_time=0.01)] * 3
        + [line(request="GET /shop/ HTTP/1.1", request_time=2.5)] * 3
        + [line(request="GET /x HTTP/1.1", status=502, request_time=0.1)]
        + [line(agent=GOOGLE, request_time=0.1)] * 8,
        probe=[
            {"url": "/a.css", "status": 200, "cache_control": "", "expires": "", "cached": False},
            {"url": "/b.css", "status": 200, "cache_control": "max-age=9", "cached": True},
        ],
    )
    proposals = {p["id"]: p for p in ar.propose(found)}
    assert set(proposals) == {
        "fix_broken_links",
        "slow_pages",
        "server_errors",
        "bot_traffic",
        "cache_static_assets",
    }
    assert proposals["fix_broken_links"]["evidence"]["urls"][0]["url"] == "/old"
    assert proposals["slow_pages"]["evidence"]["urls"][0] == {
        "url": "/shop/",
        "requests": 3,
        "avg_s": 2.5,
        "max_s": 2.5,
    }
    assert [f["url"] for f in proposals["cache_static_assets"]["evidence"]["files"]] == ["/a.css"]
    assert "1 of 15 requests" in proposals["server_errors"]["why"]


def test_logs_without_request_time_propose_logging_it() -> None:
    assert _ids(ar.propose(_findings([line()] * 3))) == ["log_request_time"]


def test_review_end_to_end_with_a_fake_site(tmp_path: Path) -> None:
    _touch(
        tmp_path / "x.access.log",
        line(request="GET /logo.png HTTP/1.1") * 3 + line(request="GET /a.js HTTP/1.1"),
    )
    asked: list[str] = []

    def fetch(url: str, method: str, headers: dict, timeout: int):
        asked.append(url)
        return 200, {"Expires": "soon"} if url.endswith(".js") else {}

    result = ar.review(
        {
            "logs": [str(tmp_path / "*.access.log")],
            "days": 1,
            "today": TODAY.isoformat(),
            "probe_url": "http://localhost/",
            "probe_count": 5,
        },
        fetch=fetch,
    )
    assert asked == ["http://localhost/logo.png", "http://localhost/a.js"]
    assert [p["cached"] for p in result["findings"]["cache_probe"]] == [False, True]
    assert "cache_static_assets" in _ids(result["proposals"])
    assert result["findings"]["files"] == [{"path": str(tmp_path / "x.access.log"), "lines": 4}]
