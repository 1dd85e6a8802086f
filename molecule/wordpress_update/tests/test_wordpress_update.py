"""The role on the lab image's WordPress (Debian's package): with no package folder it changes
nothing and says why; with a folder holding the lab plugin 1.1 it plans the update from what the
site's own PHP reports, and a hold or a delay keeps it from being installed, with the reason."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
sys.path.insert(0, str(PROJECT))

from tests.unit import wordpress_packages  # noqa: E402

PLUGIN = "/var/lib/wordpress/wp-content/plugins/omctl-lab-plugin/omctl-lab-plugin.php"


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return wordpress_packages.build(tmp_path_factory.mktemp("packages"), "1.1").parent


def record(run, hostname: str) -> dict:
    assert run.status == "successful", run.stdout
    return run.evidence["wordpress_update"][hostname]


def test_without_a_package_folder_nothing_changes(run_playbook, hostname) -> None:
    run = run_playbook("maintenance/wordpress_update.yml")
    found = record(run, hostname)
    assert run.changed == {}
    assert found["items"] == [] and found["planned"] == []
    assert found["notes"] == [
        "no package folder (wordpress_update_packages): nothing to update from"
    ]


def test_a_held_update_is_planned_not_installed(run_playbook, hostname, host, packages) -> None:
    run = run_playbook("maintenance/wordpress_update.yml", extravars={
        "wordpress_update_packages": str(packages), "wordpress_update_hold": True})  # fmt: skip
    found = record(run, hostname)
    assert run.changed == {}
    [held] = found["held"]
    assert (held["slug"], held["from"], held["to"], held["held"]) == (
        "omctl-lab-plugin",
        "1.0",
        "1.1",
        True,
    )
    assert held["reason"] == "held: waiting for the client's decision"
    assert found["items"] == []
    assert host.file(PLUGIN).contains("Version: 1.0")


def test_an_update_waiting_out_its_delay_says_until_when(run_playbook, hostname, packages) -> None:
    run = run_playbook("maintenance/wordpress_update.yml", extravars={
        "wordpress_update_packages": str(packages),
        "wordpress_update_items": {"omctl-lab-plugin": {"delay_days": 30}}})  # fmt: skip
    [waiting] = record(run, hostname)["held"]
    assert waiting["held"] is False and "(30 days after its release)" in waiting["reason"]


def test_check_mode_plans_the_update_and_installs_nothing(
    run_playbook, hostname, host, packages
) -> None:
    run = run_playbook("maintenance/wordpress_update.yml", cmdline="--check",
                       extravars={"wordpress_update_packages": str(packages)})  # fmt: skip
    found = record(run, hostname)
    assert run.changed == {}
    [planned] = found["planned"]
    assert (planned["from"], planned["to"]) == ("1.0", "1.1") and found["check_mode"] is True
    assert found["items"] == []
    assert host.file(PLUGIN).contains("Version: 1.0")
