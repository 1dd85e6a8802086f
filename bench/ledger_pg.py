"""The shared PostgreSQL ledger against the SQLite one: appends per second and the latency of
``omctl status``, side by side.

Builds two workspaces with ``omctl init`` (client ``acme``): one on its SQLite ledger, one on a
PostgreSQL ledger (``--url``, an empty database, password from ``--password-file``; without
``--url`` a throw-away server is started with Debian's binaries as the tests do, tests/pg.py).
Appends ``--runs`` runs to each through the real append path, two transactions per run as
``omctl run`` writes them (its start, then host results, evidence and finish), and then times
the median of ``--repeat`` ``omctl status acme`` processes on each. Prints both and the
PostgreSQL/SQLite ratios. A loopback server with fsync off (the throw-away one) measures the
protocol's cost, not a disk's or a network's.

Usage: python bench/ledger_pg.py [--runs 2000] [--repeat 5] [--url URL --password-file FILE]
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

from common import REPO, bench_env
from ledger_scale import run_items, workspace

sys.path.insert(0, str(REPO))


def fill(book: object, runs: int) -> float:
    """Append ``runs`` runs of client acme; the seconds it took."""
    from omctl import ledger

    assert isinstance(book, ledger.SqlLedger)
    began = time.perf_counter()
    for index in range(runs):
        run_id = f"bench-{index:06d}"
        started, *rest = run_items(run_id, "acme", "healthcheck", "maintenance", index)
        book.append(*started)
        book.append_many(rest)
    return time.perf_counter() - began


def status_latency(ws: Path, env: dict[str, str], repeat: int) -> float:
    """Median wall time of ``omctl status acme`` (this checkout's omctl; exit 5, a task
    overdue, is an answer)."""
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "omctl", "status", "acme"], cwd=ws, env=env,
            capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
        times.append(time.perf_counter() - began)
        if done.returncode not in (0, 5):
            raise SystemExit(f"omctl status failed ({done.returncode}): {done.stderr}")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--url", help="an empty PostgreSQL database (postgresql://...)")
    parser.add_argument("--password-file", type=Path)
    options = parser.parse_args()

    from omctl import ledger, ledger_pg

    env = {**bench_env(), "PYTHONPATH": str(REPO)}  # this checkout's omctl, not the venv's
    os.environ["XDG_CONFIG_HOME"] = env["XDG_CONFIG_HOME"]  # the in-process appends' keys
    root = Path(tempfile.mkdtemp(prefix="omctl-bench-pg-"))
    server = None
    try:
        url, password_file = options.url, options.password_file
        if url is None:
            from tests import pg

            bin_dir = pg.binaries()
            if bin_dir is None:
                raise SystemExit("no PostgreSQL server binaries: install postgresql or --url")
            server = pg.start(bin_dir)
            url, password_file = server.create_database(), server.password_file
        start = datetime.now(UTC) - timedelta(days=30)
        local_ws = workspace(root / "sqlite", env, ["acme"], start)
        shared_ws = workspace(root / "postgresql", env, ["acme"], start)
        pg_env = {**env, "OMCTL_LEDGER_URL": url}
        if password_file is not None:
            pg_env["OMCTL_LEDGER_PASSWORD_FILE"] = str(password_file)

        local = ledger.SqliteLedger(local_ws / ".omctl" / "ledger.sqlite3")
        shared = ledger_pg.PostgresLedger(url, None, password_file)
        try:
            local_s = fill(local, options.runs)
            shared_s = fill(shared, options.runs)
        finally:
            local.close()
            shared.close()
        local_status = status_latency(local_ws, env, options.repeat)
        shared_status = status_latency(shared_ws, pg_env, options.repeat)

        entries = len(run_items("x", "acme", "healthcheck", "maintenance", 1)) * options.runs
        rows = [
            ("runs appended per second", options.runs / local_s, options.runs / shared_s),
            ("entries appended per second", entries / local_s, entries / shared_s),
            ("omctl status acme (s, median)", local_status, shared_status),
        ]
        print(f"{options.runs} runs ({entries} entries), 2 transactions per run; "
              f"PostgreSQL {ledger_pg.redact(url)}")  # fmt: skip
        print(f"{'':34} {'SQLite':>10} {'PostgreSQL':>12} {'PG/SQLite':>10}")
        for name, mine, theirs in rows:
            print(f"{name:34} {mine:10.3f} {theirs:12.3f} {theirs / mine:9.2f}x")
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(env["XDG_CONFIG_HOME"], ignore_errors=True)


if __name__ == "__main__":
    main()
