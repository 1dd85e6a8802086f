"""``config_tuning``: the settings roles/config_tuning measured, proposed and applied."""

from __future__ import annotations

from typing import Any, ClassVar, TypedDict

from omctl.evidence.base import Evidence, Part


class TuningRow(TypedDict):
    """A setting an applied run changed, in the report."""

    setting: str | None
    old: Any
    new: Any
    file: str | None


class Setting(Part):
    file: str | None = None
    name: str | None = None
    old: Any = None
    new: Any = None

    @property
    def changes(self) -> bool:
        return self.old != self.new


class ConfigTuning(Evidence):
    KIND: ClassVar[str] = "config_tuning"

    applied: bool = False
    check_mode: bool = False
    settings: list[Setting] | None = None
    measured: dict[str, Any] | None = None
    changed_files: list[str] | None = None
    notes: list[str] | None = None
    reloaded: list[Any] | None = None
    diffs: list[Any] | None = None
    sysctl_applied: bool | None = None
    error: str | None = None

    @property
    def changed_settings(self) -> list[Setting]:
        """What an applied run changed (nothing for a proposal)."""
        if not self.applied:
            return []
        return [setting for setting in self.settings or [] if setting.changes]

    def report_rows(self) -> list[TuningRow]:
        return [
            TuningRow(setting=s.name, old=s.old, new=s.new, file=s.file)
            for s in self.changed_settings
        ]
