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
TARGET_S = 15.0
# The lab image's offline repository: the only source refreshed.
OFFLINE_SOURCES = "/etc/apt/sources.list.d/omctl-lab-offline.sources"


def sh(*args: str, cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, check=False,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMCTL_")}
    env.setdefault("CONTAINERS_CONF", str(REPO / "omctl" / "data" / "containers.conf"))
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    omctl = str(BIN / "omctl")
    times: list[float] = []
    with tempfile.TemporaryDirectory(prefix="omctl-bench-") as scratch:
        ws = Path(scratch) / "ws"
        sh(omctl, "init", str(ws), cwd=REPO, env=env)
        sh(omctl, "lab", "up", "--hosts", "1", cwd=ws, env=env)
        try:
            _, status = sh(omctl, "lab", "status", "--json", cwd=ws, env=env)
            ssh_port = str(json.loads(status)[0]["ssh_port"])
            key = str(ws / ".omctl" / "lab" / "id_ed25519")
            sh(omctl, "onboard", "bench", "web1", "--address", "127.0.0.1", "--port", ssh_port,
               "--key", key, cwd=ws, env=env)  # fmt: skip
            today = date.today()
            client = ws / "inventories" / "bench"
            (client / "scope.yml").write_text(
                f"client: bench\ncontract: BENCH\nvalid_from: {today}\n"
                f"valid_until: {today + timedelta(days=1)}\noperation: {{}}\n"
                "maintenance:\n  patching: {every: on_request}\n"
            )
            group_vars = client / "group_vars" / "all" / "patching.yml"
            group_vars.parent.mkdir(parents=True, exist_ok=True)
            group_vars.write_text(f"patching_update_cache_sourcelist: {OFFLINE_SOURCES}\n")
            command = [omctl, "run", "bench", "patching", "--json"]
            sh(*command, cwd=ws, env=env)  # warm-up: installs needrestart, fills caches
            for _ in range(options.runs):
                elapsed, out = sh(*command, cwd=ws, env=env)
                record = json.loads(out)["hosts"]["web1"]["evidence"]["patching"]
                if record["plan"] or record["status"] != "up to date":
                    sys.exit(f"expected nothing to upgrade, got {record['status']}: {record}")
                times.append(elapsed)
        finally:
            subprocess.run([omctl, "lab", "down"], cwd=ws, env=env, capture_output=True,
                           check=False)  # fmt: skip
    median = statistics.median(times)
    listed = " ".join(f"{t:.2f}" for t in times)
    print(f"patching with nothing to upgrade, one lab host, {options.runs} runs after a warm-up")
    print(f"omctl run patching  median {median:6.2f} s   runs: {listed}")
    print(f"target <= {TARGET_S:.0f} s: {'met' if median <= TARGET_S else 'MISSED'}")


if __name__ == "__main__":
    main()
