"""``restore_drill_check``: what a restore drill would restore, probed in check mode."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from omctl.evidence import text
from omctl.evidence.base import Part
from omctl.evidence.probe import Probe
from omctl.evidence.rows import Mark, Row, row


class DrillFiles(Part):
    snapshot: str | None = None
    paths: list[str] | None = None
    entries: int | None = None
    bytes: int | float | None = None
    into: str | None = None


class DrillDatabase(Part):
    name: str | None = None
    snapshot: str | None = None
    dump_bytes: int | float | None = None
    into: str | None = None


class Room(Part):
    """Whether a file system has room for what the drill restores onto it."""

    for_: list[str] | None = Field(default=None, alias="for")
    probe: str | None = None
    needed_bytes: int | float | None = None
    free_bytes: int | float | None = None
    reclaimable_bytes: int | float | None = None
    ok: bool | None = None


class Drill(Part):
    run: str | None = None
    time: str | None = None
    age_seconds: int | float | None = None
    files: DrillFiles | None = None
    database: DrillDatabase | None = None
    other_dumps: list[str] | None = None
    check_subset: Any = None
    disk: list[Room] | None = None


class RestoreDrillCheck(Probe):
    KIND: ClassVar[str] = "restore_drill_check"

    drill: Drill | None = None
    sites: list[Any] | None = None

    def show_rows(self) -> list[Row]:
        rows = self.head_rows()
        drill = self.drill or Drill()
        if drill.run:
            rows.append(
                row(
                    "would restore",
                    f"run {drill.run} taken {drill.time} ({text.age(drill.age_seconds)} ago)",
                )
            )
        files = drill.files
        if files is not None and files.given:
            rows.append(
                row(
                    "files",
                    f"snapshot {files.snapshot} ({', '.join(files.paths or [])}"
                    f"): {files.entries} files and folders, {text.size(files.bytes)} "
                    f"into {files.into}",
                )
            )
        database = drill.database
        if database is not None and database.given:
            rows.append(
                row(
                    "database",
                    f"{database.name} from snapshot {database.snapshot} "
                    f"({text.size(database.dump_bytes)} dump) into {database.into}",
                )
            )
        for site in self.sites or []:
            rows.append(row("site", f"{site}: restored, served and compared in turn"))
        if drill.other_dumps:
            rows.append(row("dumps checked", ", ".join(drill.other_dumps)))
        if drill.check_subset:
            rows.append(
                row("repository check", f"restic check --read-data-subset {drill.check_subset}")
            )
        for room in drill.disk or []:
            free = (room.free_bytes or 0) + (room.reclaimable_bytes or 0)
            mark = Mark("enough", "ok") if room.ok else Mark("NOT ENOUGH", "failed")
            rows.append(
                row(
                    "room",
                    f"{', '.join(room.for_ or [])} on {room.probe}: needs "
                    f"{text.size(room.needed_bytes)}, {text.size(free)} free: ",
                    mark,
                )
            )
        return rows + self.note_rows()
