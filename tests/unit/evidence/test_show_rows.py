"""The rows `omctl show` prints are built by the models, states included (omctl/evidence/)."""

from __future__ import annotations

import copy

from omctl import evidence
from omctl.evidence.backup import Backup
from omctl.evidence.backup_check import BackupCheck
from omctl.evidence.hardening import Hardening
from omctl.evidence.incident import Incident
from omctl.evidence.patching import Patching
from omctl.evidence.rows import Mark, row
from tests.unit import report_ledger as month
from tests.unit.evidence.test_show_output import BACKUP_CHECK_FIRST, BACKUP_SITES


def test_patching_status_and_gates_carry_their_state() -> None:
    assert Patching.model_validate(month.PATCHING_FAILED).state == "failed"
    assert Patching.model_validate(month.PATCHING_CHECK).state is None  # planned: no state
    rows = Patching.model_validate(month.PATCHING_FAILED).show_rows()
    assert row("stopped", Mark(month.PATCHING_FAILED["message"], "failed")) in rows
    assert row("health after", Mark("unhealthy", "failed"), ": nginx is not active") in rows
    assert row("health before", Mark("healthy", "ok")) in rows


def test_incident_findings_carry_their_severity_state() -> None:
    record = Incident.model_validate(month.INCIDENT)
    assert record.state == "failed"
    states = {f["check"]: f["severity"] for f in record.finding_rows()}
    assert states["errors"] == Mark("ok", "ok")
    assert states["memory"] == Mark("warning", "warning")
    assert states["disk"] == Mark("critical", "failed")
    # The report still gets the problems as the role published them.
    assert record.report_row()["findings"][0]["check"] == "units"


def test_a_backup_site_outside_backup_paths_is_a_warning_an_unstored_database_a_failure() -> None:
    rows = Backup.model_validate(BACKUP_SITES).show_rows()
    blog = next(r for r in rows if r.value[:1] == ("/var/www/blog: ",))
    assert Mark("not in backup_paths", "warning") in blog.value
    assert Mark("database blog not backed up", "failed") in blog.value
    failed = Backup.model_validate({**BACKUP_SITES, "snapshots": {"files": None}}).show_rows()
    shop = next(r for r in failed if r.value[:1] == ("/var/www/shop: ",))
    assert Mark("not backed up", "failed") in shop.value


def test_a_probe_names_its_problems_first_and_the_repository_state() -> None:
    rows = BackupCheck.model_validate(BACKUP_CHECK_FIRST).show_rows()
    assert rows[0] == row(Mark("problem", "failed"), Mark("no SFTP key yet", "failed"), " (no_key)")
    assert Mark("would initialise", "warning") in rows[1].value


def test_hardening_marks_a_changed_site() -> None:
    data = month.hardening(59, 80, "2026-11-09")
    data["site"] = {**data["site"], "same": False}
    rows = Hardening.model_validate(data).show_rows()
    assert Mark("CHANGED", "failed") in next(r for r in rows if r.label == ("site",)).value


def test_a_retyped_nested_key_is_named_not_shown_wrong() -> None:
    data = copy.deepcopy(month.hardening(59, 80, "2026-11-09"))
    data["sites"] = "http://localhost/"
    parsed = evidence.parse("hardening", data)
    assert isinstance(parsed, evidence.Invalid)
    assert parsed.error.startswith("sites:")
