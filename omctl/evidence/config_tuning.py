"""``config_tuning``: the settings roles/config_tuning measured, proposed and applied."""

from __future__ import annotations

from typing import Any, ClassVar, TypedDict

from omctl.evidence.base import Evidence, Part
from omctl.evidence.rows import Mark, Piece

Number = int | float


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


class Sizing(Part):
    """What the settings were sized for (config_tuning_plan's ``__sizing``)."""

    ram_mb: Number | None = None
    cores: Number | None = None
    available_mb: Number | None = None
    worker_rss_mb: Number | None = None


class Measured(Part):
    memory_mb: Number | None = None
    memory_source: str | None = None
    nofile_hard: Number | None = None
    nofile_source: str | None = None
    php_worker_rss_source: str | None = None
    sizing: Sizing | None = None


class ConfigTuning(Evidence):
    KIND: ClassVar[str] = "config_tuning"

    applied: bool = False
    check_mode: bool = False
    settings: list[Setting] | None = None
    measured: Measured | None = None
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

    @property
    def state(self) -> Piece:
        """What became of the plan, in its state."""
        if self.error:
            return Mark("failed, the previous configuration kept", "failed")
        if self.check_mode:
            return Mark("proposal (check mode)", "warning")
        return Mark("applied", "ok") if self.applied else "not applied"

    def sizing_line(self) -> str:
        measured = self.measured or Measured()
        sizing = measured.sizing or Sizing()
        return (
            f"sized for {sizing.ram_mb} MiB of RAM ({measured.memory_source}: "
            f"{measured.memory_mb} MiB), {sizing.cores} cores, open files "
            f"{measured.nofile_hard} ({measured.nofile_source}); PHP-FPM "
            f"{sizing.available_mb} MiB / {sizing.worker_rss_mb} MiB per worker "
            f"({measured.php_worker_rss_source})"
        )

    def setting_rows(self) -> list[tuple[str, str, Piece, str]]:
        """Each setting: its name, old and new value (a change marked) and its file."""
        rows: list[tuple[str, str, Piece, str]] = []
        for setting in self.settings or []:
            old, new = setting.old, setting.new
            shown = "-" if new is None else str(new)
            rows.append((str(setting.name), "(default)" if old is None else str(old),
                         Mark(shown, "changed") if setting.changes else shown,
                         str(setting.file)))  # fmt: skip
        return rows
