"""Shared helpers for the Molecule testinfra suites.

The roles are verified the way omctl consumes them: the playbook is run again
through ansible-runner against the Molecule instance, and the evidence is read
from the run's aggregated stats (``omctl_evidence.<kind>.<host>``). Every record a run
publishes must validate against its kind's committed JSON Schema
(omctl/data/evidence-schemas, generated from omctl/evidence/), so that a role and the CLI
cannot drift apart.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import ansible_runner
import jsonschema
import pytest
import testinfra
from testinfra.utils.ansible_runner import AnsibleRunner

PROJECT = Path(os.environ.get("MOLECULE_PROJECT_DIRECTORY", Path(__file__).resolve().parents[1]))
SCHEMAS = PROJECT / "omctl" / "data" / "evidence-schemas"


def schema_problems(evidence: dict) -> list[str]:
    """Each published record that its kind's committed schema rejects, or that has none."""
    problems = []
    for kind, per_host in sorted(evidence.items()):
        path = SCHEMAS / f"{kind}.json"
        if not path.is_file():
            problems.append(f"{kind}: no schema {path} (add a model in omctl/evidence/)")
            continue
        validator = jsonschema.Draft202012Validator(json.loads(path.read_text(encoding="utf-8")))
        for host, data in sorted(per_host.items()):
            for error in validator.iter_errors(data):
                where = "/".join(str(p) for p in error.absolute_path) or "(record)"
                problems.append(f"{kind} evidence of {host} at {where}: {error.message}")
    return problems


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
        evidence = artifact_data.get("omctl_evidence", {})
        problems = schema_problems(evidence)
        assert not problems, "evidence does not match its schema:\n" + "\n".join(problems)
        return PlaybookRun(
            status=runner.status,
            rc=runner.rc,
            evidence=evidence,
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
def host():
    """The scenario's one instance, reached with `podman exec` (testinfra's podman backend):
    the ansible backend starts a whole ansible run per command, seconds each on a loaded
    machine, and the suites send hundreds."""
    (name,) = AnsibleRunner(molecule_inventory()).get_hosts("all")
    return testinfra.get_host(f"podman://{name}")


@pytest.fixture(scope="module")
def hostname(host) -> str:
    """The inventory name of the Molecule instance (the container's name)."""
    return host.backend.name
