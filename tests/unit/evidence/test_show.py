"""`omctl show` renders each record through its model (omctl/cli/evidence.py)."""

from __future__ import annotations

import copy

from omctl import console
from omctl.cli import evidence
from tests.unit import report_ledger as month
from tests.unit.evidence.records import HEALTHCHECK, INVENTORY, INVENTORY_REFUSED


def printed(kind: str, data: object) -> str:
    with console.out.capture() as captured:
        evidence.render(kind, "web1", data)
    return " ".join(captured.get().split())


def test_healthcheck_marks_each_check_and_lists_what_was_not_applicable() -> None:
    text = printed("healthcheck", HEALTHCHECK)
    assert "healthcheck of web1: unhealthy" in text
    assert "service nginx FAILED service nginx is inactive" in text
    assert "web1: not applicable no database server: database checks not applicable" in text


def test_content_sync_states() -> None:
    published = month.content_sync("20261105T100000Z", "20261028", "v1")
    assert "content sync of web1: switched" in printed("content_sync", published)
    assert "source git" in printed("content_sync", published)
    failed = {**published, "error": "rsync exited 23"}
    assert "content sync of web1: failed" in printed("content_sync", failed)
    proposal = {**published, "check_mode": True, "switched": False}
    assert "content sync of web1: proposal (check mode)" in printed("content_sync", proposal)
    rollback = {**published, "action": "rollback", "up_to_date": True}
    assert "rollback of web1: up to date" in printed("content_sync", rollback)
    assert "content sync of web1: failed" in printed("content_sync", {"error": "no source"})


def test_config_tuning_applied_and_failed() -> None:
    text = printed("config_tuning", month.CONFIG_TUNING)
    assert "config tuning of web1: applied" in text
    assert "pm.max_children 5 14" in text and "fastcgi_read_timeout (default) 90s" in text
    failed = {**month.CONFIG_TUNING, "error": "nginx -t failed"}
    text = printed("config_tuning", failed)
    assert "failed, the previous configuration kept" in text and "nginx -t failed" in text


def test_inventory_updated_or_why_not() -> None:
    text = printed("inventory", INVENTORY)
    assert "inventory of web1: ansible_port 22 -> 2222 in inventories/acme/hosts.yml" in text
    text = printed("inventory", INVENTORY_REFUSED)
    assert "not updated: inventories/acme/hosts.yml:4: web1 is not a host here" in text


def test_restore_drill_names_a_failed_site_check_and_the_stop() -> None:
    data = copy.deepcopy(month.RESTORE_DRILL)
    data["checks"][0].update(ok=False, site="shop.example.org")
    data["error"] = "the scratch folder is full"
    text = printed("restore_drill", data)
    assert f"shop.example.org: {data['checks'][0]['name']} FAILED" in text
    assert "stopped the scratch folder is full" in text


def test_an_old_record_stored_raw_still_renders() -> None:
    # Before the sites were proved one by one, hardening recorded a single "site".
    old = month.hardening(59, 80, "2026-11-09")
    old.pop("sites", None)
    old["site"] = {"url": "http://127.0.0.1/", "before": {"status": 200},
                   "after": {"status": 200}, "same": True}  # fmt: skip
    text = printed("hardening", old)
    assert "does not match its schema" not in text
    assert "http://127.0.0.1/ answered 200 before and 200 after: same content" in text


def test_a_record_that_is_not_a_dict_is_named_and_shown_raw() -> None:
    text = printed("incident", ["oops"])
    assert "incident evidence of web1 does not match its schema: (record):" in text
    assert '"oops"' in text
