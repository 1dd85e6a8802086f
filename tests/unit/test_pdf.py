"""PDF reports: Debian's headless Chromium prints the HTML report; pdftotext reads it back."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omctl import ledger, pdf
from omctl.cli.main import app
from omctl.errors import EnvironmentProblem, ExitCode
from tests.unit.report_ledger import BILLED_TOTAL, bill_month, build_month, make_workspace
from tests.unit.smtp_server import pdf_text


def test_html_is_printed_to_a_pdf_pdftotext_reads(tmp_path) -> None:
    lines = "".join(f"<p>line {number} of the report</p>" for number in range(200))
    page = f"<!DOCTYPE html><html><head></head><body><h1>Service report: acme &amp; co</h1>{lines}"
    data = pdf.html_to_pdf(page)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data, tmp_path)
    assert "Service report: acme & co" in text
    assert "line 0 of the report" in text and "line 199 of the report" in text
    assert text.count("\f") >= 2  # 200 lines do not fit one page: it paginated
    (tmp_path / "info.pdf").write_bytes(data)
    info = subprocess.run(["pdfinfo", str(tmp_path / "info.pdf")], capture_output=True,
                          text=True, check=True, timeout=60).stdout  # fmt: skip
    assert "pts (A4)" in info


def test_a_missing_chromium_is_an_environment_problem(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no chromium on this PATH
    with pytest.raises(EnvironmentProblem, match="chromium is not installed"):
        pdf.html_to_pdf("<p>x</p>")


def test_a_chromium_that_prints_nothing_is_an_environment_problem(monkeypatch, tmp_path) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\necho 'cannot open display' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EnvironmentProblem) as caught:
        pdf.html_to_pdf("<p>x</p>")
    assert str(caught.value) == (
        "chromium did not print the PDF (exit code 3): cannot open display"
    )


def _report(root: Path, *args: str):
    return CliRunner().invoke(app, ["--workspace", str(root), "report", "acme", *args])


def test_omctl_report_format_pdf(tmp_path) -> None:
    month = build_month(make_workspace(tmp_path / "ws"))
    try:
        target = tmp_path / "acme-2026-11.pdf"
        result = _report(month.ws.root, "--period", "2026-11", "--format", "pdf", "-o",
                         str(target))  # fmt: skip
        assert result.exit_code == 0, result.stderr
        text = " ".join(pdf_text(target.read_bytes(), tmp_path).split())  # lines wrap anywhere
        assert "Service report: acme, 2026-11" in text and "Contract ACME-2026-11" in text
        (checkpoint,) = [e for e in month.book.entries() if e.kind == ledger.CHECKPOINT]
        assert checkpoint.payload["format"] == "pdf"
        assert checkpoint.payload["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
        assert f"Checkpoint {checkpoint.payload['seq']}:{checkpoint.payload['hash']}" in text
        # stdout when it is no terminal (here: the test runner's pipe)
        printed = _report(month.ws.root, "--period", "2026-11", "--format", "pdf")
        assert printed.exit_code == 0 and printed.stdout_bytes.startswith(b"%PDF-")
    finally:
        month.close()


def test_omctl_report_pdf_without_chromium_exits_7_and_records_nothing(
    tmp_path, monkeypatch
) -> None:
    month = build_month(make_workspace(tmp_path / "ws"))
    try:
        before = len(list(month.book.entries()))
        monkeypatch.setenv("PATH", str(tmp_path))
        result = _report(month.ws.root, "--period", "2026-11", "--format", "pdf", "-o",
                         str(tmp_path / "r.pdf"))  # fmt: skip
        assert result.exit_code == ExitCode.ENVIRONMENT
        assert result.stderr.strip().splitlines() == [
            "error: chromium is not installed: a PDF report needs it (apt-get install chromium)"
        ]
        assert len(list(month.book.entries())) == before and not (tmp_path / "r.pdf").exists()
    finally:
        month.close()


def test_the_pdf_has_who_does_what_and_the_fees(tmp_path) -> None:
    month = build_month(make_workspace(tmp_path / "ws"))
    try:
        bill_month(month)
        target = tmp_path / "acme-2026-11.pdf"
        result = _report(month.ws.root, "--period", "2026-11", "--format", "pdf", "-o",
                         str(target))  # fmt: skip
        assert result.exit_code == 0, result.stderr
        text = " ".join(pdf_text(target.read_bytes(), tmp_path).split())
        for heading in ("Who does what", "Fees", "Monthly fees", "Billable out-of-scope work",
                        "Open requests"):  # fmt: skip
            assert heading in text
        assert "keeps the domain and its records" in text and "pro-rated 27/30 days" in text
        assert f"Total for 2026-11: {BILLED_TOTAL} EUR." in text
    finally:
        month.close()
