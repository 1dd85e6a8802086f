"""omctl report over a month of real ledger records (tests/unit/report_ledger.py)."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import re
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from omctl import billing, files, ledger, report, report_render
from omctl.cli.main import app
from omctl.errors import BadInput, ExitCode
from tests.unit.report_ledger import (
    BILLED_TOTAL,
    HOSTILE,
    MIB,
    NOW,
    Billed,
    MonthLedger,
    bill_month,
    build_month,
    make_workspace,
)
from tests.unit.report_ledger import day as report_ledger_day


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MonthLedger]:
    """Read-only for the tests that share it; a test that alters the ledger builds its own."""
    built = build_month(make_workspace(tmp_path_factory.mktemp("ws")))
    yield built
    built.close()


@pytest.fixture(scope="module")
def november(month: MonthLedger) -> report.Report:
    return report.collect(month.book, report.subject(month.ws, "acme", "2026-11"), now=NOW)


def by(rows: list[dict], key: str) -> dict:
    return {row[key]: row for row in rows}


def test_contract_section(november: report.Report) -> None:
    assert november.contract == {
        "contract": "ACME-2026-11",
        "valid_from": "2026-11-04",
        "valid_until": "2027-10-31",
        "timezone": "Europe/Berlin",
    }
    tasks = by(november.tasks, "task")
    assert {t["task"] for t in november.tasks if t["category"] == "operation"} == {
        "content_sync",
        "config_tuning",
        "access_review",
    }
    assert tasks["patching"]["category"] == "maintenance"
    assert tasks["patching"]["window"] == "Sun 02:00-04:00"
    assert tasks["content_sync"]["cadence"] == "weekly"
    assert tasks["restore_drill"]["hosts"] == ["web1"]
    assert november.period["start"] == "2026-11-01T00:00:00+01:00"
    assert november.period["last_day"] == "2026-11-30"


def test_operation_done(november: report.Report) -> None:
    op = november.operation
    assert [r["release"] for r in op["content_releases"]] == [
        "20261105T100000Z",
        "20261112T100000Z",
        "20261126T100000Z",
    ]
    assert [r["ref"] for r in op["content_releases"]] == ["v1", "v2", "v3"]
    assert op["content_releases"][0]["at"] == "2026-11-05 11:00"  # Berlin time
    changes = by(op["tuning_changes"], "setting")
    assert set(changes) == {"pm.max_children", "innodb_buffer_pool_size", "fastcgi_read_timeout"}
    assert (changes["pm.max_children"]["old"], changes["pm.max_children"]["new"]) == ("5", "14")
    assert changes["fastcgi_read_timeout"]["old"] is None
    (review,) = op["access_reviews"]
    assert (review["requests"], review["errors_4xx"], review["login_posts"]) == (57, 6, 30)
    assert [p["title"] for p in op["proposals"]] == [
        "Enable the WordPress fail2ban jail (wp-login.php)",
        "Redirect /old-offer/",
    ]


def test_maintenance_done(november: report.Report) -> None:
    mt = november.maintenance
    packages = [
        (p["host"], p["package"], p["old"], p["new"], p["security"]) for p in mt["packages"]
    ]
    assert packages == [
        ("web1", "openssl", "3.0.11-1~deb12u1", "3.0.11-1~deb12u2", True),
        ("web1", "nginx", "1.22.1-9", "1.22.1-9+deb12u1", True),
        ("web1", "tzdata", "2024a-0+deb12u1", "2025b-0+deb12u1", False),
        ("web2", "openssl", "3.0.11-1~deb12u1", "3.0.11-1~deb12u2", True),
    ]  # the --check run planned tzdata on both hosts: not counted
    assert [(r["host"], r["state"]) for r in mt["reboots"]] == [("web1", "rebooted")]
    hardening = [(h["host"], h["index_before"], h["index_after"]) for h in mt["hardening"]]
    assert hardening == [("web1", 59, 80), ("web1", 80, 84), ("web2", 59, 81)]  # not December
    backups = mt["backups"]
    assert (backups["count"], backups["failed"]) == (6, 1)
    web1, web2 = backups["hosts"]
    assert (web1["ok"], web1["repository_size"], web1["snapshots"]) == (4, 150 * MIB, 7)
    assert (web2["ok"], web2["failed"], web2["repository_size"]) == (2, 1, 85 * MIB)
    # Age at the end of the period (2026-12-01 00:00 Berlin) of the backup that finished
    # 2026-11-27 03:02:10 UTC: 3 days 19:57:50.
    assert web1["latest_age_seconds"] == 3 * 86400 + 19 * 3600 + 57 * 60 + 50
    (drill,) = mt["restore_drills"]
    assert drill["ok"] and drill["time_to_restore_seconds"] == 42.5 and drill["checks"] == 3


def test_coverage_expected_done_and_misses(november: report.Report) -> None:
    rows = by(november.coverage, "task")
    assert (rows["content_sync"]["expected"], rows["content_sync"]["done"]) == (4, 3)
    assert rows["content_sync"]["missed"] == ["week 2026-W47"]
    # Backups are contracted on every host: W47's failed on web2 and W48's ran on web1 only.
    assert rows["backup"]["missed"] == ["week 2026-W47 on web2", "week 2026-W48 on web2"]
    assert (rows["patching"]["expected"], rows["patching"]["done"]) == (1, 1)
    assert rows["config_tuning"]["successes"] == 1


def test_out_of_scope_refused_failures_incidents(month, november: report.Report) -> None:
    (billable,) = november.out_of_scope
    assert (billable["task"], billable["reason"], billable["hosts"]) == (
        "diagnose",
        HOSTILE,
        ["web2"],
    )
    (refused,) = november.refused  # the refusal of 2026-10-28 is outside the period
    assert refused["task"] == "healthcheck" and "not in contract" in refused["reason"]
    failures = by(november.failures, "run")
    assert failures[month.ids["pt_failed"]]["resolved"]  # patched on 2026-11-15
    assert not failures[month.ids["bk3"]]["resolved"]  # web2 not backed up since
    assert failures[month.ids["bk3"]]["hosts"] == ["web2"]
    (incident,) = november.incidents
    assert incident["severity"] == "critical" and incident["checks_ok"] == 1
    assert [f["check"] for f in incident["findings"]] == ["units", "disk", "memory"]
    assert incident["run"] == month.ids["diag"]


def test_runs_per_week(november: report.Report) -> None:
    weeks = {w["week"]: w["counts"] for w in november.charts["runs_per_week"]}
    assert list(weeks) == [f"2026-W{n}" for n in range(44, 50)]
    assert weeks["2026-W45"] == {"operation": 1, "maintenance": 2, "onboarding": 0}
    assert weeks["2026-W46"] == {"operation": 2, "maintenance": 4, "onboarding": 0}
    assert weeks["2026-W47"]["maintenance"] == 2  # the refused healthcheck did not run
    total = sum(sum(c.values()) for c in weeks.values())
    assert total == november.runs - len(november.refused) == 16


def test_footer_names_the_range_and_a_verified_head(month, november: report.Report) -> None:
    entries = list(month.book.entries())
    first = next(e.seq for e in entries if e.run_id == month.ids["cs1"])
    last = max(e.seq for e in entries if e.run_id == month.ids["rd"])
    check = november.ledger
    assert (check.first_seq, check.last_seq) == (first, last)
    assert check.ok and check.head_seq == len(entries)
    assert check.head_hash and re.fullmatch(r"[0-9a-f]{64}", check.head_hash)
    text = report_render.to_markdown(november)
    assert f"ledger entries {first} to {last}" in text
    assert "ledger verify: PASSED" in text and check.head_hash in text
    assert check.checkpoint == f"{check.head_seq}:{check.head_hash}"
    command = f"omctl ledger verify --checkpoint {check.checkpoint}"
    assert check.verify_command == command
    for page in (text, report_render.to_html(november)):
        assert f"Checkpoint {check.checkpoint}: this report was built on ledger entry " in page
        assert command in page
    assert json.loads(report_render.to_json(november))["ledger"]["checkpoint"] == check.checkpoint


def test_tampered_ledger_makes_the_footer_say_failed(tmp_path) -> None:
    month = build_month(make_workspace(tmp_path))
    raw = sqlite3.connect(month.book.path)
    raw.execute("DROP TRIGGER entries_no_update")
    raw.execute(
        "UPDATE entries SET payload = replace(payload, '\"ok\":true', '\"ok\":false') "
        "WHERE seq = (SELECT min(seq) FROM entries WHERE kind = ?)",
        (ledger.EVIDENCE,),
    )
    raw.commit()
    raw.close()
    built = report.collect(month.book, report.subject(month.ws, "acme", "2026-11"), now=NOW)
    assert not built.ledger.ok and "altered" in built.ledger.problem
    assert "ledger verify: FAILED" in report_render.to_markdown(built)
    html = report_render.to_html(built)
    assert '<p class="verdict-failed">ledger verify: FAILED' in html
    assert "PASSED" not in html
    month.close()


def test_after_a_full_verify_the_footer_says_what_the_report_checked(tmp_path) -> None:
    month = build_month(make_workspace(tmp_path))
    about = report.subject(month.ws, "acme", "2026-11")
    whole = report.collect(month.book, about, now=NOW)
    assert whole.ledger.verified is None  # no verify recorded yet: the whole chain
    assert "the hash chain is intact up to the head" in report_render.to_markdown(whole)
    verified = month.book.verify()
    month.book.record_verified(verified)
    built = report.collect(month.book, about, now=NOW)
    check = built.ledger
    assert check.ok and check.head_seq == verified.head_seq
    assert f"the hash chain from entry {verified.head_seq}" in check.verified
    text = report_render.to_markdown(built)
    assert f"ledger verify: PASSED - verified the hash chain from entry {verified.head_seq}" in text
    assert "entries in the ledger" in text
    # An entry of a run the report uses, altered after that verify: the report fails.
    raw = sqlite3.connect(month.book.path)
    raw.execute("DROP TRIGGER entries_no_update")
    raw.execute(
        "UPDATE entries SET payload = replace(payload, '\"ok\":true', '\"ok\":false') "
        "WHERE seq = (SELECT min(seq) FROM entries WHERE kind = ? AND run_id = ?)",
        (ledger.EVIDENCE, month.ids["rd"]),
    )
    raw.commit()
    raw.close()
    tampered = report.collect(month.book, about, now=NOW)
    assert not tampered.ledger.ok and "altered" in tampered.ledger.problem
    assert "ledger verify: FAILED" in report_render.to_markdown(tampered)
    month.close()


def test_days_range_includes_both_days(month) -> None:
    week = report.subject(month.ws, "acme", start="2026-11-09", end="2026-11-15")
    built = report.collect(month.book, week, now=NOW)
    assert built.period["label"] == "2026-11-09 to 2026-11-15"
    tasks = sorted(
        {r["task"] for r in built.maintenance["hardening"] + built.maintenance["packages"]}
    )
    assert tasks == ["hardening", "patching"]  # 2026-11-09 and 2026-11-15 included
    assert [r["release"] for r in built.operation["content_releases"]] == ["20261112T100000Z"]
    assert built.maintenance["backups"]["count"] == 2


@pytest.mark.parametrize(
    ("period", "start", "end", "message"),
    [
        ("2026-13", None, None, "is not a month"),
        ("2026-1", None, None, "is not a month"),
        ("2026-11", "2026-11-01", None, "not both"),
        (None, "2026-11-20", "2026-11-10", "is after --to"),
        (None, "2026-11-31", "2026-12-01", "is not a date"),
        (None, "2026-11-01", None, "both --from and --to"),
        (None, None, None, "give --period"),
    ],
)
def test_bad_periods(period, start, end, message) -> None:
    with pytest.raises(BadInput, match=message):
        report.parse_period(period, start, end, "Europe/Berlin")


def test_markdown_sections_and_escaping(november: report.Report) -> None:
    text = report_render.to_markdown(november)
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    assert headings == [
        "The contract",
        "Who does what",
        "Operation done",
        "Maintenance done",
        "Coverage",
        "Out-of-scope work (billable)",
        "Refused requests",
        "Failures and incidents",
        "Fees",
        "Ledger verification",
    ]
    assert "<script>" not in text and "&lt;script&gt;" in text
    row = next(line for line in text.splitlines() if "| diagnose |" in line)
    assert row.count(" | ") == 6  # the reason's | is escaped, not a new column
    assert "| content_sync | operation | weekly | 4 | 3 | week 2026-W47 | no |" in text
    assert "- nginx.service failed [critical]" in text
    assert "- restart nginx.service: restarted, now active (nginx.service was failed" in text
    assert "Findings (1 other check found nothing):" in text


def test_html_is_self_contained_and_escaped(november: report.Report) -> None:
    page = report_render.to_html(november)
    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&lt;b&gt;Ann&lt;/b&gt; &amp; fix" in page
    for external in ("src=", "href=", "<link", "url(", "@import"):
        assert external not in page
    assert page.count("<svg") == 3
    for chart in ("chart-runs", "chart-hardening", "chart-backup"):
        svg = re.search(rf'<svg id="{chart}".*?</svg>', page, re.DOTALL)
        assert svg and f'<title id="{chart}-title">' in svg.group(0)
        assert 'class="axis-label"' in svg.group(0)
        assert f'aria-describedby="{chart}-data"' in svg.group(0)
    assert "@media print" in page and "break-before: page" in page
    # One circle per Lynis audit in the period, one bar segment per (week, category) > 0.
    hardening = re.search(r'<svg id="chart-hardening".*?</svg>', page, re.DOTALL).group(0)
    assert hardening.count("<circle") == len(november.charts["hardening_index"]) == 6
    bars = re.search(r'<svg id="chart-runs".*?</svg>', page, re.DOTALL).group(0)
    segments = sum(1 for w in november.charts["runs_per_week"] for n in w["counts"].values() if n)
    assert bars.count("<rect x=") - 3 == segments  # minus the legend's three swatches


def test_json_round_trips_the_numbers(november: report.Report) -> None:
    data = json.loads(report_render.to_json(november))
    assert data["maintenance"]["backups"]["count"] == 6
    assert data["out_of_scope"][0]["reason"] == HOSTILE
    assert data["ledger"]["ok"] is True
    assert data["coverage"][0]["missed"] == ["week 2026-W47"]


# --- the command ---------------------------------------------------------------------------


def omctl(ws_root: Path, *args: str):
    return CliRunner().invoke(app, ["--workspace", str(ws_root), "report", *args])


def one_line_error(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["acme", "--period", "2026-13"], "'2026-13' is not a month"),
        (["acme", "--from", "2026-11-20", "--to", "2026-11-10"], "is after --to"),
        (["acme", "--period", "2026-11", "--from", "2026-11-01"], "not both"),
        (["nobody", "--period", "2026-11"], "unknown client 'nobody'"),
        (["acme", "--period", "2026-11", "--format", "docx"], "docx"),
    ],
)
def test_cli_bad_input_is_one_line_exit_2_and_writes_nothing(month, tmp_path, args, message):
    target = tmp_path / "out" / "report.html"
    target.parent.mkdir()
    result = omctl(month.ws.root, *args, "--output", str(target))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert message in one_line_error(result)
    assert list(target.parent.iterdir()) == []


def test_cli_writes_the_report_atomically(month, tmp_path) -> None:
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "acme-2026-11.json"
    target.write_text("old")
    result = omctl(
        month.ws.root, "acme", "--period", "2026-11", "--format", "json", "-o", str(target)
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    data = json.loads(target.read_text())
    assert data["client"] == "acme" and data["maintenance"]["backups"]["count"] == 6
    assert [p.name for p in target.parent.iterdir()] == [target.name]  # no temporary left


def test_cli_prints_markdown_and_html(month) -> None:
    result = omctl(month.ws.root, "acme", "--from", "2026-11-01", "--to", "2026-11-30")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("# Service report: acme, 2026-11-01 to 2026-11-30")
    page = omctl(month.ws.root, "acme", "--period", "2026-11", "--format", "html")
    assert page.exit_code == 0 and page.stdout.startswith("<!DOCTYPE html>")


def test_cli_missing_output_folder_is_bad_input(month, tmp_path) -> None:
    result = omctl(month.ws.root, "acme", "--period", "2026-11", "-o", str(tmp_path / "no/x.md"))
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "does not exist" in one_line_error(result)


def test_cli_records_the_checkpoint_each_report_states(tmp_path) -> None:
    month = build_month(make_workspace(tmp_path / "ws"))
    runs_before = ledger.runs(month.book)
    about = report.subject(month.ws, "acme", "2026-11")
    before = report.collect(month.book, about, now=NOW)
    target = tmp_path / "acme-2026-11.html"
    result = omctl(month.ws.root, "acme", "--period", "2026-11", "--format", "html", "-o",
                   str(target))  # fmt: skip
    assert result.exit_code == 0, result.stderr
    printed = omctl(month.ws.root, "acme", "--period", "2026-11", "--format", "json")
    stated = json.loads(printed.stdout)["ledger"]
    entries = list(month.book.entries())
    first, second = [e for e in entries if e.kind == ledger.CHECKPOINT]
    assert first.run_id == ledger.REPORT_ENTRY
    assert first.payload["format"] == "html" and first.payload["output"] == str(target)
    assert first.payload["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    assert first.payload["period"]["label"] == "2026-11" and first.payload["verified"]
    # The second report was built on the head that includes the first report's entry.
    assert (stated["head_seq"], stated["head_hash"]) == (second.payload["seq"],
                                                         second.payload["hash"])  # fmt: skip
    assert second.payload["seq"] == first.seq and second.payload["format"] == "json"
    assert second.payload["sha256"] == hashlib.sha256(printed.stdout.encode()).hexdigest()
    assert f"Checkpoint {first.payload['seq']}:{first.payload['hash']}" in target.read_text()
    # Reports are no runs: history, coverage and the next report are unchanged by them.
    assert ledger.runs(month.book) == runs_before
    again = report.collect(month.book, about, now=NOW)
    assert again.ledger.ok and again.ledger.head_seq == before.ledger.head_seq + 2
    assert (again.runs, again.coverage, again.failures) == (
        before.runs,
        before.coverage,
        before.failures,
    )
    kept = f"{first.payload['seq']}:{first.payload['hash']}"
    verified = CliRunner().invoke(
        app, ["--workspace", str(month.ws.root), "ledger", "verify", "--checkpoint",
              stated["checkpoint"], "--checkpoint", kept]
    )  # fmt: skip
    assert verified.exit_code == 0, verified.stderr
    month.close()


def test_a_failed_write_keeps_the_previous_file(tmp_path, monkeypatch) -> None:
    target = tmp_path / "report.md"
    target.write_text("previous report")

    def broken_rename(_src, _dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", broken_rename)
    with pytest.raises(BadInput, match="No space left on device"):
        report.write_atomic(target, "new report")
    assert target.read_text() == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_the_html_styles_the_ledger_verdict_by_what_it_is(november: report.Report) -> None:
    html = report_render.render(november, "html")
    assert '<p class="verdict-ok">ledger verify: PASSED' in html
    broken = dataclasses.replace(
        november, ledger=dataclasses.replace(november.ledger, ok=False, problem="entry 7 changed")
    )
    html = report_render.render(broken, "html")
    assert '<p class="verdict-failed">ledger verify: FAILED - entry 7 changed.' in html
    assert "verdict-ok" not in html.split("<style>")[1].split("</style>")[1]


def test_drift_checks_are_maintenance_done_even_when_nothing_changed(tmp_path) -> None:
    from omctl.evidence import drift

    built = MonthLedger(make_workspace(tmp_path))
    try:
        built.run("applied", "hardening", report_ledger_day("2026-11-08 02:30"))
        for at, web1_tasks in (("2026-11-10 04:00", []), ("2026-11-11 04:00", ["sshd drop-in"])):
            records = {
                "web1": {"drift": drift.from_host("hardening", True, web1_tasks, None).dump()},
                "web2": {"drift": drift.from_host("hardening", True, [], None).dump()},
            }
            built.run(at, "hardening", report_ledger_day(at), evidence=records, check=True)
        made = report.collect(built.book, report.subject(built.ws, "acme", "2026-11"), now=NOW)
    finally:
        built.close()
    rows = [(r["at"], r["host"], r["verdict"]) for r in made.maintenance["verifications"]]
    assert rows == [
        ("2026-11-10 05:00", "web1", "verified: no drift"),
        ("2026-11-10 05:00", "web2", "verified: no drift"),
        ("2026-11-11 05:00", "web1", "drift: 1 change on web1"),
        ("2026-11-11 05:00", "web2", "verified: no drift"),
    ]  # Berlin time
    text = report_render.to_markdown(made)
    found = "| 2026-11-11 05:00 | web1 | hardening | drift: 1 change on web1 | sshd drop-in |"
    assert found in text
    assert "| 2026-11-10 05:00 | web2 | hardening | verified: no drift | none |" in text


# --- fees, responsibilities, requests (issue 15) ----------------------------------------------


def test_a_contract_without_fees_says_so(november: report.Report) -> None:
    assert november.fees == {"stated": False, "note": "no fees in the contract"}
    text = report_render.to_markdown(november)
    assert "Fees: no fees in the contract." in text and "0.00" not in text
    assert "_the contract names no responsibilities_" in text


@pytest.fixture(scope="module")
def billed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MonthLedger, Billed]]:
    built = build_month(make_workspace(tmp_path_factory.mktemp("ws")))
    recorded = bill_month(built)
    yield built, recorded
    built.close()


@pytest.fixture(scope="module")
def billed_november(billed) -> report.Report:
    month, _ = billed
    return report.collect(month.book, report.subject(month.ws, "acme", "2026-11"), now=NOW)


def test_the_fees_of_the_month(billed, billed_november: report.Report) -> None:
    month, recorded = billed
    fees = billed_november.fees
    assert fees["stated"] and fees["currency"] == "EUR" and fees["total"] == BILLED_TOTAL
    assert [(m["category"], m["amount"], m["note"]) for m in fees["monthly"]] == [
        ("operation", "270.00", "pro-rated 27/30 days"),
        ("maintenance", "180.00", "pro-rated 27/30 days"),
    ]  # the contract starts on 2026-11-04
    hours = {h["category"]: h for h in fees["hours"]}
    assert (hours["operation"]["used_hours"], hours["operation"]["overage_amount"]) == (
        "2.50",
        "45.00",
    )
    assert (hours["maintenance"]["used_minutes"], hours["maintenance"]["overage_amount"]) == (
        30,
        "0.00",
    )  # the staging work is out of scope and not approved: not counted here
    billable = {r["ref"]: r for r in fees["out_of_scope"]}
    newsletter = recorded.requests["newsletter"]
    by_request = [r for r in fees["out_of_scope"] if r["request"] == newsletter]
    assert [(r["task"], r["amount"]) for r in by_request] == [
        (None, "202.50"),
        ("healthcheck", "22.50"),
    ]
    assert by_request[0]["approval"] == f"request {newsletter} by Eva (acme)"
    assert by_request[0]["quote_hours"] == "3" and by_request[0]["minutes"] == 130
    diagnose = billable[month.ids["diag"]]
    assert (diagnose["basis"], diagnose["amount"]) == ("task price", "120.00")
    assert diagnose["approval"] == f"reason: {HOSTILE}"
    (awaiting,) = fees["awaiting_approval"]
    assert awaiting["request"] == recorded.requests["staging"] and awaiting["minutes"] == 40
    assert awaiting["approval"] == f"request {recorded.requests['staging']}: not approved"
    opened = [r["id"] for r in billed_november.open_requests]
    assert opened == [recorded.requests[n] for n in ("newsletter", "staging", "certificate")]
    assert billed_november.open_requests[-1]["state"] == "new"
    assert [r["area"] for r in billed_november.responsibilities] == [
        "Content",
        "DNS",
        "Backups off-site",
    ]


def test_fees_in_markdown_html_and_json(billed, billed_november: report.Report) -> None:
    _, recorded = billed
    text = report_render.to_markdown(billed_november)
    assert "| DNS | advises on the records | keeps the domain and its records |" in text
    assert "| operation | 300.00 EUR | 270.00 EUR | pro-rated 27/30 days |" in text
    assert "| operation | 2 h | 2.50 h | 0.50 h | 45.00 EUR |" in text
    assert "The included hours are those of a whole month, also in a month with a pro-rated" in text
    assert f"Total for 2026-11: {BILLED_TOTAL} EUR." in text
    newsletter = recorded.requests["newsletter"]
    row = next(line for line in text.splitlines() if "moved the newsletter lists" in line)
    assert f"{newsletter}: Move the newsletter to a new provider" in row
    assert f"request {newsletter} by Eva (acme)" in row and "| 3 h | 130 min | 2.25 h |" in row
    assert f"{recorded.requests['staging']}: Add a staging site" in text
    assert "Renew the certificate of the old domain" in text  # an open request
    page = report_render.to_html(billed_november)
    assert '<section id="fees"><h2>Fees</h2>' in page
    assert '<section id="responsibilities"><h2>Who does what</h2>' in page
    assert f"<td>{BILLED_TOTAL}</td>" in page and "&lt;script&gt;" in page
    data = json.loads(report_render.to_json(billed_november))
    assert data["fees"]["total"] == BILLED_TOTAL  # a decimal string, never a float
    assert data["fees"]["lines"][0]["amount"] == "270.00"


def test_fees_need_a_calendar_month(billed) -> None:
    month, _ = billed
    week = report.subject(month.ws, "acme", start="2026-11-09", end="2026-11-15")
    built = report.collect(month.book, week, now=NOW)
    assert built.fees == {"stated": False, "note": report.NOT_A_MONTH}


def test_cli_csv_of_the_billable_lines_totals_the_report(billed, billed_november) -> None:
    month, recorded = billed
    result = omctl(month.ws.root, "acme", "--period", "2026-11", "--format", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("date,client,contract,category,description,request_id,")
    assert result.stdout_bytes.count(b"\r\n") == 7  # RFC 4180 line ends: header and 6 lines
    rows = list(csv.DictReader(io.StringIO(result.stdout_bytes.decode(), newline="")))
    assert sum(Decimal(r["amount"]) for r in rows) == Decimal(billed_november.fees["total"])
    assert all(r["currency"] == "EUR" and r["client"] == "acme" for r in rows)
    assert [r["amount"] for r in rows] == ["270.00", "180.00", "45.00", "202.50", "120.00",
                                           "22.50"]  # fmt: skip
    newsletter = next(r for r in rows if r["request_id"] == recorded.requests["newsletter"])
    assert (newsletter["quantity"], newsletter["unit"], newsletter["unit_price"]) == (
        "2.25",
        "h",
        "90.00",
    )
    overage = next(r for r in rows if r["unit"] == "h" and not r["request_id"])
    assert (overage["quantity"], overage["amount"]) == ("0.50", "45.00")
    (checkpoint,) = [
        e
        for e in month.book.entries(run_id=ledger.REPORT_ENTRY)
        if e.kind == ledger.CHECKPOINT and e.payload["format"] == "csv"
    ]
    assert checkpoint.payload["sha256"] == hashlib.sha256(result.stdout_bytes).hexdigest()


def test_a_csv_cell_a_spreadsheet_would_run_is_defused() -> None:
    built = report.Report.__new__(report.Report)
    line = dict.fromkeys(billing.CSV_COLUMNS, "1")
    built.fees = {"lines": [{**line, "description": "=HYPERLINK(1)", "amount": "-5.00"}]}
    (row,) = list(csv.DictReader(io.StringIO(report_render.to_csv(built), newline="")))
    assert row["description"] == "'=HYPERLINK(1)" and row["amount"] == "-5.00"


@pytest.mark.parametrize(
    ("fees", "args", "message"),
    [
        (True, ["--from", "2026-11-01", "--to", "2026-11-15"], "give --period YYYY-MM"),
        (False, ["--period", "2026-11"], "no fees in the contract, so no CSV"),
    ],
)
def test_cli_csv_without_a_month_or_fees_is_one_line_exit_2(
    month, billed, fees, args, message
) -> None:
    book, root = (billed[0].book, billed[0].ws.root) if fees else (month.book, month.ws.root)
    before = len(list(book.entries()))
    result = omctl(root, "acme", *args, "--format", "csv")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert message in one_line_error(result)
    assert len(list(book.entries())) == before


# --- vulnerability scans (issue 16) -----------------------------------------------------------


def _scan(*findings: tuple[str, str, str]) -> dict:
    """A vulnerability_scan record of (component type, name, id) findings."""
    return {
        "scanned_at": "2026-11-01T00:00:00Z",
        "feeds": [{"kind": "wordpress", "path": "feed.json", "sha256": "0" * 64, "entries": 3,
                   "notice": "Copyright 2012-2026 Defiant Inc."}],
        "findings": [
            {"source": "wordpress", "type": kind, "slug": name, "installed": "1.0",
             "fixed_in": "1.1", "score": 8.1, "severity": "high", "id": vuln,
             "site": "/var/www/shop", "alert": True,
             "reference": f"https://www.wordfence.com/threat-intel/vulnerabilities/id/{vuln}"}
            for kind, name, vuln in findings
        ],
    }  # fmt: skip


def test_vulnerabilities_found_fixed_and_still_open_against_the_scan_before(tmp_path) -> None:
    built = MonthLedger(make_workspace(tmp_path))
    scope_file = built.ws.client_dir("acme") / "scope.yml"
    scope_file.write_text(scope_file.read_text() + "  vulnerability_scan: {every: weekly}\n")
    old = ("plugin", "contact-form", "CVE-2026-1")
    kept = ("theme", "shopfront", "CVE-2026-2")
    new = ("plugin", "gallery", "CVE-2026-3")
    try:
        # October: before the contract was in force, so out of scope with a reason.
        built.run("2026-10-30 10:00", "vulnerability_scan", report_ledger_day("2026-10-30 10:00"),
                  limit="web1", reason="handover scan",
                  evidence={"web1": {"vulnerability_scan": _scan(old, kept)}})  # fmt: skip
        for at, found in (
            ("2026-11-10 10:00", (old, kept, new)),
            ("2026-11-20 10:00", (kept, new)),
        ):
            built.run(at, "vulnerability_scan", report_ledger_day(at), limit="web1",
                      evidence={"web1": {"vulnerability_scan": _scan(*found)}})  # fmt: skip
        made = report.collect(built.book, report.subject(built.ws, "acme", "2026-11"), now=NOW)
        december = report.collect(built.book, report.subject(built.ws, "acme", "2026-12"), now=NOW)
    finally:
        built.close()
    found = made.maintenance["vulnerabilities"]
    states = sorted((r["component"], r["state"]) for r in found["findings"])
    assert states == [
        ("plugin contact-form", "fixed"),  # in October's scan and November's first, not the last
        ("plugin gallery", "new"),  # not in October's
        ("theme shopfront", "still open"),  # in October's too
    ]
    assert found["counts"] == {"new": 1, "still open": 1, "fixed": 1, "alerts": 2}
    text = report_render.to_markdown(made)
    assert "Known vulnerabilities" in text and "CVE-2026-3" in text
    assert "1 found in this period, 1 fixed, 2 open at the last scan" in text
    assert "Wordfence Intelligence: Copyright 2012-2026 Defiant Inc." in text
    assert december.maintenance["vulnerabilities"] == {}  # no scan in December: no verdict
    assert "Vulnerability scans: none in this period." in report_render.to_markdown(december)


def test_a_held_update_is_waiting_for_the_client_and_an_installed_one_shows_fixed(tmp_path) -> None:
    """The plugin's update installed between two scans: fixed at the next scan; the theme's
    update held by the client's policy: its finding stays open, waiting for the client."""
    built = MonthLedger(make_workspace(tmp_path))
    scope_file = built.ws.client_dir("acme") / "scope.yml"
    scope_file.write_text(scope_file.read_text() + "  vulnerability_scan: {every: weekly}\n"
                          "  wordpress_update: {every: weekly}\n")  # fmt: skip
    plugin = ("plugin", "contact-form", "CVE-2026-1")
    theme = ("theme", "shopfront", "CVE-2026-2")
    shots = {}
    for phase, colour in (("before", "white"), ("after", "red")):
        shots[phase] = str(tmp_path / f"{phase}.png")
        Image.new("RGB", (1280, 1024), colour).save(shots[phase])
    pages = {phase: [{"path": "/", "status": 200, "ok": True, "screenshot": shot}]
             for phase, shot in shots.items()}  # fmt: skip
    update = {"items": [{"site": "/var/www/shop", "type": "plugin", "slug": "contact-form",
                         "from": "1.0", "to": "1.1", "outcome": "updated", **pages}],
              "held": [{"site": "/var/www/shop", "type": "theme", "slug": "shopfront",
                        "from": "1.0", "to": "1.1", "held": True,
                        "reason": "held: waiting for the client's decision"}]}  # fmt: skip
    try:
        at = "2026-11-10 10:00"
        built.run(at, "vulnerability_scan", report_ledger_day(at), limit="web1",
                  evidence={"web1": {"vulnerability_scan": _scan(plugin, theme)}})  # fmt: skip
        at = "2026-11-11 10:00"
        built.run(at, "wordpress_update", report_ledger_day(at), limit="web1",
                  evidence={"web1": {"wordpress_update": update}})  # fmt: skip
        at = "2026-11-12 10:00"
        built.run(at, "vulnerability_scan", report_ledger_day(at), limit="web1",
                  evidence={"web1": {"vulnerability_scan": _scan(theme)}})  # fmt: skip
        made = report.collect(built.book, report.subject(built.ws, "acme", "2026-11"), now=NOW)
    finally:
        built.close()
    found = made.maintenance["vulnerabilities"]
    assert sorted((r["component"], r["state"]) for r in found["findings"]) == [
        ("plugin contact-form", "fixed"),
        ("theme shopfront", "new, waiting for the client's decision"),
    ]
    assert found["counts"] == {"new": 1, "still open": 0, "fixed": 1, "alerts": 1}
    assert "new, waiting for the client's decision" in report_render.to_markdown(made)
    updates = made.maintenance["wordpress_updates"]
    assert [(r["component"], r["versions"], r["outcome"]) for r in updates] == [
        ("plugin contact-form", "1.0 -> 1.1", "updated"),
        ("theme shopfront", "1.0 -> 1.1", "held"),
    ]
    assert updates[0]["screenshots"] == [["/", shots["before"], shots["after"]]]
    page = report_render.to_html(made)
    assert "<caption>WordPress updates</caption>" in page
    assert page.count('<img src="data:image/jpeg;base64,') == 2
    assert "held: waiting for the client&#x27;s decision" in page
