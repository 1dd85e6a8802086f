"""``access_review``: the access-log summary and proposals of roles/access_review."""

from __future__ import annotations

from typing import Any, ClassVar, TypedDict

from pydantic import Field

from omctl.evidence import text
from omctl.evidence.base import Evidence, Part
from omctl.evidence.rows import Mark, Piece, Row, row


class ReviewRow(TypedDict):
    """One review in the report."""

    first_day: Any
    last_day: Any
    requests: int | None
    unique_visitors: int | None
    errors_4xx: int
    errors_5xx: int
    not_found: list[Any]
    login_posts: Any
    proposals: int


class ProposalRow(TypedDict):
    title: str | None
    why: str | None
    action: str | None


class Period(Part):
    first_day: Any = None
    last_day: Any = None
    days: int | None = None


class Lines(Part):
    read: int | None = None
    out_of_period: int | None = None
    malformed: int | None = None
    with_request_time: int | None = None


class Day(Part):
    date: Any = None
    requests: int | None = None
    unique_visitors: int | None = None
    bytes: int | float | None = None


class Url(Part):
    url: str | None = None
    requests: int | None = None


class Referer(Part):
    referer: str | None = None


class NotFound(Url):
    referers: list[Referer] | None = None


class Slow(Url):
    avg_s: int | float | None = None
    max_s: int | float | None = None


class Bot(Part):
    name: str | None = None
    requests: int | None = None


class Bots(Part):
    requests: int | None = None
    share: int | float | None = None
    top: list[Bot] | None = None


class Poster(Part):
    ip: str | None = None
    posts: int | None = None


class Script(Part):
    """Requests to wp-login.php or xmlrpc.php: how many POSTs, from which addresses."""

    requests: int | None = None
    posts: int | None = None
    addresses: int | None = None
    top: list[Poster] | None = None


class CacheProbe(Part):
    url: str | None = None
    cached: bool | None = None
    error: Any = None
    status: Any = None


class Findings(Part):
    files: list[Any] | None = None
    period: Period | None = None
    requests: int | None = None
    unique_visitors: int | None = None
    bytes: int | float | None = None
    lines: Lines | None = None
    per_day: list[Day] | None = None
    status: dict[str, int] | None = None
    status_classes: dict[str, int] | None = None
    top_urls: list[Url] | None = None
    top_404: list[NotFound] | None = None
    slowest: list[Slow] | None = None
    bots: Bots | None = None
    wp_login: Script | None = None
    xmlrpc: Script | None = None
    cache_probe: list[CacheProbe] | None = None


class Proposal(Part):
    title: str | None = None
    why: str | None = None
    action: str | None = None


class AccessReview(Evidence):
    KIND: ClassVar[str] = "access_review"

    findings: Findings
    proposals: list[Proposal] = Field(default_factory=list)

    def report_row(self) -> ReviewRow:
        found = self.findings
        days = found.period or Period()
        classes = found.status_classes or {}
        return ReviewRow(
            first_day=days.first_day,
            last_day=days.last_day,
            requests=found.requests,
            unique_visitors=found.unique_visitors,
            errors_4xx=classes.get("4xx", 0),
            errors_5xx=classes.get("5xx", 0),
            not_found=[e.url for e in found.top_404 or []][:5],
            login_posts=(found.wp_login or Script()).posts,
            proposals=len(self.proposals),
        )

    def proposal_rows(self) -> list[ProposalRow]:
        return [ProposalRow(title=p.title, why=p.why, action=p.action) for p in self.proposals]

    def summary_line(self) -> str:
        found = self.findings
        period, lines = found.period or Period(), found.lines or Lines()
        return (
            f"{period.first_day} to {period.last_day} ({period.days} days): {found.requests} "
            f"requests, {found.unique_visitors} unique visitors, {text.size(found.bytes)}; "
            f"{lines.read} lines read, {lines.out_of_period} outside the period, "
            f"{lines.malformed} malformed"
        )

    def day_rows(self) -> list[tuple[str, str, str, str]]:
        return [
            (str(d.date), str(d.requests), str(d.unique_visitors), text.size(d.bytes))
            for d in self.findings.per_day or []
        ]

    def show_rows(self) -> list[Row]:
        found = self.findings
        lines = found.lines or Lines()
        status = ", ".join(f"{code} {n}" for code, n in (found.status or {}).items())
        rows = [
            row("status", status or "none"),
            row("top URLs", _pairs([(e.url, e.requests) for e in found.top_urls or []])),
            row("top 404s", ", ".join(
                f"{e.url} {e.requests}" + (f" (from {e.referers[0].referer})" if e.referers else "")
                for e in found.top_404 or []) or "none"),
            row("slowest", ", ".join(
                f"{e.url} avg {e.avg_s}s max {e.max_s}s ({e.requests})"
                for e in found.slowest or [])
                or ("no $request_time in the logs" if not lines.with_request_time else "none")),
        ]  # fmt: skip
        bots = found.bots or Bots()
        top = _pairs([(b.name, b.requests) for b in bots.top or []])
        rows.append(row("bots", f"{bots.requests} requests ({float(bots.share or 0):.0%}): {top}"))
        for given, script in ((found.wp_login, "wp-login.php"), (found.xmlrpc, "xmlrpc.php")):
            seen = given or Script()
            posters = ", ".join(f"{e.ip} {e.posts} POSTs" for e in (seen.top or [])[:5])
            rows.append(row(script, f"{seen.requests} requests, {seen.posts} POSTs from "
                            f"{seen.addresses} addresses; {posters}"))  # fmt: skip
        for probe in found.cache_probe or []:
            verdict: Piece = {
                True: Mark("cached", "ok"),
                False: Mark("no cache headers", "warning"),
            }.get(probe.cached, Mark(f"not probed: {probe.error or probe.status}", "error"))
            rows.append(row("static file", f"{probe.url}: ", verdict))
        return rows


def _pairs(entries: list[tuple[Any, Any]]) -> str:
    return ", ".join(f"{key} {value}" for key, value in entries) or "none"
