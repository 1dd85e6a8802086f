"""What the ledger says was delivered: the ``report.delivered`` entries (omctl.delivery
writes them). Apart from the sending, so that ``omctl status`` reads them without importing
SMTP, TLS and e-mail.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError

from omctl import ledger

DELIVERED = "report.delivered"  # entry kind, run_id ledger.REPORT_ENTRY


class Delivered(BaseModel):
    """What a ``report.delivered`` entry records."""

    model_config = ConfigDict(extra="allow", frozen=True)

    client: str
    period: str  # the month, YYYY-MM, in the contract's time zone
    recipients: list[str]  # those the SMTP server accepted
    refused: list[str] = []  # those it refused (not sent again)
    sent_at: str  # the tick's instant, ISO 8601 in the contract's time zone
    sha256: str  # of the PDF attached
    size: int
    head_seq: int | None  # the chain head the report was built on
    head_hash: str | None
    checkpoint_seq: int  # the report.checkpoint entry recorded when it was built
    subject: str


def deliveries(book: ledger.Ledger, client: str) -> list[Delivered]:
    """The client's recorded deliveries, oldest first (a record that does not fit is skipped)."""
    found = []
    for entry in book.entries(run_id=ledger.REPORT_ENTRY):
        if entry.kind != DELIVERED or entry.payload.get("client") != client:
            continue
        try:
            found.append(Delivered.model_validate(entry.payload))
        except ValidationError:
            continue
    return found


def last_delivery(book: ledger.Ledger, client: str) -> Delivered | None:
    found = deliveries(book, client)
    return found[-1] if found else None


def describe(sent: Delivered | None) -> str:
    if sent is None:
        return "none yet"
    refused = f" (refused: {', '.join(sent.refused)})" if sent.refused else ""
    return f"{sent.period} at {sent.sent_at} to {', '.join(sent.recipients)}{refused}"
