"""One run per client at a time: an advisory lock file per client under .omctl/locks/.

The kernel drops a flock when its process dies, even by SIGKILL, so a crashed run never leaves
a stale lock; the lock file's content (run id, pid) only serves the error message.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from omctl.errors import ClientLocked
from omctl.workspace import Workspace


def lock_path(ws: Workspace, client: str) -> Path:
    return ws.state / "locks" / f"{client}.lock"


def try_lock(ws: Workspace, client: str) -> int | None:
    """Take the client's lock without waiting; the open fd, or None when someone holds it."""
    path = lock_path(ws, client)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # os.open fds are not inherited by child processes (PEP 446): ansible never holds the lock.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def release(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


@contextmanager
def client_lock(ws: Workspace, client: str, run_id: str) -> Iterator[None]:
    fd = try_lock(ws, client)
    if fd is None:
        holder = ""
        try:
            info = json.loads(lock_path(ws, client).read_text() or "{}")
            holder = f" by run {info['run_id']} (pid {info['pid']})"
        except (OSError, ValueError, KeyError):
            pass
        raise ClientLocked(f"client {client!r} is locked{holder}: one run per client at a time")
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"run_id": run_id, "pid": os.getpid()}).encode(), 0)
        yield
    finally:
        release(fd)
