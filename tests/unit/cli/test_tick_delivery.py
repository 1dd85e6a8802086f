"""omctl tick delivers last month's report: a real local run recorded this month, then the
first tick of next month (--now) prints the report with Chromium and sends it to an SMTP
server on loopback (aiosmtpd); alerts go to a webhook receiver on loopback."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from omctl import ledger
from tests.unit.cli.test_tick import _contract, _tick
from tests.unit.smtp_server import SmtpServer, free_port, pdf_text
from tests.unit.test_notify import Receiver

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
        assert f"Service report: acme, {period}" in pdf_text(mail.pdf(), tmp_path)
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
