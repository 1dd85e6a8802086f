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
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CLIENT = "bench"


def omctl(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "omctl"), *args], cwd=cwd, env=env, capture_output=True, text=True,
        check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def must(done: subprocess.CompletedProcess[str], what: str) -> str:
    if done.returncode != 0:
        sys.exit(f"{what} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done.stdout


def timed_run(ws: Path, env: dict[str, str]) -> tuple[float, dict]:
    start = time.perf_counter()
    done = omctl("run", CLIENT, "hardening", "--json", cwd=ws, env=env)
    elapsed = time.perf_counter() - start
    run = json.loads(must(done, "omctl run hardening"))
    shown = json.loads(must(omctl("show", run["id"], "--json", cwd=ws, env=env), "omctl show"))
    return elapsed, shown["hosts"]["web1"]


def fresh_host(ws: Path, env: dict[str, str]) -> None:
    omctl("lab", "down", cwd=ws, env=env)
    hosts = json.loads(
        must(omctl("lab", "up", "--hosts", "1", "--json", cwd=ws, env=env), "lab up")
    )
    shutil.rmtree(ws / "inventories" / CLIENT, ignore_errors=True)
    key = ws / ".omctl" / "lab" / "id_ed25519"
    must(
        omctl("onboard", CLIENT, "web1", "--address", "127.0.0.1",
              "--port", str(hosts[0]["ssh_port"]), "--key", str(key), cwd=ws, env=env),
        "onboard",
    )  # fmt: skip
    today = date.today()
    (ws / "inventories" / CLIENT / "scope.yml").write_text(
        f"client: {CLIENT}\ncontract: BENCH\nvalid_from: {today}\n"
        f"valid_until: {today + timedelta(days=1)}\noperation: {{}}\n"
        "maintenance:\n  hardening: {every: on_request}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMCTL_")}
    env.setdefault("CONTAINERS_CONF", str(REPO / "omctl" / "data" / "containers.conf"))
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    first: list[float] = []
    rerun: list[float] = []
    with tempfile.TemporaryDirectory(prefix="omctl-bench-") as scratch:
        ws = Path(scratch) / "ws"
        must(omctl("init", str(ws), cwd=REPO, env=env), "omctl init")
        try:
            for round_no in range(1, options.runs + 1):
                fresh_host(ws, env)
                converge_s, converge = timed_run(ws, env)
                rerun_s, again = timed_run(ws, env)
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
        finally:
            omctl("lab", "down", cwd=ws, env=env)
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
