"""Access review through omctl on a lab host: a generated log with known counts, read back
exactly from the ledger, current, rotated and gzipped parts alike."""

from __future__ import annotations

import base64
import datetime
import gzip
from collections.abc import Iterator

import pytest

from tests.integration.conftest import Lab, write_scope

HOST = "web2"
LOG = "/var/log/nginx/omctl-itest.access.log"
PARTNER = "https://partner.example/deals"
BROWSER = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"


def entry(
    day: datetime.date, ip: str, request: str, status: int = 200, size: int = 100, **kw: str
) -> str:
    agent = kw.get("agent", BROWSER)
    referer = kw.get("referer", "-")
    text = f'{ip} - - [{day:%d/%b/%Y}:08:30:00 +0000] "{request}" {status} {size} "{referer}"'
    return f'{text} "{agent}"' + (f" {kw['seconds']}" if "seconds" in kw else "") + "\n"


def put(lab: Lab, path: str, data: bytes) -> None:
    encoded = base64.b64encode(data).decode()
    done = lab.ssh(HOST, f"printf %s {encoded} | base64 -d > {path}")
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def operated(lab: Lab) -> Iterator[tuple[Lab, datetime.date]]:
    """Client 'operated' on web2 with a three-part log of known content."""
    result = lab.onboard("operated", HOST)
    assert result.code == 0, result.stderr
    write_scope(lab, "operated", "  {}\n", operation="{access_review: {every: on_request}}")
    today = datetime.date.fromisoformat(lab.ssh(HOST, "date +%F").stdout.strip())
    day = [today - datetime.timedelta(days=n) for n in range(40)]
    current = (
        # 5 visitors, 3 pages, 2 of them timed.
        [entry(day[0], f"198.51.100.{n}", "GET / HTTP/1.1", size=2000) for n in range(5)]
        + [entry(day[0], "198.51.100.1", "GET /about/ HTTP/2.0", seconds="0.120")] * 2
        # 30 login POSTs from one address, 2 GETs of the form from another.
        + [entry(day[0], "203.0.113.66", "POST /wp-login.php HTTP/1.1", agent="-")] * 30
        + [entry(day[0], "198.51.100.2", "GET /wp-login.php HTTP/1.1")] * 2
    )
    rotated = (
        [entry(day[1], "198.51.100.7", "GET /old-offer/ HTTP/1.1", 404, 50, referer=PARTNER)] * 6
        + [entry(day[1], "198.51.100.8", "POST /xmlrpc.php HTTP/1.1", 200, 300)] * 4
        + [entry(day[1], "66.249.66.1", "GET / HTTP/1.1", agent="Googlebot/2.1")] * 3
    )
    gzipped = (
        [entry(day[5], "198.51.100.9", "GET /shop/ HTTP/1.1", seconds="2.400")] * 4
        + [entry(day[5], "198.51.100.9", "GET /shop/cart/ HTTP/1.1", 502, 0, seconds="30.001")]
        + [entry(day[30], "198.51.100.10", "GET / HTTP/1.1")] * 7  # before the period
        + ["this line is not in the combined format\n"]
    )
    put(lab, LOG, "".join(current).encode())
    put(lab, f"{LOG}.1", "".join(rotated).encode())
    put(lab, f"{LOG}.2.gz", gzip.compress("".join(gzipped).encode()))
    group_vars = lab.ws / "inventories" / "operated" / "group_vars" / "all" / "review.yml"
    group_vars.write_text(
        f"access_review_logs: [{LOG}]\naccess_review_days: 7\n"
        f"access_review_today: '{today.isoformat()}'\n"
    )
    try:
        yield lab, today
    finally:
        lab.ssh(HOST, f"rm -f {LOG} {LOG}.1 {LOG}.2.gz")


def test_known_log_gives_exactly_its_counts(operated: tuple[Lab, datetime.date]) -> None:
    lab, today = operated
    result = lab.omctl("run", "operated", "access_review", "--json")
    assert result.code == 0, result.stderr
    run = result.json()
    assert run["status"] == "successful" and run["hosts"][HOST]["changed"] == 0
    shown = lab.omctl("show", run["id"], "--json").json()
    review = shown["hosts"][HOST]["evidence"]["access_review"]
    found = review["findings"]

    days = [(today - datetime.timedelta(days=n)).isoformat() for n in (5, 1, 0)]
    assert found["per_day"] == [
        {"date": days[0], "requests": 5, "unique_visitors": 1, "bytes": 400},
        {"date": days[1], "requests": 13, "unique_visitors": 3, "bytes": 1800},
        {"date": days[2], "requests": 39, "unique_visitors": 6, "bytes": 13400},
    ]
    assert found["requests"] == 57 and found["bytes"] == 15600
    assert found["unique_visitors"] == 10
    assert found["lines"] == {
        "read": 65,
        "in_period": 57,
        "out_of_period": 7,
        "malformed": 1,
        "own_probes": 0,
        "with_request_time": 7,
    }
    assert found["status"] == {"200": 50, "404": 6, "502": 1}
    assert found["status_classes"] == {"2xx": 50, "4xx": 6, "5xx": 1}
    assert found["top_urls"][:3] == [
        {"url": "/wp-login.php", "requests": 32},
        {"url": "/", "requests": 8},
        {"url": "/old-offer/", "requests": 6},
    ]
    assert found["top_404"] == [
        {
            "url": "/old-offer/",
            "requests": 6,
            "referers": [{"referer": "https://partner.example/deals", "requests": 6}],
        }
    ]
    assert found["slowest"] == [
        {"url": "/shop/cart/", "requests": 1, "avg_s": 30.001, "max_s": 30.001},
        {"url": "/shop/", "requests": 4, "avg_s": 2.4, "max_s": 2.4},
        {"url": "/about/", "requests": 2, "avg_s": 0.12, "max_s": 0.12},
    ]
    assert found["wp_login"] == {
        "requests": 32,
        "posts": 30,
        "addresses": 2,
        "top": [
            {"ip": "203.0.113.66", "requests": 30, "posts": 30},
            {"ip": "198.51.100.2", "requests": 2, "posts": 0},
        ],
    }
    assert found["xmlrpc"]["posts"] == 4
    assert found["bots"] == {
        "requests": 33,
        "share": round(33 / 57, 4),
        "top": [
            {"name": "(no user agent)", "requests": 30},
            {"name": "Googlebot", "requests": 3},
        ],
    }
    assert [f["path"] for f in found["files"]] == [f"{LOG}.2.gz", f"{LOG}.1", LOG]
    assert [f["lines"] for f in found["files"]] == [13, 13, 39]

    proposals = {p["id"]: p for p in review["proposals"]}
    assert set(proposals) == {
        "wp_login_fail2ban",
        "fix_broken_links",
        "slow_pages",
        "server_errors",
        "bot_traffic",
    }
    assert proposals["wp_login_fail2ban"]["why"].startswith("30 POSTs to /wp-login.php in 7 days")
    assert "203.0.113.66" in proposals["wp_login_fail2ban"]["why"]

    text = lab.omctl("show", run["id"])
    assert text.code == 0, text.stderr
    assert f"access review of {HOST}" in text.stdout
    assert "Enable the WordPress fail2ban jail" in text.stdout
    assert "/old-offer/ 6 (from https://partner.example/deals)" in text.stdout


def test_check_mode_is_the_same_review(operated: tuple[Lab, datetime.date]) -> None:
    lab, _ = operated
    result = lab.omctl("run", "operated", "access_review", "--check", "--json")
    assert result.code == 0, result.stderr
    run = result.json()
    found = run["hosts"][HOST]["evidence"]["access_review"]["findings"]
    assert found["requests"] == 57 and run["check"] is True
