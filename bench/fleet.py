"""Fleets from one controller: healthcheck and the idempotent hardening re-run on 1, 4 and 8 hosts.

Starts 8 lab hosts, onboards them as client ``bench`` and converges hardening on all of them
once (untimed). Then, in each round, times ``omctl run bench healthcheck`` and the hardening
re-run limited to the first 1, 4 and all 8 hosts, one size right after the other (the order
turns round by round): on a shared machine the load drifts, and the sizes of one round see about
the same load, so each size's ratio to one host is taken within its round (median over the
rounds), next to the ratio of the medians. The load average is printed per round.
Target: 8 hosts at most 2.5x one host (one host at a time would be 8x).
Lynis is off (``--lynis`` turns it on): its two audits dominate the untimed converge, and the
re-run reuses the first audit anyway. Usage: python bench/fleet.py [--runs 3] [--lynis]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys

from common import CLIENT, BenchClient, bench_client

SIZES = (1, 4, 8)
TASKS = ("healthcheck", "hardening")


def load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def timed_run(client: BenchClient, task: str, hosts: list[str]) -> float:
    """Wall time of ``omctl run`` on ``hosts``; exits if the hardening re-run changed anything."""
    elapsed, out = client.omctl("run", CLIENT, task, "--limit", ",".join(hosts), "--json")
    _, shown = client.omctl("show", json.loads(out)["id"], "--json")
    results = json.loads(shown)["hosts"]
    if sorted(results) != sorted(hosts):
        sys.exit(f"{task} on {hosts} reported hosts {sorted(results)}")
    changed = {host: r["changed"] for host, r in results.items() if r["changed"]}
    if task == "hardening" and changed:
        sys.exit(f"the hardening re-run on {len(hosts)} hosts changed tasks: {changed}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lynis", action="store_true", help="audit with Lynis on the converge")
    options = parser.parse_args()
    group_vars = None if options.lynis else {"hardening_lynis_enabled": "false"}
    times = {(task, size): [] for task in TASKS for size in SIZES}
    ratios = {(task, size): [] for task in TASKS for size in SIZES}
    with bench_client(max(SIZES), maintenance=TASKS, group_vars=group_vars) as client:
        hosts = sorted(client.ports, key=lambda name: (len(name), name))  # web1, web2, .. web8
        print(f"{len(hosts)} lab hosts up, load {load()}; converging hardening", flush=True)
        converge_s, _ = client.omctl("run", CLIENT, "hardening")
        print(f"converged in {converge_s:.0f} s, load {load()}", flush=True)
        # A warm-up of each task on the whole fleet: SSH control sockets, byte code, page cache.
        for task in TASKS:
            timed_run(client, task, hosts)
        for round_no in range(options.runs):
            sizes = SIZES if round_no % 2 == 0 else tuple(reversed(SIZES))
            load_before = load()
            for size in sizes:
                for task in TASKS:
                    times[task, size].append(timed_run(client, task, hosts[:size]))
            for task in TASKS:
                one = times[task, 1][-1]
                for size in SIZES:
                    ratios[task, size].append(times[task, size][-1] / one)
            listed = "  ".join(
                f"{task} " + "/".join(f"{times[task, size][-1]:.1f}" for size in SIZES)
                for task in TASKS
            )
            print(f"round {round_no + 1}: {listed} s (1/4/8 hosts), "
                  f"load {load_before} -> {load()}", flush=True)  # fmt: skip
    print(f"fleet, {options.runs} rounds, omctl run --limit on 1, 4 and 8 lab hosts "
          f"(2 cores shared; Lynis {'on' if options.lynis else 'off'})")  # fmt: skip
    for task in TASKS:
        one = statistics.median(times[task, 1])
        for size in SIZES:
            median = statistics.median(times[task, size])
            listed = " ".join(f"{v:.1f}" for v in times[task, size])
            print(f"{task:<12} {size} hosts  median {median:6.1f} s  "
                  f"ratio to 1 host {statistics.median(ratios[task, size]):.2f} by rounds, "
                  f"{median / one:.2f} of medians   runs: {listed}")  # fmt: skip
        worst = statistics.median(ratios[task, max(SIZES)])
        print(f"{task}: 8 hosts / 1 host {worst:.2f} (target <= 2.5: "
              f"{'met' if worst <= 2.5 else 'NOT met'})")  # fmt: skip


if __name__ == "__main__":
    main()
