#!/usr/bin/python
"""Read-only probes of the diagnose role: each concern's commands in one round trip."""

from __future__ import annotations

DOCUMENTATION = r"""
module: diagnose_probe
short_description: Read the units, disks, memory, listeners and packages of a host, changing nothing
description:
  - Runs the read-only commands of the asked O(probes) in one round trip, with the C locale and
    a full sbin PATH so that their output parses the same on every host, and returns each
    command's exit code and output; their error output is dropped.
  - C(units) lists the failed units, reads the state of those and of O(units), and the last
    O(unit_log_lines) journal lines of each one that is not active.
  - C(disk) runs C(df) on every filesystem but those of O(ignore_fstypes), and finds the
    filesystem holding C(/var/cache/apt) and the cache's size.
  - C(memory) reads C(/proc/meminfo) and the OOM killer's journal messages of the last
    O(since_hours) hours.
  - C(ports) and C(packages) read the listening sockets and the installed packages exactly as the
    baseline role does, so that both sides compare.
  - The output is parsed on the controller (filter_plugins/diagnose.py), but for the units,
    whose states decide which journals are read.
  - Changes nothing, in check mode or not.
options:
  probes:
    description: The concerns to read.
    type: list
    elements: str
    choices: [units, disk, memory, ports, packages]
    required: true
  units:
    description: Units read besides the failed ones (with their suffix, C(nginx.service)).
    type: list
    elements: str
    default: []
  unit_properties:
    description: The C(systemctl show) properties read.
    type: list
    elements: str
    default: [Id, LoadState, ActiveState, SubState, UnitFileState, Result]
  unit_log_lines:
    description: Journal lines read per unit that is not active.
    type: int
    default: 10
  df_fields:
    description: The C(df --output) fields.
    type: str
    default: source,fstype,size,used,avail,pcent,itotal,iused,iavail,ipcent,target
  ignore_fstypes:
    description: Filesystem types C(df) leaves out.
    type: list
    elements: str
    default: []
  since_hours:
    description: How far back the journal is searched for OOM kills.
    type: int
    default: 24
  oom_pattern:
    description: The C(journalctl --grep) pattern (case-insensitive) of the OOM killer's messages.
    type: str
    default: out of memory|oom-kill|oom_reaper|invoked oom-killer|killed by the oom killer
  journal_fields:
    description: The C(journalctl --output-fields) of the OOM messages.
    type: str
    default: MESSAGE,SYSLOG_IDENTIFIER,_SYSTEMD_UNIT,_COMM,PRIORITY
  timeout:
    description: Seconds each command may take (a hung network mount must not hang the diagnosis).
    type: int
    default: 50
author: omctl
"""

EXAMPLES = r"""
- name: Read the disks
  diagnose_probe:
    probes: [disk]
    ignore_fstypes: [tmpfs, devtmpfs]
  register: found
"""

RETURN = r"""
units:
  description:
    - C(failed) the failed units (null when C(systemctl list-units --failed) did not answer,
      with C(error) saying so), C(states) the C(systemctl show) state of those and of O(units)
      (C(unit), C(load), C(active), C(sub), C(enabled), C(result)), C(logs) the journal lines of
      each unit that is not active.
  returned: units in O(probes)
  type: dict
  sample:
    failed: [nginx.service]
    error: null
    states: [{unit: nginx.service, load: loaded, active: failed, sub: failed, enabled: enabled,
              result: exit-code}]
    logs: {nginx.service: ["2026-12-01T10:00:00+0000 web1 nginx[12]: bind() failed"]}
df:
  description: C(rc) and C(out) of C(df -B1 --output=O(df_fields)) (exit 1 when one mount is
    unreadable, with the others still reported).
  returned: disk in O(probes)
  type: dict
apt_cache_mount:
  description: The mount point of the filesystem holding C(/var/cache/apt), null when unknown.
  returned: disk in O(probes)
  type: str
apt_cache_bytes:
  description: The size of C(/var/cache/apt) in bytes, null when unknown.
  returned: disk in O(probes)
  type: int
meminfo:
  description: C(rc) (0, or 1 when unreadable) and C(out) of C(/proc/meminfo).
  returned: memory in O(probes)
  type: dict
oom:
  description: C(rc) and C(out) of C(journalctl --grep) for the OOM killer (C(-o json); rc 1
    when nothing matched).
  returned: memory in O(probes)
  type: dict
ss:
  description: C(rc) and C(out) of C(ss -Hltnup).
  returned: ports in O(probes)
  type: dict
dpkg:
  description: C(rc) and C(out) of C(dpkg-query --show) (status, package, version; tab separated).
  returned: packages in O(probes)
  type: dict
"""

import re
import subprocess
from collections.abc import Callable

from ansible.module_utils.basic import AnsibleModule

ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LC_ALL": "C",
    "SYSTEMD_COLORS": "0",
    "SYSTEMD_PAGER": "",
}
PROPERTIES = ["Id", "LoadState", "ActiveState", "SubState", "UnitFileState", "Result"]
OOM_PATTERN = "out of memory|oom-kill|oom_reaper|invoked oom-killer|killed by the oom killer"
DPKG_FORMAT = "--showformat=${db:Status-Abbrev}\t${binary:Package}\t${Version}\n"

Run = Callable[..., dict]


def run(*argv: str, timeout: int = 50) -> dict:
    """``{"rc": int, "out": stdout}`` of a read-only command; a missing tool or a timeout is 127."""
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
    except (OSError, subprocess.TimeoutExpired):
        return {"rc": 127, "out": ""}
    return {"rc": done.returncode, "out": done.stdout}


def failed_units(stdout: str) -> list[str]:
    """Unit names from ``systemctl list-units --failed --plain --no-legend``."""
    names = []
    for line in stdout.splitlines():
        # A leading status bullet may precede the name.
        fields = re.sub(r"^[^a-zA-Z0-9_@.\\-]+", "", line).split()
        if fields:
            names.append(fields[0])
    return sorted(set(names))


def unit_states(stdout: str) -> list[dict]:
    """Parse ``systemctl show -p Id,LoadState,ActiveState,SubState,UnitFileState,Result``."""
    units, current, seen = [], {}, set()
    for line in [*stdout.splitlines(), ""]:
        if not line.strip():
            if current.get("Id") and current["Id"] not in seen:
                seen.add(current["Id"])
                units.append(
                    {
                        "unit": current["Id"],
                        "load": current.get("LoadState", ""),
                        "active": current.get("ActiveState", ""),
                        "sub": current.get("SubState", ""),
                        "enabled": current.get("UnitFileState", ""),
                        "result": current.get("Result", ""),
                    }
                )
            current = {}
            continue
        key, _, value = line.partition("=")
        current[key.strip()] = value.strip()
    return units


def probe_units(params: dict, run: Run = run) -> dict:
    """The failed units, the state of those and of the asked ones, the journal of those down."""
    listed = run("systemctl", "list-units", "--failed", "--plain", "--no-legend", "--no-pager")
    failed = failed_units(listed["out"]) if listed["rc"] == 0 else None
    names = list(dict.fromkeys([*(failed or []), *params["units"]]))
    states = []
    if names:
        shown = run("systemctl", "show", "--property=" + ",".join(params["unit_properties"]),
                    "--", *names)  # fmt: skip
        states = unit_states(shown["out"])
    logs = {}
    for name in names:
        if run("systemctl", "is-active", "--quiet", "--", name)["rc"] == 0:
            continue
        journal = run("journalctl", "--unit", name, "--lines", str(params["unit_log_lines"]),
                      "--output", "short-iso", "--no-pager", "--quiet")  # fmt: skip
        logs[name] = journal["out"].strip("\n").splitlines()
    return {
        "failed": failed,
        "error": None if failed is not None else "systemctl list-units --failed did not answer",
        "states": states,
        "logs": logs,
    }


def probe_disk(params: dict, run: Run = run) -> dict:
    excludes = [f"--exclude-type={fstype}" for fstype in params["ignore_fstypes"]]
    timeout = params["timeout"]
    df = run("df", "-B1", f"--output={params['df_fields']}", *excludes, timeout=timeout)
    mount = run("df", "--output=target", "/var/cache/apt", timeout=timeout)
    size = run("du", "-sxB1", "/var/cache/apt", timeout=timeout)
    mount_lines = mount["out"].strip().splitlines()
    size_fields = size["out"].split()
    return {
        "df": df,
        "apt_cache_mount": mount_lines[-1] if mount["rc"] == 0 and mount_lines else None,
        "apt_cache_bytes": int(size_fields[0])
        if size["rc"] == 0 and size_fields and size_fields[0].isdigit()
        else None,
    }


def probe_memory(params: dict, run: Run = run, meminfo: str = "/proc/meminfo") -> dict:
    try:
        with open(meminfo, encoding="utf-8", errors="replace") as handle:
            memory = {"rc": 0, "out": handle.read()}
    except OSError:
        memory = {"rc": 1, "out": ""}
    oom = run("journalctl", f"--since=-{params['since_hours']}h", f"--grep={params['oom_pattern']}",
              "--case-sensitive=false", "--output=json",
              f"--output-fields={params['journal_fields']}", "--no-pager", "--quiet")  # fmt: skip
    return {"meminfo": memory, "oom": oom}


def probe(params: dict, run: Run = run) -> dict:
    """The asked probes, each under its own keys."""
    found: dict = {}
    if "units" in params["probes"]:
        found["units"] = probe_units(params, run)
    if "disk" in params["probes"]:
        found.update(probe_disk(params, run))
    if "memory" in params["probes"]:
        found.update(probe_memory(params, run))
    if "ports" in params["probes"]:
        found["ss"] = run("ss", "-Hltnup")
    if "packages" in params["probes"]:
        found["dpkg"] = run("dpkg-query", "--show", DPKG_FORMAT)
    return found


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "probes": {
                "type": "list",
                "elements": "str",
                "required": True,
                "choices": ["units", "disk", "memory", "ports", "packages"],
            },
            "units": {"type": "list", "elements": "str", "default": []},
            "unit_properties": {
                "type": "list",
                "elements": "str",
                "default": PROPERTIES,
            },
            "unit_log_lines": {"type": "int", "default": 10},
            "df_fields": {
                "type": "str",
                "default": "source,fstype,size,used,avail,pcent,itotal,iused,iavail,ipcent,target",
            },
            "ignore_fstypes": {"type": "list", "elements": "str", "default": []},
            "since_hours": {"type": "int", "default": 24},
            "oom_pattern": {"type": "str", "default": OOM_PATTERN},
            "journal_fields": {
                "type": "str",
                "default": "MESSAGE,SYSLOG_IDENTIFIER,_SYSTEMD_UNIT,_COMM,PRIORITY",
            },
            "timeout": {"type": "int", "default": 50},
        },
        supports_check_mode=True,
    )
    module.exit_json(changed=False, **probe(module.params))


if __name__ == "__main__":
    main()
