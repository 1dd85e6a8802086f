#!/usr/bin/python
"""Read-only probe of a host's restic repository, and of what a backup or a drill would do."""

from __future__ import annotations

DOCUMENTATION = r"""
module: backup_probe
short_description: Probe a restic repository read-only, and estimate a backup or a restore drill
description:
  - Opens the repository with read-only restic commands that take no lock (C(--no-lock)) and
    write no cache (C(--no-cache)) - C(cat config), C(snapshots --json), C(list locks),
    C(cat lock) and, for O(purpose=restore_drill), C(stats --mode restore-size) - and says whether
    it opens, why not (missing, unreachable, wrong password, replaced), who holds locks on it, and
    which backup runs it holds, the latest with its age.
  - restic 0.14 exits 1 for every fatal error: the cause is read from its message.
  - With O(purpose=backup) it estimates what a backup would store now, without dumping anything:
    the files under the configured paths (count and bytes after the excludes, and what changed
    since the latest backup run) and the databases with their size from C(information_schema).
  - With O(purpose=restore_drill) it says what the drill would restore (snapshots, paths, the
    database dump and its size), into which scratch folder and database, whether they exist
    already, and whether the file systems have room for them.
  - Changes nothing, in check mode or not. The password goes to restic through an anonymous
    in-memory file (C(RESTIC_PASSWORD_FILE=/proc/self/fd/N)), never a command line or the
    environment, and O(password) is C(no_log).
  - Problems that would make the real run fail are returned in RV(problems) (RV(ok) false); the
    module does not fail on them, so that the caller can record the result first. A lock on the
    repository is a notice (RV(notices)), never a problem.
options:
  purpose:
    description: What to estimate besides the repository.
    type: str
    choices: [backup, restore_drill]
    default: backup
  config:
    description:
      - The backup settings as the role writes them to C(/etc/omctl-backup/backup.json) (C(host),
        C(repository), C(password_file), C(sftp_command), C(init), C(state_dir), C(files) and
        C(databases) are read). Exclusive with O(config_file).
    type: dict
  config_file:
    description: Read the settings from this file on the host instead (the restore drill's case).
    type: path
  password:
    description:
      - The repository password the real run would write to C(password_file); empty to read that
        file on the host.
    type: str
    default: ""
    no_log: true
  pending:
    description:
      - Set-up steps the real run would do first that this run (check mode) did not, and that
        opening the repository depends on (the SFTP key created and authorized, ...). With any, a
        repository that cannot be reached is reported as not probed, not as a problem.
    type: list
    elements: str
    default: []
  absent:
    description:
      - The real run would first create the folder the repository lives in (check mode): there
        is no repository yet, whatever restic could say.
    type: bool
    default: false
  drill:
    description: The restore drill's settings (O(purpose=restore_drill)).
    type: dict
    default: {}
    suboptions:
      files_enabled:
        type: bool
        default: true
        description: The drill restores the files.
      database_enabled:
        type: bool
        default: true
        description: The drill imports O(drill.database) into O(drill.scratch_database).
      database:
        type: str
        default: wordpress
        description: The database the drill imports.
      scratch_dir:
        type: path
        default: /var/tmp/omctl-restore-drill
        description: Scratch folder the files are restored into.
      scratch_database:
        type: str
        default: omctl_restore_drill
        description: Scratch database (and user) the dump is imported into.
      space_margin_percent:
        type: int
        default: 10
        description: Room asked for on top of the restored size.
      check_subset:
        type: str
        default: ""
        description: The C(restic check --read-data-subset) value the drill would use (reported).
      site_port:
        type: int
        default: 0
        description: Loopback port of the scratch site; a listener there is a notice (0, no look).
  restic:
    description: The restic command.
    type: str
    default: restic
  timeout:
    description: Seconds one restic or database command may take.
    type: int
    default: 600
author: omctl maintainers
"""

EXAMPLES = r"""
- name: Probe the repository
  backup_probe:
    config: "{{ __backup_config }}"
    password: "{{ backup_password }}"
  register: __backup_probe
"""

RETURN = r"""
ok:
  description: False when the real run would fail; RV(problems) says why.
  returned: always
  type: bool
error:
  description: The messages of RV(problems) in one line, or null.
  returned: always
  type: str
problems:
  description: What would make the real run fail, each with a C(code) and a C(message).
  returned: always
  type: list
  elements: dict
  sample: [{"code": "wrong_password", "message": "the repository password does not open ..."}]
notices:
  description:
    - What deserves attention but does not fail the run (locks, unreadable files, a scratch copy
      left by an earlier drill, ...); each is also an Ansible warning.
  returned: always
  type: list
  elements: str
repository:
  description:
    - C(state) is C(ok), C(would_initialise) (never initialised here; the real run creates it),
      C(not_probed) (C(detail) says why), C(missing), C(wrong_password), C(unreachable),
      C(replaced) or C(error); C(id) is the short repository id when it opened.
  returned: always
  type: dict
  sample: {"url": "sftp:root@10.0.0.2:/srv/omctl-backup/web1", "state": "ok", "id": "5f3a9c21",
           "detail": "opens"}
locks:
  description: Locks on the repository (time, age, holder, exclusive, stale by restic's rule).
  returned: always
  type: list
  elements: dict
latest:
  description: The latest backup run (run id, time, age, its snapshots), or null when none.
  returned: always
  type: dict
snapshots:
  description: Snapshots of this host made by omctl, and the backup runs they make up.
  returned: always
  type: dict
  sample: {"count": 8, "runs": 2}
would_back_up:
  description:
    - O(purpose=backup) only. C(files) (paths, counts, bytes, excluded, unreadable, what changed
      since the latest run) and C(databases) (name to bytes and tables, from information_schema).
  returned: when purpose is backup
  type: dict
drill:
  description:
    - O(purpose=restore_drill) only. The run and snapshots the drill would restore, their sizes,
      the scratch folder and database (and whether they exist), and the room per file system.
  returned: when purpose is restore_drill
  type: dict
"""

import contextlib
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any

from ansible.module_utils.basic import AnsibleModule

# restic 0.14's messages, most specific first (the omctl-backup tool reads the same ones).
CAUSES = (
    ("wrong_password", ("wrong password or no key found",)),
    ("missing", ("Is there a repository at the following location?",)),
    (
        "unreachable",
        (
            "unable to start the sftp session",
            "ssh command exited",
            "Host key verification failed",
            "Connection refused",
            "No route to host",
            "Connection timed out",
            "Could not resolve hostname",
            "Permission denied (publickey",
        ),
    ),
)
# restic's own rule: a lock is stale when older than this (live holders refresh theirs every
# 5 minutes), or when it was taken on this host by a process that no longer exists.
STALE_SECONDS = 30 * 60
SYSTEM_DATABASES = ("information_schema", "performance_schema", "sys")
CACHEDIR_SIGNATURE = b"Signature: 8a477f597d28d172789f06886806bc55"
ENV_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class Problem(Exception):
    """Something that would make the real run fail: a code and a sentence for the operator."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message}


def parse_time(text: str) -> datetime:
    """restic's RFC 3339 times carry nanoseconds, which fromisoformat does not read."""
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", text)
    if not match:
        raise ValueError(f"unreadable time {text!r}")
    base, fraction, zone = match.groups()
    micro = (fraction or ".0")[1:7].ljust(6, "0")
    zone = "+00:00" if zone == "Z" else zone
    return datetime.fromisoformat(f"{base}.{micro}{zone}").astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def last_lines(text: str, count: int = 3) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-count:])


# --- restic ------------------------------------------------------------------------------------


class Restic:
    """Read-only restic commands on one repository: never a lock, never a cache."""

    def __init__(self, cfg: dict, password: str, command: str = "restic", timeout: int = 600):
        self.cfg = cfg
        self.password = password
        self.command = command
        self.timeout = timeout

    def argv(self, *args: str) -> list:
        argv = [self.command, "--no-lock", "--no-cache"]
        if self.cfg.get("sftp_command"):
            argv += ["-o", f"sftp.command={self.cfg['sftp_command']}"]
        return argv + list(args)

    def env(self, password_file: str) -> dict:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("RESTIC_") and k not in ("LANG", "LANGUAGE")
        }
        env.update(
            LC_ALL="C",
            HOME=env.get("HOME") or "/root",
            PATH=ENV_PATH,
            RESTIC_REPOSITORY=self.cfg["repository"],
            RESTIC_PASSWORD_FILE=password_file,
        )
        return env

    def run(self, *args: str) -> subprocess.CompletedProcess:
        """A given password reaches restic in an anonymous memory file, read through its fd."""
        fds: tuple = ()
        password_file = self.cfg["password_file"]
        if self.password:
            fd = os.memfd_create("restic-password", 0)
            os.write(fd, self.password.encode() + b"\n")
            fds = (fd,)
            password_file = f"/proc/self/fd/{fd}"
        try:
            return subprocess.run(
                self.argv(*args),
                env=self.env(password_file),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=self.timeout,
                check=False,
                pass_fds=fds,
            )
        except subprocess.TimeoutExpired:
            raise Problem(
                "unreachable",
                f"restic {args[0]} on {self.cfg['repository']} did not finish in {self.timeout} s",
            ) from None
        finally:
            for fd in fds:
                os.close(fd)


def cause_of(output: str) -> str:
    return next((code for code, needles in CAUSES if any(n in output for n in needles)), "error")


def open_failure(cfg: dict, output: str, marker: dict, pending: list, password_given: bool) -> dict:
    """Why `restic cat config` failed: a repository state, and the problem when it is one."""
    repo = cfg["repository"]
    cause = cause_of(output)
    said = last_lines(output) or "restic gave no reason"
    if cause == "wrong_password":
        where = "backup_password (Ansible Vault)" if password_given else cfg["password_file"]
        message = f"the repository password does not open {repo}: check {where}"
        return {"state": cause, "problem": Problem(cause, message)}
    if cause == "missing":
        if marker.get("repository") == repo:
            message = (
                f"there is no restic repository at {repo} although repository "
                f"{str(marker.get('id', '?'))[:8]} was initialized there on "
                f"{marker.get('initialized_at', '?')}: it was deleted or moved; restore it, or "
                "remove the marker to start a new one"
            )
            return {"state": cause, "problem": Problem(cause, message)}
        if not cfg.get("init", True):
            message = f"there is no restic repository at {repo} and backup_repository_init is false"
            return {"state": cause, "problem": Problem(cause, message)}
        return {
            "state": "would_initialise",
            "detail": "no repository yet: the real run creates it",
        }
    if pending:
        detail = f"not opened ({said}); the real run first: {'; '.join(pending)}"
        return {"state": "not_probed", "detail": detail}
    if cause == "unreachable":
        ssh = [
            line.replace("subprocess ssh:", "").strip()
            for line in output.splitlines()
            if line.startswith("subprocess ssh:")
        ]
        message = f"cannot reach the repository {repo}: {' | '.join(ssh) or said}"
        return {"state": cause, "problem": Problem(cause, message)}
    message = f"opening the repository {repo} failed: {said}"
    return {"state": "error", "problem": Problem("error", message)}


def without_restic(cfg: dict, marker: dict) -> dict:
    """A first run in check mode has no restic yet: a local repository is still seen on disk."""
    repo = cfg["repository"]
    if not repo.startswith("/"):
        return {"state": "not_probed", "detail": "restic is not installed yet (the real run does)"}
    if os.path.exists(os.path.join(repo, "config")):
        detail = "a repository exists there; not opened: restic is not installed yet"
        return {"state": "not_probed", "detail": detail}
    return open_failure(cfg, CAUSES[1][1][0], marker, [], False)


def probe_repository(
    restic: Restic, cfg: dict, marker: dict, pending: list, have_restic: bool, absent: bool
) -> dict:
    repo = cfg["repository"]
    if absent:
        return {"url": repo, **open_failure(cfg, CAUSES[1][1][0], marker, [], False)}
    if not have_restic:
        return {"url": repo, **without_restic(cfg, marker)}
    done = restic.run("cat", "config")
    if done.returncode != 0:
        output = done.stderr + done.stdout
        return {"url": repo, **open_failure(cfg, output, marker, pending, bool(restic.password))}
    try:
        repo_id = str(json.loads(done.stdout)["id"])
    except (ValueError, KeyError, TypeError):
        problem = Problem("error", "restic cat config printed no repository id")
        return {"url": repo, "state": "error", "problem": problem}
    if marker.get("repository") == repo and marker.get("id") != repo_id:
        message = (
            f"the repository at {repo} is {repo_id[:8]}, not {str(marker.get('id', '?'))[:8]} "
            f"initialized there on {marker.get('initialized_at')}: if the change is intended, "
            "remove the marker"
        )
        return {
            "url": repo,
            "state": "replaced",
            "id": repo_id[:8],
            "problem": Problem("replaced", message),
        }
    return {"url": repo, "state": "ok", "id": repo_id[:8], "detail": "opens"}


# --- locks -------------------------------------------------------------------------------------


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def judge_lock(
    lock_id: str, lock: dict, now: datetime, hostname: str, alive: Callable[[int], bool]
) -> dict:
    taken = parse_time(lock["time"])
    age = max(0.0, (now - taken).total_seconds())
    pid = int(lock.get("pid") or 0)
    here = lock.get("hostname") == hostname
    return {
        "id": lock_id[:8],
        "time": iso(taken),
        "age_seconds": round(age, 1),
        "exclusive": bool(lock.get("exclusive")),
        "hostname": lock.get("hostname"),
        "username": lock.get("username"),
        "pid": pid,
        "stale": age > STALE_SECONDS or (here and pid > 0 and not alive(pid)),
    }


def lock_notice(lock: dict) -> str:
    holder = (
        f"{'exclusive' if lock['exclusive'] else 'shared'} lock {lock['id']} of PID {lock['pid']} "
        f"on {lock['hostname']} since {lock['time']}"
    )
    if lock["stale"]:
        return f"stale {holder}: the next backup removes it (restic unlock)"
    if lock["exclusive"]:
        return f"{holder}: a backup or a restore drill now would fail until it is released"
    return (
        f"{holder} (a backup running?): a backup now would fail at its retention step and a "
        "restore drill at its repository check, which need an exclusive lock"
    )


def read_locks(
    restic: Restic, now: datetime, hostname: str, alive: Callable[[int], bool] = pid_alive
) -> tuple[list, list]:
    """The locks and the notices about them; a lock released meanwhile is left out."""
    done = restic.run("list", "locks")
    if done.returncode != 0:
        return [], [f"could not list the locks: {last_lines(done.stderr)}"]
    locks = []
    for lock_id in done.stdout.split():
        shown = restic.run("cat", "lock", lock_id)
        if shown.returncode != 0:
            continue
        with contextlib.suppress(ValueError, KeyError, TypeError):
            locks.append(judge_lock(lock_id, json.loads(shown.stdout), now, hostname, alive))
    return locks, [lock_notice(lock) for lock in locks]


# --- snapshots ---------------------------------------------------------------------------------


def tag_value(snapshot: dict, key: str) -> str | None:
    prefix = f"{key}:"
    tags = snapshot.get("tags") or []
    return next((t[len(prefix) :] for t in tags if t.startswith(prefix)), None)


def group_runs(snapshots: list) -> dict:
    """omctl's backup runs: the snapshots tagged run:<id>, by kind (files, db:<name>, page)."""
    runs: dict = {}
    for snap in snapshots:
        run_id, kind = tag_value(snap, "run"), tag_value(snap, "kind")
        if not run_id or not kind:
            continue
        entry = runs.setdefault(
            run_id,
            {
                "run": run_id,
                "time": snap["time"],
                "files": None,
                "databases": {},
                "frontpage": None,
            },
        )
        if parse_time(snap["time"]) < parse_time(entry["time"]):
            entry["time"] = snap["time"]  # a run began with its first snapshot
        brief = {
            "id": snap["id"],
            "short_id": snap.get("short_id", snap["id"][:8]),
            "paths": snap.get("paths") or [],
        }
        if kind == "files":
            entry["files"] = brief
        elif kind == "db" and tag_value(snap, "db"):
            entry["databases"][tag_value(snap, "db")] = brief
        elif kind == "page":
            entry["frontpage"] = brief
    return runs


def latest_run(runs: dict, now: datetime, files: bool = False, database: str = "") -> dict | None:
    """The newest run; with files, or with a dump of database, when asked."""
    fitting = [
        run
        for run in runs.values()
        if (run["files"] or not files) and (not database or database in run["databases"])
    ]
    if not fitting:
        return None
    run = max(fitting, key=lambda r: parse_time(r["time"]))
    age = max(0.0, (now - parse_time(run["time"])).total_seconds())
    return {**run, "time": iso(parse_time(run["time"])), "age_seconds": round(age, 1)}


def read_snapshots(restic: Restic, cfg: dict) -> list:
    done = restic.run("snapshots", "--json", "--host", cfg["host"], "--tag", "omctl")
    if done.returncode != 0:
        message = f"listing the snapshots failed: {last_lines(done.stderr)}"
        raise Problem(cause_of(done.stderr), message)
    try:
        return json.loads(done.stdout) or []
    except ValueError:
        raise Problem("error", "restic snapshots printed no JSON") from None


def restore_size(restic: Restic, snapshot_id: str) -> dict:
    done = restic.run("stats", "--json", "--mode", "restore-size", snapshot_id)
    if done.returncode != 0:
        message = f"measuring snapshot {snapshot_id[:8]} failed: {last_lines(done.stderr)}"
        raise Problem(cause_of(done.stderr), message)
    stats = json.loads(done.stdout)
    return {
        "bytes": int(stats.get("total_size") or 0),
        "entries": int(stats.get("total_file_count") or 0),  # files and folders
    }


# --- what a backup would store -------------------------------------------------------------------


def split_path(path: str) -> list:
    parts = os.path.normpath(path).split("/")
    if parts[0] == "":
        parts[0] = "/"
    return [p for p in parts if p]


def _part_match(pattern: str, name: str) -> bool:
    if not any(c in pattern for c in "\\[]*?"):
        return pattern == name
    return fnmatchcase(name, pattern.replace("[^", "[!"))


def _match(parts: list, strs: list) -> bool:
    if "**" in parts:
        pos = parts.index("**")
        return any(
            _match(parts[:pos] + ["*"] * width + parts[pos + 1 :], strs)
            for width in range(len(strs) - len(parts) + 2)
        )
    if not parts or len(parts) > len(strs):
        return False
    if parts[0] == "/":
        offsets: Any = [0]
    else:
        lowest = 1 if strs[0] == "/" else 0  # a relative pattern skips the root marker
        offsets = range(len(strs) - len(parts), lowest - 1, -1)
    return any(all(_part_match(p, strs[o + i]) for i, p in enumerate(parts)) for o in offsets)


def excluded(path: str, patterns: list) -> bool:
    """restic's --exclude (internal/filter of 0.14): components matched with filepath.Match
    wildcards and '**', a relative pattern anywhere in the path, '!' re-including."""
    strs = split_path(path)
    result = False
    for pattern in patterns:
        if not pattern:
            continue
        negated = pattern.startswith("!")
        if _match(split_path(pattern[1:] if negated else pattern), strs):
            result = not negated
    return result


def is_cache_dir(path: str) -> bool:
    try:
        with open(os.path.join(path, "CACHEDIR.TAG"), "rb") as handle:
            return handle.read(len(CACHEDIR_SIGNATURE)) == CACHEDIR_SIGNATURE
    except OSError:
        return False


def has_file(path: str) -> bool:
    return os.path.isfile(path) or any(files for _root, _dirs, files in os.walk(path))


class FileEstimate:
    """What `restic backup` would read under the paths, from lstat alone (no file is opened)."""

    def __init__(self, files: dict, password_file: str, since: datetime | None):
        self.files = files
        self.patterns = [password_file, *(files.get("exclude") or [])]
        self.cutoff = since.timestamp() if since else None
        self.counts = dict.fromkeys(
            ("files", "dirs", "symlinks", "other", "bytes", "excluded", "unreadable"), 0
        )
        self.changed = {"files": 0, "bytes": 0}
        self.unreadable: list = []

    def _file(self, info: os.stat_result) -> bool:
        self.counts["files"] += 1
        self.counts["bytes"] += info.st_size
        if self.cutoff is not None and max(info.st_mtime, info.st_ctime) > self.cutoff:
            self.changed["files"] += 1
            self.changed["bytes"] += info.st_size
        return True

    def visit(self, path: str, device: int | None) -> bool:
        """Counts path and what is below; returns whether a file was found there."""
        if device is not None and excluded(path, self.patterns):
            self.counts["excluded"] += 1
            return False
        try:
            info = os.lstat(path)
        except OSError:
            self.counts["unreadable"] += 1
            self.unreadable.append(path)
            return False
        if stat.S_ISREG(info.st_mode):
            return self._file(info)
        kind = "symlinks" if stat.S_ISLNK(info.st_mode) else "other"
        if not stat.S_ISDIR(info.st_mode):
            self.counts[kind] += 1
            return False
        self.counts["dirs"] += 1
        if self.files.get("one_file_system") and device is not None and info.st_dev != device:
            return False
        try:
            names = sorted(os.listdir(path))
        except OSError:
            self.counts["unreadable"] += 1
            self.unreadable.append(path)
            return False
        if self.files.get("exclude_caches", True) and is_cache_dir(path):
            names = [n for n in names if n == "CACHEDIR.TAG"]
        found = False
        for name in names:
            found = self.visit(os.path.join(path, name), info.st_dev) or found
        return found

    def run(self) -> dict:
        missing, empty = [], []
        for path in self.files.get("paths") or []:
            if not os.path.lexists(path):
                missing.append(path)
            elif not self.visit(path, None) and not has_file(path):
                empty.append(path)  # as the backup judges it: excludes aside
        return {
            "paths": list(self.files.get("paths") or []),
            **self.counts,
            "changed_since_latest": self.changed if self.cutoff is not None else None,
            "missing": missing,
            "empty": empty,
            "unreadable_paths": self.unreadable[:20],
        }


def mariadb(client: str, sql: str, timeout: int) -> list:
    env = dict(os.environ, LC_ALL="C", HOME=os.environ.get("HOME") or "/root", PATH=ENV_PATH)
    try:
        done = subprocess.run(
            [client, "--batch", "--skip-column-names", "--raw", "-e", sql],
            capture_output=True,
            text=True,
            check=False,
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Problem("database", f"cannot query MariaDB ({client}): {exc}") from None
    if done.returncode != 0:
        raise Problem(
            "database",
            "cannot list the MariaDB databases (is MariaDB running?): "
            + (last_lines(done.stderr, 1) or f"exit {done.returncode}"),
        )
    return [line.split("\t") for line in done.stdout.splitlines() if line]


DATABASE_SIZES = (
    "SELECT s.schema_name, COALESCE(SUM(t.data_length + t.index_length), 0), COUNT(t.table_name) "
    "FROM information_schema.schemata s LEFT JOIN information_schema.tables t "
    "ON t.table_schema = s.schema_name GROUP BY s.schema_name"
)


def choose_databases(found: dict, databases: dict) -> tuple[dict, list]:
    """The databases a backup would dump (chosen as the omctl-backup tool does), and the
    included ones MariaDB does not have."""
    wanted = databases.get("include") or [n for n in found if n not in SYSTEM_DATABASES]
    left_out = set(databases.get("exclude") or [])
    missing = [name for name in wanted if name not in found]
    chosen = {name: found[name] for name in wanted if name in found and name not in left_out}
    return chosen, missing


def estimate_databases(databases: dict, timeout: int) -> tuple[dict, list]:
    rows = mariadb(databases.get("client") or "mariadb", DATABASE_SIZES, timeout)
    found = {
        row[0]: {"bytes": int(float(row[1] or 0)), "tables": int(row[2] or 0)}
        for row in rows
        if len(row) >= 3
    }
    return choose_databases(found, databases)


def estimate_backup(cfg: dict, latest: dict | None, timeout: int) -> tuple[dict, list, list]:
    """What a backup now would store, without reading a file or dumping a database."""
    problems, notices = [], []
    would: dict = {"files": None, "databases": None}
    files = cfg.get("files") or {}
    if files.get("enabled", True):
        since = parse_time(latest["time"]) if latest else None
        found = would["files"] = FileEstimate(files, cfg["password_file"], since).run()
        for path in found["missing"]:
            problems.append(Problem("source_empty", f"the backup source {path} does not exist"))
        for path in found["empty"]:
            message = f"the backup source {path} is empty (no file in it)"
            problems.append(Problem("source_empty", message))
        if found["unreadable"]:
            examples = ", ".join(found["unreadable_paths"][:3])
            notices.append(f"{found['unreadable']} path(s) could not be read, e.g. {examples}")
    databases = cfg.get("databases") or {}
    if databases.get("enabled", True):
        try:
            would["databases"], absent = estimate_databases(databases, timeout)
        except Problem as problem:
            problems.append(problem)
        else:
            if absent:
                message = f"database(s) {', '.join(absent)} not found in MariaDB"
                problems.append(Problem("database", message))
    return would, problems, notices


# --- what a restore drill would need -------------------------------------------------------------


def nearest_existing(path: str) -> str:
    probe = path
    while probe not in ("", "/") and not os.path.exists(probe):
        probe = os.path.dirname(probe)
    return probe or "/"


def tree_bytes(path: str) -> int:
    total = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def room(
    needs: list,
    margin_percent: int,
    statvfs: Callable[[str], Any] = os.statvfs,
    device_of: Callable[[str], int] = lambda path: os.stat(path).st_dev,
) -> list:
    """Free space per file system against what would land on it. needs: (what, path, bytes,
    bytes the drill removes there first, i.e. an earlier drill's leftovers)."""
    by_device: dict = {}
    for what, path, size, reclaimable in needs:
        probe = nearest_existing(path)
        entry = by_device.setdefault(
            device_of(probe),
            {"for": [], "paths": [], "probe": probe, "needed_bytes": 0, "reclaimable_bytes": 0},
        )
        entry["for"].append(what)
        entry["paths"].append(path)
        entry["needed_bytes"] += int(size * (100 + margin_percent) / 100)
        entry["reclaimable_bytes"] += reclaimable
    result = []
    for entry in by_device.values():
        fs = statvfs(entry["probe"])
        entry["free_bytes"] = fs.f_bavail * fs.f_frsize
        entry["ok"] = entry["free_bytes"] + entry["reclaimable_bytes"] >= entry["needed_bytes"]
        result.append(entry)
    return result


def sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def scratch_state(drill: dict, client: str, timeout: int) -> dict:
    scratch_dir = drill["scratch_dir"]
    state: dict = {
        "dir": scratch_dir,
        "dir_exists": os.path.lexists(scratch_dir),
        "dir_bytes": tree_bytes(scratch_dir) if os.path.isdir(scratch_dir) else 0,
        "database": drill["scratch_database"] if drill["database_enabled"] else None,
        "database_exists": None,
        "user_exists": None,
        "datadir": None,
    }
    if drill["database_enabled"]:
        name = sql_string(drill["scratch_database"])
        rows = mariadb(
            client,
            "SELECT (SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = "
            f"{name}), (SELECT COUNT(*) FROM mysql.user WHERE user = {name}), @@datadir",
            timeout,
        )
        state["database_exists"] = rows[0][0] != "0"
        state["user_exists"] = rows[0][1] != "0"
        state["datadir"] = rows[0][2]
    return state


def port_in_use(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def no_room(entry: dict) -> Problem:
    free = entry["free_bytes"] + entry["reclaimable_bytes"]
    return Problem(
        "no_space",
        f"not enough room for the restore drill's {' and '.join(entry['for'])} on the file "
        f"system of {entry['probe']}: it needs about {entry['needed_bytes'] / 2**20:.0f} MiB, "
        f"{free / 2**20:.0f} MiB are free",
    )


def plan_drill(
    restic: Restic, runs: dict, drill: dict, now: datetime, client: str, timeout: int, host: str
) -> tuple[dict, list]:
    """What the drill would restore, from which run, where, and whether there is room."""
    database = drill["database"] if drill["database_enabled"] else ""
    plan: dict = {"run": None, "check_subset": drill.get("check_subset") or None}
    run = latest_run(runs, now, files=drill["files_enabled"], database=database)
    if run is None:
        wants = (["files"] if drill["files_enabled"] else []) + (
            [f"database {database}"] if database else []
        )
        found = f"only {len(runs)} incomplete run(s)" if runs else "no backup yet"
        message = f"the repository holds no backup run of {host} with {' and '.join(wants)}"
        return plan, [Problem("no_snapshot", f"{message} ({found})")]
    plan.update(run=run["run"], time=run["time"], age_seconds=run["age_seconds"])
    scratch = plan["scratch"] = scratch_state(drill, client, timeout)
    needs = []
    if drill["files_enabled"]:
        size = restore_size(restic, run["files"]["id"])
        plan["files"] = {
            "snapshot": run["files"]["short_id"],
            "paths": run["files"]["paths"],
            "into": drill["scratch_dir"],
            **size,
        }
        needs.append(("files", drill["scratch_dir"], size["bytes"], scratch["dir_bytes"]))
    if database:
        dump = run["databases"][database]
        size = restore_size(restic, dump["id"])
        plan["database"] = {
            "name": database,
            "snapshot": dump["short_id"],
            "dump_bytes": size["bytes"],
            "into": drill["scratch_database"],
        }
        needs.append(("database", scratch["datadir"] or "/var/lib/mysql", size["bytes"], 0))
    plan["other_dumps"] = sorted(name for name in run["databases"] if name != database)
    plan["disk"] = room(needs, drill["space_margin_percent"])
    return plan, [no_room(entry) for entry in plan["disk"] if not entry["ok"]]


def drill_notices(plan: dict, port: int) -> list:
    notices = []
    scratch = plan.get("scratch") or {}
    left = (
        ([scratch["dir"]] if scratch.get("dir_exists") else [])
        + ([f"database {scratch['database']}"] if scratch.get("database_exists") else [])
        + ([f"user {scratch['database']}"] if scratch.get("user_exists") else [])
    )
    if left:
        notices.append(
            f"an earlier drill left its scratch copy ({', '.join(left)}): the drill removes it "
            "first"
        )
    if port and port_in_use(port):
        notices.append(
            f"127.0.0.1:{port} is in use: the drill's scratch site needs it (unless it is an "
            "earlier drill's, which the drill removes first)"
        )
    return notices


# --- the probe ---------------------------------------------------------------------------------


def read_marker(cfg: dict) -> dict:
    """The repository omctl-backup initialized for this host (id, when), if any."""
    path = os.path.join(cfg.get("state_dir") or "/var/lib/omctl-backup", "repository.json")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def password_problem(cfg: dict, password: str) -> Problem | None:
    if password:
        return None
    path = cfg["password_file"]
    try:
        info = os.stat(path)
    except OSError:
        return Problem(
            "config",
            f"the repository password file {path} is missing (set backup_password from Ansible "
            "Vault, or place the file, readable by root only)",
        )
    if info.st_uid != 0 or info.st_mode & 0o077:
        return Problem("config", f"{path} must be owned by root and readable by root only (0600)")
    return None


def probe(params: dict, cfg: dict, now: datetime, have_restic: bool, hostname: str) -> dict:
    problems: list = []
    notices: list = []
    restic = Restic(cfg, params["password"], params["restic"], params["timeout"])
    result: dict = {
        "checked_at": iso(now),
        "host": cfg["host"],
        "locks": [],
        "latest": None,
        "snapshots": {"count": None, "runs": None},
    }
    unusable = password_problem(cfg, params["password"])
    if unusable:
        repository = {
            "url": cfg["repository"],
            "state": "not_probed",
            "detail": unusable.message,
            "problem": unusable,
        }
    else:
        marker = read_marker(cfg)
        repository = probe_repository(
            restic, cfg, marker, params["pending"], have_restic, params["absent"]
        )
    if "problem" in repository:
        problems.append(repository.pop("problem"))
    result["repository"] = repository
    runs: dict = {}
    if repository["state"] == "ok":
        try:
            snapshots = read_snapshots(restic, cfg)
        except Problem as problem:
            problems.append(problem)
        else:
            runs = group_runs(snapshots)
            result["snapshots"] = {"count": len(snapshots), "runs": len(runs)}
            result["latest"] = latest_run(runs, now)
        result["locks"], lock_notices = read_locks(restic, now, hostname)
        notices += lock_notices
    elif repository["state"] == "would_initialise":
        result["snapshots"] = {"count": 0, "runs": 0}
    if params["purpose"] == "backup":
        result["would_back_up"], found, seen = estimate_backup(
            cfg, result["latest"], params["timeout"]
        )
        problems += found
        notices += seen
    else:
        drill = params["drill"]
        result["drill"] = {"run": None, "check_subset": drill.get("check_subset") or None}
        if repository["state"] != "ok" and not problems:
            detail = repository.get("detail") or repository["state"]
            problems.append(Problem("no_snapshot", f"nothing to restore: {detail}"))
        elif not problems:
            client = (cfg.get("databases") or {}).get("client") or "mariadb"
            try:
                result["drill"], found = plan_drill(
                    restic, runs, drill, now, client, params["timeout"], cfg["host"]
                )
                problems += found
            except Problem as problem:
                problems.append(problem)
        notices += drill_notices(result["drill"], drill.get("site_port") or 0)
    result["problems"] = [p.as_dict() for p in problems]
    result["notices"] = notices
    result["ok"] = not problems
    result["error"] = "; ".join(p.message for p in problems) or None
    return result


def load_settings(module: AnsibleModule) -> dict:
    if module.params["config"] is not None:
        cfg = dict(module.params["config"])
    else:
        path = module.params["config_file"]
        try:
            with open(path, encoding="utf-8") as handle:
                cfg = json.load(handle)
        except (OSError, ValueError) as exc:
            module.fail_json(msg=f"cannot read the backup settings {path}: {exc}")
    missing = [key for key in ("host", "repository", "password_file") if not cfg.get(key)]
    if missing:
        module.fail_json(msg=f"the backup settings have no {', '.join(missing)}")
    return cfg


DRILL_OPTIONS = {
    "files_enabled": {"type": "bool", "default": True},
    "database_enabled": {"type": "bool", "default": True},
    "database": {"type": "str", "default": "wordpress"},
    "scratch_dir": {"type": "path", "default": "/var/tmp/omctl-restore-drill"},
    "scratch_database": {"type": "str", "default": "omctl_restore_drill"},
    "space_margin_percent": {"type": "int", "default": 10},
    "check_subset": {"type": "str", "default": ""},
    "site_port": {"type": "int", "default": 0},
}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "purpose": {"type": "str", "choices": ["backup", "restore_drill"], "default": "backup"},
            "config": {"type": "dict"},
            "config_file": {"type": "path"},
            "password": {"type": "str", "default": "", "no_log": True},
            "pending": {"type": "list", "elements": "str", "default": []},
            "absent": {"type": "bool", "default": False},
            "drill": {"type": "dict", "default": {}, "options": DRILL_OPTIONS},
            "restic": {"type": "str", "default": "restic"},
            "timeout": {"type": "int", "default": 600},
        },
        mutually_exclusive=[("config", "config_file")],
        required_one_of=[("config", "config_file")],
        supports_check_mode=True,
    )
    cfg = load_settings(module)
    have_restic = shutil.which(module.params["restic"], path=ENV_PATH) is not None
    now = datetime.fromtimestamp(time.time(), UTC)
    result = probe(module.params, cfg, now, have_restic, socket.gethostname())
    for notice in result["notices"]:
        module.warn(notice)
    module.exit_json(changed=False, msg=result["error"] or "ok", **result)


if __name__ == "__main__":
    main()
