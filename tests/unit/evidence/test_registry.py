"""The registry holds a model for every kind a role publishes, and checks records with it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from omctl import evidence
from omctl.evidence.base import Evidence
from tests.unit.evidence.records import RECORDS

ROLES = Path(__file__).resolve().parents[3] / "roles"


def published_kinds() -> set[str]:
    """The kinds the roles' tasks publish: ``omctl_evidence: ... {'KIND': {...``."""
    kinds = set()
    for tasks in ROLES.glob("*/tasks/*.yml"):
        text = tasks.read_text(encoding="utf-8")
        for found in re.finditer(r"omctl_evidence:\s*[>|-]*\s*\"?\{\{\s*\{'([a-z_]+)'", text):
            kinds.add(found.group(1))
    return kinds


def test_every_kind_a_role_publishes_has_a_model() -> None:
    kinds = published_kinds()
    assert {"healthcheck", "backup", "restore_drill_check", "content_sync"} <= kinds
    assert kinds <= set(evidence.MODELS), kinds - set(evidence.MODELS)
    # omctl itself writes inventory and drift (omctl/runs.py) and vulnerability_scan (from the
    # role's software_inventory, omctl/vulns/scan.py), no role does.
    assert "vulnerability_scan" not in kinds and "software_inventory" in kinds
    assert set(evidence.MODELS) == kinds | {"inventory", "drift", "vulnerability_scan"}


def test_each_model_names_its_kind_and_version() -> None:
    for kind, model in evidence.MODELS.items():
        assert kind == model.KIND and model.SCHEMA_VERSION >= 1
        assert issubclass(model, Evidence)


@pytest.mark.parametrize(
    ("kind", "data"), [(kind, data) for kind, found in RECORDS.items() for data in found]
)
def test_a_realistic_record_is_stored_as_it_came(kind: str, data: dict) -> None:
    stored, invalid = evidence.check(kind, data)
    assert invalid is None
    assert stored == data
    assert isinstance(evidence.parse(kind, data), evidence.MODELS[kind])


def test_every_kind_has_a_realistic_record() -> None:
    assert set(RECORDS) == set(evidence.MODELS)


def test_unknown_keys_are_kept() -> None:
    stored, invalid = evidence.check("healthcheck", {"ok": True, "checks": [], "new": {"a": 1}})
    assert invalid is None and stored["new"] == {"a": 1}


def test_a_renamed_key_is_invalid_and_kept_raw() -> None:
    raw = {"ok": True, "results": []}  # checks renamed
    stored, invalid = evidence.check("healthcheck", raw)
    assert stored is raw
    assert invalid == "checks: Field required"
    parsed = evidence.parse("healthcheck", raw)
    assert isinstance(parsed, evidence.Invalid)
    assert parsed.message("web1") == (
        "healthcheck evidence of web1 does not match its schema: checks: Field required"
    )


def test_a_retyped_value_is_invalid() -> None:
    _, invalid = evidence.check("inventory", {"file": "h.yml", "ansible_port": "two", "updated": 1})
    assert invalid is not None
    assert invalid.startswith("ansible_port: Input should be a valid integer")


def test_a_record_that_is_not_a_dict_is_invalid() -> None:
    _, invalid = evidence.check("baseline", ["not", "a", "dict"])
    assert invalid is not None and "(record)" in invalid


def test_a_kind_without_a_model_is_stored_unchanged() -> None:
    assert evidence.check("future_kind", {"x": 1}) == ({"x": 1}, None)
    assert evidence.parse("future_kind", {"x": 1}) is None


def test_many_problems_are_summarised() -> None:
    _, invalid = evidence.check("inventory", {})
    assert invalid == (
        "file: Field required; ansible_port: Field required; updated: Field required"
    )
    _, invalid = evidence.check("restore_drill", {"ok": "x", "checks": 1, "sites": 2, "error": 3})
    assert invalid is not None and invalid.endswith("(and 1 more)")
