"""First converge and idempotent re-run of the hardening task on a fresh lab host.

Each round starts a fresh lab container, onboards it, then times `omctl run CLIENT hardening`
twice: the first converge (packages, every concern, Lynis before and after) and the re-run
(nothing to change, the first run's audit stands). Prints both medians and their ratio
(targets: re-run at most 20 s and at most a quarter of the first converge).
Usage: python bench/hardening.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

from common import CLIENT, BenchClient, bench_client


def timed_run(client: BenchClient) -> tuple[float, dict]:
    elapsed, out = client.omctl("run", CLIENT, "hardening", "--json")
    _, shown = client.omctl("show", json.loads(out)["id"], "--json")
    return elapsed, json.loads(shown)["hosts"]["web1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    first: list[float] = []
    rerun: list[float] = []
    with bench_client(maintenance=["hardening"]) as client:
        for round_no in range(1, options.runs + 1):
            if round_no > 1:
                client.fresh_hosts()
            converge_s, converge = timed_run(client)
            rerun_s, again = timed_run(client)
            if again["changed"] != 0:
                sys.exit(f"round {round_no}: the re-run changed {again['changed']} tasks")
            audit = converge["evidence"]["hardening"]
            first.append(converge_s)
            rerun.append(rerun_s)
            print(
                f"round {round_no}: first converge {converge_s:6.1f} s "
                f"({converge['changed']} changed, Lynis {audit['lynis_before']['index']} -> "
                f"{audit['lynis_after']['index']}), re-run {rerun_s:5.1f} s (0 changed)",
                flush=True,
            )
    first_median = statistics.median(first)
    rerun_median = statistics.median(rerun)
    ratio = rerun_median / first_median
    print(f"hardening, {options.runs} rounds, a fresh lab host each (omctl run, Lynis on)")
    for label, median, values in (
        ("first converge", first_median, first),
        ("idempotent run", rerun_median, rerun),
    ):
        listed = " ".join(f"{v:.1f}" for v in values)
        print(f"{label}  median {median:6.1f} s   runs: {listed}")
    print(
        f"ratio re-run/first converge: {ratio:.3f} (target <= 0.25); "
        f"re-run {'within' if rerun_median <= 20 else 'OVER'} the 20 s target"
    )


if __name__ == "__main__":
    main()
