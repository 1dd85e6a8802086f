"""``hardening``: what roles/hardening changed, proved and audited on one host."""

from __future__ import annotations

from typing import Any, ClassVar, TypedDict

from omctl.evidence import text
from omctl.evidence.base import Evidence, Part
from omctl.evidence.rows import Mark, Row, listed, row


class HardeningRow(TypedDict):
    """A real hardening run in the report."""

    index_before: int | float | None
    index_after: int | float | None
    warnings: int | None
    warning_tests: list[str]
    changes: int
    error: str | None


class LynisAudit(Part):
    index: int | float | None = None
    warnings: int | None = None
    warning_tests: list[str] | None = None
    same_as_before: bool | None = None
    fresh: bool | None = None
    audited_at: str | None = None

    @property
    def score(self) -> int | float | None:
        """The hardening index when it is a number (the report's table and chart)."""
        return self.index if isinstance(self.index, int | float) else None


class Ssh(Part):
    port: int | None = None
    previous_port: int | None = None
    fresh_login: str | None = None
    # What ansible_port must become in the inventory after a port change (omctl sets it).
    set_inventory_port: int | None = None


class Answer(Part):
    status: int | str | None = None


class SiteProof(Part):
    """A site fetched before and after the run (filter hardening_site_comparison)."""

    url: str | None = None
    same: bool | None = None
    before: Answer | None = None
    after: Answer | None = None


class Services(Part):
    disabled: list[str] | None = None
    left_enabled_outside_allow_list: list[str] | None = None


class Firewall(Part):
    ssh_ports: list[int] | None = None
    tcp_ports: list[int] | None = None
    dropped_listeners: list[str] | None = None


class Hardening(Evidence):
    KIND: ClassVar[str] = "hardening"

    check_mode: bool = False
    container: bool | None = None
    lynis_before: LynisAudit | None = None
    lynis_after: LynisAudit | None = None
    changes: list[Any] | None = None
    reverted: bool | None = None
    skipped: list[Any] | None = None
    notes: list[str] | None = None
    error: str | None = None
    sites: list[SiteProof] | None = None
    # Before the sites were proved one by one the record held one ``site``.
    site: SiteProof | None = None
    ssh: Ssh | None = None
    services: Services | None = None
    firewall: Firewall | None = None

    @property
    def proofs(self) -> list[SiteProof]:
        return list(self.sites or ([self.site] if self.site else []))

    def show_rows(self) -> list[Row]:
        rows = [
            row("lynis before", text.lynis(_audit(self.lynis_before))),
            row("lynis after", text.lynis(_audit(self.lynis_after))),
        ]
        for index, site in enumerate(self.proofs):
            before, after = site.before or Answer(), site.after or Answer()
            verdict = Mark("same content", "ok") if site.same else Mark("CHANGED", "failed")
            answered = f"{site.url} answered {before.status} before and {after.status} after: "
            rows.append(row("site" if index == 0 else "", answered, verdict))
        if self.ssh is not None and self.ssh.model_dump(exclude_unset=True):
            rows.append(row("ssh", f"port {self.ssh.port}; {self.ssh.fresh_login}"))
        wall = self.firewall
        if wall is not None and wall.model_dump(exclude_unset=True):
            ports = ", ".join(str(p) for p in (wall.ssh_ports or []) + (wall.tcp_ports or []))
            dropped = ", ".join(wall.dropped_listeners or []) or "none"
            rows.append(row("firewall", f"admits tcp {ports}; listening but dropped: {dropped}"))
        services = self.services
        if services is not None and services.model_dump(exclude_unset=True):
            stopped = ", ".join(services.disabled or []) or "none"
            left = ", ".join(services.left_enabled_outside_allow_list or []) or "none"
            rows.append(row("services", f"disabled: {stopped}; outside the allow list: {left}"))
        label = "would change" if self.check_mode else "changed"
        rows += listed(label, [str(c) for c in self.changes or []], empty="nothing")
        rows += listed("skipped", [str(s) for s in self.skipped or []])
        rows += listed("note", [str(n) for n in self.notes or []])
        if self.error:
            rows.append(row(Mark("error", "error"), Mark(self.error, "error")))
        return rows

    def report_row(self) -> HardeningRow:
        before, after = self.lynis_before, self.lynis_after
        return HardeningRow(
            index_before=before.score if before else None,
            index_after=after.score if after else None,
            warnings=after.warnings if after else None,
            warning_tests=list(after.warning_tests or []) if after else [],
            changes=len(self.changes or []),
            error=self.error or None,
        )


def _audit(audit: LynisAudit | None) -> dict[str, Any] | None:
    return audit.model_dump(mode="json", exclude_unset=True) if audit is not None else None
