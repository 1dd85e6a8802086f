"""Parsers and the analysis of the diagnose role: probe output in, findings out.

They run on the controller on what library/diagnose_probe.py read on the host. Every
parser is tolerant: a line it does not understand is skipped, never fatal.
"""

from __future__ import annotations

import importlib.util
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any


def _load_baseline_parsers() -> ModuleType:
    """The baseline role's parsers: the current state must be read exactly as it was then."""
    path = Path(__file__).resolve().parents[2] / "baseline" / "filter_plugins" / "baseline.py"
    spec = importlib.util.spec_from_file_location("omctl_baseline_parsers", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the baseline role's parsers from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_BASELINE = _load_baseline_parsers()

SEVERITIES = ("ok", "warning", "critical")
# Numbers, hex ids and quoted paths vary between otherwise identical messages.
_VARYING = re.compile(r"0x[0-9a-fA-F]+|\b[0-9a-fA-F]{8,}\b|\d+")
_OOM = re.compile(
    r"Out of memory|oom-kill|oom_reaper|invoked oom-killer|killed by the OOM killer",
    re.IGNORECASE,
)
_OOM_VICTIM = re.compile(r"Killed process (?P<pid>\d+) \((?P<name>[^)]+)\)")
_MESSAGE_MAX = 300


def _unit(name: str) -> str:
    """``nginx`` -> ``nginx.service``; names with a unit suffix stay as they are."""
    name = str(name).strip()
    return (
        name
        if re.search(r"\.(service|socket|timer|mount|target|path|scope)$", name)
        else (f"{name}.service")
    )


def unit_names(names: list[str]) -> list[str]:
    """Unit names with their suffix (``php8.2-fpm`` -> ``php8.2-fpm.service``), in order, once."""
    return list(dict.fromkeys(_unit(n) for n in names or []))


def _int_or_none(value: str) -> int | None:
    value = value.strip().rstrip("%")
    return int(value) if value.isdigit() else None


def _message(entry: dict) -> str:
    message = entry.get("MESSAGE", "")
    if isinstance(message, list):  # journald sends non-UTF-8 messages as byte arrays
        message = bytes(b for b in message if isinstance(b, int) and 0 <= b < 256).decode(
            "utf-8", "replace"
        )
    return str(message or "").strip()


def _iso(microseconds: Any) -> str | None:
    try:
        stamp = int(microseconds) / 1_000_000
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _journal(stdout: str) -> list[dict]:
    """Entries of ``journalctl -o json``, without the lines Ansible modules log about themselves
    (their arguments would match the very patterns searched for)."""
    entries = []
    for raw in stdout.splitlines():
        line = raw.strip()
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and not str(entry.get("SYSLOG_IDENTIFIER", "")).startswith(
            "ansible-"
        ):
            entries.append(entry)
    return entries


def down_units(states: list[dict], failed: list[str], watched: list[str]) -> list[dict]:
    """Failed units, plus watched units that are installed and enabled but not active."""
    watched_units = {_unit(u) for u in watched}
    down = []
    for state in states:
        if state["load"] != "loaded":
            continue
        if state["unit"] in failed or state["active"] == "failed":
            down.append({**state, "why": "failed"})
        elif (
            state["unit"] in watched_units
            and state["enabled"] in ("enabled", "enabled-runtime", "static", "alias")
            and state["active"] not in ("active", "activating", "reloading")
        ):
            down.append({**state, "why": "enabled but " + state["active"]})
    return sorted(down, key=lambda s: s["unit"])


def journal_errors(stdout: str, limit: int = 20) -> dict:
    """Deduplicate ``journalctl -o json`` entries by source and message shape, with counts."""
    groups: dict[tuple[str, str], dict] = {}
    entries = _journal(stdout)
    for entry in entries:
        message = _message(entry)
        source = str(
            entry.get("_SYSTEMD_UNIT")
            or entry.get("SYSLOG_IDENTIFIER")
            or entry.get("_COMM")
            or "?"
        )
        key = (source, _VARYING.sub("#", message))
        stamp = _iso(entry.get("__REALTIME_TIMESTAMP"))
        group = groups.setdefault(
            key,
            {
                "source": source,
                "message": message[:_MESSAGE_MAX],
                "count": 0,
                "first": stamp,
                "last": stamp,
                "priority": _int_or_none(str(entry.get("PRIORITY", ""))),
            },
        )
        group["count"] += 1
        group["last"] = stamp or group["last"]
        group["message"] = message[:_MESSAGE_MAX]  # the most recent wording
    ordered = sorted(groups.values(), key=lambda g: (g["count"], g["last"] or ""), reverse=True)
    return {"total": len(entries), "distinct": len(ordered), "top": ordered[: int(limit)]}


def oom_events(stdout: str) -> list[dict]:
    """Journal entries (``-o json``) that speak of the OOM killer, oldest first."""
    events = []
    for entry in _journal(stdout):
        message = _message(entry)
        if not _OOM.search(message):
            continue
        victim = _OOM_VICTIM.search(message)
        events.append(
            {
                "at": _iso(entry.get("__REALTIME_TIMESTAMP")),
                "source": str(
                    entry.get("_SYSTEMD_UNIT") or entry.get("SYSLOG_IDENTIFIER") or "kernel"
                ),
                "message": message[:_MESSAGE_MAX],
                "killed": victim["name"] if victim else None,
            }
        )
    return events


def meminfo(stdout: str) -> dict:
    """MiB figures from ``/proc/meminfo``."""
    values = {}
    for line in stdout.splitlines():
        key, _, rest = line.partition(":")
        number = rest.split()
        if number and number[0].isdigit():
            values[key.strip()] = int(number[0]) // 1024
    total = values.get("MemTotal")
    available = values.get("MemAvailable", values.get("MemFree"))
    return {
        "total_mb": total,
        "available_mb": available,
        "available_percent": round(100 * available / total)
        if total and available is not None
        else None,
        "swap_total_mb": values.get("SwapTotal"),
        "swap_used_mb": (values["SwapTotal"] - values.get("SwapFree", 0))
        if "SwapTotal" in values
        else None,
    }


def ss_listeners(stdout: str) -> list[dict]:
    return _BASELINE.ss_listeners(stdout)


def df_usage(stdout: str, ignore_mounts: list[str] | None = None) -> list[dict]:
    ignored = set(ignore_mounts or [])
    return [mount for mount in _BASELINE.df_usage(stdout) if mount["mount"] not in ignored]


def dpkg_packages(stdout: str) -> dict[str, str]:
    return _BASELINE.dpkg_packages(stdout)


def _listener_key(entry: dict) -> tuple[str, str, str]:
    return (str(entry.get("proto")), str(entry.get("address")), str(entry.get("port")))


def ports_diff(current: list[dict], baseline: list[dict]) -> dict:
    """New and missing listeners, keyed by protocol, address and port (not by pid)."""
    now = {_listener_key(e): e for e in current or []}
    then = {_listener_key(e): e for e in baseline or []}
    return {
        "new": [now[k] for k in now if k not in then],
        "missing": [then[k] for k in then if k not in now],
    }


def packages_diff(current: dict, baseline: dict, limit: int = 200) -> dict:
    """Packages installed, removed and with another version since the baseline (``limit`` each)."""
    current, baseline = current or {}, baseline or {}
    diff = {
        "installed": [{"name": n, "version": v} for n, v in current.items() if n not in baseline],
        "removed": [{"name": n, "version": v} for n, v in baseline.items() if n not in current],
        "changed": [
            {"name": n, "from": baseline[n], "to": v}
            for n, v in current.items()
            if n in baseline and baseline[n] != v
        ],
    }
    return {
        **{key: entries[:limit] for key, entries in diff.items()},
        "counts": {key: len(entries) for key, entries in diff.items()},
    }


def _listener(entry: dict) -> str:
    process = f" ({entry['process']})" if entry.get("process") else ""
    return f"{entry.get('port')}/{entry.get('proto')} on {entry.get('address')}{process}"


def _finding(check: str, severity: str, message: str, details: Any = None) -> dict:
    return {"check": check, "severity": severity, "message": message, "details": details}


def _units_finding(probes: dict, options: dict) -> tuple[dict, list[str]]:
    down = probes.get("down_units") or []
    logs = probes.get("unit_logs") or {}
    restartable = {_unit(u) for u in options.get("restartable_units") or []}
    details = [
        {**u, "restartable": u["unit"] in restartable, "journal": logs.get(u["unit"], [])}
        for u in down
    ]
    if probes.get("units_error"):
        return _finding("units", "warning", f"units could not be read: {probes['units_error']}"), []
    if not down:
        return _finding("units", "ok", "no failed units", []), []
    names = ", ".join(f"{u['unit']} ({u['why']})" for u in down)
    return (
        _finding("units", "critical", f"{len(down)} unit(s) down: {names}", details),
        [u["unit"] for u in down if u["unit"] in restartable],
    )


def _errors_finding(errors: dict, hours: Any) -> dict:
    if errors is None:
        return _finding("errors", "warning", "the journal could not be read")
    if not errors["total"]:
        return _finding("errors", "ok", f"no errors in the journal in the last {hours} h", errors)
    top = errors["top"][0]
    return _finding(
        "errors",
        "warning",
        f"{errors['total']} error(s) in the last {hours} h, {errors['distinct']} distinct; most "
        f"frequent: {top['source']}: {top['message'][:120]} (x{top['count']})",
        errors,
    )


def _disk_findings(disks: list[dict], options: dict) -> tuple[list[dict], list[str]]:
    space, inodes = int(options["disk_threshold"]), int(options["inode_threshold"])
    full, out = [], []
    for disk in disks:
        disk["over"] = (disk["used_percent"] or 0) > space
        disk["inodes_over"] = (disk["inodes_used_percent"] or 0) > inodes
        if disk["over"]:
            full.append(disk["mount"])
            out.append(
                _finding(
                    "disk",
                    "critical",
                    f"{disk['mount']} is {disk['used_percent']}% full (threshold {space}%)",
                    disk,
                )
            )
        if disk["inodes_over"]:
            out.append(
                _finding(
                    "inodes",
                    "critical",
                    f"inodes on {disk['mount']} are {disk['inodes_used_percent']}% used "
                    f"(threshold {inodes}%)",
                    disk,
                )
            )
    if not out:
        worst = max(disks, key=lambda d: d["used_percent"] or 0, default=None)
        note = f"; fullest {worst['mount']} at {worst['used_percent']}%" if worst else ""
        out.append(
            _finding("disk", "ok", f"disk and inode use under {space}% / {inodes}%{note}", disks)
        )
    return out, full


def _memory_finding(memory: dict, ooms: list[dict], options: dict) -> dict:
    hours, floor = options["since_hours"], int(options["memory_min_available_percent"])
    details = {**memory, "oom_events": ooms}
    low = memory.get("available_percent") is not None and memory["available_percent"] < floor
    parts = []
    if ooms:
        killed = sorted({e["killed"] for e in ooms if e["killed"]})
        parts.append(
            f"{len(ooms)} OOM message(s) in the last {hours} h"
            + (f", killed: {', '.join(killed)}" if killed else "")
        )
    if low:
        parts.append(f"only {memory['available_percent']}% of memory available (floor {floor}%)")
    if parts:
        return _finding("memory", "warning", "; ".join(parts), details)
    return _finding(
        "memory",
        "ok",
        f"{memory.get('available_mb')} of {memory.get('total_mb')} MiB available, no OOM kill in "
        f"the last {hours} h",
        details,
    )


def _history_findings(
    probes: dict, history: dict | None, current_run: str | None = None
) -> tuple[list[dict], list[dict]]:
    skipped = "skipped: no ledger history was given (run through omctl)"
    if history is None:
        return [
            _finding("ports", "ok", f"baseline comparison {skipped}"),
            _finding("packages", "ok", f"baseline comparison {skipped}"),
            _finding("timeline", "ok", f"timeline {skipped}"),
        ], []
    out = []
    baseline = history.get("baseline") or None
    since = f"since the baseline of {history.get('baseline_at') or '?'}"
    if not baseline:
        out.append(_finding("ports", "ok", "no baseline recorded for this host: not compared"))
        out.append(_finding("packages", "ok", "no baseline recorded for this host: not compared"))
    else:
        if baseline.get("ports") is None or probes.get("ports") is None:
            out.append(_finding("ports", "ok", "listening ports not compared: not recorded"))
        else:
            diff = ports_diff(probes["ports"], baseline["ports"])
            parts = [
                f"{label}: {', '.join(_listener(e) for e in diff[key])}"
                for key, label in (("new", "new"), ("missing", "missing"))
                if diff[key]
            ]
            out.append(
                _finding(
                    "ports",
                    "warning" if parts else "ok",
                    f"listeners changed {since}: " + "; ".join(parts)
                    if parts
                    else f"same listeners as {since.removeprefix('since ')}",
                    diff,
                )
            )
        installed = (baseline.get("packages") or {}).get("installed")
        if not isinstance(installed, dict) or probes.get("packages") is None:
            out.append(_finding("packages", "ok", "packages not compared: not recorded"))
        else:
            diff = packages_diff(probes["packages"], installed)
            counts = diff["counts"]
            changed = sum(counts.values())
            names = [e["name"] for k in ("removed", "installed", "changed") for e in diff[k]][:10]
            out.append(
                _finding(
                    "packages",
                    "ok",
                    f"{changed} package(s) changed {since} ({counts['installed']} installed, "
                    f"{counts['removed']} removed, {counts['changed']} upgraded or downgraded)"
                    + (f": {', '.join(names)}" if names else "")
                    + (", ..." if changed > len(names) else ""),
                    diff,
                )
            )
    runs = [
        {
            k: r.get(k)
            for k in (
                "id",
                "task",
                "category",
                "status",
                "check",
                "started_at",
                "ended_at",
                "changed",
                "failed",
                "message",
            )
        }
        for r in history.get("runs") or []
        # The diagnosis itself is not part of the story it tells.
        if isinstance(r, dict) and (current_run is None or r.get("id") != current_run)
    ]
    last = runs[-1] if runs else None
    if not last:
        out.append(_finding("timeline", "ok", "no earlier run on this host in the ledger", runs))
    else:
        bad = last.get("status") in ("failed", "interrupted") or bool(last.get("failed"))
        out.append(
            _finding(
                "timeline",
                "warning" if bad else "ok",
                f"{len(runs)} recent run(s); last: {last.get('task')} {last.get('status')} at "
                f"{last.get('started_at')}",
                runs,
            )
        )
    return out, runs


def analyse(probes: dict, options: dict, history: dict | None = None) -> dict:
    """Turn the parsed probes into the incident: findings, severity, summary, recovery plan.

    ``probes``: down_units, unit_logs, units_error, errors, ooms, memory, disks, ports,
    packages, apt_cache_mount. ``options``: restartable_units, disk_threshold,
    inode_threshold, memory_min_available_percent, since_hours and current_run (the id omctl
    gives this run, left out of the timeline).
    """
    findings = []
    units, restart = _units_finding(probes, options)
    findings.append(units)
    findings.append(_errors_finding(probes.get("errors"), options["since_hours"]))
    disk_findings, full = _disk_findings(probes.get("disks") or [], options)
    findings.extend(disk_findings)
    findings.append(_memory_finding(probes.get("memory") or {}, probes.get("ooms") or [], options))
    history_findings, timeline = _history_findings(probes, history, options.get("current_run"))
    findings.extend(history_findings)
    severity = max((f["severity"] for f in findings), key=SEVERITIES.index, default="ok")
    problems = [f["message"] for f in findings if f["severity"] != "ok"]
    apt_mount = probes.get("apt_cache_mount")
    return {
        "severity": severity,
        "summary": f"{severity}: " + ("; ".join(problems) if problems else "no problem found"),
        "findings": findings,
        "timeline": timeline,
        "plan": {
            "restart": restart,
            "apt_clean": bool(apt_mount) and apt_mount in full,
            "apt_cache_mount": apt_mount,
        },
    }


def with_actions(incident: dict, actions: list[dict], recover: bool, check: bool) -> dict:
    """Add the recovery actions to the incident and its summary."""
    result = {k: v for k, v in incident.items() if k != "plan"}
    result["actions"] = actions
    result["recover"] = bool(recover)
    result["check_mode"] = bool(check)
    plan = incident.get("plan") or {}
    possible = len(plan.get("restart") or []) + int(bool(plan.get("apt_clean")))
    if actions:
        done = "; ".join(f"{a['action']} {a['target']}: {a['result']}" for a in actions)
        result["summary"] += f". Recovery: {done}"
    elif possible and not recover:
        result["summary"] += (
            f". {possible} safe recovery action(s) available: run again with diagnose_recover=true"
        )
    return result


class FilterModule:
    """Diagnose helpers, prefixed with the role name to stay unique in a play."""

    def filters(self):
        return {
            "diagnose_unit_names": unit_names,
            "diagnose_down_units": down_units,
            "diagnose_journal_errors": journal_errors,
            "diagnose_oom_events": oom_events,
            "diagnose_meminfo": meminfo,
            "diagnose_ss_listeners": ss_listeners,
            "diagnose_df_usage": df_usage,
            "diagnose_dpkg_packages": dpkg_packages,
            "diagnose_analyse": analyse,
            "diagnose_with_actions": with_actions,
        }
