"""Speed of the access review's analysis on a generated 1,000,000-line combined log.

Runs the module's own code (roles/access_review/library/access_review.py, the file Ansible
ships to the host) on one core, reading the file line by line as on the host. Prints lines per
second, the median of a few runs (target: at least 200,000 lines/s). The rate is taken over the
process's CPU time, which is its time on one core whatever else the machine runs; wall time is
printed beside it.
Usage: python bench/access_review.py [--lines 1000000] [--runs 3] [--gzip]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gzip
import importlib.util
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import REPO

MODULE = REPO / "roles" / "access_review" / "library" / "access_review.py"

AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "curl/7.88.1",
    "-",
]
PAGES = [f"/{slug}/" for slug in ("about", "contact", "blog", "shop", "news", "team")] + [
    f"/blog/post-{n}/" for n in range(300)
]
STATIC = [f"/wp-content/uploads/2026/{n % 12 + 1:02d}/image-{n}.jpg" for n in range(200)] + [
    "/wp-includes/css/dist/block-library/style.min.css",
    "/wp-includes/js/jquery/jquery.min.js",
]


def load_module():
    spec = importlib.util.spec_from_file_location("access_review", MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generate(path: Path, lines: int, today: datetime.date, compress: bool) -> None:
    """A week of traffic: pages, static files, 404s, login abuse, bots; with $request_time."""
    rng = random.Random(6)
    ips = [f"198.51.{rng.randrange(256)}.{rng.randrange(256)}" for _ in range(5000)]
    stamps = [
        (today - datetime.timedelta(days=d)).strftime("%d/%b/%Y") + f":{h:02d}:{m:02d}:{s:02d}"
        for d in range(7)
        for h, m, s in ((h, rng.randrange(60), rng.randrange(60)) for h in range(24))
    ]
    opener = gzip.open if compress else open
    with opener(path, "wt", encoding="utf-8") as out:
        batch = []
        for i in range(lines):
            roll = rng.random()
            method, status = "GET", 200
            if roll < 0.55:
                url = rng.choice(PAGES) + ("?utm_source=news" if roll < 0.02 else "")
            elif roll < 0.85:
                url = rng.choice(STATIC)
                status = 304 if roll < 0.6 else 200
            elif roll < 0.92:
                url, status = f"/old/page-{rng.randrange(50)}", 404
            elif roll < 0.97:
                url, method = "/wp-login.php", "POST"
            else:
                url, method = "/xmlrpc.php", "POST"
            batch.append(
                f'{rng.choice(ips)} - - [{stamps[i % len(stamps)]} +0000] "{method} {url} '
                f'HTTP/1.1" {status} {rng.randrange(200, 90000)} "https://example.com/" '
                f'"{rng.choice(AGENTS)}" {rng.random() * 0.8:.3f}\n'
            )
            if len(batch) == 10000:
                out.writelines(batch)
                batch.clear()
        out.writelines(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--gzip", action="store_true", help="read a gzipped log instead")
    options = parser.parse_args()
    with contextlib.suppress(AttributeError, OSError):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    module = load_module()
    today = datetime.date.today()
    with tempfile.TemporaryDirectory(prefix="omctl-bench-") as scratch:
        log = Path(scratch) / ("access.log.2.gz" if options.gzip else "access.log")
        started = time.perf_counter()
        generate(log, options.lines, today, options.gzip)
        print(
            f"generated {options.lines:,} lines ({log.stat().st_size / 2**20:.0f} MiB on disk) "
            f"in {time.perf_counter() - started:.1f}s"
        )
        first, last = module.period_days(7, today.isoformat())
        rates = []
        for _ in range(options.runs):
            wall, cpu = time.perf_counter(), time.process_time()
            findings, _files = module.analyse([str(log)], first, last)
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            if findings["lines"]["in_period"] != options.lines:
                sys.exit(f"analysed {findings['lines']} instead of {options.lines} lines")
            rates.append(options.lines / cpu)
            print(
                f"  run: {cpu:.2f}s CPU ({options.lines / cpu:,.0f} lines/s), "
                f"{wall:.2f}s wall ({options.lines / wall:,.0f} lines/s)"
            )
    median = statistics.median(rates)
    verdict = "ok" if median >= 200_000 else "BELOW TARGET"
    print(f"access review: {median:,.0f} lines/s per core, median of {options.runs} "
          f"(target >= 200,000: {verdict})")  # fmt: skip


if __name__ == "__main__":
    main()
