"""``patching``: one host's patching record (roles/patching), published on failure too."""

from __future__ import annotations

from typing import Any, ClassVar, Literal, TypedDict

from pydantic import Field

from omctl.evidence.base import Evidence, Part
from omctl.evidence.rows import Mark, Row, State, row

Status = Literal["running", "failed", "planned", "patched", "up to date"]


class PackageRow(TypedDict):
    """A package a real run changed, in the report."""

    package: str | None
    old: str | None
    new: str | None
    security: bool


class RebootRow(TypedDict):
    state: str
    policy: str | None
    required_by: list[str]


STATES: dict[str, State] = {"failed": "failed", "patched": "warning", "up to date": "ok"}


class Planned(Part):
    name: str | None = None
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None
    security: bool | None = None
    new: bool | None = None


class Deferred(Part):
    """A package left out of this run (held, or its origin not in the scope)."""

    name: str | None = None
    to: str | None = None
    reason: str | None = None


class Services(Part):
    restarted: list[str] | None = None
    restarted_by_reboot: list[str] | None = None
    deferred: list[str] | None = None

    def text(self) -> str:
        parts = [f"restarted: {', '.join(self.restarted or []) or 'none'}"]
        if self.restarted_by_reboot:
            parts.append(f"left to the reboot: {', '.join(self.restarted_by_reboot)}")
        if self.deferred:
            parts.append(f"not restarted (excluded): {', '.join(self.deferred)}")
        return "; ".join(parts)


class Gate(Part):
    """The health gate before or after patching (ok None: skipped, and why)."""

    ok: bool | None = None
    skipped: Any = None
    failed: list[str] | None = None

    def pieces(self) -> tuple[str | Mark, ...]:
        if self.ok is None:
            return (f"skipped ({self.skipped})",)
        if self.ok:
            return (Mark("healthy", "ok"),)
        return (Mark("unhealthy", "failed"), f": {'; '.join(self.failed or [])}")


class Health(Part):
    before: Gate | None = None
    after: Gate | None = None


class Core(Part):
    core: str | None = None


class WordPressSite(Part):
    path: str | None = None
    before: Core | None = None
    after: Core | None = None
    checksums_ok: bool | None = None


class WordPress(Part):
    sites: list[WordPressSite] | None = None
    # WordPress installs that are Debian's package, updated by apt with the rest.
    apt_managed: list[str] | None = None


class Applied(Part):
    name: str | None = None
    from_: str | None = Field(default=None, alias="from")
    to: str | None = None


class Reboot(Part):
    done: bool | None = None
    required: bool | None = None
    pending: bool | None = None
    policy: str | None = None
    required_by: list[str] | None = None
    boot_before: str | None = None
    boot_after: str | None = None

    def pieces(self) -> tuple[str | Mark, ...]:
        if self.done:
            state: str | Mark = f"rebooted, boot id {self.boot_before} -> {self.boot_after}"
        elif self.pending:
            state = Mark("reboot pending", "warning")
        else:
            state = "required" if self.required else "not needed"
        by = ", ".join(self.required_by or [])
        return (state, f" (policy {self.policy}{'; asked by ' + by if by else ''})")

    @property
    def noted(self) -> bool:
        """Whether the report lists it: done, required or pending."""
        return bool(self.done or self.required or self.pending)


class Patching(Evidence):
    KIND: ClassVar[str] = "patching"

    status: Status
    check: bool = False
    scope: Any = None
    batch: list[str] | None = None
    started_at: str | None = None
    finished_at: str | None = None
    preflight: dict[str, Any] | None = None
    lists_refreshed: bool | None = None
    plan: list[Planned] | None = None
    deferred: list[Deferred] | None = None
    applied: list[Applied] | None = None
    services: Services | None = None
    reboot: Reboot | None = None
    health: Health | None = None
    wordpress: WordPress | None = None
    # Set by the rescue when the host failed.
    failed_task: str | None = None
    message: str | None = None

    @property
    def security_packages(self) -> set[str | None]:
        return {item.name for item in self.plan or [] if item.security}

    def package_rows(self) -> list[PackageRow]:
        security = self.security_packages
        return [
            PackageRow(package=a.name, old=a.from_, new=a.to, security=a.name in security)
            for a in self.applied or []
        ]

    def reboot_row(self) -> RebootRow | None:
        """Whether the host rebooted or has a reboot pending (None when neither)."""
        reboot = self.reboot
        if reboot is None or not reboot.noted:
            return None
        return RebootRow(
            state="rebooted" if reboot.done else "reboot pending",
            policy=reboot.policy,
            required_by=list(reboot.required_by or []),
        )

    @property
    def state(self) -> State | None:
        """The state the status tells (None for running and planned)."""
        return STATES.get(self.status)

    def show_rows(self) -> list[Row]:
        rows = []
        if self.message:
            rows.append(row("stopped", Mark(self.message, "failed")))
        rows.append(row("scope", str(self.scope)))
        applied = {a.name for a in self.applied or []}
        for item in self.plan or []:
            flags = [
                "security" if item.security else "",
                "new" if item.new else "",
                "applied" if item.name in applied else "",
                "planned" if self.check else "",
            ]
            rows.append(row(f"  {item.name}", f"{item.from_ or '-'} -> {item.to} "
                            f"({', '.join(f for f in flags if f)})"))  # fmt: skip
        if not self.plan:
            rows.append(row("packages", "nothing to upgrade"))
        if self.deferred:
            text = ", ".join(f"{d.name} {d.to} ({d.reason})" for d in self.deferred)
            rows.append(row("deferred", text))
        if self.services is not None and self.services.given:
            rows.append(row("services", self.services.text()))
        if self.reboot is not None and self.reboot.given:
            rows.append(row("reboot", *self.reboot.pieces()))
        health = self.health or Health()
        for phase, gate in (("before", health.before), ("after", health.after)):
            if gate is not None and gate.given:
                rows.append(row(f"health {phase}", *gate.pieces()))
        wordpress = self.wordpress or WordPress()
        for site in wordpress.sites or []:
            before, after = site.before or Core(), site.after or Core()
            verify = "checksums ok" if site.checksums_ok else Mark("checksums FAILED", "failed")
            rows.append(row(f"wordpress {site.path}", f"core {before.core} -> {after.core}, ",
                            verify))  # fmt: skip
        for path in wordpress.apt_managed or []:
            rows.append(row(f"wordpress {path}", "Debian's package: updated by apt"))
        return rows
