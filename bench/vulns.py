"""Vulnerability matching at feed scale: a generated Wordfence feed of 50,000 records.

Writes a feed in the v3 production format (records about as large as the real feed's, with
description, references and copyright texts: the real one was 158 MB for 42,504 records in
October 2026) to a temporary folder, then in a fresh process (so its peak memory is the
loading's alone) loads it with omctl.vulns.wordfence and matches a host of 200 installed items
(core, plugins, themes; a tenth of them vulnerable) 100 times. Prints the file size, load
time, peak memory (max RSS) and the time per host match. No lab, no network.
Usage: python bench/vulns.py [--entries 50000] [--items 200]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SLUGS = 12_000  # distinct plugins/themes in the generated feed (the real one: about 12,000)
TEXT = ("The plugin for WordPress is vulnerable to Stored Cross-Site Scripting via the "
        "shortcode attributes in all versions up to, and including, the affected version due "
        "to insufficient input sanitization and output escaping. ") * 3  # fmt: skip
LICENSE = ("Defiant hereby grants you a perpetual, worldwide, non-exclusive, no-charge, "
           "royalty-free, irrevocable copyright license to reproduce, prepare derivative works "
           "of, publicly display, publicly perform, sublicense, and distribute this software "
           "vulnerability information. Any copy of the software vulnerability information you "
           "make for such purposes is authorized provided that you include a hyperlink to this "
           "vulnerability record and reproduce Defiant's copyright designation and this "
           "license in any such copy.")  # fmt: skip


def record(n: int, rng: random.Random) -> dict:
    kind = "core" if n % 500 == 0 else ("theme" if n % 7 == 0 else "plugin")
    slug = "wordpress" if kind == "core" else f"{kind}-{n % SLUGS}"
    major, minor = rng.randint(1, 9), rng.randint(0, 20)
    low = "*" if rng.random() < 0.6 else f"{major}.0"
    high = f"{major}.{minor}.{rng.randint(0, 9)}"
    vid = f"{n:08x}-0000-4000-8000-{n:012x}"
    score = round(rng.uniform(2.0, 9.9), 1)
    return {
        "id": vid, "title": f"{slug} <= {high} - Stored Cross-Site Scripting",
        "software": [{"type": kind, "name": slug.title(), "slug": slug,
                      "affected_versions": {f"{low} - {high}": {
                          "from_version": low, "from_inclusive": True,
                          "to_version": high, "to_inclusive": True}},
                      "patched": n % 5 != 0,
                      "patched_versions": [f"{high}.1"] if n % 5 else [],
                      "remediation": f"Update to version {high}.1, or a newer patched version"}],
        "informational": False, "description": TEXT,
        "references": [f"https://www.wordfence.com/threat-intel/vulnerabilities/id/{vid}"
                       "?source=api-prod"],
        "cwe": {"id": 79, "name": "Cross-site Scripting", "description": TEXT[:200]},
        "cvss": {"vector": "CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", "score": score,
                 "rating": "High" if score >= 7 else "Medium"},
        "cve": f"CVE-2026-{n:05d}", "cve_link": f"https://www.cve.org/CVERecord?id=CVE-2026-{n}",
        "researchers": ["bench"], "published": "2026-10-01 00:00:00",
        "updated": "2026-10-02 00:00:00",
        "copyrights": {"message": "This record contains material that is subject to copyright",
                       "defiant": {"notice": "Copyright 2012-2026 Defiant Inc.",
                                   "license": LICENSE,
                                   "license_url": "https://www.wordfence.com/"
                                                  "wordfence-intelligence-terms-and-conditions/"}},
    }  # fmt: skip


def measure(path: Path, items: int) -> None:
    """In a fresh process: load, then match one host's items 100 times; JSON on stdout."""
    from omctl.vulns import scan, wordfence

    start = time.perf_counter()
    feed = wordfence.load(path)
    loaded = time.perf_counter() - start
    rng = random.Random(7)
    host = [{"type": "plugin", "slug": f"plugin-{rng.randrange(SLUGS)}",
             "version": f"{rng.randint(1, 9)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
             "active": True} for _ in range(items - 1)]  # fmt: skip
    host.append({"type": "core", "slug": "wordpress", "version": "6.4.2", "active": True})
    inventory = {"release": "bookworm", "wordpress": [{"path": "/var/www/site", "items": host}]}
    feeds = scan.Feeds(wordpress=feed)
    start = time.perf_counter()
    for _ in range(100):
        record = scan.match(inventory, feeds)
    matched = (time.perf_counter() - start) / 100
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"load_s": loaded, "match_s": matched, "rss_mb": rss,
                      "findings": len(record.findings), "index": len(feed.index)}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=50_000)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.items)
        return
    with tempfile.TemporaryDirectory(prefix="omctl-bench-vulns-") as folder:
        path = Path(folder) / "wordfence-production.json"
        rng = random.Random(1)
        with path.open("w", encoding="utf-8") as out:
            out.write("{")
            for n in range(args.entries):
                item = record(n, rng)
                out.write(("," if n else "") + json.dumps(item["id"]) + ":" + json.dumps(item))
            out.write("}")
        size = path.stat().st_size / 2**20
        command = [sys.executable, __file__, "--measure", str(path), "--items", str(args.items)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        found = json.loads(done.stdout)
    print(f"feed: {args.entries} records, {size:.0f} MiB, {found['index']} (type, slug) keys")
    print(f"load: {found['load_s']:.2f} s, peak memory (max RSS) {found['rss_mb']:.0f} MB")
    print(f"match: {found['match_s'] * 1000:.1f} ms per host of {args.items} items "
          f"({found['findings']} findings)")  # fmt: skip


if __name__ == "__main__":
    main()
