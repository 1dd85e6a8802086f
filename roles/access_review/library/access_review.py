#!/usr/bin/python
"""Summarise nginx access logs (plain, rotated, gzipped) line by line and propose improvements.

Plain Python (standard library only): the analysis functions import without Ansible, so that
the unit tests and the benchmark run exactly the code the managed host runs. Only ``main()``
talks to Ansible.
"""

# Ansible modules document themselves before their imports.

from __future__ import annotations

DOCUMENTATION = r"""
module: access_review
short_description: Summarise nginx access logs of a period and turn the findings into proposals
description:
  - Reads the access logs matching O(logs), with their rotated siblings (C(NAME.1)) and gzipped
    ones (C(NAME.N.gz)), one line at a time; no file is ever loaded whole.
  - Parses nginx's C(combined) format, optionally followed by C($request_time) (seconds).
  - Keeps the lines of the last O(days) calendar days (dates as written in the log) and counts
    requests, unique visitors (distinct client addresses) and bytes per day, the status mix, the
    top URLs and 404s (with their referers), the slowest URLs, bots (user agent heuristics), and
    requests to C(wp-login.php) and C(xmlrpc.php) per client address.
  - Probes the most requested static files on the live site (O(probe_url)) for C(Cache-Control)
    and C(Expires) headers, since access logs do not record response headers.
  - Turns the findings into proposals, each with its evidence.
  - Changes nothing on the host; runs the same in check mode.
options:
  logs:
    description: Glob patterns of the current access logs; rotated siblings are found from them.
    type: list
    elements: str
    default: [/var/log/nginx/*access.log]
  days:
    description: Length of the period in calendar days, today included.
    type: int
    default: 7
  today:
    description: Last day of the period (C(YYYY-MM-DD)); the host's local date when empty.
    type: str
    default: ""
  top:
    description: Length of each top list.
    type: int
    default: 10
  probe_url:
    description: Base URL of the live site for the cache header probe; empty to skip the probe.
    type: str
    default: http://localhost
  probe_headers:
    description: Extra request headers of the probe (for example C(Host)).
    type: dict
    default: {}
  probe_count:
    description: How many of the most requested static files are probed.
    type: int
    default: 5
  probe_timeout:
    description: Seconds to wait for each probe.
    type: int
    default: 5
  thresholds:
    description:
      - When a finding becomes a proposal; missing keys take their defaults.
      - C(wp_login_posts), C(xmlrpc_posts) (POSTs in the period, all addresses together, or
        C(per_ip_posts) from one address); C(broken_link_requests) (404s of one URL);
        C(slow_avg_s) and C(slow_min_requests) (average request time of one URL);
        C(server_error_share) (share of 5xx answers); C(bot_share) (share of bot requests).
    type: dict
    default: {}
author: omctl maintainers
"""

EXAMPLES = r"""
- name: Review the last week of access logs
  access_review:
    logs: [/var/log/nginx/*access.log]
    days: 7
  register: review
"""

RETURN = r"""
findings:
  description: What the logs say; see the role's README for every key.
  returned: always
  type: dict
  sample: {"requests": 1520, "unique_visitors": 212, "bytes": 48211234,
           "per_day": [{"date": "2026-11-27", "requests": 760, "unique_visitors": 120,
                        "bytes": 24100000}],
           "status": {"200": 1400, "404": 120}, "top_404": [{"url": "/old-page", "requests": 40,
           "referers": [{"referer": "https://example.com/", "requests": 30}]}]}
proposals:
  description: Improvements proposed from the findings, each with its evidence.
  returned: always
  type: list
  elements: dict
  sample: [{"id": "wp_login_fail2ban", "title": "Enable a fail2ban jail for WordPress logins",
            "why": "312 POSTs to /wp-login.php in 7 days, 290 from 203.0.113.9",
            "action": "...", "evidence": {}}]
"""

import datetime
import glob
import gzip
import os
import re
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

PROBE_USER_AGENT = "omctl-access-review-probe"
STATIC_EXTENSIONS = frozenset(
    ("css", "js", "mjs", "map", "png", "jpg", "jpeg", "gif", "webp", "avif", "svg", "ico",
     "bmp", "woff", "woff2", "ttf", "otf", "eot", "mp4", "webm", "mp3", "ogg", "pdf", "zip",
     "txt", "xml")
)  # fmt: skip
# Path kinds, decided once per distinct path.
PAGE, STATIC, WP_LOGIN, XMLRPC = 0, 1, 2, 3
MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}
ROTATED = re.compile(r"\.(\d+)(\.gz)?$")
DEFAULT_THRESHOLDS: dict[str, float] = {
    "wp_login_posts": 20,
    "xmlrpc_posts": 20,
    "per_ip_posts": 10,
    "broken_link_requests": 3,
    "slow_avg_s": 1.0,
    "slow_min_requests": 3,
    "server_error_share": 0.01,
    "bot_share": 0.5,
}

# (substring of the lower-cased user agent, name); the first match wins.
KNOWN_BOTS: tuple[tuple[str, str], ...] = (
    ("googlebot", "Googlebot"),
    ("bingbot", "bingbot"),
    ("yandex", "YandexBot"),
    ("baiduspider", "Baiduspider"),
    ("duckduckbot", "DuckDuckBot"),
    ("applebot", "Applebot"),
    ("facebookexternalhit", "facebookexternalhit"),
    ("gptbot", "GPTBot"),
    ("claudebot", "ClaudeBot"),
    ("bytespider", "Bytespider"),
    ("ansible-httpget", "ansible-httpget"),
)
# Generic markers: the bot's name is the user agent token that contains the marker.
BOT_MARKERS: tuple[str, ...] = (
    "bot",
    "crawl",
    "spider",
    "slurp",
    "scan",
    "curl",
    "wget",
    "python-requests",
    "python-urllib",
    "aiohttp",
    "go-http-client",
    "java/",
    "libwww-perl",
    "okhttp",
    "httpclient",
    "scrapy",
    "headless",
    "zgrab",
    "masscan",
    "nmap",
    "nikto",
    "sqlmap",
    "wpscan",
)
_TOKEN_SPLIT = re.compile(r"[\s;()]+")


def bot_name(user_agent: str) -> str:
    """The bot's name for a user agent, or "" for a browser. Empty user agents are bots."""
    if user_agent in ("", "-"):
        return "(no user agent)"
    if user_agent == PROBE_USER_AGENT:
        return PROBE_USER_AGENT  # this module's own probe: left out of the counts
    lowered = user_agent.lower()
    for marker, name in KNOWN_BOTS:
        if marker in lowered:
            return name
    for marker in BOT_MARKERS:
        if marker in lowered:
            for token in _TOKEN_SPLIT.split(user_agent):
                if marker in token.lower():
                    return token.split("/", 1)[0] or token
            return marker
    return ""


def path_kind(path: str) -> int:
    """PAGE, STATIC (by extension), WP_LOGIN or XMLRPC."""
    if path.endswith("/wp-login.php"):
        return WP_LOGIN
    if path.endswith("/xmlrpc.php"):
        return XMLRPC
    name = path.rsplit("/", 1)[-1]
    if "." in name and name.rsplit(".", 1)[1].lower() in STATIC_EXTENSIONS:
        return STATIC
    return PAGE


def parse_day(stamp: str) -> datetime.date | None:
    """'27/Nov/2026' (the date part of $time_local) as a date, None when it is not one."""
    try:
        day, month, year = stamp.split("/")
        return datetime.date(int(year), MONTHS[month], int(day))
    except (ValueError, KeyError):
        return None


def _top(counts: dict[str, int], n: int) -> list[tuple[str, int]]:
    """The n largest counts, ties in name order (stable output for the ledger and tests)."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]


class Analysis:
    """Aggregates parsed lines; feed() is the hot loop, result() the summary.

    Per distinct date stamp and per distinct path, one mutable record is looked up once per
    line, which keeps the dictionary work of a line small.
    """

    def __init__(self, first_day: datetime.date, last_day: datetime.date) -> None:
        self.first_day = first_day
        self.last_day = last_day
        self.lines = 0
        self.malformed = 0
        self.skipped = 0  # out of the period, or a malformed date
        self.bad_dates = 0
        self.own_probes = 0
        self.timed_lines = 0
        # '27/Nov/2026' -> [iso date, requests, bytes, client addresses], () when outside.
        self._days: dict[str, list[Any] | tuple[()]] = {}
        self.per_day: dict[str, list[Any]] = {}
        self.status: defaultdict[str, int] = defaultdict(int)
        # path -> [kind, requests, timed requests, time sum, time max, 2xx/3xx if static]
        self.paths: dict[str, list[Any]] = {}
        self.not_found: defaultdict[str, int] = defaultdict(int)
        self.not_found_referers: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.agents: dict[str, str] = {}  # user agent -> bot name ('' = browser)
        self.bots: defaultdict[str, int] = defaultdict(int)
        # kind -> ip -> [requests, posts]
        self.abuse: dict[int, dict[str, list[int]]] = {WP_LOGIN: {}, XMLRPC: {}}

    def _day(self, stamp: str) -> list[Any] | tuple[()]:
        """Resolve a date stamp once: its day record inside the period, else ()."""
        day = parse_day(stamp)
        if day is None:
            self.bad_dates += 1
            return ()  # not cached: counted as malformed every time
        if not self.first_day <= day <= self.last_day:
            self._days[stamp] = ()
            return ()
        iso = day.isoformat()
        record = self.per_day.get(iso)
        if record is None:
            record = self.per_day[iso] = [iso, 0, 0, set()]
        self._days[stamp] = record
        return record

    def feed(self, lines: Iterable[str]) -> None:  # noqa: PLR0915 - one loop, kept inline
        """Count every line of ``lines``: the hot loop, with split-based parsing and no regex.

        Combined format: ``ADDR - USER [TIME] "REQUEST" STATUS BYTES "REFERER" "AGENT"``, then
        an optional `` REQUEST_TIME``. nginx escapes quotes inside fields (``\\x22``), so a
        split on '"' gives the fields.
        """
        days = self._days
        resolve_day = self._day
        status_counts = self.status
        paths = self.paths
        not_found = self.not_found
        not_found_referers = self.not_found_referers
        agents = self.agents
        bots = self.bots
        abuse = self.abuse
        count = malformed = skipped = own = timed = 0
        for line in lines:
            count += 1
            parts = line.split('"')
            if len(parts) < 7:
                if line.strip():
                    malformed += 1
                else:
                    count -= 1  # blank lines are not lines of the log
                continue
            try:
                head = parts[0]
                bracket = head.find("[")
                stamp = head[bracket + 1 : bracket + 12]
                day = days.get(stamp)
                if day is None:
                    day = resolve_day(stamp)
                if not day:
                    skipped += 1
                    continue
                agent = parts[5]
                bot = agents.get(agent)
                if bot is None:
                    bot = agents[agent] = bot_name(agent)
                if bot == PROBE_USER_AGENT:
                    own += 1
                    continue
                ip = head[: head.find(" ")]
                status, size = parts[2].split()
                size = int(size)
                request = parts[1].split(" ")
                if len(request) > 1:
                    method = request[0]
                    path = request[1]
                    query = path.find("?")
                    if query >= 0:
                        path = path[:query]
                else:
                    method = ""
                    path = parts[1] or "-"
            except (ValueError, IndexError):
                malformed += 1
                continue
            day[1] += 1
            day[2] += size
            day[3].add(ip)
            status_counts[status] += 1
            record = paths.get(path)
            if record is None:
                record = paths[path] = [path_kind(path), 0, 0, 0.0, 0.0, 0]
            record[1] += 1
            if bot:
                bots[bot] += 1
            if status == "404":
                not_found[path] += 1
                not_found_referers[path, parts[3]] += 1
            kind = record[0]
            if kind:
                if kind == STATIC:
                    if status[0] in "23":
                        record[5] += 1
                else:
                    per_ip = abuse[kind].get(ip)
                    if per_ip is None:
                        per_ip = abuse[kind][ip] = [0, 0]
                    per_ip[0] += 1
                    if method == "POST":
                        per_ip[1] += 1
            tail = parts[6]
            if len(tail) > 2:
                try:
                    seconds = float(tail)
                except ValueError:
                    continue
                timed += 1
                record[2] += 1
                record[3] += seconds
                if seconds > record[4]:  # noqa: PLR1730 - faster than max()
                    record[4] = seconds
        self.lines += count
        self.malformed += malformed
        self.skipped += skipped
        self.own_probes += own
        self.timed_lines += timed

    def _abuse(self, kind: int, top: int) -> dict[str, Any]:
        per_ip = self.abuse[kind]
        ranked = sorted(per_ip.items(), key=lambda item: (-item[1][1], -item[1][0], item[0]))
        return {
            "requests": sum(v[0] for v in per_ip.values()),
            "posts": sum(v[1] for v in per_ip.values()),
            "addresses": len(per_ip),
            "top": [{"ip": ip, "requests": v[0], "posts": v[1]} for ip, v in ranked[:top]],
        }

    def result(self, top: int = 10) -> dict[str, Any]:
        days = sorted((r for r in self.per_day.values() if r[1]), key=lambda r: r[0])
        requests = sum(r[1] for r in days)
        visitors: set[str] = set()
        for record in days:
            visitors |= record[3]
        classes: defaultdict[str, int] = defaultdict(int)
        for status, n in self.status.items():
            classes[f"{status[:1]}xx"] += n
        referers: defaultdict[str, dict[str, int]] = defaultdict(dict)
        for (path, referer), n in self.not_found_referers.items():
            referers[path][referer] = n
        urls = {path: r[1] for path, r in self.paths.items()}
        static = {path: r[5] for path, r in self.paths.items() if r[0] == STATIC and r[5]}
        slowest = sorted(
            ((path, r[3] / r[2], r[2], r[4]) for path, r in self.paths.items() if r[2]),
            key=lambda item: (-item[1], item[0]),
        )[:top]
        bot_requests = sum(self.bots.values())
        return {
            "period": {
                "days": (self.last_day - self.first_day).days + 1,
                "first_day": self.first_day.isoformat(),
                "last_day": self.last_day.isoformat(),
            },
            "lines": {
                "read": self.lines,
                "in_period": requests,
                "out_of_period": self.skipped - self.bad_dates,
                "malformed": self.malformed + self.bad_dates,
                "own_probes": self.own_probes,
                "with_request_time": self.timed_lines,
            },
            "requests": requests,
            "unique_visitors": len(visitors),
            "bytes": sum(r[2] for r in days),
            "per_day": [
                {"date": r[0], "requests": r[1], "unique_visitors": len(r[3]), "bytes": r[2]}
                for r in days
            ],
            "status": dict(sorted(self.status.items())),
            "status_classes": dict(sorted(classes.items())),
            "top_urls": [{"url": u, "requests": n} for u, n in _top(urls, top)],
            "top_404": [
                {
                    "url": u,
                    "requests": n,
                    "referers": [{"referer": r, "requests": rn} for r, rn in _top(referers[u], 3)],
                }
                for u, n in _top(self.not_found, top)
            ],
            "slowest": [
                {"url": u, "requests": n, "avg_s": round(avg, 3), "max_s": round(worst, 3)}
                for u, avg, n, worst in slowest
            ],
            "bots": {
                "requests": bot_requests,
                "share": round(bot_requests / requests, 4) if requests else 0.0,
                "top": [{"name": b, "requests": n} for b, n in _top(self.bots, top)],
            },
            "wp_login": self._abuse(WP_LOGIN, top),
            "xmlrpc": self._abuse(XMLRPC, top),
            "static": {
                "requests": sum(static.values()),
                "top": [{"url": u, "requests": n} for u, n in _top(static, top)],
            },
        }


def rotated_siblings(current: str) -> list[str]:
    """``current`` and its rotations (NAME.1, NAME.2.gz, ...), oldest first."""
    found: list[tuple[int, str]] = [(0, current)] if os.path.isfile(current) else []
    for candidate in glob.glob(glob.escape(current) + ".*"):
        match = ROTATED.fullmatch(candidate[len(current) :])
        if match and os.path.isfile(candidate):
            found.append((int(match[1]), candidate))
    return [path for _, path in sorted(found, reverse=True)]


def log_files(patterns: Iterable[str]) -> list[str]:
    """The current logs matching the patterns and their rotations, each file once."""
    files: list[str] = []
    for pattern in patterns:
        for current in sorted(glob.glob(pattern)):
            if ROTATED.search(current):
                continue  # a rotation matched by a broad pattern: found from its current log
            for path in rotated_siblings(current):
                if path not in files:
                    files.append(path)
    return files


def open_log(path: str):
    """A text stream of one log, decompressed on the fly when gzipped."""
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def analyse(
    paths: Iterable[str], first_day: datetime.date, last_day: datetime.date, top: int = 10
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Stream every file through one Analysis; files last written before the period are skipped
    (they cannot hold a line of it). Returns the findings and one entry per file."""
    analysis = Analysis(first_day, last_day)
    period_start = time.mktime(first_day.timetuple()) - 86400  # a day of slack for time zones
    files: list[dict[str, Any]] = []
    for path in paths:
        entry: dict[str, Any] = {"path": path}
        try:
            if os.path.getmtime(path) < period_start:
                entry["skipped"] = "last written before the period"
                files.append(entry)
                continue
            before = analysis.lines
            with open_log(path) as stream:
                analysis.feed(stream)
            entry["lines"] = analysis.lines - before
        except (OSError, EOFError) as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"
        files.append(entry)
    return analysis.result(top), files


# --- the cache header probe --------------------------------------------------------------------

Fetch = Callable[[str, str, dict[str, str], int], tuple[int, dict[str, str]]]


def has_cache_headers(headers: dict[str, str]) -> bool:
    """True when the answer lets browsers cache it: an Expires date or a positive max-age."""
    lowered = {k.lower(): v for k, v in headers.items()}
    control = lowered.get("cache-control", "").lower()
    if "no-store" in control or "no-cache" in control:
        return False
    match = re.search(r"max-age\s*=\s*(\d+)", control)
    if match:
        return int(match[1]) > 0
    return bool(lowered.get("expires"))


def urllib_fetch(url: str, method: str, headers: dict[str, str], timeout: int):
    """One request without proxies; returns the status and headers (errors are answers too)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, method=method, headers=headers)
    try:
        with opener.open(request, timeout=timeout) as answer:
            return answer.status, dict(answer.headers.items())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items())


def probe_static(
    base_url: str,
    paths: Iterable[str],
    headers: dict[str, str] | None = None,
    timeout: int = 5,
    fetch: Fetch = urllib_fetch,
) -> list[dict[str, Any]]:
    """HEAD (GET when HEAD is refused) each path on the live site; what caching it allows."""
    sent = {"User-Agent": PROBE_USER_AGENT, **(headers or {})}
    probed: list[dict[str, Any]] = []
    for path in paths:
        url = base_url.rstrip("/") + path
        entry: dict[str, Any] = {"url": path}
        try:
            status, answer = fetch(url, "HEAD", sent, timeout)
            if status in (405, 501):
                status, answer = fetch(url, "GET", sent, timeout)
        except (OSError, ValueError) as exc:
            entry.update(status=None, error=str(exc), cached=None)
            probed.append(entry)
            continue
        lowered = {k.lower(): v for k, v in answer.items()}
        entry.update(
            status=status,
            cache_control=lowered.get("cache-control", ""),
            expires=lowered.get("expires", ""),
            cached=has_cache_headers(answer) if 200 <= status < 400 else None,
        )
        probed.append(entry)
    return probed


# --- proposals ---------------------------------------------------------------------------------


def _plural(n: float, word: str, plural: str = "") -> str:
    return f"{n} {word}" if n == 1 else f"{n} {plural or word + 's'}"


def propose(findings: dict[str, Any], thresholds: dict[str, float] | None = None) -> list[dict]:
    """Proposals from the findings: each says why (with the figures) and what to do."""
    limits = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    days = findings["period"]["days"]
    period = f"in {_plural(days, 'day')}"
    proposals: list[dict[str, Any]] = []

    for kind, script, key, jail in (
        ("wp_login", "/wp-login.php", "wp_login_posts", "wp_login_fail2ban"),
        ("xmlrpc", "/xmlrpc.php", "xmlrpc_posts", "xmlrpc_block"),
    ):
        seen = findings[kind]
        worst = seen["top"][0] if seen["top"] else None
        loud = worst is not None and worst["posts"] >= limits["per_ip_posts"]
        if seen["posts"] >= limits[key] or loud:
            why = (
                f"{_plural(seen['posts'], 'POST')} to {script} {period} from "
                f"{_plural(seen['addresses'], 'address', 'addresses')}"
            )
            if worst is not None:
                why += f", {worst['posts']} from {worst['ip']}"
            if kind == "wp_login":
                title = "Enable the WordPress fail2ban jail (wp-login.php)"
                action = (
                    "Enable a fail2ban jail on the nginx access log that bans an address after "
                    "repeated POSTs to /wp-login.php (maintenance: hardening)."
                )
            else:
                title = "Block or rate-limit xmlrpc.php"
                action = (
                    "Deny /xmlrpc.php in nginx unless a client needs it (Jetpack, mobile apps), "
                    "or add it to the fail2ban jail."
                )
            proposals.append(
                {
                    "id": jail,
                    "title": title,
                    "why": why,
                    "action": action,
                    "evidence": {
                        "posts": seen["posts"],
                        "requests": seen["requests"],
                        "top": seen["top"][:5],
                    },
                }
            )

    broken = [
        entry
        for entry in findings["top_404"]
        if entry["requests"] >= limits["broken_link_requests"]
        and not entry["url"].endswith(("/wp-login.php", "/xmlrpc.php"))
    ]
    if broken:
        first = broken[0]
        proposals.append(
            {
                "id": "fix_broken_links",
                "title": "Fix the most requested broken links",
                "why": f"{_plural(len(broken), 'URL')} answered 404 at least "
                f"{int(limits['broken_link_requests'])} times {period}; {first['url']} "
                f"{first['requests']} times",
                "action": "Restore the pages, redirect them (301) to their new address, or fix "
                "the referring pages listed.",
                "evidence": {"urls": broken[:10]},
            }
        )

    probed = findings.get("cache_probe") or []
    uncached = [entry for entry in probed if entry.get("cached") is False]
    if uncached:
        hits = {e["url"]: e["requests"] for e in findings["static"]["top"]}
        proposals.append(
            {
                "id": "cache_static_assets",
                "title": "Send cache headers with static files",
                "why": f"{len(uncached)} of the {len(probed)} most requested static files answer "
                "without Cache-Control max-age or Expires",
                "action": "Add 'expires' (or Cache-Control max-age) to the nginx location that "
                "serves them, e.g. wp-content assets.",
                "evidence": {
                    "files": [
                        {
                            "url": e["url"],
                            "requests": hits.get(e["url"], 0),
                            "cache_control": e.get("cache_control", ""),
                            "expires": e.get("expires", ""),
                        }
                        for e in uncached
                    ]
                },
            }
        )

    slow = [
        entry
        for entry in findings["slowest"]
        if entry["avg_s"] >= limits["slow_avg_s"]
        and entry["requests"] >= limits["slow_min_requests"]
    ]
    if slow:
        proposals.append(
            {
                "id": "slow_pages",
                "title": "Look at the slowest pages",
                "why": f"{_plural(len(slow), 'URL')} took {limits['slow_avg_s']}s or more on "
                f"average; {slow[0]['url']} {slow[0]['avg_s']}s over "
                f"{_plural(slow[0]['requests'], 'request')}",
                "action": "Profile them (queries, plugins), cache them (page cache), or tune "
                "PHP-FPM (operation: config_tuning).",
                "evidence": {"urls": slow},
            }
        )
    elif findings["requests"] and not findings["lines"]["with_request_time"]:
        proposals.append(
            {
                "id": "log_request_time",
                "title": "Log the request time to find slow pages",
                "why": "no line of the period carries $request_time",
                "action": "Run operation config_tuning: it adds $request_time to the access log "
                "format of the managed site.",
                "evidence": {"lines": findings["lines"]["in_period"]},
            }
        )

    requests = findings["requests"]
    errors = findings["status_classes"].get("5xx", 0)
    if requests and errors / requests >= limits["server_error_share"]:
        proposals.append(
            {
                "id": "server_errors",
                "title": "Investigate server errors",
                "why": f"{errors} of {requests} requests ({errors / requests:.1%}) answered 5xx "
                f"{period}",
                "action": "Read the PHP-FPM and nginx error logs around those times "
                "(maintenance: diagnosis).",
                "evidence": {
                    "status": {k: v for k, v in findings["status"].items() if k.startswith("5")}
                },
            }
        )

    bots = findings["bots"]
    if requests and bots["share"] >= limits["bot_share"]:
        proposals.append(
            {
                "id": "bot_traffic",
                "title": "Most requests come from bots",
                "why": f"{bots['requests']} of {requests} requests ({bots['share']:.0%}) came "
                "from bots and tools",
                "action": "Check robots.txt and rate limits for the heaviest crawlers.",
                "evidence": {"top": bots["top"][:5]},
            }
        )
    return proposals


def period_days(days: int, today: str = "") -> tuple[datetime.date, datetime.date]:
    last = datetime.date.fromisoformat(today) if today else datetime.date.today()
    return last - datetime.timedelta(days=max(days, 1) - 1), last


def review(params: dict[str, Any], fetch: Fetch = urllib_fetch) -> dict[str, Any]:
    """Everything the module returns, from its parameters (no Ansible needed)."""
    first, last = period_days(int(params["days"]), params.get("today") or "")
    top = int(params.get("top", 10))
    started = time.monotonic()
    findings, files = analyse(log_files(params["logs"]), first, last, top)
    findings["files"] = files
    findings["seconds"] = round(time.monotonic() - started, 3)
    probe_url = params.get("probe_url") or ""
    count = int(params.get("probe_count", 5))
    if probe_url and count > 0:
        paths = [entry["url"] for entry in findings["static"]["top"][:count]]
        findings["cache_probe"] = probe_static(
            probe_url,
            paths,
            headers=params.get("probe_headers") or {},
            timeout=int(params.get("probe_timeout", 5)),
            fetch=fetch,
        )
    else:
        findings["cache_probe"] = []
    thresholds = {k: float(v) for k, v in (params.get("thresholds") or {}).items()}
    return {"findings": findings, "proposals": propose(findings, thresholds)}


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(
        argument_spec={
            "logs": {"type": "list", "elements": "str", "default": ["/var/log/nginx/*access.log"]},
            "days": {"type": "int", "default": 7},
            "today": {"type": "str", "default": ""},
            "top": {"type": "int", "default": 10},
            "probe_url": {"type": "str", "default": "http://localhost"},
            "probe_headers": {"type": "dict", "default": {}},
            "probe_count": {"type": "int", "default": 5},
            "probe_timeout": {"type": "int", "default": 5},
            "thresholds": {"type": "dict", "default": {}},
        },
        supports_check_mode=True,
    )
    params = module.params
    if params["days"] < 1:
        module.fail_json(msg=f"days must be at least 1, not {params['days']}")
    unknown = sorted(set(params["thresholds"]) - set(DEFAULT_THRESHOLDS))
    if unknown:
        module.fail_json(msg=f"unknown thresholds: {', '.join(unknown)}")
    try:
        result = review(params)
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
