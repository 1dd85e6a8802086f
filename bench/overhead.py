"""Overhead of omctl over plain ansible-playbook: same playbook, same lab host, alternated.

Prints the median wall time of each and their ratio (target: omctl / ansible-playbook <= 1.10).
Usage: python bench/overhead.py [--runs 5] [--task healthcheck]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def sh(*args: str, cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--task", default="healthcheck")
    options = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMCTL_")}
    env.setdefault("CONTAINERS_CONF", str(REPO / "omctl" / "data" / "containers.conf"))
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    omctl = str(BIN / "omctl")
    with tempfile.TemporaryDirectory(prefix="omctl-bench-") as scratch:
        ws = Path(scratch) / "ws"
        sh(omctl, "init", str(ws), cwd=REPO, env=env)
        sh(omctl, "lab", "up", "--hosts", "1", cwd=ws, env=env)
        try:
            port = subprocess.run(
                [omctl, "lab", "status", "--json"], cwd=ws, env=env, capture_output=True,
                text=True, check=True,
            ).stdout  # fmt: skip
            ssh_port = str(json.loads(port)[0]["ssh_port"])
            key = str(ws / ".omctl" / "lab" / "id_ed25519")
            sh(omctl, "onboard", "bench", "web1", "--address", "127.0.0.1", "--port", ssh_port,
               "--key", key, cwd=ws, env=env)  # fmt: skip
            today = date.today()
            (ws / "inventories" / "bench" / "scope.yml").write_text(
                f"client: bench\ncontract: BENCH\nvalid_from: {today}\n"
                f"valid_until: {today + timedelta(days=1)}\noperation: {{}}\n"
                f"maintenance:\n  {options.task}: {{every: on_request}}\n"
            )
            playbook = next((ws / "playbooks").glob(f"*/{options.task}.yml"))
            inventory = ws / "inventories" / "bench" / "hosts.yml"
            plain_env = {**env, "ANSIBLE_CONFIG": str(ws / "ansible.cfg")}
            commands = {
                "omctl run": [omctl, "run", "bench", options.task],
                "ansible-playbook": [str(BIN / "ansible-playbook"), "-i", str(inventory),
                                     str(playbook)],
            }  # fmt: skip
            # One warm-up each: SSH control sockets, Python byte code, page cache.
            for name, command in commands.items():
                sh(*command, cwd=ws, env=plain_env if name == "ansible-playbook" else env)
            times: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(options.runs):
                for name, command in commands.items():
                    run_env = plain_env if name == "ansible-playbook" else env
                    times[name].append(sh(*command, cwd=ws, env=run_env))
        finally:
            subprocess.run([omctl, "lab", "down"], cwd=ws, env=env, capture_output=True,
                           check=False)  # fmt: skip
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"task {options.task}, {options.runs} alternated runs each, one lab host")
    for name, values in times.items():
        listed = " ".join(f"{v:.2f}" for v in values)
        print(f"{name:<18} median {medians[name]:6.2f} s   runs: {listed}")
    ratio = medians["omctl run"] / medians["ansible-playbook"]
    print(f"ratio omctl/ansible-playbook: {ratio:.3f} (target <= 1.10)")


if __name__ == "__main__":
    main()
