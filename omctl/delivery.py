"""The monthly report, delivered: last month's PDF report by e-mail to ``report_recipients``.

``omctl tick`` calls ``deliver`` for each client. The first tick of a month (in the contract's
time zone) of a client with ``report_recipients`` issues last month's report the way ``omctl
report --format pdf`` does (omctl.report_issue: it records the report checkpoint too), sends it
by SMTP (the ``smtp_*`` settings) and appends a ``report.delivered`` entry: period, recipients,
when, the PDF's sha256 and the chain head it was built on (``Delivered``). The ledger says what
was sent, so a later tick of the month sends nothing. A send that fails is retried by the next
tick with the same PDF, kept in ``.omctl/outbox/`` until it went out, and alerted once (one
incident per client and month, reminded after ``remind_hours``). The SMTP password is read from
``smtp_password_file`` when sending: it is never printed, logged or recorded.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import smtplib
import ssl
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from omctl import coverage, files, ledger, notify, schedule, scope
from omctl.coverage import Period
from omctl.delivered import DELIVERED, Delivered, deliveries, describe
from omctl.errors import EnvironmentProblem, OmctlError
from omctl.settings import Settings

if TYPE_CHECKING:
    from omctl import report_issue

TASK, CATEGORY = "report", "delivery"  # how a delivery shows among the tick's outcomes
DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}
SMTP_TIMEOUT_SECONDS = 60


class DeliveryFailed(EnvironmentProblem):
    """The report could not be sent (SMTP, settings, Chromium): the next tick tries again."""


def last_month(terms: scope.Scope, now: datetime) -> Period | None:
    """The month before ``now``'s (in the contract's zone) when the contract ran in it."""
    zone = ZoneInfo(terms.timezone)
    this_start, _ = coverage.current_month(now, zone)
    label = f"{this_start.date() - timedelta(days=1):%Y-%m}"
    start, end = coverage.month(label, zone)
    last_day = (end - timedelta(days=1)).date()
    if terms.valid_until < start.date() or terms.valid_from > last_day:
        return None
    return Period(start, end, label)


# --- sending ---------------------------------------------------------------------------------


def _smtp_problem(exc: Exception) -> str:
    """One line about an SMTP failure: the server's answer or the socket's error (which hold
    no password)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        answer = exc.smtp_error
        text = answer.decode(errors="replace") if isinstance(answer, bytes) else str(answer)
        return f"{exc.smtp_code} {' '.join(text.split())}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"every recipient refused ({', '.join(exc.recipients)})"
    if isinstance(exc, OSError) and exc.strerror and not isinstance(exc, ssl.SSLError):
        return exc.strerror
    return " ".join(str(exc).split()) or type(exc).__name__


def _password(settings: Settings) -> str:
    path = settings.smtp_password_file
    if path is None:
        raise DeliveryFailed("smtp_user is set but smtp_password_file is not")
    try:
        return path.read_text(encoding="utf-8").rstrip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise DeliveryFailed(f"cannot read smtp_password_file {path}: {reason}") from None


def send(settings: Settings, message: EmailMessage) -> list[str]:
    """Send ``message`` through the configured SMTP server; the recipients it refused (when it
    took the message for some). Raises DeliveryFailed."""
    host, security = settings.smtp_host, settings.smtp_security
    if host is None:
        raise DeliveryFailed("smtp_host is not set (omctl.toml or OMCTL_SMTP_HOST)")
    port = settings.smtp_port or DEFAULT_PORTS[security]
    password = None
    if settings.smtp_user is not None:
        if security == "none":
            raise DeliveryFailed(
                "smtp_user is set but smtp_security is none: omctl sends no password unencrypted"
            )
        password = _password(settings)
    try:
        context = ssl.create_default_context(
            cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None
        )
        if security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=SMTP_TIMEOUT_SECONDS, context=context
            )
        else:
            client = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_SECONDS)
        with client:
            if security == "starttls":
                client.starttls(context=context)
            if settings.smtp_user is not None and password is not None:
                client.login(settings.smtp_user, password)
            refused = client.send_message(message)
    except (smtplib.SMTPException, OSError, ValueError) as exc:  # ValueError: a non-ASCII login
        raise DeliveryFailed(f"SMTP {host}:{port}: {_smtp_problem(exc)}") from None
    return sorted(refused)


@dataclass(frozen=True)
class ReportFacts:
    """What the mail and the entry say about the report (kept with it in the outbox)."""

    client: str
    period: str
    contract: str
    head_seq: int | None
    head_hash: str | None
    verify_command: str | None
    sha256: str
    checkpoint_seq: int

    @classmethod
    def of(cls, issued: report_issue.Issued) -> ReportFacts:
        built, check = issued.built, issued.built.ledger
        return cls(built.client, built.period["label"], built.contract["contract"],
                   check.head_seq, check.head_hash, check.verify_command,
                   hashlib.sha256(issued.content).hexdigest(), issued.checkpoint.seq)  # fmt: skip


def compose(
    settings: Settings, facts: ReportFacts, recipients: list[str], pdf: bytes, now: datetime
) -> EmailMessage:
    if settings.smtp_from is None:
        raise DeliveryFailed("smtp_from is not set (omctl.toml or OMCTL_SMTP_FROM)")
    client, period, contract = facts.client, facts.period, facts.contract
    message = EmailMessage()
    message["Subject"] = f"Service report {client}, {period} (contract {contract})"
    message["From"] = settings.smtp_from
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=settings.smtp_from.rpartition("@")[2])
    proof = (
        f"It was built on ledger entry {facts.head_seq} (hash {facts.head_hash}): "
        f"`{facts.verify_command}` fails once the ledger no longer holds exactly this history."
        if facts.verify_command
        else "Nothing was recorded in the ledger yet."
    )
    message.set_content(
        f"Hello,\n\nattached is the service report of {client} for {period}, contract "
        f"{contract}: the work done, its coverage of the contract, the work outside it, and "
        f"the check of the tamper-evident ledger it was built from.\n\n{proof}\n"
    )
    message.add_attachment(
        pdf, maintype="application", subtype="pdf", filename=f"report-{client}-{period}.pdf"
    )
    return message


# --- the outbox: a built report waits there until it went out --------------------------------


def _outbox(settings: Settings, client: str) -> Path:
    return settings.workspace.state / "outbox" / client


def _kept(settings: Settings, client: str, period: str) -> tuple[Path, Path]:
    folder = _outbox(settings, client)
    return folder / f"{period}.pdf", folder / f"{period}.json"


def _build(
    settings: Settings, book: ledger.Ledger, contract: scope.ClientContract, span: Period,
    now: datetime,
) -> tuple[ReportFacts, bytes]:  # fmt: skip
    """Last month's PDF: the one a failed send left in the outbox, else issued now."""
    terms = contract.loaded.scope
    pdf_path, facts_path = _kept(settings, terms.client, span.label)
    try:
        facts = ReportFacts(**json.loads(facts_path.read_text()))
        pdf = pdf_path.read_bytes()
        if hashlib.sha256(pdf).hexdigest() == facts.sha256:
            return facts, pdf
    except (OSError, ValueError, TypeError):
        pass  # nothing kept (or damaged): issue it anew
    # Imported here: the report code is large, and most ticks deliver nothing.
    from omctl import report, report_issue

    hosts = coverage.contracted_hosts(terms, contract.hosts)
    about = report.Subject(terms.client, terms, span, hosts)
    try:
        issued = report_issue.issue(settings, book, about, report_issue.PDF, now=now)
    except OmctlError as exc:
        raise DeliveryFailed(f"the report could not be built: {exc}") from None
    facts = ReportFacts.of(issued)
    settings.workspace.ensure_state()
    pdf_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        files.write_atomic(pdf_path, issued.content, 0o600)
        files.write_atomic(facts_path, json.dumps(asdict(facts), indent=1) + "\n", 0o600)
    except OSError as exc:
        folder = pdf_path.parent
        raise DeliveryFailed(f"cannot keep the report in {folder}: {exc.strerror}") from None
    return facts, issued.content


# --- the tick's part -------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """A client's delivery in this tick: its row among the outcomes, and what to alert."""

    outcome: schedule.Outcome
    alerts: list[notify.Alert]
    alert_prefix: str  # alerts under it that are not in ``alerts`` are over


def _row(
    client: str, decision: str, reason: str, status: str | None = None, message: str | None = None
) -> schedule.Outcome:
    planned = schedule.Planned(client, TASK, CATEGORY, decision, reason)
    return schedule.Outcome(planned, status=status, message=message)


def deliver(
    settings: Settings,
    book: ledger.Ledger,
    contract: scope.ClientContract,
    now: datetime,
    dry_run: bool = False,
) -> Delivery | None:
    """Send last month's report when it is due and was not sent yet (None: the client has no
    ``report_recipients``). A failure is the outcome's message and an alert, never raised."""
    terms = contract.loaded.scope
    client, recipients = terms.client, list(terms.report_recipients)
    if not recipients:
        return None
    prefix = f"delivery:{client}:"
    span = last_month(terms, now)
    if span is None:
        return Delivery(_row(client, schedule.WAIT, "no report due: the contract did not run "
                             "last month"), [], prefix)  # fmt: skip
    done = [d for d in deliveries(book, client) if d.period == span.label]
    if done:
        reason = f"delivered: {describe(done[-1])}"
        return Delivery(_row(client, schedule.WAIT, reason), [], prefix)
    what = f"the {span.label} report (PDF) to {', '.join(recipients)}"
    if dry_run:
        return Delivery(_row(client, schedule.RUN, f"would deliver {what}"), [], prefix)
    try:
        facts, pdf = _build(settings, book, contract, span, now)
        message = compose(settings, facts, recipients, pdf, now)
        refused = send(settings, message)
    except DeliveryFailed as exc:
        alert = notify.Alert(
            key=f"{prefix}{span.label}",
            title=f"omctl: the {span.label} report of {client} was not delivered",
            body=f"The {span.label} report of {client} (contract {terms.contract}) could not "
            f"be sent to {', '.join(recipients)}: {exc.message}. The next tick tries again.",
        )
        outcome = _row(client, schedule.RUN, f"deliver {what}", status="error",
                       message=exc.message)  # fmt: skip
        return Delivery(outcome, [alert], prefix)
    accepted = [address for address in recipients if address not in refused]
    record = Delivered(
        client=client,
        period=span.label,
        recipients=accepted,
        refused=refused,
        sent_at=now.astimezone(ZoneInfo(terms.timezone)).isoformat(timespec="seconds"),
        sha256=facts.sha256,
        size=len(pdf),
        head_seq=facts.head_seq,
        head_hash=facts.head_hash,
        checkpoint_seq=facts.checkpoint_seq,
        subject=str(message["Subject"]),
    )
    book.append(ledger.REPORT_ENTRY, DELIVERED, record.model_dump())
    # Sent: nothing of this client waits any more (a month that never went out is alerted, and
    # is sent by hand with `omctl report --format pdf`).
    shutil.rmtree(_outbox(settings, client), ignore_errors=True)
    note = f"; refused by the server: {', '.join(refused)}" if refused else ""
    outcome = _row(client, schedule.RUN, f"deliver {what}", status=ledger.SUCCESSFUL,
                   message=f"delivered to {', '.join(accepted)}{note}")  # fmt: skip
    return Delivery(outcome, [], prefix)
