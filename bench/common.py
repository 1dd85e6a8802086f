"""Machinery shared by the benchmarks: a clean environment, timed commands, a lab-backed client.

Each benchmark runs as ``python bench/<name>.py``, so this folder is on ``sys.path`` and the
scripts ``import common``. ``bench_client()`` makes a fresh workspace with ``omctl init`` in a
temporary directory, starts N lab hosts, onboards them as client ``bench`` with the lab key,
writes a one-day contract scope listing the benchmarked tasks as ``on_request`` (and optional
group_vars), and takes the lab down again on exit, whatever happened.
"""

from __future__ import annotations

import compileall
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
OMCTL = str(BIN / "omctl")
CLIENT = "bench"

# omctl measured as installed, byte-compiled: with PYTHONDONTWRITEBYTECODE set Python writes no
# caches itself, and each omctl started would compile the package again.
compileall.compile_dir(REPO / "omctl", quiet=1)


def bench_env() -> dict[str, str]:
    """The caller's environment without OMCTL_* settings, with podman's config and the venv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OMCTL_")}
    # The throw-away workspaces' ledger keys go to a throw-away folder, not ~/.config/omctl.
    env["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="omctl-bench-config-")
    env.setdefault("CONTAINERS_CONF", str(REPO / "omctl" / "data" / "containers.conf"))
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def timed(
    *args: str, cwd: Path, env: dict[str, str], input: str | None = None
) -> tuple[float, str]:
    """Run a command; return its wall time and stdout, or exit with the tail of its stderr."""
    start = time.perf_counter()
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, check=False, input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
    )  # fmt: skip
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return elapsed, done.stdout


def scope_yaml(operation: Iterable[str], maintenance: Iterable[str], today: date) -> str:
    """A one-day contract for client ``bench`` with the given tasks on request."""

    def section(name: str, tasks: Iterable[str]) -> str:
        lines = [f"  {task}: {{every: on_request}}\n" for task in tasks]
        return f"{name}:\n{''.join(lines)}" if lines else f"{name}: {{}}\n"

    return (
        f"client: {CLIENT}\ncontract: BENCH\nvalid_from: {today}\n"
        f"valid_until: {today + timedelta(days=1)}\n"
        f"{section('operation', operation)}{section('maintenance', maintenance)}"
    )


class BenchClient:
    """Client ``bench`` in a fresh workspace ``ws``, onboarded on ``hosts`` lab hosts."""

    def __init__(
        self,
        ws: Path,
        env: dict[str, str],
        hosts: int,
        operation: Iterable[str],
        maintenance: Iterable[str],
        group_vars: dict[str, str] | None,
    ) -> None:
        self.ws = ws
        self.env = env
        self.hosts = hosts
        self.operation = tuple(operation)
        self.maintenance = tuple(maintenance)
        self.group_vars = dict(group_vars or {})
        self.ports: dict[str, str] = {}  # inventory host name -> SSH port on 127.0.0.1

    @property
    def key(self) -> Path:
        return self.ws / ".omctl" / "lab" / "id_ed25519"

    @property
    def inventory(self) -> Path:
        return self.ws / "inventories" / CLIENT

    def omctl(self, *args: str) -> tuple[float, str]:
        """``omctl ARGS`` in the workspace: wall time and stdout (exits on failure)."""
        return timed(OMCTL, *args, cwd=self.ws, env=self.env)

    def ssh(self, host: str, command: str, input: str | None = None) -> str:
        """Run a shell command as root on a lab host; its stdout (exits on failure)."""
        _, out = timed(
            "ssh", "-i", str(self.key), "-p", self.ports[host], "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "root@127.0.0.1", command,
            cwd=self.ws, env=self.env, input=input,
        )  # fmt: skip
        return out

    def up(self) -> None:
        """Start the lab hosts, onboard them, write the scope and group_vars."""
        self.omctl("lab", "up", "--hosts", str(self.hosts))
        _, status = self.omctl("lab", "status", "--json")
        self.ports = {h["hostname"]: str(h["ssh_port"]) for h in json.loads(status)}
        for host in sorted(self.ports):
            self.omctl("onboard", CLIENT, host, "--address", "127.0.0.1",
                       "--port", self.ports[host], "--key", str(self.key))  # fmt: skip
        (self.inventory / "scope.yml").write_text(
            scope_yaml(self.operation, self.maintenance, date.today())
        )
        if self.group_vars:
            path = self.inventory / "group_vars" / "all" / "bench.yml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(f"{k}: {v}\n" for k, v in self.group_vars.items()))

    def down(self) -> None:
        subprocess.run([OMCTL, "lab", "down"], cwd=self.ws, env=self.env, capture_output=True,
                       check=False, stdin=subprocess.DEVNULL)  # fmt: skip

    def fresh_hosts(self) -> None:
        """Replace the lab hosts by new containers and onboard the client again from scratch."""
        self.down()
        shutil.rmtree(self.inventory, ignore_errors=True)
        self.up()


@contextmanager
def bench_client(
    hosts: int = 1,
    operation: Iterable[str] = (),
    maintenance: Iterable[str] = (),
    group_vars: dict[str, str] | None = None,
) -> Iterator[BenchClient]:
    """A fresh workspace with client ``bench`` on ``hosts`` lab hosts; lab down on exit.

    ``group_vars`` maps variable names to YAML values (written as they are, so ``"false"`` is a
    boolean) in ``inventories/bench/group_vars/all/bench.yml``.
    """
    env = bench_env()
    with tempfile.TemporaryDirectory(prefix="omctl-bench-") as scratch:
        ws = Path(scratch) / "ws"
        timed(OMCTL, "init", str(ws), cwd=REPO, env=env)
        client = BenchClient(ws, env, hosts, operation, maintenance, group_vars)
        try:
            client.up()
            yield client
        finally:
            client.down()
