"""Markdown, HTML, JSON and CSV renderings of a ``report.Report``.

The sections are built once as neutral blocks (paragraphs, tables, lists, charts); the Markdown
and HTML writers only serialise them. Every value from the ledger is untrusted text (operators
type the reasons): HTML escapes all of it, Markdown escapes table syntax and HTML.
The HTML is one self-contained file: inline CSS, inline SVG charts, no script, no URL.
The CSV is the month's billable lines only, for an invoicing tool.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from omctl.billing import CSV_COLUMNS
from omctl.evidence import text as evidence_text
from omctl.report import CATEGORIES, Report

FORMATS = ("md", "html", "json", "csv")
COLORS = {"operation": "#2b6cb0", "maintenance": "#2f855a", "onboarding": "#b7791f"}
PALETTE = ("#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280", "#2c7a7b")


@dataclass
class Paragraph:
    text: str
    # A verdict says so itself ("ok" / "failed"); the HTML styles it by this, not by its text.
    verdict: str | None = None


@dataclass
class Table:
    caption: str
    columns: list[str]
    rows: list[list[Any]]
    empty: str = "none"
    css: str = ""


@dataclass
class Items:
    title: str
    items: list[str]


@dataclass
class Screenshots:
    """Before/after screenshots of updated pages: pictures in HTML, named files elsewhere."""

    title: str
    shots: list[tuple[str, str, str | None]]  # caption, before file, after file


@dataclass
class Chart:
    """``kind`` bars: weeks of stacked category counts; kind lines: time series per host."""

    id: str
    title: str
    kind: str
    x_label: str
    y_label: str
    data: list[dict[str, Any]]
    unit: str = ""
    table: Table | None = None
    span: tuple[str, str] = ("", "")


@dataclass
class Section:
    id: str
    title: str
    blocks: list[Any] = field(default_factory=list)


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value) or "-"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items())
    return str(value)


def _item(value: Any) -> str:
    """One finding or action of an incident, whatever its shape (the diagnose role's findings
    are {check, severity, message, details}, its actions {action, target, reason, result})."""
    if not isinstance(value, dict):
        return _text(value)
    if value.get("action"):
        text = f"{value['action']} {value.get('target') or ''}".strip()
        if value.get("result"):
            text += f": {value['result']}"
        return text + (f" ({value['reason']})" if value.get("reason") else "")
    for key in ("message", "summary", "detail", "title", "name"):
        if value.get(key):
            severity = value.get("severity")
            return str(value[key]) + (f" [{severity}]" if severity else "")
    return _text({k: v for k, v in value.items() if not isinstance(v, dict | list)})


def _size_unit(values: list[float]) -> tuple[str, float]:
    top = max(values, default=0)
    for unit, factor in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if top >= factor:
            return unit, float(factor)
    return "B", 1.0


# --- sections ----------------------------------------------------------------------------


def _contract(report: Report) -> Section:
    c, p = report.contract, report.period
    section = Section("contract", "The contract")
    section.blocks.append(
        Paragraph(
            f"Client {report.client}, contract {c['contract']}, in force from {c['valid_from']} "
            f"to {c['valid_until']}. Period of this report: {p['label']} "
            f"({p['start'][:10]} to {p['last_day']}); times are in {c['timezone']}."
        )
    )
    for category, meaning in (
        ("operation", "Operation improves the system: content, configuration, access review."),
        ("maintenance", "Maintenance keeps it stable and secure: patches, hardening, backups."),
    ):
        rows = [
            [t["task"], t["cadence"], t["window"], t["hosts"]]
            for t in report.tasks
            if t["category"] == category
        ]
        section.blocks.append(Paragraph(meaning))
        section.blocks.append(
            Table(
                f"{category.capitalize()} tasks",
                ["task", "cadence", "window", "hosts"],
                rows,
                empty=f"no {category} task is contracted",
            )
        )
    return section


def _operation(report: Report) -> Section:
    op = report.operation
    section = Section("operation", "Operation done")
    section.blocks.append(
        Table(
            "Content releases",
            ["at", "host", "release", "previous", "ref", "state"],
            [
                [r["at"], r["host"], r["release"], r["previous"], r["ref"], r["state"]]
                for r in op["content_releases"]
            ],
            empty="no content release in this period",
        )
    )
    section.blocks.append(
        Table(
            "Tuning changes",
            ["at", "host", "setting", "old", "new", "file"],
            [
                [
                    r["at"],
                    r["host"],
                    r["setting"],
                    "(default)" if r["old"] is None else r["old"],
                    r["new"],
                    r["file"],
                ]
                for r in op["tuning_changes"]
            ],
            empty="no configuration change in this period",
        )
    )
    section.blocks.append(
        Table(
            "Access reviews",
            ["at", "host", "days", "requests", "visitors", "4xx", "5xx", "top 404s", "login POSTs"],
            [
                [
                    r["at"],
                    r["host"],
                    f"{r['first_day']} to {r['last_day']}",
                    r["requests"],
                    r["unique_visitors"],
                    r["errors_4xx"],
                    r["errors_5xx"],
                    r["not_found"],
                    r["login_posts"],
                ]
                for r in op["access_reviews"]
            ],
            empty="no access review in this period",
        )
    )
    section.blocks.append(
        Table(
            "Proposals from the access reviews",
            ["host", "proposal", "why", "action"],
            [[r["host"], r["title"], r["why"], r["action"]] for r in op["proposals"]],
            empty="no proposal",
        )
    )
    return section


def _lasted(opened: str, closed: str | None) -> str:
    if closed is None:
        return "still down"
    span = datetime.fromisoformat(closed) - datetime.fromisoformat(opened)
    minutes = round(span.total_seconds() / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def _monitoring(report: Report) -> list[Section]:
    """Availability per site, the incidents and the latency per day; "not monitored" for a
    site with no summary in the period (never a made-up 100 %)."""
    found = report.monitoring
    if not found:
        return []
    section = Section("monitoring", "Site monitoring")
    section.blocks.append(
        Paragraph(
            "Probed from the provider's controller; availability is the share of successful "
            "probes on the days that ended (one summary per site and day in the ledger); a site "
            "without one in this period was not monitored."
        )
    )
    section.blocks.append(
        Table(
            "Availability per site",
            [
                "site",
                "availability",
                "days monitored",
                "incidents",
                "p50 (ms)",
                "p95 (ms)",
                "TLS days left (lowest)",
            ],
            [
                [
                    s["url"],
                    "not monitored" if s["availability"] is None else f"{s['availability']:.2f}%",
                    f"{s['days_monitored']} of {s['days_in_period']}",
                    s["incidents"],
                    s["p50_ms"],
                    s["p95_ms"],
                    s["tls_days_min"],
                ]
                for s in found["sites"]
            ],
        )
    )
    zone = ZoneInfo(report.contract["timezone"])
    section.blocks.append(
        Table(
            "Site incidents",
            ["site", "down from", "up again", "lasted", "first error"],
            [
                [
                    i["site"],
                    _local(i["opened_at"], zone),
                    _local(i["closed_at"], zone) if i["closed_at"] else "-",
                    _lasted(i["opened_at"], i["closed_at"]),
                    i["error"],
                ]
                for i in found["incidents"]
            ],
            empty="no incident in this period",
        )
    )
    points = found["latency"]
    section.blocks.append(
        Chart(
            "chart-latency",
            "Site latency per day (median of the day's successful probes)",
            "lines",
            "date",
            "latency (ms)",
            points,
            unit="ms",
            span=(report.period["start"], report.period["end"]),
            table=Table(
                "Site latency per day (chart data)",
                ["day", "site", "p50 (ms)", "p95 (ms)"],
                [[p["at"][:10], p["host"], p["value"], p["p95"]] for p in points],
                css="chart-data",
            ),
        )
    )
    return [section]


def _local(stamp: str, zone: ZoneInfo) -> str:
    return f"{datetime.fromisoformat(stamp.replace('Z', '+00:00')).astimezone(zone):%Y-%m-%d %H:%M}"


def _maintenance(report: Report) -> Section:
    mt = report.maintenance
    section = Section("maintenance", "Maintenance done")
    section.blocks.append(
        Table(
            "Packages patched",
            ["at", "host", "package", "old version", "new version", "security"],
            [
                [r["at"], r["host"], r["package"], r["old"], r["new"], r["security"]]
                for r in mt["packages"]
            ],
            empty="no package upgraded in this period",
        )
    )
    section.blocks.append(
        Table(
            "Reboots",
            ["at", "host", "state", "policy", "required by"],
            [
                [r["at"], r["host"], r["state"], r["policy"], r["required_by"]]
                for r in mt["reboots"]
            ],
            empty="no reboot needed",
        )
    )
    section.blocks.append(
        Table(
            "Hardening (Lynis)",
            ["at", "host", "index before", "index after", "warnings", "warning tests", "changes"],
            [
                [
                    r["at"],
                    r["host"],
                    r["index_before"],
                    r["index_after"],
                    r["warnings"],
                    r["warning_tests"],
                    r["changes"],
                ]
                for r in mt["hardening"]
            ],
            empty="no hardening run in this period",
        )
    )
    section.blocks.append(
        Table(
            "Drift checks (verified in check mode, nothing changed by them)",
            ["at", "host", "task", "result", "what had drifted"],
            [
                [r["at"], r["host"], r["checked"], r["verdict"], r["changed_tasks"] or "none"]
                for r in mt["verifications"]
            ],
            empty="no drift check in this period",
        )
    )
    points = report.charts["hardening_index"]
    section.blocks.append(
        Chart(
            "chart-hardening",
            "Lynis hardening index over time",
            "lines",
            "date",
            "hardening index",
            points,
            span=(report.period["start"], report.period["end"]),
            table=Table(
                "Lynis hardening index (chart data)",
                ["at", "host", "index"],
                [[_day_time(p["at"]), p["host"], p["value"]] for p in points],
                css="chart-data",
            ),
        )
    )
    backups = mt["backups"]
    section.blocks.append(
        Paragraph(
            f"Backups: {backups['count']} successful"
            + (f", {backups['failed']} failed" if backups["failed"] else "")
            + " in this period."
        )
    )
    section.blocks.append(
        Table(
            "Backups",
            [
                "host",
                "backups",
                "failed",
                "repository size",
                "snapshots",
                "latest backup",
                "age at the period's end (or now)",
            ],
            [
                [
                    h["host"],
                    h["ok"],
                    h["failed"],
                    evidence_text.size(h["repository_size"]),
                    h["snapshots"],
                    h["latest"],
                    evidence_text.age(h["latest_age_seconds"]),
                ]
                for h in backups["hosts"]
            ],
            empty="no backup in this period",
        )
    )
    sizes = report.charts["backup_size"]
    unit, factor = _size_unit([p["value"] for p in sizes])
    section.blocks.append(
        Chart(
            "chart-backup",
            "Backup repository size over time",
            "lines",
            "date",
            f"repository size ({unit})",
            [dict(p, value=p["value"] / factor) for p in sizes],
            unit=unit,
            span=(report.period["start"], report.period["end"]),
            table=Table(
                "Backup repository size (chart data)",
                ["at", "host", "size"],
                [[_day_time(p["at"]), p["host"], evidence_text.size(p["value"])] for p in sizes],
                css="chart-data",
            ),
        )
    )
    section.blocks.append(
        Table(
            "Restore drills",
            [
                "at",
                "host",
                "result",
                "time to restore",
                "snapshot age (RPO)",
                "checks",
                "failed checks",
            ],
            [
                [
                    r["at"],
                    r["host"],
                    "passed" if r["ok"] else "FAILED",
                    evidence_text.seconds(r["time_to_restore_seconds"]),
                    evidence_text.age(r["snapshot_age_seconds"]),
                    r["checks"],
                    r["failed_checks"] or (r["error"] and [r["error"]]) or "none",
                ]
                for r in mt["restore_drills"]
            ],
            empty="no restore drill in this period",
        )
    )
    _vulnerabilities(section, mt.get("vulnerabilities") or {})
    _wordpress_updates(section, mt.get("wordpress_updates") or [])
    return section


def _wordpress_updates(section: Section, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    outcomes = {"updated": "updated", "rolled_back": "rolled back", "rollback_failed":
                "ROLLBACK NOT PROVEN", "held": "held: waiting for the client's decision",
                "waiting": "waiting"}  # fmt: skip
    section.blocks.append(Table(
        "WordPress updates",
        ["at", "host", "component", "versions", "outcome", "why"],
        [[r["at"], r["host"], r["component"], r["versions"],
          outcomes.get(r["outcome"], r["outcome"]), r["reason"] or ""] for r in rows],
    ))  # fmt: skip
    shots = [(f"{r['host']} {r['component']} {r['versions']} "
              f"({outcomes.get(r['outcome'])}): {page}", before, after)
             for r in rows for page, before, after in r["screenshots"]]  # fmt: skip
    if shots:
        section.blocks.append(Screenshots("Screenshots before and after each update", shots))


def _vulnerabilities(section: Section, found: dict[str, Any]) -> None:
    """Known vulnerabilities: what the last scan of each host found (new this period or still
    open) and what was fixed since; nothing at all when no scan ran (not a clean bill)."""
    if not found:
        section.blocks.append(Paragraph("Vulnerability scans: none in this period."))
        return
    counts = found["counts"]
    section.blocks.append(
        Paragraph(
            f"Vulnerability scans of {', '.join(found['hosts'])}: {counts['new']} found in "
            f"this period, {counts['fixed']} fixed, {counts['new'] + counts['still open']} "
            f"open at the last scan ({counts['alerts']} at or above the alert score).",
            verdict="failed" if counts["alerts"] else "ok",
        )
    )
    section.blocks.append(
        Table(
            "Known vulnerabilities",
            ["host", "component", "installed", "fixed in", "severity", "id", "state", "where"],
            [
                [
                    r["host"],
                    r["component"],
                    r["installed"],
                    r["fixed_in"] or "no fix yet",
                    (f"{r['score']:.1f} " if r["score"] is not None else "") + r["severity"],
                    r["id"] + (f" ({r['reference']})" if r["reference"] else ""),
                    r["state"],
                    r["site"] or "",
                ]
                for r in found["findings"]
            ],
            empty="no known vulnerability",
        )
    )
    for notice in found["notices"]:
        section.blocks.append(
            Paragraph(
                f"WordPress vulnerability data from Wordfence Intelligence: {notice.rstrip('.')}."
            )
        )


def _coverage(report: Report) -> Section:
    section = Section("coverage", "Coverage")
    section.blocks.append(
        Paragraph(
            "Expected against done for each contracted task: a period is done when every host "
            "the contract covers for the task had a successful in-scope run in it; a period "
            "that ended without is missed, naming the hosts when only some were served."
        )
    )
    section.blocks.append(
        Table(
            "Expected and done",
            ["task", "category", "cadence", "expected", "done", "missed", "overdue"],
            [
                [
                    c["task"],
                    c["category"],
                    c["cadence"],
                    "on request" if c["cadence"] == "on_request" else c["expected"],
                    c["successes"] if c["cadence"] == "on_request" else c["done"],
                    c["missed"] or "none",
                    c["overdue"],
                ]
                for c in report.coverage
            ],
            empty="no task is contracted",
        )
    )
    weeks = report.charts["runs_per_week"]
    section.blocks.append(
        Chart(
            "chart-runs",
            "Runs per week by category",
            "bars",
            "week (starting Monday)",
            "runs",
            weeks,
            table=Table(
                "Runs per week (chart data)",
                ["week", *CATEGORIES],
                [[w["week"], *(w["counts"].get(c, 0) for c in CATEGORIES)] for w in weeks],
                css="chart-data",
            ),
        )
    )
    return section


def _outside(report: Report) -> list[Section]:
    billable = Section("out-of-scope", "Out-of-scope work (billable)")
    billable.blocks.append(
        Table(
            "Work done outside the contract, at the client's request",
            ["at", "task", "category", "reason", "operator", "status", "hosts"],
            [
                [
                    r["at"],
                    r["task"] + (" (check)" if r["check"] else ""),
                    r["category"],
                    r["reason"],
                    r["operator"],
                    r["status"],
                    r["hosts"],
                ]
                for r in report.out_of_scope
            ],
            empty="no out-of-scope work in this period",
        )
    )
    refused = Section("refused", "Refused requests")
    refused.blocks.append(
        Table(
            "Requests the contract did not cover",
            ["at", "task", "category", "reason", "operator"],
            [
                [r["at"], r["task"], r["category"], r["reason"], r["operator"]]
                for r in report.refused
            ],
            empty="no request was refused",
        )
    )
    failures = Section("failures", "Failures and incidents")
    failures.blocks.append(
        Table(
            "Failed and interrupted runs",
            ["at", "task", "status", "hosts", "message", "resolved"],
            [
                [
                    r["at"],
                    r["task"],
                    r["status"],
                    r["hosts"],
                    r["message"],
                    "yes" if r["resolved"] else "OPEN",
                ]
                for r in report.failures
            ],
            empty="no run failed",
        )
    )
    if not report.incidents:
        failures.blocks.append(Paragraph("No incident was diagnosed in this period."))
    for incident in report.incidents:
        severity = f" (severity {incident['severity']})" if incident.get("severity") else ""
        failures.blocks.append(
            Paragraph(
                f"Incident on {incident['host']} at {incident['at']} (run {incident['run']})"
                f"{severity}: {_text(incident.get('summary'))}"
            )
        )
        passed = incident.get("checks_ok") or 0
        failures.blocks.append(
            Items(
                "findings"
                + (f" ({passed} other check{'s' * (passed != 1)} found nothing)" if passed else ""),
                [_item(f) for f in incident["findings"]],
            )
        )
        failures.blocks.append(Items("actions", [_item(a) for a in incident["actions"]]))
    return [billable, refused, failures]


def _responsibilities(report: Report) -> Section:
    section = Section("responsibilities", "Who does what")
    section.blocks.append(
        Table(
            "Responsibilities",
            ["area", "the provider", "the client"],
            [[r["area"], r["provider"], r["client"]] for r in report.responsibilities],
            empty="the contract names no responsibilities",
        )
    )
    return section


def _hours(value: Any) -> str:
    return "-" if value is None else f"{value} h"


def _fees(report: Report) -> Section:
    """The month's bill: monthly fees, hours used against the included ones, billable
    out-of-scope work with its request and approval, work awaiting approval, the total;
    and the requests still open. Stated as the contract says, never a made-up 0."""
    found = report.fees
    section = Section("fees", "Fees")
    if not found.get("stated"):
        section.blocks.append(Paragraph(f"Fees: {found.get('note', 'no fees in the contract')}."))
    else:
        cur = found["currency"]
        section.blocks.append(
            Paragraph(
                f"Amounts in {cur}. The hourly rate for out-of-scope work and for hours beyond "
                f"the included ones is {found['hourly_rate']} {cur}; each item's time is "
                f"rounded up to {found['increment_minutes']} minutes, at least "
                f"{found['minimum_minutes']} minutes."
                + (
                    " The included hours are those of a whole month, also in a month with a "
                    "pro-rated fee."
                    if any(m["days_in_force"] < m["days_in_period"] for m in found["monthly"])
                    else ""
                )
            )
        )
        section.blocks.append(
            Table(
                "Monthly fees",
                ["category", "monthly fee", "charged", "basis"],
                [
                    [m["category"], f"{m['fee']} {cur}", f"{m['amount']} {cur}", m["note"]]
                    for m in found["monthly"]
                ],
                empty="the contract states no monthly fee",
            )
        )
        section.blocks.append(
            Table(
                "Hours used against the included hours",
                ["category", "included", "used", "beyond the included", "overage"],
                [
                    [
                        h["category"],
                        _hours(h["included_hours"]),
                        _hours(h["used_hours"]),
                        _hours(h["overage_hours"]),
                        f"{h['overage_amount']} {cur}",
                    ]
                    for h in found["hours"]
                ],
                empty="no category has included hours",
            )
        )
        section.blocks.append(
            Table(
                "Work within the contract (counted against the included hours)",
                ["at", "category", "what", "request", "by", "minutes", "counted"],
                [
                    [
                        r["at"],
                        r["category"],
                        r["description"],
                        r["request"],
                        r["operator"],
                        r["minutes"],
                        _hours(r["billed_hours"]),
                    ]
                    for h in found["hours"]
                    for r in h["items"]
                ],
                empty="no manual work was logged in this period",
            )
        )
        section.blocks.append(
            Table(
                "Billable out-of-scope work",
                [
                    "at",
                    "what",
                    "request",
                    "approval",
                    "quote",
                    "actual",
                    "billed",
                    "price",
                    "amount",
                ],
                [
                    [
                        r["at"],
                        r["description"],
                        _request(r),
                        r["approval"],
                        _hours(r["quote_hours"]),
                        f"{r['minutes']} min",
                        _hours(r["billed_hours"]),
                        r["basis"],
                        f"{r['amount']} {cur}",
                    ]
                    for r in found["out_of_scope"]
                ],
                empty="no approved out-of-scope work in this period",
            )
        )
        section.blocks.append(
            Table(
                "Out-of-scope work awaiting approval (not billed)",
                ["at", "what", "request", "approval", "minutes"],
                [
                    [r["at"], r["description"], _request(r), r["approval"], r["minutes"]]
                    for r in found["awaiting_approval"]
                ],
                empty="none",
            )
        )
        if found["uncategorised"]:
            section.blocks.append(
                Table(
                    "Work of no known category (not counted)",
                    ["at", "what", "by", "minutes"],
                    [
                        [r["at"], r["description"], r["operator"], r["minutes"]]
                        for r in found["uncategorised"]
                    ],
                )
            )
        section.blocks.append(
            Table(
                "Total",
                ["", f"amount ({cur})"],
                [
                    ["monthly fees", found["monthly_total"]],
                    ["hours beyond the included ones", found["overage_total"]],
                    ["out-of-scope work", found["out_of_scope_total"]],
                    ["total", found["total"]],
                ],
            )
        )
        section.blocks.append(
            Paragraph(f"Total for {report.period['label']}: {found['total']} {cur}.")
        )
    section.blocks.append(
        Table(
            "Open requests",
            ["id", "added", "from", "request", "classified", "state", "age (days)"],
            [
                [
                    r["id"],
                    r["added_at"],
                    r["requested_by"],
                    r["text"],
                    r["classification"],
                    r["state"],
                    r["age_days"],
                ]
                for r in report.open_requests
            ],
            empty="no request was open at the end of the period",
        )
    )
    return section


def _request(row: dict[str, Any]) -> str:
    if not row.get("request"):
        return "-"
    text = row.get("request_text")
    return f"{row['request']}: {text}" if text else row["request"]


def _footer(report: Report) -> Section:
    check = report.ledger
    section = Section("ledger", "Ledger verification")
    used = (
        f"ledger entries {check.first_seq} to {check.last_seq}"
        if check.first_seq
        else "no ledger entry (nothing was recorded in this period)"
    )
    section.blocks.append(
        Paragraph(
            f"Built from {used} ({report.runs} runs) of the {check.entries} entries "
            f"{'in the ledger' if check.verified else 'verified'}, "
            f"by omctl {report.omctl_version} at {report.generated_at}."
        )
    )
    if check.ok and check.verified:
        verdict = (
            f"ledger verify: PASSED - verified {check.verified}; head entry {check.head_seq}, "
            f"hash {check.head_hash}."
        )
    elif check.ok:
        verdict = (
            f"ledger verify: PASSED - the hash chain is intact up to the head, entry "
            f"{check.head_seq}, hash {check.head_hash}."
        )
    else:
        verdict = (
            f"ledger verify: FAILED - {check.problem}. The figures above may not match "
            f"what was recorded."
        )
    if check.ok and check.signed:
        verdict += f" The operator signatures of its {check.signed} signed runs are valid."
    section.blocks.append(Paragraph(verdict, verdict="ok" if check.ok else "failed"))
    if check.checkpoint:
        section.blocks.append(
            Paragraph(
                f"Checkpoint {check.checkpoint}: this report was built on ledger entry "
                f"{check.head_seq}, hash {check.head_hash}. Keep this report: the command "
                f"{check.verify_command} fails once the ledger no longer holds exactly this "
                f"history, even if someone holding the ledger key rewrote it."
            )
        )
    for note in report.notes:
        section.blocks.append(Paragraph(f"Note: {note}"))
    return section


def sections(report: Report) -> list[Section]:
    return [
        _contract(report),
        _responsibilities(report),
        _operation(report),
        *_monitoring(report),
        _maintenance(report),
        _coverage(report),
        *_outside(report),
        _fees(report),
        _footer(report),
    ]


def _day_time(text: str) -> str:
    try:
        return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return text


# --- JSON --------------------------------------------------------------------------------


def to_json(report: Report) -> str:
    return json.dumps(report.as_dict(), indent=2, sort_keys=True, default=str) + "\n"


# --- Markdown ----------------------------------------------------------------------------


def _md(value: Any) -> str:
    text = html.escape(_text(value), quote=False)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _md_table(table: Table) -> list[str]:
    lines = [f"**{_md(table.caption)}**", ""]
    if not table.rows:
        return [*lines, f"_{_md(table.empty)}_", ""]
    lines.append("| " + " | ".join(_md(c) for c in table.columns) + " |")
    lines.append("|" + "---|" * len(table.columns))
    lines += ["| " + " | ".join(_md(v) for v in row) + " |" for row in table.rows]
    return [*lines, ""]


def to_markdown(report: Report) -> str:
    lines = [f"# Service report: {_md(report.client)}, {_md(report.period['label'])}", ""]
    for section in sections(report):
        lines += [f"## {_md(section.title)}", ""]
        for block in section.blocks:
            if isinstance(block, Paragraph):
                lines += [_md(block.text), ""]
            elif isinstance(block, Table):
                lines += _md_table(block)
            elif isinstance(block, Items):
                lines += [f"{_md(block.title.capitalize())}:", ""]
                lines += [f"- {_md(item)}" for item in block.items] or ["- none"]
                lines.append("")
            elif isinstance(block, Chart) and block.table is not None and block.table.rows:
                lines += _md_table(block.table)
            elif isinstance(block, Screenshots):
                lines += [f"{_md(block.title)} (files of the runs):", ""]
                lines += [f"- {_md(c)}: {_md(b)}, {_md(a or 'none')}" for c, b, a in block.shots]
                lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


# --- HTML --------------------------------------------------------------------------------


def esc(value: Any) -> str:
    return html.escape(_text(value), quote=True)


CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a202c;
       max-width: 980px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 4px; }
h2 { font-size: 19px; border-bottom: 2px solid #2b6cb0; padding-bottom: 3px; margin-top: 28px; }
.subtitle { color: #4a5568; margin-top: 0; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 14px; font-size: 12.5px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border: 1px solid #cbd5e0; padding: 3px 6px; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; }
th { background: #edf2f7; }
tr:nth-child(even) td { background: #f7fafc; }
p.empty { color: #718096; font-style: italic; }
figure { margin: 10px 0 18px; break-inside: avoid; page-break-inside: avoid; }
figure svg { display: block; max-width: 100%; height: auto; border: 1px solid #e2e8f0; }
figcaption { font-weight: 600; margin-bottom: 4px; }
.chart-data { font-size: 11.5px; width: auto; min-width: 50%; }
.verdict-ok { color: #276749; font-weight: 600; }
.verdict-failed { color: #c53030; font-weight: 700; }
@media print {
  body { margin: 0; max-width: none; font-size: 11pt; }
  section { break-before: page; page-break-before: always; }
  section:first-of-type { break-before: auto; page-break-before: auto; }
  table, figure { break-inside: avoid; page-break-inside: avoid; }
  th { background: #edf2f7 !important; print-color-adjust: exact;
       -webkit-print-color-adjust: exact; }
}
"""

W, H = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 60, 16, 30, 46


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def _axes(chart: Chart, top: float) -> list[str]:
    plot_h = H - TOP - BOTTOM
    out = [
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{H - BOTTOM}" stroke="#4a5568"/>',
        f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" '
        'stroke="#4a5568"/>',
    ]
    for i in range(5):
        value = top * i / 4
        y = H - BOTTOM - plot_h * i / 4
        out.append(
            f'<line x1="{LEFT - 4}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" stroke="#e2e8f0"/>'
        )
        out.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">'
            f"{_fmt(value)}</text>"
        )
    out.append(
        f'<text class="axis-label" x="{(LEFT + W - RIGHT) / 2}" y="{H - 6}" '
        f'text-anchor="middle" font-size="12">{esc(chart.x_label)}</text>'
    )
    out.append(
        f'<text class="axis-label" x="14" y="{(TOP + H - BOTTOM) / 2}" '
        f'text-anchor="middle" font-size="12" transform="rotate(-90 14 '
        f'{(TOP + H - BOTTOM) / 2})">{esc(chart.y_label)}</text>'
    )
    return out


def _legend(names: list[str], colors: dict[str, str]) -> list[str]:
    out, x = [], LEFT
    for name in names:
        out.append(f'<rect x="{x}" y="8" width="11" height="11" fill="{colors[name]}"/>')
        out.append(f'<text x="{x + 15}" y="18" font-size="11">{esc(name)}</text>')
        x += 24 + 7 * len(name)
    return out


def _bars(chart: Chart) -> list[str]:
    weeks = chart.data
    totals = [sum(w["counts"].values()) for w in weeks]
    top = 4 * max(1, math.ceil(max(totals, default=0) / 4))  # whole runs on the 5 ticks
    out = _axes(chart, top) + _legend(list(CATEGORIES), COLORS)
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    slot = plot_w / max(len(weeks), 1)
    for index, week in enumerate(weeks):
        x = LEFT + slot * index + slot * 0.15
        y = H - BOTTOM
        for category in CATEGORIES:
            count = week["counts"].get(category, 0)
            if not count:
                continue
            height = plot_h * count / top
            y -= height
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{height:.1f}" '
                f'fill="{COLORS[category]}"><title>{esc(week["week"])}: {count} '
                f"{esc(category)}</title></rect>"
            )
        out.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{H - BOTTOM + 14}" text-anchor="middle" '
            f'font-size="10">{esc(week["week"][5:])}</text>'
        )
    return out


def _lines(chart: Chart) -> list[str]:
    start, end = (datetime.fromisoformat(t) for t in chart.span)
    points = [(datetime.fromisoformat(p["at"]), p["host"], float(p["value"])) for p in chart.data]
    hosts = sorted({host for _, host, _ in points})
    colors = {host: PALETTE[i % len(PALETTE)] for i, host in enumerate(hosts)}
    top = _nice_max(max((v for _, _, v in points), default=0) * 1.05)
    out = _axes(chart, top) + _legend(hosts, colors)
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM
    span = (end - start).total_seconds() or 1.0

    def xy(moment: datetime, value: float) -> tuple[float, float]:
        share = min(max((moment - start).total_seconds() / span, 0.0), 1.0)
        return LEFT + plot_w * share, H - BOTTOM - plot_h * value / top

    for i in range(5):
        moment = start + (end - start) * i / 4
        x = LEFT + plot_w * i / 4
        out.append(
            f'<text x="{x:.1f}" y="{H - BOTTOM + 14}" text-anchor="middle" '
            f'font-size="10">{moment:%b %d}</text>'
        )
    if not points:
        out.append(
            f'<text x="{(LEFT + W - RIGHT) / 2}" y="{(TOP + H - BOTTOM) / 2}" '
            'text-anchor="middle" font-size="13" fill="#718096">no data in this '
            "period</text>"
        )
    for host in hosts:
        series = sorted((m, v) for m, h, v in points if h == host)
        coords = [xy(m, v) for m, v in series]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        out.append(
            f'<polyline points="{path}" fill="none" stroke="{colors[host]}" stroke-width="2"/>'
        )
        for (x, y), (moment, value) in zip(coords, series, strict=True):
            out.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colors[host]}"><title>'
                f"{esc(host)} {moment:%Y-%m-%d %H:%M}: {_fmt(value)} {esc(chart.unit)}"
                "</title></circle>"
            )
    return out


def _html_table(table: Table) -> str:
    css = f' class="{table.css}"' if table.css else ""
    if not table.rows:
        return f'<p class="empty"><strong>{esc(table.caption)}:</strong> {esc(table.empty)}</p>'
    head = "".join(f'<th scope="col">{esc(c)}</th>' for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{esc(v)}</td>" for v in row) + "</tr>" for row in table.rows
    )
    return (
        f"<table{css}><caption>{esc(table.caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


THUMBNAIL_WIDTH = 480


def _thumbnail(path: str | None) -> str:
    """The screenshot as an inline JPEG thumbnail (the report stays one file), or why not."""
    from PIL import Image

    if not path:
        return "<span>none</span>"
    try:
        with Image.open(path) as opened:
            image = opened.convert("RGB")
        image.thumbnail((THUMBNAIL_WIDTH, THUMBNAIL_WIDTH * 4))
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=70)
    except OSError:
        return f"<span>{esc(path)}: not kept</span>"
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img src="data:image/jpeg;base64,{data}" alt="{esc(path)}" width="{image.width}">'


def _html_screenshots(block: Screenshots) -> str:
    figures = "".join(
        f"<figure><figcaption>{esc(caption)}</figcaption>{_thumbnail(before)}{_thumbnail(after)}"
        "</figure>"
        for caption, before, after in block.shots
    )
    return f'<div class="screenshots"><h3>{esc(block.title)}</h3>{figures}</div>'


def _html_chart(chart: Chart) -> str:
    shapes = _bars(chart) if chart.kind == "bars" else _lines(chart)
    table_id = f"{chart.id}-data"
    svg = (
        f'<svg id="{chart.id}" xmlns="http://www.w3.org/2000/svg" role="img" width="{W}" '
        f'height="{H}" viewBox="0 0 {W} {H}" aria-labelledby="{chart.id}-title" '
        f'aria-describedby="{table_id}"><title id="{chart.id}-title">{esc(chart.title)}</title>'
        + "".join(shapes)
        + "</svg>"
    )
    table = _html_table(chart.table) if chart.table else ""
    return (
        f"<figure><figcaption>{esc(chart.title)}</figcaption>{svg}"
        f'<div id="{table_id}">{table}</div></figure>'
    )


def _html_block(block: Any) -> str:
    if isinstance(block, Paragraph):
        css = f' class="verdict-{block.verdict}"' if block.verdict else ""
        return f"<p{css}>{esc(block.text)}</p>"
    if isinstance(block, Table):
        return _html_table(block)
    if isinstance(block, Items):
        items = "".join(f"<li>{esc(item)}</li>" for item in block.items) or "<li>none</li>"
        return f"<p><strong>{esc(block.title.capitalize())}</strong></p><ul>{items}</ul>"
    if isinstance(block, Chart):
        return _html_chart(block)
    if isinstance(block, Screenshots):
        return _html_screenshots(block)
    raise TypeError(f"unknown block {block!r}")


def to_html(report: Report) -> str:
    title = f"Service report: {report.client}, {report.period['label']}"
    body = []
    for section in sections(report):
        body.append(f'<section id="{section.id}"><h2>{esc(section.title)}</h2>')
        body += [_html_block(block) for block in section.blocks]
        body.append("</section>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
        f'<header><h1>{esc(title)}</h1><p class="subtitle">Contract '
        f"{esc(report.contract['contract'])} - generated {esc(report.generated_at)}</p></header>"
        + "".join(body)
        + "</body></html>\n"
    )


# --- CSV ---------------------------------------------------------------------------------

# A text cell a spreadsheet would run as a formula (operators type the descriptions).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TEXT_COLUMNS = {"client", "contract", "category", "description", "request_id"}


def _cell(column: str, value: str) -> str:
    if column in TEXT_COLUMNS and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(report: Report) -> str:
    """The billable lines (RFC 4180: a header row, CRLF, quoted where needed); amounts are
    plain decimals with a dot. Only a header when the report states no fees."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for line in report.fees.get("lines", []):
        writer.writerow([_cell(column, line[column]) for column in CSV_COLUMNS])
    return out.getvalue()


def render(report: Report, fmt: str) -> str:
    if fmt == "csv":
        return to_csv(report)
    if fmt == "md":
        return to_markdown(report)
    if fmt == "html":
        return to_html(report)
    return to_json(report)
