#!/usr/bin/python
"""Read-only checks before patching: apt/dpkg locks (bounded wait), free space, dpkg state."""

from __future__ import annotations

DOCUMENTATION = r"""
module: patching_preflight
short_description: Check that a Debian host can be patched now
description:
  - Waits, at most O(lock_timeout) seconds, until no other process holds apt's or dpkg's locks
    (C(fcntl) locks, as apt takes them), then fails naming the holder's PID and command.
  - Checks the free space of O(disk) paths against their minimum.
  - Reports an interrupted dpkg run (pending files in C(/var/lib/dpkg/updates) or packages that
    C(dpkg --audit) names), which the role repairs with C(dpkg --configure -a).
  - Changes nothing; runs the same in check mode.
options:
  lock_timeout:
    description: Seconds to wait for the locks before failing.
    type: int
    default: 300
  lock_poll:
    description: Seconds between two looks at the locks.
    type: float
    default: 1.0
  locks:
    description: Lock files to wait for.
    type: list
    elements: str
    default:
      - /var/lib/dpkg/lock-frontend
      - /var/lib/dpkg/lock
      - /var/lib/apt/lists/lock
      - /var/cache/apt/archives/lock
  disk:
    description: Paths and the free space, in MiB, each needs.
    type: list
    elements: dict
    default: []
author: omctl maintainers
"""

RETURN = r"""
lock:
  description: How long the locks were waited for, and who held them.
  returned: always
  type: dict
  sample: {"waited_s": 3.1, "holders": [{"path": "/var/lib/dpkg/lock-frontend", "pid": 812,
           "command": "apt-get"}], "timeout_s": 300}
disk:
  description: One entry per checked path with its free space and whether it is enough.
  returned: always
  type: list
  elements: dict
dpkg:
  description: Whether a dpkg run was interrupted, and what dpkg --audit said.
  returned: always
  type: dict
root:
  description: Whether the module runs as root.
  returned: always
  type: bool
"""

import ctypes
import errno
import fcntl
import os
import time
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DPKG_UPDATES = "/var/lib/dpkg/updates"


class _Flock(ctypes.Structure):
    """struct flock of Linux (off_t is 64-bit wherever Python is built with large files)."""

    _fields_ = [
        ("l_type", ctypes.c_short),
        ("l_whence", ctypes.c_short),
        ("l_start", ctypes.c_int64),
        ("l_len", ctypes.c_int64),
        ("l_pid", ctypes.c_int),
    ]


def lock_holder(path: str) -> int | None:
    """PID holding a write-conflicting fcntl lock on ``path`` (None: free or no such file)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.EACCES, errno.EPERM):
            return None
        raise
    try:
        query = _Flock(fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        answer = _Flock.from_buffer_copy(fcntl.fcntl(fd, fcntl.F_GETLK, bytes(query)))
    finally:
        os.close(fd)
    if answer.l_type == fcntl.F_UNLCK:
        return None
    # A holder in another PID namespace shows as 0: still locked.
    return int(answer.l_pid)


def command_of(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            argv = [part.decode(errors="replace") for part in handle.read().split(b"\0") if part]
    except OSError:
        argv = []
    if argv:
        return " ".join([os.path.basename(argv[0]), *argv[1:]])[:120]
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as handle:
            return handle.read().strip()
    except OSError:
        return "?"


def holders(paths: list[str]) -> list[dict[str, Any]]:
    found = []
    for path in paths:
        pid = lock_holder(path)
        if pid is not None:
            found.append({"path": path, "pid": pid, "command": command_of(pid) if pid else "?"})
    return found


def free_mib(path: str) -> tuple[str, int]:
    """Free space for root (f_bfree would include reserved blocks: use f_bavail) of the
    nearest existing parent of ``path``."""
    probe = path
    while not os.path.exists(probe) and probe not in ("", "/"):
        probe = os.path.dirname(probe)
    stats = os.statvfs(probe or "/")
    return probe or "/", stats.f_bavail * stats.f_frsize // 2**20


def dpkg_state(module: AnsibleModule) -> dict[str, Any]:
    try:
        pending = sorted(os.listdir(DPKG_UPDATES))
    except OSError:
        pending = []
    pending = [name for name in pending if name.isdigit()]
    rc, out, _ = module.run_command(
        ["dpkg", "--audit"], environ_update={"LC_ALL": "C"}, check_rc=False
    )
    audit = [line for line in out.splitlines() if line.strip()]
    return {
        "interrupted": bool(pending) or bool(audit),
        "pending_updates": len(pending),
        "audit": audit[:20],
        "audit_rc": rc,
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "lock_timeout": {"type": "int", "default": 300},
            "lock_poll": {"type": "float", "default": 1.0},
            "locks": {
                "type": "list",
                "elements": "str",
                "default": [
                    "/var/lib/dpkg/lock-frontend",
                    "/var/lib/dpkg/lock",
                    "/var/lib/apt/lists/lock",
                    "/var/cache/apt/archives/lock",
                ],
            },
            "disk": {"type": "list", "elements": "dict", "default": []},
        },
        supports_check_mode=True,
    )
    params = module.params
    result: dict[str, Any] = {"changed": False, "root": os.geteuid() == 0}
    if not result["root"]:
        module.fail_json(
            msg="patching needs root: connect as root or set ansible_become for this host",
            **result,
        )

    timeout = max(0, params["lock_timeout"])
    started = time.monotonic()
    seen: list[dict[str, Any]] = []
    while True:
        current = holders(params["locks"])
        if current:
            seen = current
        waited = round(time.monotonic() - started, 1)
        if not current or waited >= timeout:
            break
        time.sleep(max(0.1, min(params["lock_poll"], timeout - waited)))
    result["lock"] = {
        "waited_s": waited,
        "timeout_s": timeout,
        "holders": seen,
        "free": not current,
    }
    if current:
        first = current[0]
        module.fail_json(
            msg=f"apt is locked by PID {first['pid']} ({first['command']}) for more than "
            f"{timeout} s ({first['path']}); patching did not start",
            **result,
        )

    disks = []
    for entry in params["disk"]:
        path = str(entry.get("path") or "/")
        need = int(entry.get("min_free_mb") or 0)
        measured, free = free_mib(path)
        disks.append(
            {"path": path, "measured": measured, "free_mb": free, "min_free_mb": need,
             "ok": free >= need}
        )  # fmt: skip
    result["disk"] = disks
    result["dpkg"] = dpkg_state(module)
    short = [d for d in disks if not d["ok"]]
    if short:
        module.fail_json(
            msg="not enough free space: "
            + "; ".join(
                f"{d['path']} has {d['free_mb']} MiB free, needs {d['min_free_mb']} MiB"
                for d in short
            ),
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
