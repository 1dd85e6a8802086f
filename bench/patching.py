"""A patching run on one lab host with nothing to upgrade, through ``omctl run``.

Everything a real run does happens (preflight, health gate, package lists refreshed, plan,
needrestart, reboot policy, WordPress detection, evidence), only the plan is empty. The lists are
refreshed from the lab image's own offline repository, so no network is used. One warm-up run
(it installs needrestart), then N timed runs; prints each and the median (target <= 15 s).
Usage: python bench/patching.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

from common import bench_client

TARGET_S = 15.0
# The lab image's offline repository: the only source refreshed.
OFFLINE_SOURCES = "/etc/apt/sources.list.d/omctl-lab-offline.sources"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    times: list[float] = []
    group_vars = {"patching_update_cache_sourcelist": OFFLINE_SOURCES}
    with bench_client(maintenance=["patching"], group_vars=group_vars) as client:
        command = ["run", "bench", "patching", "--json"]
        client.omctl(*command)  # warm-up: installs needrestart, fills caches
        for _ in range(options.runs):
            elapsed, out = client.omctl(*command)
            record = json.loads(out)["hosts"]["web1"]["evidence"]["patching"]
            if record["plan"] or record["status"] != "up to date":
                sys.exit(f"expected nothing to upgrade, got {record['status']}: {record}")
            times.append(elapsed)
    median = statistics.median(times)
    listed = " ".join(f"{t:.2f}" for t in times)
    print(f"patching with nothing to upgrade, one lab host, {options.runs} runs after a warm-up")
    print(f"omctl run patching  median {median:6.2f} s   runs: {listed}")
    print(f"target <= {TARGET_S:.0f} s: {'met' if median <= TARGET_S else 'MISSED'}")


if __name__ == "__main__":
    main()
