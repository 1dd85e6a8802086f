"""Issuing a report: the one path ``omctl report`` and the tick's monthly delivery share.

Built from the ledger, rendered, scrubbed of secrets, printed to PDF when asked for, and
recorded as a checkpoint in the ledger before anybody sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from omctl import ledger, pdf, report, report_render
from omctl.runs import redactor
from omctl.settings import Settings

PDF = "pdf"  # printed from the HTML rendering


@dataclass(frozen=True)
class Issued:
    built: report.Report
    content: bytes  # what the client gets: the rendering's UTF-8 text, or the PDF
    checkpoint: ledger.Entry  # the report.checkpoint entry recorded for it


def issue(
    settings: Settings,
    book: ledger.Ledger,
    about: report.Subject,
    fmt: str,
    output: Path | None = None,
    now: datetime | None = None,
) -> Issued:
    """The report of ``about`` in ``fmt`` (md, html, json, pdf or csv), recorded in ``book``.
    Raises EnvironmentProblem when a PDF cannot be printed (nothing is recorded then)."""
    scrub = redactor(settings, settings.workspace.client_dir(about.client))
    built = report.collect(book, about, now)
    # The ledger keeps no secret; this also covers values made secret after they were recorded.
    text = scrub.text(report_render.render(built, "html" if fmt == PDF else fmt))
    content = pdf.html_to_pdf(text) if fmt == PDF else text.encode()
    # Recorded before it is shown: no client holds a report the ledger does not know.
    entry = report.record_checkpoint(book, built, fmt, content, output, settings.operator)
    return Issued(built, content, entry)
