"""Site monitoring at scale: one ``omctl tick`` probing 500 sites on loopback.

The sites are served by this script (tests/sites.py: threaded HTTP servers on 127.0.0.1, a
tenth of them HTTPS with a certificate from a CA made here, trusted through
``OMCTL_MONITOR_CA_FILE``), with mixed latencies (5 ms to 800 ms) and 5 % answering 500.
Prints the tick's wall time, probes per second and peak memory (max RSS of the tick process;
targets: at most 5 s and 150 MB), then the size of the monitoring table after a simulated
35 days of those sites probed every 5 minutes (rows written straight into the store), and
last the planner's time for 200 clients with a year of history each (``planner.measure``).
Usage: python bench/monitor.py [--sites 500] [--clients 1] [--concurrency N] [--days 35]
       [--planner-clients 200]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import planner
from common import OMCTL, REPO, bench_env, timed

sys.path.insert(0, str(REPO))  # tests.sites: the loopback sites the unit tests probe too

from omctl.monitor.probe import Probe
from omctl.monitor.store import Store
from tests import sites

LATENCIES_MS = (5, 20, 50, 100, 250, 800)
WEIGHTS = (30, 25, 20, 12, 8, 5)
FAILING = 0.05
HOSTS = "all:\n  hosts:\n    web1: {ansible_host: 127.0.0.1, ansible_port: 22}\n"
DAY = 86400


def site_paths(count: int, chooser: random.Random) -> list[tuple[bool, str]]:
    """(https, path) per site: every 20th fails (500), every 10th is HTTPS, the rest answer
    after a latency drawn from LATENCIES_MS."""
    found = []
    for n in range(count):
        secure = n % 10 == 5
        if n % round(1 / FAILING) == 0:
            found.append((secure, "/status/500"))
        else:
            found.append((secure, f"/slow/{chooser.choices(LATENCIES_MS, WEIGHTS)[0]}"))
    return found


def write_clients(ws: Path, urls: list[str], clients: int) -> None:
    today = dt.date.today()
    for index in range(clients):
        name = f"client{index:02d}"
        folder = ws / "inventories" / name
        folder.mkdir(parents=True)
        (folder / "hosts.yml").write_text(HOSTS)
        mine = urls[index::clients]
        (folder / "scope.yml").write_text(
            f"client: {name}\ncontract: BENCH\nvalid_from: {today}\n"
            f"valid_until: {today + dt.timedelta(days=1)}\noperation: {{}}\nmaintenance: {{}}\n"
            "monitor:\n" + "".join(f"  - url: {url}\n" for url in mine)
        )


def simulated_size(folder: Path, count: int, days: int) -> tuple[int, int]:
    """The store after ``days`` of ``count`` sites probed every 5 minutes."""
    store = Store(folder / "monitor.sqlite3")
    chooser = random.Random(35)
    start = int(time.time()) - days * DAY
    ids = store.site_ids("bench", [f"https://site{n}.example/" for n in range(count)])
    for site in ids.values():
        rows = []
        for at in range(start, start + days * DAY, 300):
            if chooser.random() < FAILING:
                rows.append((site, Probe(at, 500, 40, 60, "status 500, expected 200")))
            else:
                rows.append((site, Probe(at, 200, chooser.choice(LATENCIES_MS), 60, None)))
        store.add_probes(rows)
    size = store.size()
    store.close()
    return size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sites", type=int, default=500)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--days", type=int, default=35, help="of simulated history")
    parser.add_argument("--planner-clients", type=int, default=200,
                        help="then the tick's planner over this many clients with a year of "
                             "history each (bench/planner.py; 0: skip)")  # fmt: skip
    options = parser.parse_args()
    env = bench_env()
    with tempfile.TemporaryDirectory(prefix="omctl-bench-") as scratch:
        folder = Path(scratch)
        certs = sites.make_certificates(folder, dt.datetime.now(dt.UTC) + dt.timedelta(days=60))
        servers = [sites.serve(), sites.serve(), sites.serve(certs.server)]
        chooser = random.Random(14)
        urls = [
            sites.url(servers[2] if secure else servers[n % 2], path) + f"?site={n}"
            for n, (secure, path) in enumerate(site_paths(options.sites, chooser))
        ]
        ws = folder / "ws"
        timed(OMCTL, "init", str(ws), cwd=REPO, env=env)
        # Only the bench's clients: init's example client has tasks on hosts that do not exist.
        shutil.rmtree(ws / "inventories" / "example")
        write_clients(ws, urls, options.clients)
        env["OMCTL_MONITOR_CA_FILE"] = str(certs.ca_file)
        if options.concurrency:
            env["OMCTL_MONITOR_CONCURRENCY"] = str(options.concurrency)
        start = time.perf_counter()
        done = subprocess.run([OMCTL, "tick", "--json"], cwd=ws, env=env, capture_output=True,
                              text=True, check=False, stdin=subprocess.DEVNULL)  # fmt: skip
        wall = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        if done.returncode != 0:
            sys.exit(f"omctl tick failed ({done.returncode}):\n{done.stderr[-3000:]}")
        summary = next(line for line in done.stderr.splitlines() if line.startswith("monitor:"))
        for server in servers:
            server.shutdown()
        print(f"{options.sites} sites, {options.clients} client(s), concurrency "
              f"{options.concurrency or 'default (50)'}")  # fmt: skip
        print(summary)
        print(f"tick wall time {wall:.2f} s (target <= 5 s), {options.sites / wall:.0f} probes/s, "
              f"peak memory {peak_mb:.0f} MB (target <= 150 MB)")  # fmt: skip
        rows, size = simulated_size(folder, options.sites, options.days)
        print(f"monitoring table after {options.days} days of {options.sites} sites every 5 min: "
              f"{rows:,} probe rows, {size / 2**20:.0f} MiB")  # fmt: skip
    if options.planner_clients:
        planner.measure(options.planner_clients, 800, 5)


if __name__ == "__main__":
    main()
