"""The evidence contract: one pydantic model per kind the roles publish with ``set_stats``.

A new kind gets a module here with its model (``KIND``, ``SCHEMA_VERSION``), an entry in
``MODEL_PATHS``, and its JSON Schema regenerated (``make schemas``): the role's Molecule verify
checks its published evidence against that file.

``runs.record_result`` stores each record through ``check``: a valid one as its model dumps it
(the keys it came with, unknown ones kept), an invalid one exactly as sent with the error beside
it in the entry (``{"host", "kind", "data": <raw>, "invalid": "<summary>"}``); nothing is dropped.
``omctl show`` and the report read records through ``parse``, so entries written before the
models (stored raw) are checked the same way on read, and an invalid one is named, not fatal.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from omctl.evidence.base import Evidence, summary

# kind -> module and class under omctl.evidence. Imported on first use: a model costs 10-30 ms
# to build, and `omctl show` of one run reads one or two kinds.
MODEL_PATHS: dict[str, tuple[str, str]] = {
    "baseline": ("baseline", "Baseline"),
    "healthcheck": ("healthcheck", "Healthcheck"),
    "patching": ("patching", "Patching"),
    "hardening": ("hardening", "Hardening"),
    "backup": ("backup", "Backup"),
    "backup_check": ("backup_check", "BackupCheck"),
    "restore_drill": ("restore_drill", "RestoreDrill"),
    "restore_drill_check": ("restore_drill_check", "RestoreDrillCheck"),
    "content_sync": ("content_sync", "ContentSync"),
    "config_tuning": ("config_tuning", "ConfigTuning"),
    "access_review": ("access_review", "AccessReview"),
    "incident": ("incident", "Incident"),
    "inventory": ("inventory", "Inventory"),
    "drift": ("drift", "Drift"),
    "vulnerability_scan": ("vulnerability_scan", "VulnerabilityScan"),
    "software_inventory": ("software_inventory", "SoftwareInventory"),
    "wordpress_update": ("wordpress_update", "WordPressUpdate"),
}


class _Models(Mapping[str, type[Evidence]]):
    """``MODEL_PATHS`` as model classes, each imported when first asked for."""

    def __init__(self) -> None:
        self._loaded: dict[str, type[Evidence]] = {}

    def __getitem__(self, kind: str) -> type[Evidence]:
        if kind not in self._loaded:
            module, name = MODEL_PATHS[kind]
            self._loaded[kind] = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        return self._loaded[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(MODEL_PATHS)

    def __len__(self) -> int:
        return len(MODEL_PATHS)


MODELS: Mapping[str, type[Evidence]] = _Models()


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
