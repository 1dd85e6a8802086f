"""A ledger fixture built from real runs' records, placed at chosen times.

``record_templates`` runs real tasks once through ``runs.execute`` (real ansible-runner,
local-connection hosts) and keeps the ledger entries each run wrote. ``Replay`` appends those
entries again to a fresh ``SqliteLedger`` the way ``omctl/runs.py`` does (the start alone, then
per-host results, evidence and the end in one atomic append), under a new run id and with the
ledger's clock set to the wanted time. Only the time, the run id and, when asked, the task name
differ from what omctl recorded; the entry shapes are the real ones.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from omctl import ledger, runs
from omctl.errors import ScopeRefused
from omctl.settings import Settings
from omctl.workspace import Workspace
from tests.unit.conftest import make_workspace
from tests.unit.test_runs import LOCAL_HOSTS, PLAYBOOK

RECORDING_SCOPE = """\
maintenance:
  healthcheck:
    every: daily
    hosts: [web]
"""

Entries = list[tuple[str, dict[str, Any]]]  # (kind, payload) in ledger order


def _noop(_event: object) -> None:
    return None


def _workspace(root: Path) -> Workspace:
    ws = make_workspace(root, hosts=LOCAL_HOSTS, scope_body=RECORDING_SCOPE)
    (root / "playbooks" / "maintenance" / "healthcheck.yml").write_text(PLAYBOOK)
    return ws


def record_templates(root: Path) -> dict[str, Entries]:
    """Real runs of the healthcheck: ok (web1), ok_web (web1+web2), failed (web2 fails),
    check (web1, --check), check_failed (web1+web2 in check mode, web2 fails), out_of_scope
    (db1 with a reason), refused (db1), started (the start entry of a run, for interrupted
    runs)."""
    ws = _workspace(root)
    settings = Settings(workspace=ws, operator="tester@unit")
    ws.ensure_state()
    book = ledger.open_ledger(settings.ledger)
    requests = {
        "ok": runs.Request("acme", "healthcheck", limit="web1"),
        "failed": runs.Request("acme", "healthcheck", limit="web"),
        "check": runs.Request("acme", "healthcheck", limit="web1", check=True),
        "check_failed": runs.Request("acme", "healthcheck", limit="web", check=True),
        "out_of_scope": runs.Request(
            "acme", "healthcheck", limit="db1", out_of_scope_reason="client asked by phone"
        ),
        "refused": runs.Request("acme", "healthcheck", limit="db1"),
    }
    templates: dict[str, Entries] = {}
    try:
        for name, request in requests.items():
            try:
                run_id = runs.execute(settings, book, request, _noop).id
            except ScopeRefused:
                run_id = ledger.runs(book)[-1].id
            templates[name] = [(e.kind, e.payload) for e in book.entries(run_id)]
        (ws.client_dir("acme") / "hosts.yml").write_text(
            LOCAL_HOSTS.replace("should_fail: true", "")
        )
        run_id = runs.execute(
            settings, book, runs.Request("acme", "healthcheck", limit="web"), _noop
        ).id
        templates["ok_web"] = [(e.kind, e.payload) for e in book.entries(run_id)]
    finally:
        book.close()
    templates["started"] = templates["ok"][:1]
    assert [kind for kind, _ in templates["ok"]][-1] == ledger.FINISHED
    assert templates["failed"][-1][1]["status"] == ledger.FAILED
    assert [kind for kind, _ in templates["refused"]] == [ledger.REFUSED]
    return templates


def stamp(moment: datetime) -> str:
    """A time as the ledger writes it (ledger.utcnow)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Replay:
    ws: Workspace
    book: ledger.Ledger
    templates: dict[str, Entries]
    duration: timedelta = timedelta(minutes=3)

    def add(
        self,
        template: str,
        at: datetime,
        task: str | None = None,
        category: str | None = None,
        trigger: str | None = None,
    ) -> str:
        """Append a copy of a recorded run started at ``at``; returns its new run id."""
        entries = copy.deepcopy(self.templates[template])
        run_id = runs.new_run_id(at)
        (first_kind, first_payload), rest = entries[0], entries[1:]
        if task is not None:
            first_payload["task"] = task
        if category is not None:
            first_payload["category"] = category
        if trigger is not None:
            first_payload["trigger"] = trigger
        with mock.patch.object(ledger, "utcnow", return_value=stamp(at)):
            self.book.append(run_id, first_kind, first_payload)
        if rest:
            with mock.patch.object(ledger, "utcnow", return_value=stamp(at + self.duration)):
                self.book.append_many([(run_id, kind, payload) for kind, payload in rest])
        return run_id

    def interrupted(self, at: datetime, task: str | None = None) -> str:
        """A run whose omctl process died, marked by the real runs.recover_interrupted."""
        run_id = self.add("started", at, task)
        with mock.patch.object(ledger, "utcnow", return_value=stamp(at + self.duration)):
            assert runs.recover_interrupted(self.ws, self.book, "acme") == [run_id]
        return run_id

    def runs(self) -> list[ledger.Run]:
        return ledger.runs(self.book, "acme")


_RECORDED: dict[str, Entries] = {}


def recorded(factory: pytest.TempPathFactory) -> dict[str, Entries]:
    """The templates, recorded once per test session."""
    if not _RECORDED:
        _RECORDED.update(record_templates(factory.mktemp("recorded")))
    return _RECORDED


def open_replay(root: Path, factory: pytest.TempPathFactory) -> Replay:
    """A fresh ledger under ``root``/.omctl with the recorded templates to replay."""
    ws = Workspace(root)
    return Replay(ws, ledger.SqliteLedger(ws.state / "ledger.sqlite3"), recorded(factory))
