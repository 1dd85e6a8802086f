"""The committed JSON Schemas are the models' (make schemas), and accept what the roles send."""

from __future__ import annotations

import json

import jsonschema
import pytest

from omctl import evidence
from omctl.evidence import schemas
from tests.unit.evidence.records import RECORDS


def test_the_committed_schemas_are_generated_from_the_models() -> None:
    assert schemas.stale() == [], "run: make schemas"


def test_a_changed_model_makes_its_schema_stale(tmp_path) -> None:
    schemas.write(tmp_path)
    assert schemas.stale(tmp_path) == []
    (tmp_path / "healthcheck.json").write_text("{}\n")
    (tmp_path / "gone.json").write_text("{}\n")
    assert schemas.stale(tmp_path) == ["healthcheck", "gone"]
    assert schemas.main(["--check"]) == 0


def validator(kind: str) -> jsonschema.Draft202012Validator:
    found = json.loads((schemas.DIRECTORY / f"{kind}.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(found)
    assert found["x-omctl-schema-version"] == evidence.MODELS[kind].SCHEMA_VERSION
    return jsonschema.Draft202012Validator(found)


@pytest.mark.parametrize(
    ("kind", "data"), [(kind, data) for kind, found in RECORDS.items() for data in found]
)
def test_the_schema_accepts_a_realistic_record(kind: str, data: dict) -> None:
    assert list(validator(kind).iter_errors(data)) == []


def test_the_schema_rejects_what_the_model_rejects() -> None:
    errors = list(validator("healthcheck").iter_errors({"ok": True, "results": []}))
    assert [e.message for e in errors] == ["'checks' is a required property"]
    errors = list(validator("patching").iter_errors({"status": "half done"}))
    assert errors and "half done" in errors[0].message
