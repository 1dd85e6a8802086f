"""The tick's planner on many clients with a year of history each, against the same clients on
a new ledger: does planning grow with the history?

Builds two workspaces with ``omctl init`` and ``--clients`` clients (the contract of
bench/ledger_scale.py: healthcheck and backup daily, patching, restore_drill and access_review
monthly, in Europe/Berlin): one with an empty ledger, one with ``--runs-per-client`` runs per
client spread over the last year, written through the real append path
(``ledger_scale.fill``). Then times, in one process, what a tick does before it runs anything:
load each client's contract (``scope.load_checked``) and plan it (``schedule.plan_client``) at
now, for every client; the median of ``--repeat`` passes. Also times ``omctl tick --dry-run``
as a process, as the timer starts it. Target: the planner over 200 clients with a year of
history at most 1 s.

Usage: python bench/planner.py [--clients 200] [--runs-per-client 800] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import OMCTL, bench_env
from ledger_scale import fill, workspace


def plan_all(ws: Path) -> tuple[float, int]:
    """Seconds to load and plan every client once, and how many tasks would run."""
    from omctl import catalog, ledger, schedule, scope
    from omctl.workspace import Workspace

    space = Workspace(ws)
    book = ledger.SqliteLedger(space.state / "ledger.sqlite3")
    try:
        began = time.perf_counter()
        due = 0
        now = datetime.now(UTC)
        tasks = catalog.by_name(space)  # once per tick, as omctl tick reads it
        for client in space.clients():
            contract = scope.load_checked(space, client, tasks)
            planned = schedule.plan_client(contract, book, now)
            due += sum(item.decision == schedule.RUN for item in planned)
        return time.perf_counter() - began, due
    finally:
        book.close()


def median_plan(ws: Path, repeat: int) -> tuple[float, int]:
    passes = [plan_all(ws) for _ in range(repeat)]
    return statistics.median(seconds for seconds, _ in passes), passes[0][1]


def dry_run(ws: Path, env: dict[str, str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        done = subprocess.run([OMCTL, "tick", "--dry-run"], cwd=ws, env=env, capture_output=True,
                              text=True, check=False, stdin=subprocess.DEVNULL)  # fmt: skip
        times.append(time.perf_counter() - began)
        if done.returncode != 0:
            sys.exit(f"omctl tick --dry-run failed ({done.returncode}): {done.stderr[-2000:]}")
    return statistics.median(times)


def measure(clients: int, runs_per_client: int, repeat: int, batch: int = 500) -> None:
    """Build both workspaces, print the figures, remove them."""
    env = bench_env()
    os.environ["XDG_CONFIG_HOME"] = env["XDG_CONFIG_HOME"]  # the in-process appends' keys
    root = Path(tempfile.mkdtemp(prefix="omctl-planner-"))
    try:
        names = [f"client{n:03d}" for n in range(clients)]
        start = datetime.now(UTC) - timedelta(days=365)
        new = workspace(root / "new", env, names, start)
        old = workspace(root / "old", env, names, start)
        runs = clients * runs_per_client
        built = fill(old, runs, names, start, batch)
        size = (old / ".omctl" / "ledger.sqlite3").stat().st_size / 2**20
        print(f"planner: {clients} clients; a year of history: {runs} runs, built in "
              f"{built:.0f} s, {size:.0f} MiB; median of {repeat}")  # fmt: skip
        fresh, fresh_due = median_plan(new, repeat)
        aged, aged_due = median_plan(old, repeat)
        print(f"{'':<38} {'new ledger':>10} {'a year':>10} {'ratio':>6}  target")
        met = "met" if aged <= 1.0 else "NOT met"
        print(f"{'plan every client (in process)':<38} {fresh:9.2f}s {aged:9.2f}s "
              f"{aged / fresh:6.2f}  <= 1 s: {met}")  # fmt: skip
        print(f"{'  tasks due now':<38} {fresh_due:>10} {aged_due:>10}")
        fresh_cli, aged_cli = dry_run(new, env, repeat), dry_run(old, env, repeat)
        print(f"{'omctl tick --dry-run (a process)':<38} {fresh_cli:9.2f}s {aged_cli:9.2f}s "
              f"{aged_cli / fresh_cli:6.2f}")  # fmt: skip
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(env["XDG_CONFIG_HOME"], ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--runs-per-client", type=int, default=800)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch", type=int, default=500)
    options = parser.parse_args()
    measure(options.clients, options.runs_per_client, options.repeat, options.batch)


if __name__ == "__main__":
    main()
