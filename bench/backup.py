"""Backup benchmark: a generated site of about 200 MB in 5,000 files plus a database, on a lab host.

First backup, then (3 rounds) a backup after changing another 1% of the files, then the
restore drill, all through `omctl run`. The repository is on a second lab host over SFTP (as in
production; --local keeps it on the host). Retention is off, so that the repository growth is
what each later backup stored. Prints the times, the repository growth against the bytes changed
and the drill's time to restore. Targets: second backup <= 20% of the first's time; growth <= 2x
the changed bytes.
Each backup is split into its restic files snapshot, the database dumps (streamed in full every
time: mariadb-dump has no increments) and the rest (one restic process per step, each paying the
key derivation and, over SFTP, an SSH handshake).
Usage: python bench/backup.py [--files 5000] [--megabytes 200] [--rounds 3] [--local]
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics

from common import BenchClient, bench_client

SITE = "/var/lib/wordpress/wp-content/uploads/bench"

# Runs on the lab host: files of mixed sizes (many small, a few large, like uploads) with
# incompressible content, and a change of 1% of them rewritten in place with new content.
GENERATE = """
import os, random, sys
root, count, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(5)
weights = [rng.lognormvariate(0, 1.2) for _ in range(count)]
scale = total / sum(weights)
for i, w in enumerate(weights):
    folder = os.path.join(root, f"{i // 250:02d}")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"file-{i:05d}.bin"), "wb") as f:
        f.write(os.urandom(max(1, int(w * scale))))
os.system(f"chown -R www-data:www-data {root}")
"""
CHANGE = """
import os, random, sys
root, share, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
paths = sorted(os.path.join(d, n) for d, _, names in os.walk(root) for n in names)
picked = random.Random(seed).sample(paths, max(1, int(len(paths) * share)))
changed = 0
for path in picked:
    size = os.path.getsize(path)
    with open(path, "wb") as f:
        f.write(os.urandom(size))
    changed += size
print(len(picked), changed)
"""
DATABASE = """
CREATE DATABASE IF NOT EXISTS bench;
USE bench;
CREATE OR REPLACE TABLE bench.orders (id INT PRIMARY KEY, customer CHAR(32), note VARCHAR(255))
  ENGINE=InnoDB;
INSERT INTO bench.orders SELECT seq, MD5(seq), REPEAT(SHA2(seq, 256), 3) FROM seq_1_to_100000;
"""


def measure(client: BenchClient, options: argparse.Namespace) -> dict:
    def ssh(command: str, input: str | None = None) -> str:
        return client.ssh("web1", command, input=input)

    def run(task: str) -> tuple[float, dict]:
        wall, out = client.omctl("run", "bench", task, "--limit", "web1", "--json")
        _, shown = client.omctl("show", json.loads(out)["id"], "--json")
        return wall, json.loads(shown)["hosts"]["web1"]["evidence"][task]

    ssh(f"python3 - {SITE} {options.files} {options.megabytes * 10**6}", input=GENERATE)
    ssh("mariadb", input=DATABASE)
    site_bytes = int(ssh(f"du -sb {SITE} | cut -f1"))
    first = run("backup")
    rounds = []
    for seed in range(options.rounds):
        change = ssh(f"python3 - {SITE} {options.changed} {seed}", input=CHANGE)
        count, changed = map(int, change.split())
        rounds.append({"run": run("backup"), "count": count, "changed": changed})
    drill = run("restore_drill")
    return {"site_bytes": site_bytes, "first": first, "rounds": rounds, "drill": drill}


def _line(name: str, wall: float, record: dict) -> str:
    files = record["snapshots"]["files"]["duration_seconds"]
    dbs = sum(d["duration_seconds"] for d in record["snapshots"]["databases"].values())
    total = record["duration_seconds"]
    return (f"{name:<18}{wall:>9.1f}s{total:>13.1f}s{files:>10.1f}s{dbs:>12.1f}s"
            f"{total - files - dbs:>10.1f}s")  # fmt: skip


def report(found: dict, options: argparse.Namespace) -> None:
    wall1, first = found["first"]
    wall3, drill = found["drill"]
    where = "on the host" if options.local else "on a second lab host over SFTP"
    print(f"site {found['site_bytes'] / 1e6:.0f} MB in {options.files} files + database "
          f"'bench', repository {where}, retention off")  # fmt: skip
    print(f"{'':<18}{'omctl run':>10}{'omctl-backup':>14}{'files':>11}{'databases':>13}"
          f"{'other':>11}")  # fmt: skip
    print(_line("first backup", wall1, first))
    size = first["repository_size_bytes"]
    ratios, growths = [], []
    for number, entry in enumerate(found["rounds"], 1):
        wall, record = entry["run"]
        print(_line(f"after 1% change #{number}", wall, record))
        files = record["snapshots"]["files"]["duration_seconds"]
        ratios.append((wall / wall1, record["duration_seconds"] / first["duration_seconds"],
                       files / first["snapshots"]["files"]["duration_seconds"]))  # fmt: skip
        growths.append(((record["repository_size_bytes"] - size), entry["changed"]))
        size = record["repository_size_bytes"]
    wall_r, tool_r, files_r = (statistics.median(r[i] for r in ratios) for i in range(3))
    print(f"second/first, median of {len(ratios)}: files (restic) {files_r:.2f} "
          f"(target <= 0.20); whole omctl-backup run {tool_r:.2f}; "
          f"omctl run {wall_r:.2f}")  # fmt: skip
    growth, changed = (statistics.median(g[i] for g in growths) for i in range(2))
    print(f"repository growth per 1% change, median: {growth / 1e6:.2f} MB for "
          f"{changed / 1e6:.2f} MB of changed files = {growth / changed:.2f}x (target <= 2); "
          f"repository {first['repository_size_bytes'] / 1e6:.1f} MB -> "
          f"{size / 1e6:.1f} MB")  # fmt: skip
    print(f"restore drill: {'passed' if drill['ok'] else 'FAILED'} in {wall3:.1f}s (omctl run); "
          f"time to restore {drill['time_to_restore_seconds']:.1f}s (files "
          f"{drill['restore_seconds']:.1f}s + database {drill['import_seconds']:.1f}s), "
          f"{drill['files_restored']} files")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--changed", type=float, default=0.01, help="share of files changed")
    parser.add_argument("--local", action="store_true", help="repository on the host itself")
    parser.add_argument("--rounds", type=int, default=3, help="incremental backups measured")
    options = parser.parse_args()
    group_vars = {
        "backup_password": secrets.token_hex(16),
        "backup_retention_enabled": "false",
    }
    hosts, tasks = 1 if options.local else 2, ["backup", "restore_drill"]
    with bench_client(hosts, maintenance=tasks, group_vars=group_vars) as client:
        if not options.local:
            host_vars = client.inventory / "host_vars"
            host_vars.mkdir(exist_ok=True)
            (host_vars / "web1.yml").write_text(
                "backup_sftp_enabled: true\nbackup_sftp_host: web2\n"
            )
            (host_vars / "web2.yml").write_text("backup_enabled: false\n")
        found = measure(client, options)
    report(found, options)


if __name__ == "__main__":
    main()
