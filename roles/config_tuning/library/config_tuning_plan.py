#!/usr/bin/python
"""Measure a web server (memory, cores, open files, PHP-FPM worker size, current settings) and
plan its nginx, PHP-FPM, MariaDB and kernel settings from what was measured.

Plain Python (standard library only): the sizing functions import without Ansible, so the unit
tests run the very code the host runs. Only ``main()`` talks to Ansible.
"""

# Ansible modules document themselves before their imports.

from __future__ import annotations

DOCUMENTATION = r"""
module: config_tuning_plan
short_description: Size nginx, PHP-FPM, MariaDB and sysctls from what a host has
description:
  - Measures the host (read-only) - memory (the cgroup limit when one is set, else MemTotal),
    usable cores (CPU affinity and cgroup quota), the open files limit of the nginx master
    (else its own), the average resident size of the PHP-FPM pool workers - and reads the
    current value of every setting it plans.
  - Plans every setting from the measurements and the sizing policy; a figure given in
    O(overrides) is taken as it is (the daemons' own checks judge it later).
  - Upload limits are never planned lower than they are now, and are kept consistent
    (C(upload_max_filesize) <= C(post_max_size) <= C(client_max_body_size)).
  - Changes nothing; runs the same in check mode.
options:
  php_version:
    description:
      - PHP version of the FPM service (C(8.2)); empty to detect the installed one.
      - Returned, with the O(files) that name it as C({php}) and the concerns left (without
        PHP-FPM, none of PHP).
    type: str
    default: ""
  php_pool:
    description: Name of the PHP-FPM pool that serves the site.
    type: str
    default: www
  nginx_conf:
    description: Main nginx configuration file.
    type: path
    default: /etc/nginx/nginx.conf
  nginx_vhost:
    description:
      - The site's server configuration; empty when it is not managed.
      - Returned as C(vhost), the file behind a link, or empty when it does not exist.
    type: str
    default: ""
  files:
    description:
      - Paths of the managed files by group (C(nginx), C(php_pool), C(php_ini), C(mariadb),
        C(sysctl)), for the table of settings.
    type: dict
    required: true
  policy:
    description: Sizing policy (see the role's defaults).
    type: dict
    default: {}
  overrides:
    description: Figures set by the operator, by setting name; taken as they are.
    type: dict
    default: {}
  warm_url:
    description:
      - URL requested once when no pool worker runs (C(ondemand) pools after a quiet spell), so
        that a worker is measured after serving a page; empty to fall back to the policy's size.
    type: str
    default: ""
  concerns:
    description: Concerns to plan (C(nginx), C(php), C(mariadb), C(sysctl)).
    type: list
    elements: str
    default: [nginx, php, mariadb, sysctl]
author: omctl maintainers
"""

RETURN = r"""
measured:
  description: What the host has.
  returned: always
  type: dict
  sample: {"memory_mb": 1536, "memory_source": "cgroup v1 limit", "cores": 2,
           "nofile_hard": 20000, "php_worker_rss_mb": 37.4, "php_workers": 2}
values:
  description: Every planned setting by name, as written to the files.
  returned: always
  type: dict
settings:
  description: One entry per setting with its file, old value and new value.
  returned: always
  type: list
  elements: dict
problems:
  description: Inconsistent figures that stop the run before anything is written.
  returned: always
  type: list
  elements: str
"""

import contextlib
import glob
import itertools
import math
import os
import re
import resource
import subprocess
import urllib.request
from typing import Any

MIB = 1024 * 1024
DEFAULT_POLICY: dict[str, Any] = {
    # RAM kept for the system (kernel, sshd, cron, nginx): the larger of the two.
    "system_reserve_min_mb": 256,
    "system_reserve_share": 0.10,
    # MariaDB: buffer pool as a share of RAM, plus what it needs beyond the pool.
    "mariadb_buffer_pool_share": 0.25,
    "mariadb_overhead_mb": 256,
    # Connections beyond one per PHP-FPM worker (cron, admin, backups).
    "mariadb_connections_spare": 30,
    # PHP-FPM worker size: measured; this floor guards against idle, freshly started workers,
    # and the fallback applies when no worker runs (ondemand).
    "php_worker_rss_min_mb": 32,
    "php_worker_rss_fallback_mb": 64,
    "php_max_children_max": 256,
    # A planned pm.max_children this close to the one in force keeps the one in force: worker
    # sizes vary from run to run, the pool should not.
    "php_children_tolerance": 0.2,
    # Below this much RAM, pm = ondemand (idle workers exit), else dynamic.
    "php_ondemand_below_mb": 2048,
    "php_max_requests": 500,
    "php_memory_limit_mb": 256,
    "php_upload_mb": 64,
    "php_max_execution_time": 60,
    "opcache_memory_mb": 128,
    "opcache_memory_small_mb": 64,  # below 2 GiB of RAM
    "opcache_interned_strings_mb": 16,
    "opcache_max_accelerated_files": 10000,
    "nginx_worker_connections_max": 4096,
    "somaxconn": 4096,
    "swappiness": 10,
}


# --- measuring ---------------------------------------------------------------------------------


def read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except OSError:
        return None


def memory_mb(meminfo: str, cgroup_v2: str | None, cgroup_v1: str | None) -> tuple[int, str]:
    """RAM in MiB: the cgroup memory limit when one is set and below MemTotal, else MemTotal."""
    match = re.search(r"^MemTotal:\s+(\d+)\s+kB", meminfo, re.MULTILINE)
    if not match:
        raise ValueError("no MemTotal in /proc/meminfo")
    total = int(match[1]) * 1024
    for raw, source in ((cgroup_v2, "cgroup v2 memory.max"), (cgroup_v1, "cgroup v1 limit")):
        value = (raw or "").strip()
        if value.isdigit() and 0 < int(value) < total:
            return int(value) // MIB, source
    return total // MIB, "MemTotal"


def usable_cores(affinity: int, quota: str | None, period: str | None = None) -> int:
    """CPUs the host may use: its affinity, capped by a cgroup CPU quota when one is set.

    ``quota`` is cgroup v2's cpu.max ("max 100000" or "200000 100000"), or cgroup v1's
    cfs_quota_us with ``period`` its cfs_period_us.
    """
    fields = (quota or "").split()
    if len(fields) == 2:  # v2
        quota, period = fields
    try:
        limit, length = int(quota or "-1"), int(period or "0")
    except ValueError:
        return max(1, affinity)
    if limit > 0 and length > 0:
        return max(1, min(affinity, math.ceil(limit / length)))
    return max(1, affinity)


def process_nofile(pid_file: str) -> tuple[int, int] | None:
    """Soft and hard open files limits of the process named by a pid file."""
    pid = (read(pid_file) or "").strip()
    limits = read(f"/proc/{pid}/limits") if pid.isdigit() else None
    for line in (limits or "").splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            cap = 1 << 20
            return (
                int(soft) if soft.isdigit() else cap,
                int(hard) if hard.isdigit() else cap,
            )
    return None


# A worker that has rendered a page has used CPU time; a spare one that never served has not.
SERVED_TICKS = 3


def pool_workers(ps_output: str, ticks: dict[int, int] | None = None) -> list[tuple[int, int]]:
    """(RSS in KiB, CPU ticks used) of each pool worker in ``ps -o pid=,rss=,args=`` output;
    the master is left out. ``ticks`` maps pids to their CPU ticks (utime + stime)."""
    workers = []
    for line in ps_output.splitlines():
        fields = line.split(None, 2)
        if len(fields) < 3 or "pool " not in fields[2]:
            continue
        if fields[0].isdigit() and fields[1].isdigit():
            workers.append((int(fields[1]), (ticks or {}).get(int(fields[0]), 0)))
    return workers


def worker_rss_mb(workers: list[tuple[int, int]]) -> tuple[float | None, int, bool]:
    """Average RSS (MiB) of the workers that served requests, else of all of them; how many were
    averaged and whether they had served. None when no worker runs.

    Idle spare workers that never rendered a page are smaller than working ones: sizing on them
    would overfill the memory, and would change from run to run with the pool's state.
    """
    served = [rss for rss, used in workers if used >= SERVED_TICKS]
    sizes = served or [rss for rss, _ in workers]
    if not sizes:
        return None, 0, False
    return round(sum(sizes) / len(sizes) / 1024, 1), len(sizes), bool(served)


def cpu_ticks(pid: int) -> int:
    """utime + stime of a process, in clock ticks (0 when it is gone)."""
    stat = read(f"/proc/{pid}/stat") or ""
    fields = stat.rsplit(")", 1)[-1].split()
    try:
        return int(fields[11]) + int(fields[12])
    except (IndexError, ValueError):
        return 0


def list_pool_workers(version: str) -> list[tuple[int, int]]:
    out = run(["ps", "-o", "pid=,rss=,args=", "-C", f"php-fpm{version}"])[1]
    pids = [int(line.split()[0]) for line in out.splitlines() if line.split()[:1] != []]
    return pool_workers(out, {pid: cpu_ticks(pid) for pid in pids if pid > 0})


def run(argv: list[str], timeout: int = 30) -> tuple[int, str, str]:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, check=False,
            env={**os.environ, "LC_ALL": "C"},
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, "", str(exc)
    return done.returncode, done.stdout, done.stderr


def warm(url: str) -> None:
    """One request to the site, so that an on-demand pool starts a worker; errors are ignored
    (the sizing then falls back)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(url, headers={"User-Agent": "omctl-config-tuning"})
    with contextlib.suppress(OSError, ValueError), opener.open(request, timeout=10) as answer:
        answer.read(1 << 20)


def detect_php_version() -> str:
    versions = sorted(
        (path.rsplit("php-fpm", 1)[1] for path in glob.glob("/usr/sbin/php-fpm[0-9]*")),
        key=lambda v: [int(p) for p in v.split(".") if p.isdigit()],
    )
    return versions[-1] if versions else ""


# --- reading current values --------------------------------------------------------------------


def nginx_directives(text: str) -> dict[str, str]:
    """Main, events and http level directives of an nginx file (the first of each name), and
    directives of server blocks under a 'server.' prefix. Comments are ignored."""
    found: dict[str, str] = {}
    depth: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        opened = re.match(r"^([a-z_]+)\b[^;{]*\{\s*$", line)
        if opened:
            depth.append(opened[1])
            continue
        if line == "}":
            if depth:
                depth.pop()
            continue
        match = re.match(r"^([a-z_]+)\s+(.*?);\s*$", line)
        if not match:
            continue
        blocks = [b for b in depth if b in ("server", "location")]
        if "location" in blocks:
            continue
        key = ("server." if blocks else "") + match[1]
        found.setdefault(key, match[2].strip())
    return found


def pool_values(files: list[str], pool: str) -> dict[str, str]:
    """Settings of one PHP-FPM pool across its files, later files winning (as php-fpm reads)."""
    values: dict[str, str] = {}
    for path in files:
        section = None
        for raw in (read(path) or "").splitlines():
            line = raw.strip()
            if not line or line[0] in ";#":
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1].strip()
                continue
            if section == pool and "=" in line:
                name, value = (part.strip() for part in line.split("=", 1))
                values[name] = value
    return values


def php_ini_values(php_info: str) -> dict[str, str]:
    """``name => local => master`` lines of ``php-fpmX.Y -i``: the local value of each."""
    values: dict[str, str] = {}
    for line in php_info.splitlines():
        parts = [p.strip() for p in line.split("=>")]
        if len(parts) == 3 and re.fullmatch(r"[a-z_][a-z0-9_.]*", parts[0]):
            values.setdefault(parts[0], parts[1])
    return values


def quantity_mb(value: str | None, bare_unit: int = 1) -> float | None:
    """'64M', '2g', '512k', '134217728' as MiB; a bare number counts in bytes times bare_unit."""
    text = (value or "").strip().lower()
    match = re.fullmatch(r"(\d+)\s*([kmg]?)b?", text)
    if not match:
        return None
    number = int(match[1])
    factor = {"": bare_unit, "k": 1024, "m": MIB, "g": 1024 * MIB}[match[2]]
    return number * factor / MIB


def bytes_label(value: int) -> str:
    """134217728 -> '128M' (exact MiB or GiB), else the number."""
    if value and value % (1024 * MIB) == 0:
        return f"{value // (1024 * MIB)}G"
    if value and value % MIB == 0:
        return f"{value // MIB}M"
    return str(value)


# --- planning ----------------------------------------------------------------------------------


def php_children(available_mb: float, worker_mb: float, policy: dict[str, Any]) -> int:
    """pm.max_children: the memory PHP-FPM may use over a worker's size, within bounds."""
    children = int(available_mb // worker_mb) if worker_mb > 0 else 2
    return max(2, min(children, int(policy["php_max_children_max"])))


def php_pool(children: int, ram_mb: int, policy: dict[str, Any]) -> dict[str, Any]:
    """pm and the spare servers for a pool of ``children`` workers."""
    pm = "ondemand" if ram_mb < int(policy["php_ondemand_below_mb"]) else "dynamic"
    min_spare = max(1, children // 8)
    start = max(min_spare, children // 4)
    max_spare = max(start, children // 2)
    return {
        "pm": pm,
        "pm.max_children": children,
        "pm.start_servers": start,
        "pm.min_spare_servers": min_spare,
        "pm.max_spare_servers": max_spare,
    }


def plan(  # noqa: PLR0915 - one sizing rule after the other, kept in reading order
    measured: dict[str, Any],
    current: dict[str, Any],
    policy: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Every setting's new value (overrides win) and the problems that must stop the run.

    ``measured``: memory_mb, cores, nofile_hard, php_worker_rss_mb (None: no worker ran).
    ``current``: the values in force, by setting name (strings as configured).
    """
    p = {**DEFAULT_POLICY, **(policy or {})}
    o = {k: v for k, v in (overrides or {}).items() if v is not None}
    ram = int(o.get("memory_mb") or measured["memory_mb"])
    cores = int(o.get("cpu_cores") or measured["cores"])
    values: dict[str, Any] = {}

    # MariaDB: a share of RAM, in whole 128 MiB chunks (InnoDB rounds the pool to them).
    pool_mb = max(128, int(ram * float(p["mariadb_buffer_pool_share"]) // 128 * 128))
    values["innodb_buffer_pool_size"] = o.get("innodb_buffer_pool_size", f"{pool_mb}M")
    pool_in_force = quantity_mb(str(values["innodb_buffer_pool_size"]), bare_unit=1) or pool_mb

    # PHP-FPM: what is left after the system, MariaDB and the opcache, per worker.
    opcache_mb = int(
        o.get(
            "opcache.memory_consumption",
            p["opcache_memory_mb"] if ram >= 2048 else p["opcache_memory_small_mb"],
        )
    )
    reserve = max(float(p["system_reserve_min_mb"]), ram * float(p["system_reserve_share"]))
    mariadb_mb = pool_in_force + float(p["mariadb_overhead_mb"])
    available = ram - reserve - mariadb_mb - opcache_mb
    measured_rss = measured.get("php_worker_rss_mb")
    worker = float(
        o.get("php_worker_rss_mb")
        or max(
            float(p["php_worker_rss_min_mb"]),
            measured_rss if measured_rss is not None else float(p["php_worker_rss_fallback_mb"]),
        )
    )
    sized_children = children = php_children(available, worker, p)
    now = str(current.get("pm.max_children", ""))
    tolerance = float(p["php_children_tolerance"])
    if now.isdigit() and int(now) > 0 and abs(children - int(now)) <= tolerance * int(now):
        children = int(now)
    php = php_pool(children, ram, p)
    for name, value in php.items():
        values[name] = o.get(name, value)
    if values["pm"] != "dynamic":  # spare servers are a setting of dynamic pools only
        for name in ("pm.start_servers", "pm.min_spare_servers", "pm.max_spare_servers"):
            if name not in o:
                values[name] = None
    values["pm.max_requests"] = o.get("pm.max_requests", p["php_max_requests"])
    values["__sizing"] = {
        "ram_mb": ram,
        "cores": cores,
        "system_reserve_mb": round(reserve),
        "mariadb_mb": round(mariadb_mb),
        "opcache_mb": opcache_mb,
        "available_mb": round(available),
        "worker_rss_mb": worker,
        "children_sized": sized_children,
        "children_kept": php["pm.max_children"] != sized_children,
    }
    children = values["pm.max_children"]
    values["max_connections"] = o.get(
        "max_connections",
        max(
            int(children) + int(p["mariadb_connections_spare"])
            if str(children).lstrip("-").isdigit()
            else 151,
            50,
        ),
    )

    # Opcache.
    values["opcache.enable"] = o.get("opcache.enable", 1)
    values["opcache.memory_consumption"] = opcache_mb
    values["opcache.interned_strings_buffer"] = o.get(
        "opcache.interned_strings_buffer", p["opcache_interned_strings_mb"]
    )
    values["opcache.max_accelerated_files"] = o.get(
        "opcache.max_accelerated_files", p["opcache_max_accelerated_files"]
    )

    # WordPress limits: never lower than now; upload <= post <= client_max_body_size.
    def at_least(floor: float, current_value: float | None) -> int:
        return int(max(floor, math.ceil(current_value or 0)))

    memory_now = quantity_mb(current.get("memory_limit"))
    values["memory_limit"] = o.get(
        "memory_limit", f"{at_least(p['php_memory_limit_mb'], memory_now)}M"
    )
    upload = at_least(p["php_upload_mb"], quantity_mb(current.get("upload_max_filesize")))
    values["upload_max_filesize"] = o.get("upload_max_filesize", f"{upload}M")
    upload_mb = quantity_mb(str(values["upload_max_filesize"])) or upload
    post = at_least(math.ceil(upload_mb) + 8, quantity_mb(current.get("post_max_size")))
    values["post_max_size"] = o.get("post_max_size", f"{post}M")
    post_mb = quantity_mb(str(values["post_max_size"])) or post
    body_now = quantity_mb(current.get("client_max_body_size") or "1m")
    body = at_least(math.ceil(post_mb), body_now)
    values["client_max_body_size"] = o.get("client_max_body_size", f"{body}m")
    execution_now = current.get("max_execution_time")
    execution = max(
        int(p["php_max_execution_time"]),
        int(execution_now) if str(execution_now or "").isdigit() else 0,
    )
    values["max_execution_time"] = o.get("max_execution_time", execution)
    timeout = (
        int(values["max_execution_time"]) + 30
        if str(values["max_execution_time"]).isdigit()
        else 90
    )
    values["request_terminate_timeout"] = o.get("request_terminate_timeout", f"{timeout}s")
    values["fastcgi_read_timeout"] = o.get("fastcgi_read_timeout", f"{timeout}s")

    # nginx: a worker per core; connections within half the open files limit (a proxied
    # request holds two descriptors), capped.
    values["worker_processes"] = o.get("worker_processes", cores)
    connections = max(
        512, min(int(p["nginx_worker_connections_max"]), int(measured["nofile_hard"]) // 2)
    )
    values["worker_connections"] = o.get("worker_connections", connections)
    try:
        rlimit_default = min(int(values["worker_connections"]) * 2, int(measured["nofile_hard"]))
    except (TypeError, ValueError):
        rlimit_default = int(measured["nofile_hard"])
    values["worker_rlimit_nofile"] = o.get("worker_rlimit_nofile", rlimit_default)

    # Kernel: never lower the listen backlog than the kernel has.
    somaxconn_now = current.get("net.core.somaxconn")
    values["net.core.somaxconn"] = o.get(
        "net.core.somaxconn",
        max(int(p["somaxconn"]), int(somaxconn_now) if str(somaxconn_now).isdigit() else 0),
    )
    values["vm.swappiness"] = o.get("vm.swappiness", p["swappiness"])

    problems: list[str] = []
    sizes = [
        ("upload_max_filesize", quantity_mb(str(values["upload_max_filesize"]))),
        ("post_max_size", quantity_mb(str(values["post_max_size"]))),
        ("client_max_body_size", quantity_mb(str(values["client_max_body_size"]))),
    ]
    for (low, low_mb), (high, high_mb) in itertools.pairwise(sizes):
        if low_mb is not None and high_mb is not None and low_mb > high_mb:
            problems.append(
                f"{low} ({values[low]}) is larger than {high} ({values[high]}): "
                "uploads of that size would be refused"
            )
    return values, problems


# Which file and section each setting lives in, by concern.
SETTINGS: dict[str, tuple[str, ...]] = {
    "nginx": (
        "worker_processes",
        "worker_rlimit_nofile",
        "worker_connections",
        "client_max_body_size",
        "fastcgi_read_timeout",
    ),
    "php_pool": (
        "pm",
        "pm.max_children",
        "pm.start_servers",
        "pm.min_spare_servers",
        "pm.max_spare_servers",
        "pm.max_requests",
        "request_terminate_timeout",
    ),
    "php_ini": (
        "memory_limit",
        "upload_max_filesize",
        "post_max_size",
        "max_execution_time",
        "opcache.enable",
        "opcache.memory_consumption",
        "opcache.interned_strings_buffer",
        "opcache.max_accelerated_files",
    ),
    "mariadb": ("innodb_buffer_pool_size", "max_connections"),
    "sysctl": ("net.core.somaxconn", "vm.swappiness"),
}
CONCERN_OF = {"nginx": "nginx", "php_pool": "php", "php_ini": "php", "mariadb": "mariadb",
              "sysctl": "sysctl"}  # fmt: skip


def settings_table(
    values: dict[str, Any],
    current: dict[str, Any],
    files: dict[str, str],
    concerns: list[str],
    where: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One row per setting: file, name, old (as in force now, None when unset: the daemon's
    default) and new. ``where`` names the file of a setting that is not in its group's file."""
    rows = []
    for group, names in SETTINGS.items():
        if CONCERN_OF[group] not in concerns:
            continue
        for name in names:
            old = current.get(name)
            rows.append(
                {
                    "file": (where or {}).get(name) or files.get(group, ""),
                    "name": name,
                    "old": None if old is None else str(old),
                    "new": None if values[name] is None else str(values[name]),
                }
            )
    return rows


def nginx_locations(
    main_conf: dict[str, str], vhost: dict[str, str], files: dict[str, str], vhost_path: str
) -> dict[str, str]:
    """The file each nginx setting is written to: main and events level ones in nginx.conf,
    http level ones where nginx.conf or the site set them, else the snippet."""
    where = {name: files.get("nginx_main", "") for name in SETTINGS["nginx"][:3]}
    for name in SETTINGS["nginx"][3:]:
        if name == "client_max_body_size" and f"server.{name}" in vhost:
            where[name] = vhost_path
        elif name in main_conf:
            where[name] = files.get("nginx_main", "")
    return where


def measure(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:  # noqa: PLR0915
    """What the host has and the values in force now."""
    memory, source = memory_mb(
        read("/proc/meminfo") or "",
        read("/sys/fs/cgroup/memory.max"),
        read("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
    )
    cpu_max = read("/sys/fs/cgroup/cpu.max")
    if cpu_max is not None:
        cores = usable_cores(len(os.sched_getaffinity(0)), cpu_max)
    else:
        cores = usable_cores(
            len(os.sched_getaffinity(0)),
            read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us"),
            read("/sys/fs/cgroup/cpu/cpu.cfs_period_us"),
        )
    nginx_limits = process_nofile("/run/nginx.pid")
    own_soft, own_hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    measured: dict[str, Any] = {
        "memory_mb": memory,
        "memory_source": source,
        "cores": cores,
        "nofile_hard": nginx_limits[1] if nginx_limits else own_hard,
        "nofile_source": "nginx master" if nginx_limits else "ulimit -Hn",
        "ulimit_n": own_soft,
    }
    current: dict[str, Any] = {}

    version = params.get("php_version") or ""
    measured["php_version"] = version
    if version:
        rss, workers, served = worker_rss_mb(list_pool_workers(version))
        warmed = False
        if not served and params.get("warm_url"):
            # No worker has served yet (a quiet or just reloaded pool): have one render a page.
            warm(params["warm_url"])
            warmed = True
            rss, workers, served = worker_rss_mb(list_pool_workers(version))
        if rss is None:
            source = "no worker ran: the policy's fallback"
        else:
            kind = "that served requests" if served else "idle"
            source = f"{workers} worker(s) {kind}" + (", after a request" if warmed else "")
        measured["php_worker_rss_source"] = source
        measured["php_worker_rss_mb"] = rss
        measured["php_workers"] = workers
        rc, out, _err = run([f"/usr/sbin/php-fpm{version}", "-i"])
        if rc == 0:
            ini = php_ini_values(out)
            for name in SETTINGS["php_ini"]:
                if name in ini:
                    # php -i shows booleans as On/Off; the file takes 1/0.
                    current[name] = {"On": "1", "Off": "0"}.get(ini[name], ini[name])
        pool_files = sorted(glob.glob(f"/etc/php/{version}/fpm/pool.d/*.conf"))
        pool = pool_values(pool_files, params.get("php_pool") or "www")
        for name in SETTINGS["php_pool"]:
            if name in pool:
                current[name] = pool[name]
    else:
        measured["php_worker_rss_mb"] = None
        measured["php_workers"] = 0

    main_conf = nginx_directives(read(params.get("nginx_conf") or "/etc/nginx/nginx.conf") or "")
    vhost = nginx_directives(read(params["nginx_vhost"]) or "") if params.get("nginx_vhost") else {}
    snippet_path = (params.get("files") or {}).get("nginx")
    snippet = nginx_directives(read(snippet_path) or "") if snippet_path else {}
    for name in SETTINGS["nginx"]:
        value = vhost.get(f"server.{name}") or main_conf.get(name) or snippet.get(name)
        if value is not None:
            current[name] = value
    # http-level directives nginx.conf sets itself: edited there, not repeated in the snippet.
    measured["nginx_main_http"] = [
        name for name in ("client_max_body_size", "fastcgi_read_timeout") if name in main_conf
    ]
    measured["nginx_where"] = nginx_locations(
        main_conf, vhost, params.get("files") or {}, params.get("nginx_vhost") or ""
    )

    rc, out, _err = run(
        ["mariadb", "-NBe", "SELECT @@innodb_buffer_pool_size, @@max_connections"], timeout=15
    )
    if rc == 0 and len(out.split()) == 2:
        pool_bytes, connections = out.split()
        current["innodb_buffer_pool_size"] = bytes_label(int(pool_bytes))
        current["max_connections"] = connections
    for name, path in (
        ("net.core.somaxconn", "/proc/sys/net/core/somaxconn"),
        ("vm.swappiness", "/proc/sys/vm/swappiness"),
    ):
        value = (read(path) or "").strip()
        if value:
            current[name] = value
    return measured, current


def resolve(params: dict[str, Any]) -> dict[str, Any]:
    """The installed PHP version when none is given, the managed files with it (``{php}`` in
    their paths), the site's server file behind its link ("" when missing), and the concerns
    left (no PHP-FPM, no php concern)."""
    version = params.get("php_version") or detect_php_version()
    vhost = params.get("nginx_vhost") or ""
    vhost = os.path.realpath(vhost) if vhost and os.path.isfile(vhost) else ""
    concerns = [c for c in params.get("concerns") or [] if c != "php" or version]
    files = {k: str(v).replace("{php}", version) for k, v in (params.get("files") or {}).items()}
    return {**params, "php_version": version, "nginx_vhost": vhost, "files": files,
            "concerns": concerns}  # fmt: skip


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(
        argument_spec={
            "php_version": {"type": "str", "default": ""},
            "php_pool": {"type": "str", "default": "www"},
            "nginx_conf": {"type": "path", "default": "/etc/nginx/nginx.conf"},
            "nginx_vhost": {"type": "str", "default": ""},
            "files": {"type": "dict", "required": True},
            "policy": {"type": "dict", "default": {}},
            "overrides": {"type": "dict", "default": {}},
            "warm_url": {"type": "str", "default": ""},
            "concerns": {
                "type": "list",
                "elements": "str",
                "default": ["nginx", "php", "mariadb", "sysctl"],
            },
        },
        supports_check_mode=True,
    )
    params = resolve(dict(module.params))
    try:
        measured, current = measure(params)
        values, problems = plan(measured, current, params["policy"], params["overrides"])
    except (ValueError, KeyError) as exc:
        module.fail_json(msg=f"cannot size this host: {exc}")
    measured["sizing"] = values.pop("__sizing")
    where = measured.pop("nginx_where")
    module.exit_json(
        changed=False,
        php_version=params["php_version"],
        vhost=params["nginx_vhost"],
        files=params["files"],
        concerns=params["concerns"],
        measured=measured,
        nginx_main_http=measured.pop("nginx_main_http"),
        current=current,
        values=values,
        settings=settings_table(values, current, params["files"], params["concerns"], where),
        problems=problems,
    )


if __name__ == "__main__":
    main()
