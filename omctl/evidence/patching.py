"""``patching``: one host's patching record (roles/patching), published on failure too."""

from __future__ import annotations

from typing import Any, ClassVar, Literal, TypedDict

from pydantic import Field

from omctl.evidence.base import Evidence, Part

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


class Planned(Part):
    name: str | None = None
    security: bool | None = None


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
    deferred: list[Any] | None = None
    applied: list[Applied] | None = None
    services: dict[str, Any] | None = None
    reboot: Reboot | None = None
    health: dict[str, Any] | None = None
    wordpress: dict[str, Any] | None = None
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
