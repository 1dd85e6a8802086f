"""omctl tick delivers last month's report: a real local run recorded this month, then the
first tick of next month (--now) prints the report with Chromium and sends it to an SMTP
server on loopback (aiosmtpd); alerts go to a webhook receiver on loopback."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime, timedelta

from omctl import ledger
from tests.unit.cli.test_tick import _contract, _tick
from tests.unit.smtp_server import SmtpServer, free_port, pdf_text
from tests.unit.webhook import Receiver

RECIPIENT = "owner@acme.example"


def _first_of_next_month(stamp: str) -> datetime:
    moment = ledger.parse_stamp(stamp).astimezone(UTC)
    return (moment.replace(day=28) + timedelta(days=4)).replace(
        day=1, hour=0, minute=30, second=0, microsecond=0
    )


def test_the_first_tick_of_a_month_delivers_last_months_report_once(
    omctl, monkeypatch, tmp_path
) -> None:
    server, receiver = SmtpServer(tmp_path), Receiver()
    try:
        for name, value in server.settings(tmp_path).items():
            monkeypatch.setenv(f"OMCTL_{name.upper()}", str(value))
        monkeypatch.setenv("OMCTL_SMTP_PORT", str(free_port()))  # nobody listens at first
        monkeypatch.setenv("OMCTL_NOTIFY", receiver.url("acme-alerts"))
        _contract(omctl, "web1")
        code, (ran,) = _tick(omctl)  # this month's work, on the controller's clock
        assert code == 0 and ran["status"] == "successful", ran
        (run,) = json.loads(omctl("history", "--json").stdout)
        period = ledger.parse_stamp(run["started_at"]).astimezone(UTC).strftime("%Y-%m")
        scope_file = omctl.ws.client_dir("acme") / "scope.yml"
        # Only the delivery is due from now on: no more runs in the ticks below.
        text = scope_file.read_text().replace("every: daily", "every: on_request")
        scope_file.write_text(text + f"report_recipients: [{RECIPIENT}]\n")
        first = _first_of_next_month(run["started_at"]).isoformat()

        code, plan = _tick(omctl, "--dry-run", "--now", first)
        assert code == 0
        assert [p["reason"] for p in plan if p["task"] == "report"] == [
            f"would deliver the {period} report (PDF) to {RECIPIENT}"
        ]
        for _ in range(2):  # the send fails: alerted once, the runs' exit code stays 0
            code, outcomes = _tick(omctl, "--now", first)
            (failed,) = [o for o in outcomes if o["task"] == "report"]
            assert code == 0 and failed["status"] == "error"
            assert "Connection refused" in failed["message"]
        titles = [message["title"] for message in receiver.received]
        assert titles == [f"omctl: the {period} report of acme was not delivered"]

        monkeypatch.setenv("OMCTL_SMTP_PORT", str(server.port))
        code, outcomes = _tick(omctl, "--now", first)
        (sent,) = [o for o in outcomes if o["task"] == "report"]
        assert code == 0 and sent["status"] == "successful", sent
        (mail,) = server.mails
        assert mail.recipients == [RECIPIENT]
        assert f"Service report: acme, {period}" in " ".join(pdf_text(mail.pdf(), tmp_path).split())
        (entry,) = _delivered(omctl)
        assert entry["sha256"] == hashlib.sha256(mail.pdf()).hexdigest()
        assert (entry["period"], entry["recipients"]) == (period, [RECIPIENT])

        code, outcomes = _tick(omctl, "--now", first)  # a later tick of the month
        (again,) = [o for o in outcomes if o["task"] == "report"]
        assert again["decision"] == "wait" and again["reason"].startswith(f"delivered: {period}")
        assert len(server.mails) == 1 and len(receiver.received) == 1
        shown = json.loads(omctl("status", "acme", "--json").stdout)
        assert shown["last_report_delivery"]["sha256"] == entry["sha256"]
        assert f"Last report delivered: {period} at " in omctl("status", "acme").stdout
    finally:
        server.stop()
        receiver.server.shutdown()
        receiver.server.server_close()


def _delivered(omctl) -> list[dict]:
    book = ledger.open_ledger(omctl.ws.state / "ledger.sqlite3")
    try:
        return [e.payload for e in book.entries(run_id=ledger.REPORT_ENTRY)
                if e.kind == "report.delivered"]  # fmt: skip
    finally:
        book.close()


def test_clients_in_parallel_processes_each_get_their_report(omctl, monkeypatch, tmp_path) -> None:
    server = SmtpServer(tmp_path)
    try:
        for name, value in server.settings(tmp_path).items():
            monkeypatch.setenv(f"OMCTL_{name.upper()}", str(value))
        _contract(omctl, "web1")
        shutil.copytree(omctl.ws.client_dir("acme"), omctl.ws.client_dir("beta"))
        _contract(omctl, "web1", client="beta")
        code, outcomes = _tick(omctl, "--parallel", "2")  # this month's work of both
        assert code == 0 and [o["status"] for o in outcomes] == ["successful"] * 2, outcomes
        (run, _) = json.loads(omctl("history", "--json").stdout)
        for client in ("acme", "beta"):
            scope_file = omctl.ws.client_dir(client) / "scope.yml"
            text = scope_file.read_text().replace("every: daily", "every: on_request")
            scope_file.write_text(text + f"report_recipients: [{client}@clients.example]\n")
        first = _first_of_next_month(run["started_at"]).isoformat()
        code, outcomes = _tick(omctl, "--parallel", "2", "--now", first)
        assert code == 0
        assert sorted((o["client"], o["status"]) for o in outcomes if o["task"] == "report") == [
            ("acme", "successful"), ("beta", "successful")
        ]  # fmt: skip
        assert sorted(m.recipients[0] for m in server.mails) == [
            "acme@clients.example", "beta@clients.example"
        ]  # fmt: skip
        assert sorted(entry["client"] for entry in _delivered(omctl)) == ["acme", "beta"]
        verified = omctl("ledger", "verify")
        assert verified.exit_code == 0, verified.stderr
    finally:
        server.stop()
