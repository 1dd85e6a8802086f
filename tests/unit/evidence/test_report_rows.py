"""The rows the report builds from each model (omctl/evidence/*.py ``report_row``)."""

from __future__ import annotations

import copy

from omctl.evidence.access_review import AccessReview
from omctl.evidence.config_tuning import ConfigTuning
from omctl.evidence.hardening import Hardening
from omctl.evidence.incident import Incident
from omctl.evidence.patching import Patching
from omctl.evidence.restore_drill import RestoreDrill
from tests.unit import report_ledger as month


def test_config_tuning_lists_only_what_an_applied_run_changed() -> None:
    rows = ConfigTuning.model_validate(month.CONFIG_TUNING).report_rows()
    assert [row["setting"] for row in rows] == [
        "pm.max_children",
        "innodb_buffer_pool_size",
        "fastcgi_read_timeout",
    ]  # fmt: skip  (pm stays dynamic)
    assert rows[2] == {"setting": "fastcgi_read_timeout", "old": None, "new": "90s",
                       "file": "/etc/nginx/conf.d/omctl-tuning.conf"}  # fmt: skip
    proposal = ConfigTuning.model_validate({**month.CONFIG_TUNING, "applied": False})
    assert proposal.report_rows() == []


def test_access_review_row_and_proposals() -> None:
    review = AccessReview.model_validate(month.ACCESS_REVIEW)
    row = review.report_row()
    assert (row["requests"], row["errors_4xx"], row["errors_5xx"]) == (57, 6, 1)
    assert row["not_found"] == ["/old-offer/"] and row["proposals"] == 2
    assert [p["title"] for p in review.proposal_rows()][1] == "Redirect /old-offer/"
    empty = AccessReview.model_validate({"findings": {}})
    assert empty.report_row()["errors_4xx"] == 0 and empty.proposal_rows() == []


def test_patching_packages_marked_security_from_the_plan_and_the_reboot() -> None:
    patched = Patching.model_validate(
        month.patching(
            [("libssl3", "3.0.15-1", "3.0.16-1", True), ("curl", "7.88.1-10", "7.88.1-11", False)],
            rebooted=True,
        )
    )
    assert patched.package_rows() == [
        {"package": "libssl3", "old": "3.0.15-1", "new": "3.0.16-1", "security": True},
        {"package": "curl", "old": "7.88.1-10", "new": "7.88.1-11", "security": False},
    ]
    assert patched.reboot_row() == {
        "state": "rebooted", "policy": "if_required",
        "required_by": ["linux-image-6.1.0-27-amd64"],
    }  # fmt: skip
    quiet = Patching.model_validate(month.patching([], rebooted=False))
    assert quiet.package_rows() == [] and quiet.reboot_row() is None
    # The record keeps its "from" key (an alias of from_).
    assert patched.dump()["applied"][0]["from"] == "3.0.15-1"


def test_hardening_row_reads_the_audits() -> None:
    row = Hardening.model_validate(month.hardening(59, 80, "2026-11-09")).report_row()
    assert (row["index_before"], row["index_after"], row["changes"]) == (59, 80, 2)
    unaudited = Hardening.model_validate({"lynis_before": None, "error": ""}).report_row()
    assert unaudited == {"index_before": None, "index_after": None, "warnings": None,
                         "warning_tests": [], "changes": 0, "error": None}  # fmt: skip


def test_a_failed_drill_check_of_a_site_is_named_with_it() -> None:
    data = copy.deepcopy(month.RESTORE_DRILL)
    data["ok"] = False
    data["checks"][0].update(ok=False, site="shop.example.org")
    data["checks"][1]["ok"] = False
    row = RestoreDrill.model_validate(data).report_row()
    names = [c.get("name") for c in data["checks"]]
    assert row["failed_checks"] == [f"shop.example.org: {names[0]}", names[1]]
    assert row["ok"] is False and row["checks"] == 3


def test_incident_row_keeps_the_problems_and_counts_the_rest() -> None:
    row = Incident.model_validate(month.INCIDENT).report_row()
    assert row["severity"] == "critical"
    assert {f["check"] for f in row["findings"]} >= {"units", "disk"}
    assert all(f["severity"] != "ok" for f in row["findings"])
    assert row["checks_ok"] == len(month.INCIDENT["findings"]) - len(row["findings"])
