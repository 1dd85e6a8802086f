"""Grants: operators.yml says who may run what; a run outside it is refused and recorded."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from omctl import grants, ledger, operators, runs, settings
from omctl.cli.main import app
from omctl.errors import NotGranted
from tests.unit.test_operators import ROOT, _book, _omctl, keys_here  # noqa: F401 (a fixture)
from tests.unit.test_runs import LOCAL_HOSTS, PLAYBOOK

GRANTS = """\
oncall:
  clients: "*"
  tasks: [healthcheck, diagnose]
alice:
  clients: [acme]
  categories: [maintenance, operation]
"""


def test_grants_allow_by_client_and_category_or_task(ws) -> None:
    (ws.root / "operators.yml").write_text(GRANTS)
    grants.check_grant(ws, "oncall", "beta", "maintenance", "healthcheck")
    grants.check_grant(ws, "alice", "acme", "maintenance", "patching")
    for who, client, category, task in (
        ("oncall", "acme", "maintenance", "patching"),
        ("alice", "beta", "maintenance", "patching"),
        ("alice", "acme", "onboarding", "baseline"),
        ("bob", "acme", "maintenance", "healthcheck"),
    ):
        with pytest.raises(NotGranted):
            grants.check_grant(ws, who, client, category, task)
    (ws.root / "operators.yml").unlink()
    grants.check_grant(ws, "bob", "acme", "onboarding", "baseline")  # no file: no check


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("alice:\n  clients: [acme]\n  categories: [maintenance]\n  role: admin\n", 4,
         "unknown key 'role'"),
        ("alice:\n  clients: [acme]\n", 1, "grants nothing"),
        ("alice:\n  clients: [acme]\n  categories: [patching]\n", 3, "alice.categories"),
        ("- alice\n", 1, "must map operator names"),
    ],
)  # fmt: skip
def test_a_bad_operators_yml_is_one_line_with_file_and_line(ws, text, line, message) -> None:
    (ws.root / "operators.yml").write_text(text)
    (ws.client_dir("acme") / "hosts.yml").write_text(LOCAL_HOSTS)
    failed = _omctl(ws, "run", "acme", "healthcheck", "--limit", "web1")
    assert failed.exit_code == 2
    assert f"operators.yml:{line}: " in failed.stderr and message in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1
    assert not (ws.state / "ledger.sqlite3").exists() or not ledger.runs(_book(ws))


def test_a_run_outside_the_grant_is_refused_recorded_and_exits_8(ws) -> None:
    (ws.client_dir("acme") / "hosts.yml").write_text(LOCAL_HOSTS)
    (ws.playbooks / "maintenance" / "healthcheck.yml").write_text(PLAYBOOK)
    operators.init(ws, "bob")
    (ws.root / "operators.yml").write_text(GRANTS)
    refused = _omctl(ws, "run", "acme", "healthcheck", "--limit", "web1")
    assert refused.exit_code == 8, refused.stderr
    assert "operator bob may not run maintenance/healthcheck for client acme" in refused.stderr
    book = _book(ws)
    (run,) = ledger.runs(book)
    assert run.status == ledger.STATUS_REFUSED
    assert "may not run maintenance/healthcheck for client acme: it has no grant" in (
        run.refusal_reason
    )
    assert book.signers([run.first_seq]) == {run.first_seq: "bob"}
    assert not (ws.state / "runs").exists()  # nothing started
    book.close()


def test_a_granted_run_runs_and_show_names_its_signer(ws) -> None:
    (ws.client_dir("acme") / "hosts.yml").write_text(LOCAL_HOSTS)
    (ws.playbooks / "maintenance" / "healthcheck.yml").write_text(PLAYBOOK)
    operators.init(ws, "alice")
    (ws.root / "operators.yml").write_text(GRANTS)
    book = _book(ws)
    current = settings.load(ws.root, environ={})
    run = runs.execute(current, book, runs.Request("acme", "healthcheck", limit="web1"), print)
    assert run.status == ledger.SUCCESSFUL
    book.close()
    shown = _omctl(ws, "show", run.id)
    assert "signed_by:           alice" in shown.stdout
    listed = _omctl(ws, "history", "acme", "--json")
    assert [(r["id"], r["signed_by"]) for r in json.loads(listed.stdout)] == [(run.id, "alice")]
    table = _omctl(ws, "history", "acme").stdout
    assert " by " in table.splitlines()[0] and "alice" in table
    assert _omctl(ws, "ledger", "verify").exit_code == 0


def test_the_exit_code_is_documented() -> None:
    help_text = CliRunner().invoke(app, ["--help"]).stdout
    assert "8 operators.yml does not grant" in " ".join(help_text.split())
    readme = (ROOT / "README.md").read_text()
    assert "| 8 |" in readme
