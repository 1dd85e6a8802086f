"""omctl tick through the CLI: real runs (ansible-runner, local connection) of what is due."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta

from omctl import locking
from omctl.errors import ExitCode
from tests.unit.conftest import scope_text
from tests.unit.webhook import Receiver

HEALTHCHECK_ON = "maintenance:\n  healthcheck: {{every: daily, hosts: [{host}], retries: 1}}\n"


def _contract(omctl, host: str, client: str = "acme") -> None:
    folder = omctl.ws.client_dir(client)
    (folder / "scope.yml").write_text(
        scope_text(client=client, body=HEALTHCHECK_ON.format(host=host))
    )


def _tick(omctl, *args: str) -> tuple[int, list[dict]]:
    result = omctl("tick", "--json", *args)
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else []


def test_dry_run_plans_every_contracted_task_and_records_nothing(omctl) -> None:
    code, plan = _tick(omctl, "--dry-run", "--now", "2026-12-06T02:30+01:00")
    assert code == 0
    assert {(p["task"], p["decision"]) for p in plan} >= {("healthcheck", "run")}
    assert {p["task"] for p in plan} == {"content_sync", "healthcheck", "patching"}
    assert all(p["run_id"] is None and p["reason"] for p in plan)
    assert json.loads(omctl("history", "--json").stdout) == []


def test_a_tick_runs_what_is_due_and_the_next_tick_nothing(omctl) -> None:
    _contract(omctl, "web1")
    code, outcomes = _tick(omctl)
    assert code == 0, outcomes
    (ran,) = outcomes
    assert (ran["task"], ran["decision"], ran["status"]) == ("healthcheck", "run", "successful")
    shown = json.loads(omctl("show", ran["run_id"], "--json").stdout)
    assert shown["trigger"] == "schedule" and shown["in_scope"] is True
    assert list(shown["hosts"]) == ["web1"]  # the hosts the contract covers, as its limit
    code, again = _tick(omctl)
    assert code == 0
    assert [(o["decision"], o["run_id"]) for o in again] == [("wait", None)]
    assert again[0]["reason"].startswith("done this period")


def test_a_failed_run_is_retried_once_then_left_for_the_next_period(omctl) -> None:
    _contract(omctl, "web2")  # web2 fails its healthcheck
    first = _tick(omctl)
    second = _tick(omctl)
    assert [(code, o[0]["status"]) for code, o in (first, second)] == [
        (ExitCode.HOST_FAILED, "failed"), (ExitCode.HOST_FAILED, "failed")
    ]  # fmt: skip
    assert second[1][0]["reason"].endswith("retry 1 of 1")
    code, third = _tick(omctl)
    assert code == 0 and third[0]["decision"] == "wait"
    assert "2 scheduled runs failed" in third[0]["reason"]
    history = json.loads(omctl("history", "--json").stdout)
    assert [(r["status"], r["trigger"]) for r in history] == [("failed", "schedule")] * 2


def test_clients_run_in_parallel_processes(omctl) -> None:
    _contract(omctl, "web1")
    other = omctl.ws.client_dir("beta")
    shutil.copytree(omctl.ws.client_dir("acme"), other)
    _contract(omctl, "web1", client="beta")
    code, outcomes = _tick(omctl, "--parallel", "2")
    assert code == 0, outcomes
    assert sorted((o["client"], o["status"]) for o in outcomes) == [
        ("acme", "successful"), ("beta", "successful")
    ]  # fmt: skip
    history = json.loads(omctl("history", "--json").stdout)
    assert sorted(r["client"] for r in history) == ["acme", "beta"]
    # Nothing due: planned and alerted in the tick's own process, still one row per task.
    code, idle = _tick(omctl, "--parallel", "2")
    assert code == 0, idle
    decisions = sorted((o["client"], o["decision"]) for o in idle)
    assert decisions == [("acme", "wait"), ("beta", "wait")]


def test_a_second_tick_gives_up_at_once(omctl) -> None:
    _contract(omctl, "web1")
    omctl.ws.ensure_state()
    with locking.tick_lock(omctl.ws):
        result = omctl("tick")
    assert result.exit_code == ExitCode.LOCKED
    assert "another omctl tick is running in this workspace" in result.stderr
    assert json.loads(omctl("history", "--json").stdout) == []


def test_now_needs_an_offset(omctl) -> None:
    result = omctl("tick", "--dry-run", "--now", "2026-12-06T02:30")
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "needs a time zone offset" in result.stderr


def test_a_tick_alerts_each_failed_run_and_an_overdue_task_once(omctl, monkeypatch) -> None:
    receiver = Receiver()
    try:
        monkeypatch.setenv("OMCTL_NOTIFY", receiver.url("acme-alerts"))
        _contract(omctl, "web2")  # fails; nothing ran yesterday either: overdue
        for _ in range(3):  # a run, its retry, then nothing left to run
            _tick(omctl)
        titles = [message["title"] for message in receiver.received]
        assert titles.count("omctl: healthcheck of acme failed") == 2
        assert titles.count("omctl: healthcheck of acme is overdue") == 1
        overdue = next(m for m in receiver.received if "overdue" in m["title"])
        assert overdue["type"] == "warning" and "had no successful run" in overdue["message"]
        assert "acme-alerts" not in json.dumps(_tick(omctl, "--dry-run"))
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def test_notify_test_sends_to_every_url(omctl, monkeypatch) -> None:
    receiver = Receiver()
    try:
        monkeypatch.setenv("OMCTL_NOTIFY", f"{receiver.url('one')} {receiver.url('two')}")
        result = omctl("notify", "test")
        assert result.exit_code == 0, result.stderr
        assert sorted(m["path"] for m in receiver.received) == ["/one", "/two"]
        monkeypatch.setenv("OMCTL_NOTIFY", "json://127.0.0.1:1/nobody-listens")
        failed = omctl("notify", "test")
        assert failed.exit_code == ExitCode.ENVIRONMENT
        assert "URL 1 (json://) did not take the message" in failed.stderr
        assert "nobody-listens" not in failed.stderr + failed.stdout
        monkeypatch.delenv("OMCTL_NOTIFY")
        assert omctl("notify", "test").exit_code == ExitCode.BAD_INPUT
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def test_status_of_every_client_in_one_line_each(omctl) -> None:
    _contract(omctl, "web1")  # nothing ran yesterday: overdue
    broken = omctl.ws.client_dir("beta")
    shutil.copytree(omctl.ws.client_dir("acme"), broken)
    (broken / "scope.yml").write_text("client: beta\ncontract: [\n")
    before = omctl("status")
    assert before.exit_code == ExitCode.OVERDUE
    lines = before.stdout.splitlines()
    assert lines[0].startswith("acme  OVERDUE healthcheck; due now: healthcheck; next due:")
    assert lines[1].startswith("beta  not readable:") and "scope.yml:" in lines[1]
    assert _tick(omctl, "--client", "acme")[0] == 0  # the late run clears the flag
    after = omctl("status", "--json")
    assert after.exit_code == ExitCode.BAD_INPUT  # nothing overdue; beta's scope still broken
    acme, beta = json.loads(after.stdout)
    assert (acme["overdue"], acme["due_now"], acme["unresolved_failures"]) == ([], [], 0)
    assert beta["error"] and beta["overdue"] == []


HARDENING = """\
# description: Harden the server (a local stand-in: one file the run keeps as declared)
- name: Harden
  hosts: all
  gather_facts: false
  tasks:
    - name: Write the sshd drop-in
      ansible.builtin.copy:
        dest: "{dest}"
        content: "PasswordAuthentication no\\n"
        mode: "0600"
"""
HARDENING_ON = "maintenance:\n  hardening: {every: monthly, hosts: [web1], verify: daily}\n"


def test_a_drift_check_records_no_drift_then_the_drift_and_alerts_it(omctl, monkeypatch) -> None:
    drop_in = omctl.ws.root / "sshd-drop-in.conf"
    (omctl.ws.playbooks / "maintenance" / "hardening.yml").write_text(
        HARDENING.format(dest=drop_in)
    )
    folder = omctl.ws.client_dir("acme")
    (folder / "scope.yml").write_text(scope_text(body=HARDENING_ON))
    receiver = Receiver()
    try:
        monkeypatch.setenv("OMCTL_NOTIFY", receiver.url("drift"))
        code, first = _tick(omctl)  # the monthly run applies; its drift check waits
        assert code == 0, first
        assert [(o["drift_check"], o["decision"], o["status"]) for o in first] == [
            (False, "run", "successful"), (True, "wait", None)
        ]  # fmt: skip
        code, second = _tick(omctl)  # nothing changed by hand: verified
        assert code == 0, second
        check = next(o for o in second if o["drift_check"])
        assert (check["status"], check["drift"]) == ("successful", {})
        shown = json.loads(omctl("show", check["run_id"], "--json").stdout)
        assert shown["check"] is True and shown["trigger"] == "schedule"
        assert shown["hosts"]["web1"]["evidence"]["drift"]["state"] == "no drift"
        assert "verified: no drift" in omctl("show", check["run_id"]).stdout
        assert receiver.received == []
        assert drop_in.read_text() == "PasswordAuthentication no\n"

        drop_in.write_text("PasswordAuthentication yes\n")  # edited by hand
        code, third = _tick(omctl, "--now", _tomorrow())
        assert code == 0, third
        check = next(o for o in third if o["drift_check"])
        assert check["drift"] == {"web1": ["Write the sshd drop-in"]}
        assert drop_in.read_text() == "PasswordAuthentication yes\n"  # check mode changed nothing
        text = omctl("show", check["run_id"]).stdout
        assert "drift: 1 change on web1: Write the sshd drop-in" in text
        (alert,) = receiver.received
        assert alert["title"] == "omctl: drift in hardening of acme (1 change on web1)"
        assert alert["type"] == "warning" and "web1: Write the sshd drop-in" in alert["message"]
        _tick(omctl, "--now", _tomorrow())  # the same drift: one incident, no second alert
        assert len(receiver.received) == 1
        # Set right by hand: the incident is over, and a new drift alerts again.
        fixed = omctl("run", "acme", "hardening", "--limit", "web1")
        assert fixed.exit_code == 0, fixed.stderr
        assert drop_in.read_text() == "PasswordAuthentication no\n"
        _tick(omctl, "--now", _tomorrow())
        drop_in.write_text("PermitRootLogin yes\n")
        _tick(omctl, "--now", _day_after_tomorrow())
        assert len(receiver.received) == 2
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def _tomorrow(days: int = 1) -> str:
    """--now a day ahead: a new daily period (the runs themselves are recorded at the clock)."""
    return (datetime.now(UTC) + timedelta(days=days, minutes=1)).isoformat(timespec="seconds")


def _day_after_tomorrow() -> str:
    return _tomorrow(2)


def test_the_tick_verifies_the_ledger_daily_and_alerts_when_it_does_not(omctl, monkeypatch) -> None:
    import sqlite3

    receiver = Receiver()
    try:
        monkeypatch.setenv("OMCTL_NOTIFY", receiver.url("ledger"))
        _contract(omctl, "web1")
        assert _tick(omctl)[0] == 0  # a run, and the first daily verify: it passes
        assert receiver.received == []
        raw = sqlite3.connect(omctl.ws.state / "ledger.sqlite3")
        raw.execute("DROP TRIGGER entries_no_update")
        raw.execute("UPDATE entries SET payload = replace(payload, 'web1', 'web9') WHERE seq = 2")
        raw.commit()
        raw.close()
        assert _tick(omctl)[0] == 0  # verified today already: not again before 24 h
        code, _ = _tick(omctl, "--now", _tomorrow())
        assert code == ExitCode.LEDGER_BROKEN
        (alert,) = receiver.received
        assert alert["title"].endswith("does not verify")
        assert "row 2 was altered" in alert["message"]
        assert _tick(omctl, "--now", _tomorrow(3))[0] == ExitCode.LEDGER_BROKEN
        ledger_alerts = [m for m in receiver.received if m["title"].endswith("does not verify")]
        assert len(ledger_alerts) == 2  # reminded after remind_hours (24), not each tick
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


def test_the_tick_signs_as_the_scheduler_and_needs_its_grant(omctl, tmp_path, monkeypatch) -> None:
    from omctl import operators

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "controller"))
    operators.init(omctl.ws, "alice")
    operators.init(omctl.ws, "scheduler")
    _contract(omctl, "web1")
    (omctl.ws.root / "operators.yml").write_text("alice:\n  clients: '*'\n  categories: '*'\n")
    code, (refused,) = _tick(omctl)
    assert code == ExitCode.NOT_GRANTED and refused["status"] == "error"
    assert "operator scheduler may not run maintenance/healthcheck" in refused["message"]
    (omctl.ws.root / "operators.yml").write_text(
        "alice:\n  clients: '*'\n  categories: '*'\nscheduler:\n  clients: '*'\n  categories: '*'\n"
    )
    code, (ran,) = _tick(omctl)
    assert code == 0, ran
    shown = json.loads(omctl("show", ran["run_id"], "--json").stdout)
    assert shown["signed_by"] == "scheduler" and shown["trigger"] == "schedule"
    assert omctl("ledger", "verify").exit_code == 0
