"""omctl status through CliRunner, on real runs (ansible-runner, local-connection hosts) at the
real time: the CLI takes no clock; the rules at chosen times are in tests/unit/test_coverage.py."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from omctl.errors import ExitCode
from tests.unit.cli.test_main import one_line_error
from tests.unit.conftest import scope_text

MONTHLY_HEALTHCHECK = """\
maintenance:
  healthcheck:
    every: monthly
    hosts: [web]
"""


def _first_of_previous_month() -> date:
    today = datetime.now(UTC).date()
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


@pytest.fixture
def monthly(omctl):
    """A contract in force since the start of last month: last month has elapsed unserved."""
    path = omctl.ws.client_dir("acme") / "scope.yml"
    path.write_text(scope_text(valid_from=_first_of_previous_month(), body=MONTHLY_HEALTHCHECK))
    return omctl


def test_overdue_exits_5_until_the_task_is_done(monthly) -> None:
    path = monthly.ws.client_dir("acme") / "scope.yml"
    path.write_text(path.read_text().replace("[web]", "[web1]"))
    before = monthly("status", "acme")
    assert before.exit_code == ExitCode.OVERDUE == 5, before.stderr
    row = next(line for line in before.stdout.splitlines() if line.startswith("healthcheck"))
    last_month = f"{_first_of_previous_month():%Y-%m}"
    assert "never" in row and f"OVERDUE (missed {last_month})" in row
    assert "overdue: healthcheck" in before.stderr

    ran = monthly("run", "acme", "healthcheck", "--limit", "web1", "--json")
    assert ran.exit_code == 0, ran.stderr
    run_id = json.loads(ran.stdout)["id"]

    after = monthly("status", "acme", "--json")
    assert after.exit_code == ExitCode.OK, after.stderr
    data = json.loads(after.stdout)
    (task,) = data["tasks"]
    assert task["task"] == "healthcheck" and task["last_success_run"] == run_id
    assert task["overdue"] is False and data["overdue"] is False
    assert task["done"] == 1 and task["pending"] is None
    assert len(task["missed"]) == 0  # last month is not this month's business
    assert monthly("status", "acme").exit_code == ExitCode.OK


def test_failures_out_of_scope_and_refused_are_listed(monthly) -> None:
    failed = monthly("run", "acme", "healthcheck", "--limit", "web", "--json")
    assert failed.exit_code == ExitCode.HOST_FAILED
    failed_id = json.loads(failed.stdout)["id"]
    extra = monthly(
        "run", "acme", "healthcheck", "--limit", "db1", "--out-of-scope", "urgent call", "--json"
    )
    assert extra.exit_code == 0, extra.stderr
    extra_id = json.loads(extra.stdout)["id"]
    refused = monthly("run", "acme", "healthcheck", "--limit", "db1")
    assert refused.exit_code == ExitCode.REFUSED

    result = monthly("status", "acme", "--json")
    assert result.exit_code == ExitCode.OVERDUE  # neither run covers the month
    data = json.loads(result.stdout)
    assert [r["id"] for r in data["out_of_scope"]] == [extra_id]
    assert data["out_of_scope"][0]["out_of_scope_reason"] == "urgent call"
    assert len(data["refused"]) == 1 and "not on db1" in data["refused"][0]["refusal_reason"]
    (unresolved,) = data["unresolved"]
    assert unresolved["id"] == failed_id and unresolved["failed_hosts"] == ["web2"]

    table = monthly("status", "acme").stdout
    oos_section = table.split("Out-of-scope work this month:")[1].split("Refused")[0]
    assert extra_id in oos_section and "urgent call" in oos_section
    failures = table.split("Unresolved failures:")[1]
    assert failed_id in failures and "web2 failed" in failures
    # web1's success counts for web1; the task as a whole was never done on web2.
    row = next(line for line in table.splitlines() if line.startswith("healthcheck"))
    assert "never on web2" in row
    assert data["tasks"][0]["last_success_by_host"]["web2"] is None
    assert data["tasks"][0]["last_success_by_host"]["web1"] == data["unresolved"][0]["started_at"]


def test_bad_scope_names_the_line_and_unknown_client_exit_2(monthly) -> None:
    path = monthly.ws.client_dir("acme") / "scope.yml"
    path.write_text(path.read_text().replace("every: monthly", "every: fortnightly"))
    result = monthly("status", "acme")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert f"{path}:" in one_line_error(result) and "fortnightly" in result.stderr
    unknown = monthly("status", "nobody")
    assert unknown.exit_code == ExitCode.BAD_INPUT
    assert "unknown client 'nobody'" in one_line_error(unknown)


def test_help_documents_the_overdue_exit_code(omctl) -> None:
    result = omctl("status", "--help")
    assert result.exit_code == 0
    assert "Exits 5 when a task is overdue" in " ".join(result.stdout.split())
