from __future__ import annotations

import pytest
from typer.testing import CliRunner

from omctl.cli.main import app
from omctl.workspace import Workspace
from tests.unit.test_runs import LOCAL_HOSTS, PLAYBOOK


class Omctl:
    """Invoke omctl in a workspace; returns click's Result (stdout, stderr, exit_code)."""

    def __init__(self, ws: Workspace):
        self.ws = ws
        self.runner = CliRunner()

    def __call__(self, *args: str):
        return self.runner.invoke(
            app, ["--workspace", str(self.ws.root), *args], env={"OMCTL_OPERATOR": "cli@test"}
        )


@pytest.fixture
def omctl(ws: Workspace) -> Omctl:
    (ws.client_dir("acme") / "hosts.yml").write_text(LOCAL_HOSTS)
    (ws.playbooks / "maintenance" / "healthcheck.yml").write_text(PLAYBOOK)
    return Omctl(ws)
