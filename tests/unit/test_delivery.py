"""The monthly report delivery: real PDFs (Chromium) sent to a real SMTP server on loopback
(aiosmtpd), over a month of real ledger records (tests/unit/report_ledger.py)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from omctl import delivery, ledger, scope, settings
from omctl.errors import BadInput, ScopeInvalid
from omctl.settings import Settings
from tests.unit.report_ledger import MonthLedger, build_month, make_workspace
from tests.unit.smtp_server import (
    IMPLICIT_TLS_WARNING,
    PASSWORD,
    USER,
    SmtpServer,
    free_port,
    pdf_text,
)

pytestmark = pytest.mark.filterwarnings(IMPLICIT_TLS_WARNING)

BERLIN = ZoneInfo("Europe/Berlin")
FIRST_TICK = datetime(2026, 12, 1, 0, 5, tzinfo=BERLIN)  # acme's contract is in Berlin time
RECIPIENTS = ["it@acme.example", "owner@acme.example"]


def _recipients(ws_root: Path, addresses: list[str]) -> None:
    scope_file = ws_root / "inventories" / "acme" / "scope.yml"
    kept = [line for line in scope_file.read_text().splitlines(keepends=True)
            if not line.startswith("report_recipients:")]  # fmt: skip
    scope_file.write_text("".join(kept) + f"report_recipients: {json.dumps(addresses)}\n")


@pytest.fixture
def month(tmp_path: Path) -> Iterator[MonthLedger]:
    built = build_month(make_workspace(tmp_path / "ws"))
    _recipients(built.ws.root, RECIPIENTS)
    yield built
    built.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SmtpServer]:
    started = SmtpServer(tmp_path, "starttls")
    yield started
    started.stop()


def _settings(month: MonthLedger, server: SmtpServer, folder: Path, **more) -> Settings:
    return dataclasses.replace(month.settings, **{**server.settings(folder), **more})


def _deliver(month: MonthLedger, current: Settings, now: datetime, dry_run: bool = False):
    contract = scope.load_checked(month.ws, "acme")
    return delivery.deliver(current, month.book, contract, now, dry_run=dry_run)


def _entries(month: MonthLedger, kind: str) -> list[ledger.Entry]:
    return [e for e in month.book.entries(run_id=ledger.REPORT_ENTRY) if e.kind == kind]


def _outbox(month: MonthLedger) -> list[Path]:
    folder = month.ws.state / "outbox"
    return sorted(path for path in folder.rglob("*") if path.is_file())


def test_last_months_report_arrives_as_a_readable_pdf(month, server, tmp_path) -> None:
    sent = _deliver(month, _settings(month, server, tmp_path), FIRST_TICK)
    assert sent is not None and sent.alerts == []
    assert (sent.outcome.planned.decision, sent.outcome.status) == ("run", "successful")
    (mail,) = server.mails
    assert (mail.login, mail.sender, sorted(mail.recipients)) == (
        USER, "reports@provider.example", RECIPIENTS
    )  # fmt: skip
    assert mail.message["Subject"] == "Service report acme, 2026-11 (contract ACME-2026-11)"
    text = " ".join(pdf_text(mail.pdf(), tmp_path).split())  # lines wrap anywhere
    assert "Service report: acme, 2026-11" in text
    assert "Ledger verification" in text and "ledger verify: PASSED" in text
    (entry,) = _entries(month, delivery.DELIVERED)
    record = delivery.Delivered.model_validate(entry.payload)
    assert record.sha256 == hashlib.sha256(mail.pdf()).hexdigest() and record.size > 1000
    assert (record.period, record.recipients, record.refused) == ("2026-11", RECIPIENTS, [])
    assert record.sent_at == "2026-12-01T00:05:00+01:00"
    # The report was issued the way `omctl report --format pdf` issues it: a checkpoint entry
    # for the same bytes, naming the head the report was built on.
    (checkpoint,) = _entries(month, ledger.CHECKPOINT)
    assert record.checkpoint_seq == checkpoint.seq < entry.seq
    assert checkpoint.payload["format"] == "pdf" and checkpoint.payload["sha256"] == record.sha256
    assert (record.head_seq, record.head_hash) == (
        checkpoint.payload["seq"], checkpoint.payload["hash"]
    )  # fmt: skip
    assert f"{record.head_seq}:{record.head_hash}" in mail.message.get_body().get_content()
    recorded = json.dumps([e.payload for e in month.book.entries()])
    assert PASSWORD not in recorded and PASSWORD not in mail.message.as_string()
    assert _outbox(month) == []  # sent: nothing waits


def test_a_later_tick_of_the_month_sends_nothing_and_next_month_sends_again(
    month, server, tmp_path
) -> None:
    current = _settings(month, server, tmp_path)
    _deliver(month, current, FIRST_TICK)
    for later in (timedelta(minutes=5), timedelta(days=20)):
        again = _deliver(month, current, FIRST_TICK + later)
        assert again is not None and again.outcome.planned.decision == "wait"
        assert again.outcome.planned.reason == (
            "delivered: 2026-11 at 2026-12-01T00:05:00+01:00 to it@acme.example, owner@acme.example"
        )
    assert len(server.mails) == 1
    _deliver(month, current, datetime(2027, 1, 1, 0, 5, tzinfo=BERLIN))
    assert [m.message["Subject"].split(",")[1] for m in server.mails] == [" 2026-11 (contract "
        "ACME-2026-11)", " 2026-12 (contract ACME-2026-11)"]  # fmt: skip
    periods = [e.payload["period"] for e in _entries(month, delivery.DELIVERED)]
    assert periods == ["2026-11", "2026-12"]


def test_a_failed_send_is_alerted_and_the_next_tick_sends_the_same_pdf(
    month, server, tmp_path
) -> None:
    current = _settings(month, server, tmp_path)
    nobody_listens = dataclasses.replace(current, smtp_port=free_port())
    failed = _deliver(month, nobody_listens, FIRST_TICK)
    assert failed is not None and failed.outcome.status == "error"
    port = nobody_listens.smtp_port
    assert failed.outcome.message == f"SMTP 127.0.0.1:{port}: Connection refused"
    (alert,) = failed.alerts
    assert (alert.key, failed.alert_prefix) == ("delivery:acme:2026-11", "delivery:acme:")
    assert alert.title == "omctl: the 2026-11 report of acme was not delivered"
    assert "The next tick tries again" in alert.body
    assert _entries(month, delivery.DELIVERED) == []
    kept = next(path for path in _outbox(month) if path.suffix == ".pdf").read_bytes()
    retried = _deliver(month, current, FIRST_TICK + timedelta(minutes=5))
    assert retried is not None and retried.outcome.status == "successful"
    assert retried.alerts == []  # the incident is over: the tick forgets it
    (mail,) = server.mails
    assert mail.pdf() == kept
    # Issued once: the retry sent the PDF the first attempt built and recorded.
    (checkpoint,) = _entries(month, ledger.CHECKPOINT)
    (entry,) = _entries(month, delivery.DELIVERED)
    assert entry.payload["checkpoint_seq"] == checkpoint.seq
    assert entry.payload["sent_at"] == "2026-12-01T00:10:00+01:00"
    assert _outbox(month) == []


def test_a_month_that_never_went_out_is_not_sent_later(month, server, tmp_path) -> None:
    current = _settings(month, server, tmp_path)
    _deliver(month, dataclasses.replace(current, smtp_port=free_port()), FIRST_TICK)
    assert [path.name for path in _outbox(month)] == ["2026-11.json", "2026-11.pdf"]
    sent = _deliver(month, current, datetime(2027, 1, 1, 0, 5, tzinfo=BERLIN))
    assert sent is not None and sent.alerts == [] and _outbox(month) == []
    assert [m.message["Subject"] for m in server.mails] == [
        "Service report acme, 2026-12 (contract ACME-2026-11)"
    ]


def test_implicit_tls_needs_the_right_password_and_a_trusted_certificate(month, tmp_path) -> None:
    server = SmtpServer(tmp_path, "tls")
    try:
        current = _settings(month, server, tmp_path)
        wrong = tmp_path / "wrong-password"
        wrong.write_text("not-the-password\n")
        denied = _deliver(month, dataclasses.replace(current, smtp_password_file=wrong),
                          FIRST_TICK)  # fmt: skip
        assert denied is not None and denied.outcome.message is not None
        assert denied.outcome.message.startswith(f"SMTP 127.0.0.1:{server.port}: 535 ")
        assert "not-the-password" not in denied.outcome.message + denied.alerts[0].body
        untrusted = _deliver(month, dataclasses.replace(current, smtp_ca_file=None), FIRST_TICK)
        assert untrusted is not None and "CERTIFICATE_VERIFY_FAILED" in str(
            untrusted.outcome.message
        )
        assert server.mails == []
        sent = _deliver(month, current, FIRST_TICK)
        assert sent is not None and sent.outcome.status == "successful"
        assert [mail.login for mail in server.mails] == [USER]
    finally:
        server.stop()


def test_plain_smtp_sends_without_login_and_never_sends_a_password(month, tmp_path) -> None:
    server = SmtpServer(tmp_path, "none")
    try:
        current = _settings(month, server, tmp_path)
        secret = tmp_path / "secret"
        secret.write_text(PASSWORD)
        with_login = dataclasses.replace(current, smtp_user=USER, smtp_password_file=secret)
        refused = _deliver(month, with_login, FIRST_TICK)
        assert refused is not None and refused.outcome.message == (
            "smtp_user is set but smtp_security is none: omctl sends no password unencrypted"
        )
        sent = _deliver(month, current, FIRST_TICK)
        assert sent is not None and sent.outcome.status == "successful"
        assert [mail.login for mail in server.mails] == [None]
    finally:
        server.stop()


def test_a_recipient_the_server_refuses_is_recorded_and_not_retried(
    month, server, tmp_path
) -> None:
    _recipients(month.ws.root, [*RECIPIENTS, "nobody@acme.example"])
    current = _settings(month, server, tmp_path)
    sent = _deliver(month, current, FIRST_TICK)
    assert sent is not None and sent.outcome.message == (
        "delivered to it@acme.example, owner@acme.example; refused by the server: "
        "nobody@acme.example"
    )
    (entry,) = _entries(month, delivery.DELIVERED)
    assert (entry.payload["recipients"], entry.payload["refused"]) == (
        RECIPIENTS, ["nobody@acme.example"]
    )  # fmt: skip
    again = _deliver(month, current, FIRST_TICK + timedelta(hours=1))
    assert again is not None and again.outcome.planned.decision == "wait"
    assert len(server.mails) == 1


def test_a_dry_run_says_it_would_deliver_and_changes_nothing(month, server, tmp_path) -> None:
    before = len(list(month.book.entries()))
    planned = _deliver(month, _settings(month, server, tmp_path), FIRST_TICK, dry_run=True)
    assert planned is not None and planned.outcome.planned.as_dict() == {
        "client": "acme", "task": "report", "category": "delivery", "decision": "run",
        "reason": "would deliver the 2026-11 report (PDF) to it@acme.example, owner@acme.example",
        "drift_check": False,
    }  # fmt: skip
    assert len(list(month.book.entries())) == before and server.mails == [] and not _outbox(month)


def test_missing_smtp_settings_fail_the_delivery_not_the_tick(month, tmp_path) -> None:
    failed = _deliver(month, month.settings, FIRST_TICK)
    assert failed is not None and failed.outcome.status == "error"
    assert failed.outcome.message == "smtp_from is not set (omctl.toml or OMCTL_SMTP_FROM)"
    host_only = dataclasses.replace(month.settings, smtp_from="reports@provider.example")
    assert _deliver(month, host_only, FIRST_TICK).outcome.message == (  # type: ignore[union-attr]
        "smtp_host is not set (omctl.toml or OMCTL_SMTP_HOST)"
    )


def test_a_client_without_recipients_has_no_delivery(tmp_path) -> None:
    month = build_month(make_workspace(tmp_path / "ws"))
    try:
        assert _deliver(month, month.settings, FIRST_TICK) is None
    finally:
        month.close()


def _scope(timezone: str) -> scope.Scope:
    return scope.Scope.model_validate({
        "client": "acme", "contract": "C-1", "valid_from": "2026-11-04",
        "valid_until": "2027-10-31", "timezone": timezone,
    })  # fmt: skip


@pytest.mark.parametrize(
    ("timezone", "now", "expected"),
    [
        ("Europe/Berlin", datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "2026-11"),  # Dec 1 00:30
        ("Europe/Berlin", datetime(2026, 11, 30, 22, 30, tzinfo=UTC), None),  # Nov 30: October
        ("Europe/Berlin", datetime(2027, 1, 1, 0, 0, tzinfo=BERLIN), "2026-12"),  # year end
        ("Europe/Berlin", datetime(2027, 3, 31, 23, 59, tzinfo=BERLIN), "2027-02"),  # after DST
        ("Europe/Berlin", datetime(2027, 11, 1, 0, 0, tzinfo=BERLIN), "2027-10"),  # last month
        ("Europe/Berlin", datetime(2027, 12, 1, 0, 0, tzinfo=BERLIN), None),  # contract over
        ("Pacific/Auckland", datetime(2026, 12, 31, 11, 30, tzinfo=UTC), "2026-12"),  # Jan 1
        ("Pacific/Auckland", datetime(2026, 12, 31, 10, 30, tzinfo=UTC), "2026-11"),  # Dec 31
        ("America/New_York", datetime(2027, 1, 1, 4, 30, tzinfo=UTC), "2026-11"),  # Dec 31
        ("America/New_York", datetime(2027, 1, 1, 5, 30, tzinfo=UTC), "2026-12"),  # Jan 1
    ],
)
def test_the_report_due_is_last_month_in_the_contracts_zone(timezone, now, expected) -> None:
    span = delivery.last_month(_scope(timezone), now)
    assert (span.label if span else None) == expected
    if span is not None:
        assert span.start.tzinfo == ZoneInfo(timezone) and span.start.day == 1


def test_report_recipients_are_validated_with_their_line(tmp_path) -> None:
    ws = make_workspace(tmp_path / "ws")
    _recipients(ws.root, ["it@acme.example", "no address"])
    with pytest.raises(ScopeInvalid) as caught:
        scope.load_checked(ws, "acme")
    line = len((ws.client_dir("acme") / "scope.yml").read_text().splitlines())
    assert str(caught.value).startswith(f"{ws.client_dir('acme') / 'scope.yml'}:{line}: ")
    assert "report_recipients.1: value is not a valid email address" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("smtp_port = 70000\n", "smtp_port: must be a port number, 1 to 65535"),
        ('smtp_security = "ssl"\n', "smtp_security: must be one of none, starttls, tls"),
        (
            'smtp_from = "reports"\n',
            "smtp_from: is not an e-mail address: An email address must have an @-sign.",
        ),
        ('smtp_host = ""\n', "smtp_host: must be a non-empty string"),
    ],
)
def test_smtp_settings_are_validated_with_their_line(tmp_path, text, message) -> None:
    (tmp_path / "omctl.toml").write_text("remind_hours = 2\n" + text)
    with pytest.raises(BadInput) as caught:
        settings.load(tmp_path, environ={})
    assert str(caught.value) == f"{tmp_path / 'omctl.toml'}:2: {message}"


def test_smtp_settings_from_file_and_environment(tmp_path) -> None:
    (tmp_path / "omctl.toml").write_text(
        'smtp_host = "mail.provider.example"\nsmtp_from = "Reports@Provider.example"\n'
        'smtp_password_file = "secrets/smtp"\nsmtp_security = "tls"\n'
    )
    loaded = settings.load(tmp_path, environ={"OMCTL_SMTP_PORT": "2465"})
    assert (loaded.smtp_host, loaded.smtp_port, loaded.smtp_security) == (
        "mail.provider.example", 2465, "tls"
    )  # fmt: skip
    assert loaded.smtp_from == "Reports@provider.example"  # the domain normalized
    assert loaded.smtp_password_file == tmp_path / "secrets" / "smtp"
    with pytest.raises(BadInput, match="environment OMCTL_SMTP_PORT: must be a port number"):
        settings.load(tmp_path, environ={"OMCTL_SMTP_PORT": "0"})
