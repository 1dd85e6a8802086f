"""How the lab runs its tools (podman, ssh-keygen, ...) and where it keeps its state.

Podman always runs with the project-local ``data/containers.conf`` (runc, no ulimits) unless the
caller set ``CONTAINERS_CONF``; /etc is never edited.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from omctl.errors import EnvironmentProblem
from omctl.workspace import Workspace

Progress = Callable[[str], None]

DATA = Path(__file__).resolve().parents[1] / "data"
CONTAINERS_CONF = DATA / "containers.conf"
LOOPBACK = "127.0.0.1"


def quiet(_message: str) -> None:
    """Default progress sink: say nothing."""


def last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""


def require(name: str, hint: str = "") -> str:
    path = shutil.which(name)
    if path is None:
        raise EnvironmentProblem(f"{name} is not installed{f' ({hint})' if hint else ''}")
    return path


def run(
    cmd: Sequence[str | Path],
    *,
    what: str | None = None,
    check: bool = True,
    input: str | None = None,
    timeout: float | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a tool with captured output; a failure is one EnvironmentProblem line."""
    args = [str(part) for part in cmd]
    what = what or Path(args[0]).name
    try:
        result = subprocess.run(
            args,
            input=input,
            stdin=subprocess.DEVNULL if input is None else None,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except FileNotFoundError:
        raise EnvironmentProblem(f"{args[0]} is not installed") from None
    except subprocess.TimeoutExpired:
        raise EnvironmentProblem(f"{what} did not finish within {timeout:.0f}s") from None
    if check and result.returncode != 0:
        reason = last_line(result.stderr) or last_line(result.stdout)
        raise EnvironmentProblem(
            f"{what} failed (exit {result.returncode}){': ' + reason if reason else ''}"
        )
    return result


def podman_env() -> dict[str, str]:
    """The environment podman runs with: the project-local containers.conf unless one is set."""
    env = dict(os.environ)
    if not env.get("CONTAINERS_CONF"):
        env["CONTAINERS_CONF"] = str(CONTAINERS_CONF)
    return env


def podman(
    *args: str,
    check: bool = True,
    capture: bool = True,
    input: str | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``podman ARGS``; missing podman or a failed command raise EnvironmentProblem."""
    exe = require("podman", "apt-get install podman")
    what = f"podman {args[0]}" if args else "podman"
    if capture:
        return run(
            [exe, *args], what=what, check=check, input=input, timeout=timeout, env=podman_env()
        )
    try:
        result = subprocess.run(
            [exe, *args], input=input, text=True, timeout=timeout, env=podman_env(), check=False
        )
    except subprocess.TimeoutExpired:
        raise EnvironmentProblem(f"{what} did not finish within {timeout:.0f}s") from None
    if check and result.returncode != 0:
        raise EnvironmentProblem(f"{what} failed (exit {result.returncode})")
    return result


@contextlib.contextmanager
def lock(path: Path, progress: Progress, holder: str) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o600), "r+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(f"waiting for {holder} to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def lab_dir(ws: Workspace) -> Path:
    return ws.state / "lab"


def key_path(ws: Workspace) -> Path:
    return lab_dir(ws) / "id_ed25519"


def known_hosts_path(ws: Workspace) -> Path:
    return lab_dir(ws) / "known_hosts"
