"""Read commands on a big ledger against a small one: does reading grow with the question or
with the ledger?

Builds two workspaces with ``omctl init``: a small ledger (``--small`` runs, all of client
``acme``) and a large one (``--runs`` runs spread over ``--clients`` clients and two years, as a
provider with that many clients would have). Runs are written through the real append path
(``SqliteLedger.append_many``: keyed hash chain, run index), a run's start, host results,
evidence and finish, with the ledger clock moved through the two years (so the entries carry
realistic times); to keep the build in minutes, ``--batch`` runs share one transaction, where
``omctl run`` uses two per run.

Then times, side by side, the median of ``--repeat`` runs of each command (a fresh ``omctl``
process each time, as an operator or a scheduler would call it), in wall time and in CPU time
(user and system, worker processes included: what a loaded, shared machine distorts least):
``ledger verify`` (first: the checkpoint it records is where a report's verification starts),
``history acme``, ``status acme``, ``report acme --period <this month>`` and ``show <run>``.
Targets: every read command at most 0.5 s and at most 1.5x its time on the
small ledger; verify at most 10 s.

With ``--keep DIR`` the workspaces (and their ledger keys) are built under DIR and kept; a
later call with the same DIR and the same ``--runs``/``--clients``/``--small`` reuses them
instead of building again (the large build takes minutes).

Usage: python bench/ledger_scale.py [--runs 200000] [--clients 100] [--small 100] [--repeat 5]
       [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import OMCTL, bench_env

CLIENT = "acme"
TASKS = (  # (task, category, share of the runs)
    ("healthcheck", "maintenance", 10),
    ("backup", "maintenance", 10),
    ("patching", "maintenance", 2),
    ("restore_drill", "maintenance", 1),
    ("access_review", "operation", 1),
)
SCOPE = """\
client: {client}
contract: {contract}
valid_from: {start}
valid_until: {until}
timezone: Europe/Berlin
operation:
  access_review: {{every: monthly}}
maintenance:
  healthcheck: {{every: daily}}
  backup: {{every: daily}}
  patching: {{every: monthly}}
  restore_drill: {{every: monthly}}
"""
HOSTS = "all:\n  hosts:\n    web1: {ansible_host: 127.0.0.1}\n    web2: {ansible_host: 127.0.0.1}\n"


def workspace(root: Path, env: dict[str, str], clients: list[str], start: datetime) -> Path:
    ws = root / "ws"
    subprocess.run([OMCTL, "init", str(ws)], env=env, check=True, capture_output=True)
    until = (datetime.now(UTC) + timedelta(days=365)).date()
    for client in clients:
        folder = ws / "inventories" / client
        folder.mkdir(parents=True)
        (folder / "hosts.yml").write_text(HOSTS)
        (folder / "scope.yml").write_text(
            SCOPE.format(client=client, contract=f"{client.upper()}-1", start=start.date(),
                         until=until)
        )  # fmt: skip
    return ws


def run_items(run_id: str, client: str, task: str, category: str, index: int) -> list[tuple]:
    """The entries ``omctl run`` writes for one run on two hosts."""
    from omctl import ledger

    failed = index % 50 == 0  # of the client's runs: one in 50 fails on web2
    started = {
        "client": client, "contract": f"{client.upper()}-1", "task": task, "category": category,
        "in_scope": True, "out_of_scope_reason": None, "no_backup_check_reason": None,
        "check": False, "diff": False, "limit": None, "targets": ["web1", "web2"],
        "extra_vars": {}, "operator": "bench@omctl", "omctl_version": "bench",
        "workspace_commit": None,
    }  # fmt: skip
    items: list[tuple] = [(run_id, ledger.STARTED, started)]
    for host in ("web1", "web2"):
        items.append((run_id, ledger.HOST, {
            "host": host, "ok": 12, "changed": 0, "failed": int(failed and host == "web2"),
            "unreachable": 0, "skipped": 3, "rescued": 0, "ignored": 0, "changed_tasks": [],
            "failures": [],
        }))  # fmt: skip
        evidence = {"ok": not failed, "checks": [{"name": "http", "ok": True, "detail": "200"}]}
        items.append((run_id, ledger.EVIDENCE, {"host": host, "kind": task, "data": evidence}))
    status = ledger.FAILED if failed else ledger.SUCCESSFUL
    items.append((run_id, ledger.FINISHED, {"status": status, "message": None, "rc": 0}))
    return items


def schedule(runs: int, clients: list[str], start: datetime, end: datetime) -> Iterator[tuple]:
    """(moment, client, task, category, the client's nth run) of each run, evenly over
    [start, end)."""
    weighted = [(task, category) for task, category, share in TASKS for _ in range(share)]
    step = (end - start) / runs
    for index in range(runs):
        nth = index // len(clients)  # the client's nth run: each client gets every task
        task, category = weighted[nth % len(weighted)]
        yield start + step * index, clients[index % len(clients)], task, category, nth


def fill(ws: Path, runs: int, clients: list[str], start: datetime, batch: int) -> float:
    from omctl import ledger

    began = time.perf_counter()
    book = ledger.SqliteLedger(ws / ".omctl" / "ledger.sqlite3")
    clock = {"now": start}
    real_utcnow = ledger.utcnow
    ledger.utcnow = lambda: clock["now"].isoformat(timespec="milliseconds").replace("+00:00", "Z")
    try:
        pending: list[tuple] = []
        end = datetime.now(UTC) - timedelta(minutes=5)
        for index, (moment, client, task, category, nth) in enumerate(
            schedule(runs, clients, start, end)
        ):
            run_id = moment.strftime("%Y%m%dT%H%M%S") + f"-{index:06d}"
            pending.extend(run_items(run_id, client, task, category, nth))
            if (index + 1) % batch == 0 or index + 1 == runs:
                clock["now"] = moment
                book.append_many(pending)
                pending = []
    finally:
        ledger.utcnow = real_utcnow
        book.close()
    return time.perf_counter() - began


def newest_run(ws: Path) -> str:
    from omctl import ledger

    book = ledger.SqliteLedger(ws / ".omctl" / "ledger.sqlite3")
    try:
        return book.indexed(CLIENT)[-1].id
    finally:
        book.close()


def timed(args: list[str], ws: Path, env: dict[str, str], repeat: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user and system, the command's worker processes
    included: steadier than wall time on a shared machine); exit 5 (a task overdue) is an
    answer of `status`, not a failure."""
    times, cpu = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        done = subprocess.run(
            [OMCTL, *args], cwd=ws, env=env, capture_output=True, text=True, check=False,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        times.append(time.perf_counter() - began)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode not in (0, 5):
            raise SystemExit(f"omctl {' '.join(args)} failed ({done.returncode}): {done.stderr}")
    return statistics.median(times), statistics.median(cpu)


def build(
    root: Path, env: dict[str, str], options: argparse.Namespace, now: datetime
) -> tuple[Path, Path, float]:
    """The small and large workspaces under ``root`` (reused with ``--keep`` when built with
    the same sizes) and the seconds the large build took."""
    marker = root / "built"
    wanted = f"{options.runs} {options.clients} {options.small}"
    small, large = root / "small" / "ws", root / "large" / "ws"
    if options.keep and marker.is_file() and marker.read_text().split("\n")[0] == wanted:
        return small, large, float(marker.read_text().split("\n")[1])
    for old in (root / "small", root / "large", root / "config"):
        shutil.rmtree(old, ignore_errors=True)
    marker.unlink(missing_ok=True)
    clients = [CLIENT] + [f"client{n:03d}" for n in range(1, options.clients)]
    small_start = now - timedelta(days=30)
    large_start = now - timedelta(days=730)
    small = workspace(root / "small", env, [CLIENT], small_start)
    large = workspace(root / "large", env, clients, large_start)
    fill(small, options.small, [CLIENT], small_start, options.batch)
    seconds = fill(large, options.runs, clients, large_start, options.batch)
    if options.keep:
        marker.write_text(f"{wanted}\n{seconds}\n")
    return small, large, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="build under this folder, keep and reuse it")
    options = parser.parse_args()
    env = bench_env()
    now = datetime.now(UTC)
    if options.keep:
        shutil.rmtree(env["XDG_CONFIG_HOME"], ignore_errors=True)
        root = options.keep.resolve()
        env["XDG_CONFIG_HOME"] = str(root / "config")
    else:
        root = Path(tempfile.mkdtemp(prefix="omctl-ledger-scale-"))
    os.environ["XDG_CONFIG_HOME"] = env["XDG_CONFIG_HOME"]  # the in-process appends' keys
    try:
        small, large, seconds = build(root, env, options, now)
        size = (large / ".omctl" / "ledger.sqlite3").stat().st_size
        print(f"large ledger: {options.runs} runs of {options.clients} clients over two years, "
              f"built in {seconds:.0f} s, {size / 2**20:.0f} MiB; small: {options.small} runs "
              f"of {CLIENT}; median of {options.repeat} runs each")  # fmt: skip
        period = now.strftime("%Y-%m")
        commands = {  # verify first: it records the checkpoint reports verify from
            "ledger verify": (["ledger", "verify"], 10.0),
            f"history {CLIENT}": (["history", CLIENT], 0.5),
            f"status {CLIENT}": (["status", CLIENT], 0.5),
            f"report {CLIENT} --period {period}": (["report", CLIENT, "--period", period], 0.5),
            "show RUN": (["show"], 0.5),
        }
        print(f"{'command':<34} {'small':>8} {'large':>8} {'ratio':>6}  target"
              f"{'':<30} cpu: {'small':>7} {'large':>7} {'ratio':>6}")  # fmt: skip
        for name, (args, limit) in commands.items():
            if args == ["show"]:
                small_time, small_cpu = timed(["show", newest_run(small)], small, env,
                                              options.repeat)  # fmt: skip
                large_time, large_cpu = timed(["show", newest_run(large)], large, env,
                                              options.repeat)  # fmt: skip
            else:
                small_time, small_cpu = timed(args, small, env, options.repeat)
                large_time, large_cpu = timed(args, large, env, options.repeat)
            ratio = large_time / small_time
            target = f"<= {limit} s" + (" and <= 1.5x" if limit < 1 else "")
            met = large_time <= limit and (limit >= 1 or ratio <= 1.5)
            verdict = f"{target}: {'met' if met else 'NOT met'}"
            cpu = f"{small_cpu:6.2f}s {large_cpu:6.2f}s {large_cpu / small_cpu:6.2f}"
            print(f"{name:<34} {small_time:7.2f}s {large_time:7.2f}s {ratio:6.2f}  {verdict:<34}"
                  f" cpu: {cpu}")  # fmt: skip
    finally:
        if not options.keep:
            shutil.rmtree(root, ignore_errors=True)
            shutil.rmtree(env["XDG_CONFIG_HOME"], ignore_errors=True)


if __name__ == "__main__":
    main()
