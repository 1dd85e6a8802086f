"""Backup freshness before patching, on real runs through execute() with local hosts."""

from datetime import UTC, datetime, timedelta

import pytest

from omctl import guards, ledger, runs
from omctl.errors import ScopeRefused
from omctl.workspace import Workspace
from tests.unit.conftest import scope_text
from tests.unit.test_runs import LOCAL_HOSTS, PLAYBOOK

CONTRACT_BODY = """\
maintenance:
  backup: {every: daily}
  patching: {every: monthly}
"""


@pytest.fixture
def patch_ws(ws: Workspace) -> Workspace:
    (ws.client_dir("acme") / "hosts.yml").write_text(LOCAL_HOSTS.replace("should_fail: true", ""))
    for task in ("backup", "patching"):
        (ws.playbooks / "maintenance" / f"{task}.yml").write_text(
            PLAYBOOK.replace("Check services, the site and disk space", task)
        )
    (ws.client_dir("acme") / "scope.yml").write_text(scope_text(body=CONTRACT_BODY))
    return ws


@pytest.fixture
def book(settings):
    settings.workspace.ensure_state()
    opened = ledger.open_ledger(settings.ledger)
    yield opened
    opened.close()


def _noop(_event) -> None:
    return None


def test_patching_without_a_backup_is_refused_and_recorded(patch_ws, settings, book) -> None:
    with pytest.raises(ScopeRefused, match="no successful backup in the last 24 h of web1"):
        runs.execute(settings, book, runs.Request("acme", "patching", limit="web1"), _noop)
    (refused,) = ledger.runs(book)
    assert refused.status == ledger.STATUS_REFUSED and refused.in_scope


def test_fresh_backup_of_the_host_lets_patching_run(patch_ws, settings, book) -> None:
    runs.execute(settings, book, runs.Request("acme", "backup", limit="web1"), _noop)
    run = runs.execute(settings, book, runs.Request("acme", "patching", limit="web1"), _noop)
    assert run.status == ledger.SUCCESSFUL
    with pytest.raises(ScopeRefused, match="of web2"):  # web2 was not backed up
        runs.execute(settings, book, runs.Request("acme", "patching", limit="web"), _noop)


def test_check_mode_backup_does_not_count_and_check_patching_is_allowed(
    patch_ws, settings, book
) -> None:
    runs.execute(settings, book, runs.Request("acme", "backup", limit="web1", check=True), _noop)
    with pytest.raises(ScopeRefused):
        runs.execute(settings, book, runs.Request("acme", "patching", limit="web1"), _noop)
    dry = runs.execute(
        settings, book, runs.Request("acme", "patching", limit="web1", check=True), _noop
    )
    assert dry.status == ledger.SUCCESSFUL


def test_override_is_recorded(patch_ws, settings, book) -> None:
    request = runs.Request("acme", "patching", limit="web1", no_backup_check_reason="disk full")
    run = runs.execute(settings, book, request, _noop)
    assert run.status == ledger.SUCCESSFUL
    assert run.no_backup_check_reason == "disk full"


def test_stale_backup_is_refused(patch_ws, settings, book) -> None:
    runs.execute(settings, book, runs.Request("acme", "backup", limit="web1"), _noop)
    later = datetime.now(UTC) + timedelta(hours=25)
    assert guards.last_backups(book, "acme").keys() == {"web1"}
    with pytest.raises(ScopeRefused, match="web1"):
        runs.execute(
            settings, book, runs.Request("acme", "patching", limit="web1"), _noop, now=later
        )


def test_contract_without_backup_needs_no_backup(ws, settings, book) -> None:
    body = "maintenance:\n  patching: {every: monthly}\n"
    (ws.client_dir("acme") / "scope.yml").write_text(scope_text(body=body))
    (ws.playbooks / "maintenance" / "patching.yml").write_text(
        PLAYBOOK.replace("Check services, the site and disk space", "patch")
    )
    (ws.client_dir("acme") / "hosts.yml").write_text(LOCAL_HOSTS)
    run = runs.execute(settings, book, runs.Request("acme", "patching", limit="web1"), _noop)
    assert run.status == ledger.SUCCESSFUL
