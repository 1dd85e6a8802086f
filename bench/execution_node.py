"""The healthcheck through an execution node against running it from the controller.

One lab host behind a bastion lab host (``omctl lab up --behind-bastion``): client ``direct``
reaches it from the controller through the bastion (``onboard --jump``); client ``edge`` names
the bastion as its execution node, and the job is streamed there (transmit | ssh worker |
process). Runs alternate in pairs; prints the medians side by side and the median of the
pairs' ratios (target: node / direct <= 1.25).
Usage: python bench/execution_node.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
from datetime import date
from pathlib import Path

from common import OMCTL, REPO, bench_env, scope_yaml, timed

TASK = "healthcheck"


def _client(ws: Path, name: str) -> None:
    scope = scope_yaml([], [TASK], date.today()).replace("client: bench", f"client: {name}")
    (ws / "inventories" / name / "scope.yml").write_text(scope)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    options = parser.parse_args()
    env = bench_env()
    folder = Path(tempfile.mkdtemp(prefix="omctl-bench-node-"))
    ws = folder / "ws"
    try:
        timed(OMCTL, "init", str(ws), cwd=REPO, env=env)
        _, out = timed(OMCTL, "lab", "up", "--behind-bastion", "--json", cwd=ws, env=env)
        hosts = {host["hostname"]: host for host in json.loads(out)}
        key = ws / ".omctl" / "lab" / "id_ed25519"
        jump = f"root@127.0.0.1:{hosts['bastion']['ssh_port']}"
        address = hosts["web1"]["address"]
        timed(OMCTL, "onboard", "direct", "web1", "--address", address, "--key", str(key),
              "--jump", jump, cwd=ws, env=env)  # fmt: skip
        _client(ws, "direct")
        edge = ws / "inventories" / "edge"
        shutil.copytree(ws / "inventories" / "direct", edge)
        (edge / "hosts.yml").write_text(
            f"all:\n  vars:\n    execution_node: {{ssh: '{jump}', key: '{key}'}}\n"
            f"  hosts:\n    web1: {{ansible_host: {address}, ansible_ssh_private_key_file: "
            f"'{key}'}}\n"
        )
        _client(ws, "edge")
        timed(OMCTL, "node", "prepare", "edge", "--wheels", str(REPO / ".omctl" / "wheels"),
              cwd=ws, env=env)  # fmt: skip
        commands = {name: (OMCTL, "run", name, TASK) for name in ("direct", "edge")}
        for command in commands.values():  # warm-up: control sockets, byte code, page cache
            timed(*command, cwd=ws, env=env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(options.runs):
            for name, command in commands.items():
                times[name].append(timed(*command, cwd=ws, env=env)[0])
    finally:
        subprocess.run([OMCTL, "lab", "down"], cwd=ws, env=env, capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)
    labels = {"direct": "from the controller", "edge": "on the node"}
    print(f"task {TASK}, {options.runs} pairs of runs, one host behind a bastion")
    for name, values in times.items():
        listed = " ".join(f"{v:.2f}" for v in values)
        print(f"{labels[name]:<20} median {statistics.median(values):6.2f} s   runs: {listed}")
    pairs = [n / d for n, d in zip(times["edge"], times["direct"], strict=True)]
    print(f"ratio node/direct: {statistics.median(pairs):.3f} median of the pairs, "
          f"{min(times['edge']) / min(times['direct']):.3f} of the fastest runs "
          "(target <= 1.25)")  # fmt: skip


if __name__ == "__main__":
    main()
