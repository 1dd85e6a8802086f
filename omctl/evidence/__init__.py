"""The evidence contract: one pydantic model per kind the roles publish with ``set_stats``.

A new kind gets a module here with its model (``KIND``, ``SCHEMA_VERSION``), an entry in
``MODELS``, and its JSON Schema regenerated (``make schemas``): the role's Molecule verify
checks its published evidence against that file.

``runs.record_result`` stores each record through ``check``: a valid one as its model dumps it
(the keys it came with, unknown ones kept), an invalid one exactly as sent with the error beside
it in the entry (``{"host", "kind", "data": <raw>, "invalid": "<summary>"}``); nothing is dropped.
``omctl show`` and the report read records through ``parse``, so entries written before the
models (stored raw) are checked the same way on read, and an invalid one is named, not fatal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from omctl.evidence.access_review import AccessReview
from omctl.evidence.backup import Backup
from omctl.evidence.backup_check import BackupCheck
from omctl.evidence.base import Evidence, summary
from omctl.evidence.baseline import Baseline
from omctl.evidence.config_tuning import ConfigTuning
from omctl.evidence.content_sync import ContentSync
from omctl.evidence.hardening import Hardening
from omctl.evidence.healthcheck import Healthcheck
from omctl.evidence.incident import Incident
from omctl.evidence.inventory import Inventory
from omctl.evidence.patching import Patching
from omctl.evidence.restore_drill import RestoreDrill
from omctl.evidence.restore_drill_check import RestoreDrillCheck

MODELS: dict[str, type[Evidence]] = {
    model.KIND: model
    for model in (
        Baseline,
        Healthcheck,
        Patching,
        Hardening,
        Backup,
        BackupCheck,
        RestoreDrill,
        RestoreDrillCheck,
        ContentSync,
        ConfigTuning,
        AccessReview,
        Incident,
        Inventory,
    )
}


@dataclass(frozen=True)
class Invalid:
    """A record that does not match its kind's model: kept raw, with why."""

    kind: str
    data: Any
    error: str

    def message(self, host: str) -> str:
        return f"{self.kind} evidence of {host} does not match its schema: {self.error}"


def parse(kind: str, data: Any) -> Evidence | Invalid | None:
    """The record as its model, Invalid when it does not match, None for a kind without one."""
    model = MODELS.get(kind)
    if model is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        return Invalid(kind, data, summary(exc))


def check(kind: str, data: Any) -> tuple[Any, str | None]:
    """What ``record_result`` stores: a valid record as its model dumps it (no error); an
    invalid one unchanged with the validation error; a kind without a model unchanged."""
    parsed = parse(kind, data)
    if isinstance(parsed, Evidence):
        return parsed.dump(), None
    if isinstance(parsed, Invalid):
        return data, parsed.error
    return data, None


def invalid_records(hosts: Mapping[str, Any]) -> list[dict[str, str]]:
    """The records of a run (its ``hosts``: name -> result with ``.evidence``) that do not
    match their model, as ``{host, kind, error, message}``, in host and kind order."""
    found = []
    for host, result in sorted(hosts.items()):
        for kind, data in sorted(result.evidence.items()):
            parsed = parse(kind, data)
            if isinstance(parsed, Invalid):
                found.append(
                    {
                        "host": host,
                        "kind": kind,
                        "error": parsed.error,
                        "message": parsed.message(host),
                    }
                )
    return found


__all__ = ["MODELS", "Evidence", "Invalid", "check", "invalid_records", "parse"]
