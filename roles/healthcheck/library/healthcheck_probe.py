#!/usr/bin/python
"""Read-only probe of the healthcheck role: the services and the disk and inode use of a host,
judged on the host, in one round trip."""

from __future__ import annotations

DOCUMENTATION = r"""
module: healthcheck_probe
short_description: Check the services and the disk and inode use of a host, changing nothing
description:
  - One round trip instead of a command per question and a loop on the controller per answer,
    which keeps the healthcheck of a fleet short.
  - Services (O(services_enabled)) come from C(systemctl list-unit-files --type=service) (asked
    for the units of O(services), O(services_extra) and C(php*-fpm) only); those
    of O(services) that are installed, every installed C(php*-fpm) unit when O(services_php_fpm),
    and every one of O(services_extra) are checked with one C(systemctl is-active). A unit that is
    not installed is C(not installed); one systemd gave no answer for is C(in an unknown state).
    When the units cannot be listed, that is a failed check named C(services).
  - Disk and inode use come from one C(df --output=pcent,ipcent,target) (its percentages and
    its choice among duplicate mounts), leaving out the filesystems of O(ignore_fstypes);
    filesystems without an inode table (C(-)) have no inode check.
  - The commands run with the C locale and a full sbin PATH, each for at most O(timeout) seconds
    (a hung network mount must not hang the health gate). C(df) not answering, or answering no
    filesystem, fails the module (with the service checks returned all the same).
  - Changes nothing, in check mode or not.
options:
  services_enabled:
    description: Check the services.
    type: bool
    default: false
  services:
    description: Services checked where their unit is installed (C(.service) may be left out).
    type: list
    elements: str
    default: []
  services_php_fpm:
    description: Also check every installed C(php*-fpm) unit.
    type: bool
    default: false
  services_extra:
    description: Services that must be installed and active.
    type: list
    elements: str
    default: []
  disk_enabled:
    description: Check the disk space use of each filesystem.
    type: bool
    default: false
  disk_max_percent:
    description: Highest acceptable disk use, in percent.
    type: int
    default: 90
  inode_enabled:
    description: Check the inode use of each filesystem.
    type: bool
    default: false
  inode_max_percent:
    description: Highest acceptable inode use, in percent.
    type: int
    default: 90
  ignore_fstypes:
    description: Filesystem types left out of the disk and inode checks.
    type: list
    elements: str
    default: []
  timeout:
    description: Seconds each command may take.
    type: int
    default: 60
author: omctl
"""

EXAMPLES = r"""
- name: Check the services and the disks
  healthcheck_probe:
    services_enabled: true
    services: [ssh, nginx]
    services_php_fpm: true
    disk_enabled: true
    inode_enabled: true
    ignore_fstypes: [tmpfs, devtmpfs]
  register: probed
"""

RETURN = r"""
services:
  description: The service checks (C(name), C(ok), C(detail)) in the order of O(services), the
    PHP-FPM units, O(services_extra), each unit once; empty when O(services_enabled) is false.
  returned: always
  type: list
  elements: dict
  sample: [{name: service nginx, ok: false, detail: service nginx is inactive}]
disk:
  description: The disk checks of every filesystem C(df) reports, then their inode checks.
  returned: always
  type: list
  elements: dict
  sample: [{name: disk /, ok: true, detail: "disk / is 41% full (max 90%)"},
           {name: inodes /, ok: true, detail: "inodes on / are 3% used (max 90%)"}]
"""

import re
import subprocess
from collections.abc import Callable
from typing import NamedTuple

from ansible.module_utils.basic import AnsibleModule

ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
PHP_FPM = re.compile(r"^php[0-9.]*-fpm\.service$")
PERCENT = re.compile(r"^[0-9]+%$")
GLOB = "*?[\\"


class Answer(NamedTuple):
    """What a command answered; ``err`` also says why it could not run."""

    rc: int
    out: str = ""
    err: str = ""


Run = Callable[..., Answer]


class ProbeFailed(Exception):
    """The host could not be measured at all (the module fails with this message)."""


def run(*argv: str, timeout: int = 60) -> Answer:
    """A read-only command; one that cannot start or exceeds ``timeout`` answers rc 127."""
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=ENV,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Answer(127, err=f"{argv[0]} did not answer within {timeout} s")
    except OSError as error:
        return Answer(127, err=str(error))
    return Answer(done.returncode, done.stdout, done.stderr)


def unit_name(service: str) -> str:
    return service if service.endswith(".service") else f"{service}.service"


def service_checks(params: dict, run: Run = run) -> list[dict]:
    wanted = [unit_name(s) for s in params["services"]]
    extra = [unit_name(s) for s in params["services_extra"]]
    # Listing only the units asked about (and the PHP-FPM ones) spares systemd working out the
    # state of every unit file: 0.03 s instead of 1 s per host. A name that would not match
    # itself as a pattern lists them all.
    patterns = [*wanted, *extra, *(["php*-fpm.service"] if params["services_php_fpm"] else [])]
    if any(char in name for name in wanted + extra for char in GLOB):
        patterns = []
    listed = run(
        "systemctl",
        "list-unit-files",
        "--type=service",
        "--no-legend",
        "--no-pager",
        "--plain",
        *patterns,
        timeout=params["timeout"],
    )
    # Patterns that match no unit file: exit 1, saying nothing.
    nothing_matched = bool(patterns) and listed.rc == 1 and not (listed.out + listed.err).strip()
    if listed.rc != 0 and not nothing_matched:
        reason = (listed.err or "non-zero return code").strip()
        return [
            {"name": "services", "ok": False, "detail": f"services could not be listed: {reason}"}
        ]
    installed = [line.split()[0] for line in listed.out.splitlines() if line.split()]
    wanted = [unit for unit in wanted if unit in installed]
    if params["services_php_fpm"]:
        wanted += [unit for unit in installed if PHP_FPM.match(unit)]
    units = list(dict.fromkeys(wanted + extra))
    # is-active prints one state per unit, in order (non-zero when any is down); a unit systemd
    # gave no answer for (bus error, timeout) is in an unknown state.
    states = (
        run("systemctl", "is-active", *units, timeout=params["timeout"]).out.splitlines()
        if units
        else []
    )
    checks = []
    for index, unit in enumerate(units):
        service = unit.removesuffix(".service")
        if unit not in installed:
            state = "not installed"
        else:
            state = states[index] if index < len(states) else "in an unknown state"
        checks.append(
            {
                "name": f"service {service}",
                "ok": state == "active",
                "detail": f"service {service} is {state}",
            }
        )
    return checks


def df_rows(stdout: str) -> list[tuple[str, str, str]]:
    """``(use%, inode use%, mount)`` per line of ``df --output=pcent,ipcent,target`` (the mount
    may contain spaces)."""
    rows = []
    for line in stdout.splitlines()[1:]:
        fields = line.split(None, 2)
        if len(fields) == 3:
            rows.append((fields[0], fields[1], fields[2]))
    return rows


def disk_checks(params: dict, run: Run = run) -> list[dict]:
    excludes = [f"--exclude-type={fstype}" for fstype in params["ignore_fstypes"]]
    df = run("df", "--output=pcent,ipcent,target", *excludes, timeout=params["timeout"])
    # df exits 1 when one mount is unreadable but still reports the others.
    rows = df_rows(df.out)
    if not rows:
        raise ProbeFailed(f"df reported no filesystem: {(df.err or 'rc ' + str(df.rc)).strip()}")
    checks = []
    if params["disk_enabled"]:
        detail = "disk {mount} is {percent}% full (max {limit}%)"
        checks += percent_checks(rows, 0, params["disk_max_percent"], "disk {mount}", detail)
    if params["inode_enabled"]:
        # Filesystems without a fixed inode table (btrfs, vfat) report "-": skipped.
        detail = "inodes on {mount} are {percent}% used (max {limit}%)"
        checks += percent_checks(rows, 1, params["inode_max_percent"], "inodes {mount}", detail)
    return checks


def percent_checks(
    rows: list[tuple[str, str, str]], column: int, limit: int, name: str, detail: str
) -> list[dict]:
    """A check per row whose ``column`` is a percentage, ok up to ``limit``."""
    checks = []
    for row in rows:
        if PERCENT.match(row[column]):
            values = {"mount": row[2], "percent": int(row[column][:-1]), "limit": limit}
            checks.append({"name": name.format(**values), "ok": values["percent"] <= limit,
                           "detail": detail.format(**values)})  # fmt: skip
    return checks


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "services_enabled": {"type": "bool", "default": False},
            "services": {"type": "list", "elements": "str", "default": []},
            "services_php_fpm": {"type": "bool", "default": False},
            "services_extra": {"type": "list", "elements": "str", "default": []},
            "disk_enabled": {"type": "bool", "default": False},
            "disk_max_percent": {"type": "int", "default": 90},
            "inode_enabled": {"type": "bool", "default": False},
            "inode_max_percent": {"type": "int", "default": 90},
            "ignore_fstypes": {"type": "list", "elements": "str", "default": []},
            "timeout": {"type": "int", "default": 60},
        },
        supports_check_mode=True,
    )
    params = module.params
    services = service_checks(params) if params["services_enabled"] else []
    try:
        disk = disk_checks(params) if params["disk_enabled"] or params["inode_enabled"] else []
    except ProbeFailed as error:
        # The service checks stay: a caller ignoring the failure (patching's gates) records them.
        module.fail_json(msg=str(error), changed=False, services=services, disk=[])
    module.exit_json(changed=False, services=services, disk=disk)


if __name__ == "__main__":
    main()
