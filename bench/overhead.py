"""Overhead of omctl over plain ansible-playbook: same playbook, same lab host, alternated.

Prints the median wall time of each and the ratio (target: omctl / ansible-playbook <= 1.10).
Each omctl run is timed right after its ansible-playbook partner, so the ratio quoted is the
median of the pairs' ratios: on a shared machine the load drifts between runs, and a pair sees
about the same load. The ratio of the fastest runs is printed too.
Usage: python bench/overhead.py [--runs 11] [--task healthcheck]
"""

from __future__ import annotations

import argparse
import statistics

from common import BIN, OMCTL, bench_client, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--task", default="healthcheck")
    options = parser.parse_args()
    with bench_client(maintenance=[options.task]) as client:
        ws = client.ws
        playbook = next((ws / "playbooks").glob(f"*/{options.task}.yml"))
        plain_env = {**client.env, "ANSIBLE_CONFIG": str(ws / "ansible.cfg")}
        commands = {
            "omctl run": ([OMCTL, "run", "bench", options.task], client.env),
            "ansible-playbook": (
                [str(BIN / "ansible-playbook"), "-i", str(client.inventory / "hosts.yml"),
                 str(playbook)],
                plain_env,
            ),
        }  # fmt: skip
        # One warm-up each: SSH control sockets, Python byte code, page cache.
        for command, env in commands.values():
            timed(*command, cwd=ws, env=env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(options.runs):
            for name in ("ansible-playbook", "omctl run"):
                command, env = commands[name]
                times[name].append(timed(*command, cwd=ws, env=env)[0])
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"task {options.task}, {options.runs} pairs of runs, one lab host")
    for name, values in times.items():
        listed = " ".join(f"{v:.2f}" for v in values)
        print(f"{name:<18} median {medians[name]:6.2f} s   runs: {listed}")
    pairs = [o / a for o, a in zip(times["omctl run"], times["ansible-playbook"], strict=True)]
    fastest = min(times["omctl run"]) / min(times["ansible-playbook"])
    print(f"ratio omctl/ansible-playbook: {statistics.median(pairs):.3f} median of the pairs, "
          f"{fastest:.3f} of the fastest runs (target <= 1.10)")  # fmt: skip


if __name__ == "__main__":
    main()
