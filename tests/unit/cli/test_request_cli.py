"""omctl request, omctl log and run --request through the CLI, on a real ledger."""

from __future__ import annotations

import json
import re

import pytest

from omctl.errors import ExitCode
from tests.unit.cli.test_main import one_line_error


def _ledger_size(omctl) -> int:
    verified = omctl("ledger", "verify")
    assert verified.exit_code == 0, verified.stderr
    return int(re.search(r"ledger ok: (\d+) entries", verified.stdout)[1])


def _add(omctl, text: str = "Please add a contact form", *options: str) -> str:
    result = omctl("request", "add", "acme", text, *options)
    assert result.exit_code == 0, result.stderr
    found = re.match(r"^(R\d+) added \(acme: new\)$", result.stdout.strip())
    assert found, result.stdout
    return found[1]


def test_a_request_from_added_to_closed(omctl) -> None:
    request = _add(omctl, "Contact form on /contact", "--from", "Jane <jane@acme.test>")
    classified = omctl(
        "request", "classify", request, "out-of-scope", "--reason", "new feature", "--json"
    )
    assert classified.exit_code == 0, classified.stderr
    state = json.loads(classified.stdout)
    assert state["classification"] == "out-of-scope" and state["state"] == "awaiting approval"
    approved = omctl("request", "approve", request, "--by", "Jane Doe", "--quote", "2.5", "--json")
    assert approved.exit_code == 0, approved.stderr
    state = json.loads(approved.stdout)
    assert (state["approved_by"], state["quote_hours"]) == ("Jane Doe", "2.5")
    assert state["state"] == "open"
    logged = omctl(
        "log", "acme", "Built the form", "--category", "operation", "--minutes", "50",
        "--request", request,
    )  # fmt: skip
    assert logged.exit_code == 0, logged.stderr
    assert re.match(rf"^W\d+: 50 min of operation for {request} logged for acme$", logged.stdout)
    closed = omctl("request", "close", request, "--note", "done")
    assert closed.exit_code == 0 and f"{request} closed (acme: closed)" in closed.stdout
    listed = json.loads(omctl("request", "list", "acme", "--json").stdout)
    assert [(r["id"], r["state"], r["minutes_logged"]) for r in listed] == [(request, "closed", 50)]
    assert listed[0]["requested_by"] == "Jane <jane@acme.test>"
    assert listed[0]["added_by"] == "cli@test"
    assert json.loads(omctl("request", "list", "acme", "--open", "--json").stdout) == []
    table = omctl("request", "list", "acme")
    assert request in table.stdout and "Contact form on /contact" in table.stdout
    assert "50 min" in table.stdout and "Jane Doe, quote 2.5 h" in table.stdout


@pytest.mark.parametrize(
    ("steps", "failing", "message"),
    [
        ([], ("request", "classify", "R999", "operation", "--reason", "x"), "no request R999"),
        ([], ("request", "classify", "12", "operation", "--reason", "x"), "is not a request id"),
        (
            [("request", "close", "{id}")],
            ("request", "classify", "{id}", "operation", "--reason", "late"),
            "was closed on",
        ),
        (
            [
                ("request", "classify", "{id}", "out-of-scope", "--reason", "x"),
                ("request", "approve", "{id}", "--by", "Jane"),
            ],
            ("request", "approve", "{id}", "--by", "Jane"),
            "was already approved by Jane",
        ),
        (
            [("request", "classify", "{id}", "operation", "--reason", "in the contract")],
            ("request", "approve", "{id}", "--by", "Jane"),
            "is operation: only out-of-scope work needs the client's approval",
        ),
        ([], ("request", "approve", "{id}", "--by", "Jane"), "is not classified yet"),
        (
            [("request", "classify", "{id}", "out-of-scope", "--reason", "x")],
            ("request", "approve", "{id}", "--by", "Jane", "--quote", "-1"),
            "--quote: '-1' must be a positive number of hours",
        ),
        ([("request", "close", "{id}")], ("request", "close", "{id}"), "cannot be closed twice"),
        ([], ("request", "classify", "{id}", "urgent", "--reason", "x"), "Invalid value"),
        ([], ("request", "classify", "{id}", "operation"), "Missing option '--reason'"),
        ([], ("request", "classify", "{id}", "operation", "--reason", "  "), "reason:"),
        ([], ("log", "acme", "x", "--category", "operation", "--minutes", "-5"), "minutes:"),
        ([], ("log", "acme", "x", "--category", "operation", "--minutes", "0"), "minutes:"),
        ([], ("log", "acme", "x", "--category", "operation", "--minutes", "2000"), "minutes:"),
        ([], ("log", "acme", "x", "--category", "billing", "--minutes", "5"), "Invalid value"),
        (
            [],
            ("log", "acme", "x", "--category", "operation", "--minutes", "5", "--request", "R999"),
            "no request R999",
        ),
        (
            [("request", "close", "{id}")],
            ("log", "acme", "x", "--category", "operation", "--minutes", "5", "--request", "{id}"),
            "log the work before closing it",
        ),
        (
            [("request", "classify", "{id}", "maintenance", "--reason", "an update")],
            ("log", "acme", "x", "--category", "operation", "--minutes", "5", "--request", "{id}"),
            "is classified maintenance, not operation",
        ),
        (
            [],
            ("log", "acme", "x", "--category", "operation", "--minutes", "5", "--at", "yesterday"),
            "is not an ISO 8601 time",
        ),
        (
            [],
            (
                "log",
                "acme",
                "x",
                "--category",
                "operation",
                "--minutes",
                "5",
                "--at",
                "2026-01-01T10:00",
            ),
            "needs a time zone offset",
        ),
        (
            [],
            (
                "log",
                "acme",
                "x",
                "--category",
                "operation",
                "--minutes",
                "5",
                "--at",
                "2999-01-01T10:00+00:00",
            ),
            "is in the future",
        ),
        ([], ("request", "add", "nobody", "text"), "nobody"),
        ([], ("log", "nobody", "x", "--category", "operation", "--minutes", "5"), "nobody"),
        ([], ("request", "list", "nobody"), "nobody"),
    ],
)
def test_bad_request_input_is_one_line_exit_2_and_records_nothing(
    omctl, steps, failing, message
) -> None:
    request = _add(omctl)
    for step in steps:
        done = omctl(*(part.format(id=request) for part in step))
        assert done.exit_code == 0, done.stderr
    before = _ledger_size(omctl)
    result = omctl(*(part.format(id=request) for part in failing))
    assert result.exit_code == ExitCode.BAD_INPUT, result.stdout
    if message.startswith(("Invalid value", "Missing option")):
        assert message in result.stderr and "Traceback" not in result.stderr
    else:
        assert message in one_line_error(result)
    assert _ledger_size(omctl) == before


def test_another_clients_request_is_refused(omctl, ws) -> None:
    other = ws.client_dir("acme").parent / "globex"
    other.mkdir()
    for name in ("hosts.yml", "scope.yml"):
        text = (ws.client_dir("acme") / name).read_text()
        (other / name).write_text(text.replace("client: acme", "client: globex"))
    result = omctl("request", "add", "globex", "Theirs")
    assert result.exit_code == 0, result.stderr
    theirs = result.stdout.split()[0]
    logged = omctl("log", "acme", "x", "--category", "operation", "--minutes", "5",
                   "--request", theirs)  # fmt: skip
    assert logged.exit_code == ExitCode.BAD_INPUT
    assert f"request {theirs} is globex's, not acme's" in one_line_error(logged)
    assert json.loads(omctl("request", "list", "acme", "--json").stdout) == []


def test_an_out_of_scope_run_needs_an_approved_request_or_a_reason(omctl) -> None:
    request = _add(omctl, "Check the database server too")
    refused = omctl("run", "acme", "healthcheck", "-l", "db1", "--request", request)
    assert refused.exit_code == ExitCode.REFUSED
    assert f"request {request} is not approved out-of-scope work" in one_line_error(refused)
    assert omctl("request", "classify", request, "out-of-scope", "--reason", "db1 is not in "
                 "the contract").exit_code == 0  # fmt: skip
    refused = omctl("run", "acme", "healthcheck", "-l", "db1", "--request", request)
    assert refused.exit_code == ExitCode.REFUSED
    assert omctl("request", "approve", request, "--by", "Jane Doe").exit_code == 0
    ran = omctl("run", "acme", "healthcheck", "-l", "db1", "--request", request, "--json")
    assert ran.exit_code == 0, ran.stderr
    run = json.loads(ran.stdout)
    assert run["in_scope"] is False and run["request"] == request
    assert run["out_of_scope_reason"].startswith(f"request {request}, approved by Jane Doe on ")
    history = json.loads(omctl("history", "acme", "--json").stdout)
    assert [entry.get("request") for entry in history] == [request, request, request]
    shown = json.loads(omctl("show", run["id"], "--json").stdout)
    assert shown["request"] == request


def test_an_in_scope_run_is_linked_to_its_request_and_a_closed_one_is_refused(omctl) -> None:
    request = _add(omctl, "Is the site healthy?")
    ran = omctl("run", "acme", "healthcheck", "-l", "web1", "--request", request.lower(), "--json")
    assert ran.exit_code == 0, ran.stderr
    run = json.loads(ran.stdout)
    assert run["in_scope"] is True and run["request"] == request
    assert run["out_of_scope_reason"] is None
    assert omctl("request", "close", request).exit_code == 0
    before = _ledger_size(omctl)
    closed = omctl("run", "acme", "healthcheck", "-l", "web1", "--request", request)
    assert closed.exit_code == ExitCode.BAD_INPUT
    assert f"request {request} is closed" in one_line_error(closed)
    assert _ledger_size(omctl) == before
    unlinked = omctl("run", "acme", "healthcheck", "-l", "web1", "--json")
    assert "request" not in json.loads(unlinked.stdout)


def test_work_logged_later_counts_when_it_was_done(omctl) -> None:
    logged = omctl(
        "log", "acme", "Answered the SEO question", "--category", "operation", "--minutes", "20",
        "--at", "2026-11-30T23:30:00+01:00", "--json",
    )  # fmt: skip
    assert logged.exit_code == 0, logged.stderr
    item = json.loads(logged.stdout)
    assert item["at"] == "2026-11-30T22:30:00+00:00" and item["operator"] == "cli@test"
    assert item["minutes"] == 20 and item["request"] is None


def test_status_shows_open_requests_and_work_awaiting_approval(omctl) -> None:
    waiting = _add(omctl, "Redesign the shop's front page")
    assert omctl("request", "classify", waiting, "out-of-scope", "--reason", "a project"
                 ).exit_code == 0  # fmt: skip
    answered = _add(omctl, "Why was the site slow on Monday?")
    assert omctl("request", "close", answered, "--note", "answered").exit_code == 0
    shown = omctl("status", "acme", "--json")
    data = json.loads(shown.stdout)
    assert [(r["id"], r["state"], r["age_days"]) for r in data["open_requests"]] == [
        (waiting, "awaiting approval", 0)
    ]
    text = omctl("status", "acme").stdout
    assert "Open requests:" in text and waiting in text and answered not in text
    assert "awaiting approval" in text
    every = json.loads(omctl("status", "--json").stdout)
    assert (every[0]["open_requests"], every[0]["awaiting_approval"]) == (1, 1)
    assert "open requests: 1; awaiting approval: 1" in omctl("status").stdout


FEES = """\
fees:
  currency: EUR
  monthly: {operation: 300, maintenance: 200}
  included_hours: {operation: 1, maintenance: 1}
  hourly_rate: 90
  increment_minutes: 15
"""


def test_status_shows_hours_used_against_the_included_ones_as_billed(omctl, ws) -> None:
    scope_file = ws.client_dir("acme") / "scope.yml"
    scope_file.write_text(scope_file.read_text() + FEES)
    for minutes in (50, 20):  # billed 60 + 30: half an hour over the included hour
        logged = omctl("log", "acme", "Answered", "--category", "operation", "--minutes",
                       str(minutes))  # fmt: skip
        assert logged.exit_code == 0, logged.stderr
    waiting = _add(omctl, "A new shop page")
    assert omctl("request", "classify", waiting, "out-of-scope", "--reason", "a project"
                 ).exit_code == 0  # fmt: skip
    assert omctl("log", "acme", "Drafted it", "--category", "operation", "--minutes", "40",
                 "--request", waiting).exit_code == 0  # fmt: skip
    hours = json.loads(omctl("status", "acme", "--json").stdout)["hours"]
    operation = next(c for c in hours["categories"] if c["category"] == "operation")
    assert (operation["used_hours"], operation["overage_hours"]) == ("1.50", "0.50")
    assert operation["overage_amount"] == "45.00" and hours["currency"] == "EUR"
    assert [(item["request"], item["minutes"]) for item in hours["awaiting_approval"]] == [
        (waiting, 40)
    ]
    text = omctl("status", "acme").stdout
    assert "Hours this month: operation 1.50 of 1 h, 0.50 h over: 45.00 EUR" in text
    assert "awaiting the client's approval: 1 item(s), 40 min" in text


def test_status_without_fees_says_nothing_of_hours(omctl) -> None:
    assert json.loads(omctl("status", "acme", "--json").stdout)["hours"] is None
    assert "Hours this month" not in omctl("status", "acme").stdout
