"""Shared helpers for the Molecule testinfra suites.

The roles are verified the way omctl consumes them: the playbook is run again
through ansible-runner against the Molecule instance, and the evidence is read
from the run's aggregated stats (``omctl_evidence.<kind>.<host>``).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import ansible_runner
import pytest

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[1]))


@dataclass
class PlaybookRun:
    """The outcome of one playbook run, as omctl would see it."""

    status: str
    rc: int
    evidence: dict
    events: list[dict]
    stdout: str
    artifacts: Path

    @property
    def changed(self) -> dict:
        stats = next(e for e in self.events if e["event"] == "playbook_on_stats")
        return stats["event_data"].get("changed", {})

    def failure_messages(self, host: str) -> list[str]:
        return [
            e["event_data"]["res"].get("msg", "")
            for e in self.events
            if e["event"] == "runner_on_failed"
            and e["event_data"].get("host") == host
            and not e["event_data"].get("ignore_errors")
        ]


def molecule_inventory() -> str:
    return os.environ["MOLECULE_INVENTORY_FILE"]


@pytest.fixture(scope="session")
def run_playbook(tmp_path_factory):
    """Run a project playbook through ansible-runner and collect its evidence."""

    def _run(
        playbook: str,
        *,
        extravars: dict | None = None,
        inventories: list[str] | None = None,
        verbosity: int = 0,
        cmdline: str | None = None,
    ) -> PlaybookRun:
        private_data_dir = tmp_path_factory.mktemp("runner")
        runner = ansible_runner.run(
            private_data_dir=str(private_data_dir),
            playbook=str(PROJECT / "playbooks" / playbook),
            inventory=[molecule_inventory(), *(inventories or [])],
            extravars=extravars or {},
            verbosity=verbosity,
            cmdline=cmdline,
            quiet=True,
        )
        events = list(runner.events)
        stats = next(e for e in events if e["event"] == "playbook_on_stats")
        artifact_data = stats["event_data"].get("artifact_data") or {}
        return PlaybookRun(
            status=runner.status,
            rc=runner.rc,
            evidence=artifact_data.get("omctl_evidence", {}),
            events=events,
            stdout=runner.stdout.read(),
            artifacts=Path(runner.config.artifact_dir),
        )

    return _run


@pytest.fixture(scope="session")
def run_ansible_playbook():
    """Run a project playbook with plain ansible-playbook; returns stdout+stderr and rc."""

    def _run(playbook: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                "ansible-playbook",
                "-i",
                molecule_inventory(),
                str(PROJECT / "playbooks" / playbook),
                *args,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )

    return _run


@pytest.fixture(scope="module")
def hostname(host) -> str:
    """The inventory name of the Molecule instance."""
    return host.backend.host
