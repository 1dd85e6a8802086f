"""Content sync of a generated 200 MB / 5,000-file site to a lab host: a first sync, then one
with 1% of the files changed, through `omctl run` over SSH.

Prints, per sync, from the run's evidence: the bytes rsync sent and the time of the transfer step
(rsync, SSH connection and file lists included, timed by the role around it); rsync's own figure
(whole seconds plus half a second, so only telling for long transfers); and the wall time of the
whole run. Targets: bytes sent by the second sync at most 1.5 times the changed bytes; its
transfer at most 15% of the first's time. The whole run also holds fixed work (about 40 Ansible
tasks, the dry-run comparison, the health check), printed for reference.
Usage: python bench/content_sync.py [--files 5000] [--megabytes 200] [--changed 0.01]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path

from common import BenchClient, bench_client


def generate(root: Path, files: int, total: int, rng: random.Random) -> list[Path]:
    """``files`` files of random (incompressible) bytes adding up to ``total`` bytes."""
    weights = [rng.uniform(0.05, 1.95) for _ in range(files)]
    scale = total / sum(weights)
    sizes = [max(1, int(w * scale)) for w in weights]
    sizes[-1] += total - sum(sizes)
    paths = []
    (root / "index.php").write_text('<?php echo "omctl bench site";\n')
    for n, size in enumerate(sizes):
        path = root / f"wp-content/themes/t{n % 20}/assets/d{n % 250}/file-{n}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(os.urandom(size))
        paths.append(path)
    return paths


def sync(client: BenchClient) -> tuple[float, dict]:
    wall, out = client.omctl("run", "bench", "content_sync", "--json")
    (record,) = (host["evidence"]["content_sync"] for host in json.loads(out)["hosts"].values())
    return wall, record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--changed", type=float, default=0.01, help="share of files changed")
    options = parser.parse_args()
    rng = random.Random(6)
    with tempfile.TemporaryDirectory(prefix="omctl-bench-site-") as scratch:
        source = Path(scratch) / "site"
        source.mkdir()
        started = time.perf_counter()
        paths = generate(source, options.files, options.megabytes * 10**6, rng)
        print(f"generated {len(paths):,} files, {options.megabytes} MB "
              f"in {time.perf_counter() - started:.1f}s")  # fmt: skip
        group_vars = {"content_sync_site": "bench", "content_sync_source": str(source)}
        with bench_client(operation=["content_sync"], group_vars=group_vars) as client:
            first_wall, first = sync(client)
            changed = rng.sample(paths, max(1, int(len(paths) * options.changed)))
            changed_bytes = 0
            for path in changed:
                size = path.stat().st_size
                path.write_bytes(os.urandom(size))
                changed_bytes += size
            second_wall, second = sync(client)
    for name, wall, record in (("first", first_wall, first), ("second", second_wall, second)):
        moved = record["transferred"]
        print(
            f"{name} sync: {moved['files_transferred']:,} files, {moved['bytes_sent']:,} bytes "
            f"sent; transfer {moved['seconds']:.2f}s (rsync's own figure "
            f"{moved['rsync_seconds']:.1f}s), whole run {wall:.1f}s"
        )
    bytes_ratio = second["transferred"]["bytes_sent"] / changed_bytes
    time_ratio = second["transferred"]["seconds"] / first["transferred"]["seconds"]
    print(f"changed: {len(changed)} files, {changed_bytes:,} bytes")
    print(f"bytes sent / changed bytes: {bytes_ratio:.2f} (target <= 1.5: "
          f"{'ok' if bytes_ratio <= 1.5 else 'MISSED'})")  # fmt: skip
    print(f"second / first transfer time: {time_ratio:.1%} (target <= 15%: "
          f"{'ok' if time_ratio <= 0.15 else 'MISSED'}); whole runs: "
          f"{second_wall / first_wall:.1%}")  # fmt: skip


if __name__ == "__main__":
    main()
