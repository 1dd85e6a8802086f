"""One run per client at a time: an advisory lock file per client under .omctl/locks/, or,
with a shared PostgreSQL ledger (``ledger_url``), a session advisory lock on that server.

The kernel drops a flock when its process dies, even by SIGKILL, so a crashed run never leaves
a stale lock; the lock file's content (run id, pid) only serves the error message. A lock held
while the file names a dead process is another omctl marking that dead run interrupted (or a
run that has just taken the lock): a new run waits for it a moment instead of exiting 4.

With a PostgreSQL ledger every controller sharing it must see the same lock, so the lock is
``pg_try_advisory_lock`` on a connection of its own, held for the run; the server drops it
when that connection dies (its process crashed or was killed), and the lock names its holder
(run, pid, host) to whoever is refused. The backend follows the workspace's settings
(omctl.toml, OMCTL_LEDGER_URL): the same ones ``open_ledger`` uses.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omctl.errors import ClientLocked
from omctl.workspace import Workspace

if TYPE_CHECKING:
    from omctl.settings import Settings

GRACE_SECONDS = 3.0  # how long a run waits for a lock whose file names no live process
# Held PostgreSQL locks by the number try_lock returned (their connection's socket: unique
# while it is open), so release() and the file locks' callers need not tell them apart.
_SESSIONS: dict[int, Any] = {}


def lock_path(ws: Workspace, client: str) -> Path:
    return ws.state / "locks" / f"{client}.lock"


def _shared(ws: Workspace) -> Settings | None:
    """The workspace's settings when its ledger (and so its client locks) is PostgreSQL."""
    from omctl import settings

    current = settings.load(ws.root)
    return current if current.ledger_url else None


def try_lock(ws: Workspace, client: str, run_id: str = "") -> int | None:
    """Take the client's lock without waiting; a handle for ``release`` (a file lock's fd, or
    a PostgreSQL session's number), or None when someone holds it."""
    shared = _shared(ws)
    if shared is None:
        return _flock(lock_path(ws, client))
    handle, _ = _session_lock(shared, client, run_id)
    return handle


def _session_lock(shared: Settings, client: str, run_id: str) -> tuple[int | None, str | None]:
    from omctl import ledger_pg

    assert shared.ledger_url is not None
    conn, holder_name = ledger_pg.try_client_lock(
        shared.ledger_url, shared.ledger_password_file, client, run_id or "(recovery)"
    )
    if conn is None:
        return None, holder_name
    handle = conn.fileno()
    _SESSIONS[handle] = conn
    return handle, None


def _flock(path: Path) -> int | None:
    """An exclusive flock on ``path`` without waiting: the open fd, or None when held."""
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
    session = _SESSIONS.pop(fd, None)
    if session is not None:
        session.close()  # ends the session: the server drops its advisory lock
        return
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def holder(ws: Workspace, client: str) -> tuple[str, int] | None:
    """The run id and pid the lock file names, if that process is alive."""
    try:
        info = json.loads(lock_path(ws, client).read_text() or "{}")
        run_id, pid = str(info["run_id"]), int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, someone else's
    return run_id, pid


@contextmanager
def client_lock(
    ws: Workspace, client: str, run_id: str, grace: float = GRACE_SECONDS
) -> Iterator[None]:
    shared = _shared(ws)
    if shared is not None:
        handle, by = _session_lock(shared, client, run_id)
        if handle is None:
            raise ClientLocked(
                f"client {client!r} is locked by {by} (shared ledger): one run per client at a time"
            )
        try:
            yield
        finally:
            release(handle)
        return
    deadline = time.monotonic() + grace
    while (fd := try_lock(ws, client)) is None:
        live = holder(ws, client)
        if live is not None or time.monotonic() >= deadline:
            by = f" by run {live[0]} (pid {live[1]})" if live else " by another omctl process"
            raise ClientLocked(f"client {client!r} is locked{by}: one run per client at a time")
        time.sleep(0.05)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"run_id": run_id, "pid": os.getpid()}).encode(), 0)
        yield
    finally:
        release(fd)


@contextmanager
def tick_lock(ws: Workspace) -> Iterator[None]:
    """One ``omctl tick`` per workspace at a time; a second one gives up at once (a timer
    firing while a long backup runs must not pile ticks up)."""
    path = ws.state / "tick.lock"
    fd = _flock(path)
    if fd is None:
        try:
            pid = int(path.read_text() or 0)
        except (OSError, ValueError):
            pid = 0
        by = f" (pid {pid})" if pid > 0 else ""
        raise ClientLocked(f"another omctl tick is running in this workspace{by}")
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        release(fd)
