"""The access review counts a generated log exactly and proposes from it; it changes nothing."""

from __future__ import annotations

import base64
import datetime
import gzip

import pytest

TODAY = datetime.date(2026, 11, 27)
LOG = "/var/log/nginx/molecule.access.log"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
# A static file the lab serves without cache headers (its wp-content location has no
# 'expires'), and one it serves with them.
UNCACHED = "/wp-content/themes/twentytwentythree/style.css"
CACHED = "/wp-includes/css/dist/block-library/style.min.css"


def entry(ip, days_ago, request, status=200, size=1000, agent=FIREFOX, seconds=None):
    day = TODAY - datetime.timedelta(days=days_ago)
    text = f'{ip} - - [{day:%d/%b/%Y}:12:00:00 +0000] "{request}" {status} {size} "-" "{agent}"'
    return text + (f" {seconds}" if seconds is not None else "") + "\n"


def put(host, path, data: bytes) -> None:
    encoded = base64.b64encode(data).decode()
    host.run_expect([0], f"printf %s {encoded} | base64 -d > {path}")


@pytest.fixture(scope="module")
def logs(host):
    current = (
        [entry(f"192.0.2.{i % 3}", 0, "GET /?p=1 HTTP/1.1", seconds="0.040") for i in range(6)]
        + [entry("203.0.113.9", 0, "POST /wp-login.php HTTP/1.1", agent="curl/8.0")] * 12
        + [entry("192.0.2.1", 0, "GET /gone HTTP/1.1", status=404)] * 3
    )
    rotated = [entry("192.0.2.5", 1, f"GET {UNCACHED} HTTP/1.1", size=500)] * 4 + [
        entry("192.0.2.6", 1, f"GET {CACHED} HTTP/1.1", size=500)
    ] * 2
    old = [entry("192.0.2.7", 3, "GET /shop/ HTTP/1.1", seconds="1.500")] * 3 + [
        entry("192.0.2.8", 30, "GET / HTTP/1.1"),  # before the period
        "not a log line\n",
    ]
    put(host, LOG, "".join(current).encode())
    put(host, f"{LOG}.1", "".join(rotated).encode())
    put(host, f"{LOG}.2.gz", gzip.compress("".join(old).encode()))
    yield {"logs": [LOG], "today": TODAY.isoformat()}
    host.run_expect([0], f"rm -f {LOG} {LOG}.1 {LOG}.2.gz")


def review(run_playbook, hostname, logs, cmdline=None):
    run = run_playbook(
        "operation/access_review.yml",
        extravars={"access_review_logs": logs["logs"], "access_review_today": logs["today"]},
        cmdline=cmdline,
    )
    assert run.status == "successful", run.stdout
    assert run.changed == {}
    return run.evidence["access_review"][hostname]


def test_generated_logs_give_exactly_their_counts(run_playbook, hostname, logs):
    found = review(run_playbook, hostname, logs)["findings"]
    assert found["lines"] == {
        "read": 32,
        "in_period": 30,
        "out_of_period": 1,
        "malformed": 1,
        "own_probes": 0,
        "with_request_time": 9,
    }
    assert found["per_day"] == [
        {"date": "2026-11-24", "requests": 3, "unique_visitors": 1, "bytes": 3000},
        {"date": "2026-11-26", "requests": 6, "unique_visitors": 2, "bytes": 3000},
        {"date": "2026-11-27", "requests": 21, "unique_visitors": 4, "bytes": 21000},
    ]
    assert found["unique_visitors"] == 7
    assert found["status"] == {"200": 27, "404": 3}
    assert found["top_urls"][0] == {"url": "/wp-login.php", "requests": 12}
    assert found["top_404"] == [
        {"url": "/gone", "requests": 3, "referers": [{"referer": "-", "requests": 3}]}
    ]
    assert found["slowest"][0] == {"url": "/shop/", "requests": 3, "avg_s": 1.5, "max_s": 1.5}
    assert found["wp_login"]["top"] == [{"ip": "203.0.113.9", "requests": 12, "posts": 12}]
    assert found["bots"]["top"] == [{"name": "curl", "requests": 12}]
    assert [f["path"] for f in found["files"]] == [f"{LOG}.2.gz", f"{LOG}.1", LOG]


def test_the_live_site_is_probed_and_proposals_follow(run_playbook, hostname, logs, host):
    result = review(run_playbook, hostname, logs)
    probed = {p["url"]: p for p in result["findings"]["cache_probe"]}
    assert probed[UNCACHED]["status"] == 200 and probed[UNCACHED]["cached"] is False
    assert probed[CACHED]["cached"] is True and "max-age" in probed[CACHED]["cache_control"]
    proposals = {p["id"]: p for p in result["proposals"]}
    assert set(proposals) == {
        "wp_login_fail2ban",
        "fix_broken_links",
        "cache_static_assets",
        "slow_pages",
    }
    assert proposals["wp_login_fail2ban"]["evidence"]["posts"] == 12
    assert [f["url"] for f in proposals["cache_static_assets"]["evidence"]["files"]] == [UNCACHED]
    # The probe's own requests are left out of the next review of the site's log.
    assert "omctl-access-review-probe" in host.check_output(
        "cat /var/log/nginx/wordpress.access.log"
    )


def test_check_mode_reviews_the_same(run_playbook, hostname, logs):
    normal = review(run_playbook, hostname, logs)
    checked = review(run_playbook, hostname, logs, cmdline="--check")
    for found in (normal, checked):
        found["findings"].pop("seconds")
        for probe in found["findings"]["cache_probe"]:
            probe.pop("expires")  # a date relative to the request
    assert checked == normal


def test_site_still_answers(host):
    assert host.run("curl -s -o /dev/null -w '%{http_code}' http://localhost/").stdout == "200"
