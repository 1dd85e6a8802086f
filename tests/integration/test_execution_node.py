"""Bastions and execution nodes: a client host on an internal podman network that only the
bastion lab host reaches; onboarded through it (--jump), and worked from it as an execution
node (the job streamed over SSH to ``ansible-runner worker`` there)."""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from omctl.onboard import SSH_VARS
from tests.integration.conftest import REPO, Lab, Result, new_lab, write_scope

pytestmark = pytest.mark.integration

WHEELS = REPO / ".omctl" / "wheels"
HEALTHCHECK = "  healthcheck: {every: daily}\n"
# The job's folders and any process still naming one (Ansible's workers, ssh-agent); the
# bracket keeps pgrep's own shell out of what it finds.
# The pattern needs a character of mktemp's suffix after the dot: the shell running this
# command has "/tmp/omctl-job.*" on its own command line, and pgrep must not find that shell.
JOB_LEFTOVERS = (
    "ls -d /tmp/omctl-job.* /tmp/omctl-wheels.* /tmp/ssh-* 2>/dev/null; "
    "pgrep -a -f '[/]tmp/omctl-(job|wheels)[.][A-Za-z0-9]'; true"
)


@pytest.fixture(scope="module")
def bastion_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """One bastion (SSH on 127.0.0.1) and web1 on the internal network only."""
    started = new_lab(tmp_path_factory, "nodes")
    try:
        up = started.omctl("lab", "up", "--behind-bastion", "--json", timeout=1800)
        assert up.code == 0, up.stderr
        started.hosts = up.json()
        yield started
    finally:
        started.omctl("lab", "down")


def _bastion(lab: Lab) -> dict:
    return lab.host("bastion")


def _node_exec(lab: Lab, command: str) -> str:
    done = lab.ssh("bastion", command)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _client(lab: Lab, name: str, host_vars: str, node: bool) -> None:
    """A client whose web1 is the internal address, pinned with the keys onboarding recorded."""
    folder = lab.ws / "inventories" / name
    (folder / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
    onboarded = lab.ws / "inventories" / "acme" / "known_hosts"
    (folder / "known_hosts").write_text(onboarded.read_text() if onboarded.exists() else "")
    (folder / "group_vars" / "all" / "ssh.yml").write_text(SSH_VARS)
    vars_block = (
        f"  vars:\n    execution_node: {{ssh: 'root@127.0.0.1:{_bastion(lab)['ssh_port']}', "
        f"key: '{lab.key}'}}\n"
        if node
        else ""
    )
    address = lab.host("web1")["address"]
    (folder / "hosts.yml").write_text(
        f"all:\n{vars_block}  hosts:\n    web1:\n      ansible_host: {address}\n"
        f"      ansible_ssh_private_key_file: '{lab.key}'\n{host_vars}"
    )
    write_scope(lab, name, HEALTHCHECK)


def _hosts(result: Result) -> dict:
    return result.json()["hosts"]


def test_the_host_without_jump_or_node_is_unreachable_and_recorded(bastion_lab: Lab) -> None:
    # First: a later run through the bastion leaves an SSH master to web1 for 60 s
    # (ControlPersist) that a direct run would reuse.
    _client(bastion_lab, "direct", "      ansible_timeout: 5\n", node=False)
    run = bastion_lab.omctl("run", "direct", "healthcheck", "--json")
    assert run.code == 1, run.stderr
    assert run.json()["status"] == "failed"
    assert _hosts(run)["web1"]["unreachable"] == 1


def test_a_host_behind_the_bastion_is_onboarded_and_checked_through_it(bastion_lab: Lab) -> None:
    lab = bastion_lab
    web1 = lab.host("web1")
    assert web1["ssh_port"] is None and web1["address"]
    onboard = lab.omctl(
        "onboard", "acme", "web1", "--address", web1["address"], "--key", str(lab.key),
        "--jump", f"root@127.0.0.1:{_bastion(lab)['ssh_port']}", "--json",
    )  # fmt: skip
    assert onboard.code == 0, onboard.stderr
    known = (lab.ws / "inventories" / "acme" / "known_hosts").read_text().splitlines()
    assert len(known) == 2  # the bastion's key and web1's, both pinned
    write_scope(lab, "acme", HEALTHCHECK)
    run = lab.omctl("run", "acme", "healthcheck", "--json")
    assert run.code == 0, run.stderr
    assert _hosts(run)["web1"]["status"] == "ok"


def test_a_bad_jump_is_one_line_and_changes_nothing(bastion_lab: Lab) -> None:
    result = bastion_lab.omctl(
        "onboard", "other", "web1", "--address", "10.0.0.1", "--jump", "root@bastion:99999"
    )
    assert result.code == 2
    assert result.stderr.strip().splitlines() == [
        "error: --jump 'root@bastion:99999' is not USER@BASTION[:PORT]"
    ]
    assert not (bastion_lab.ws / "inventories" / "other").exists()


def test_node_prepare_installs_ansible_from_the_controllers_wheels(bastion_lab: Lab) -> None:
    lab = bastion_lab
    _client(lab, "edge", "", node=True)
    before = lab.omctl("node", "check", "edge", "--json")
    assert before.code == 1 and before.json()["compatible"] is False
    assert before.json()["reach"] == {"web1": "ok"}
    prepare = lab.omctl("node", "prepare", "edge", "--wheels", str(WHEELS), "--json")
    assert prepare.code == 0, prepare.stderr
    after = lab.omctl("node", "check", "edge", "--json")
    assert after.code == 0 and after.json()["ok"] is True
    assert after.json()["versions"] == after.json()["wanted"]
    assert _node_exec(lab, JOB_LEFTOVERS).split() == []


def test_a_healthcheck_on_the_node_is_recorded_as_a_direct_run(bastion_lab: Lab) -> None:
    lab = bastion_lab
    streamed = lab.omctl("run", "edge", "healthcheck", "--json")
    assert streamed.code == 0, streamed.stderr
    direct = lab.omctl("run", "acme", "healthcheck", "--json")
    assert direct.code == 0, direct.stderr
    one, other = streamed.json(), direct.json()
    assert set(one) == set(other) and one["status"] == other["status"] == "successful"
    assert set(one["hosts"]["web1"]) == set(other["hosts"]["web1"])
    assert set(one["hosts"]["web1"]["evidence"]) == set(other["hosts"]["web1"]["evidence"])
    # The same checks with the same outcomes; the percentages are masked because the lab
    # host's disk is the controller's, which other tests fill and empty between the two runs.
    assert _checks(one) == _checks(other)
    assert len(_checks(one)) >= 5
    assert one["execution_node"] == f"root@127.0.0.1:{_bastion(lab)['ssh_port']}"
    assert other["execution_node"] is None
    stdout = lab.ws / ".omctl" / "runs" / one["id"] / "artifacts" / one["id"] / "stdout"
    assert "healthcheck" in stdout.read_text()
    # Nothing of the job on the node: no job folder, no agent, no copy of the key.
    assert _node_exec(lab, JOB_LEFTOVERS).split() == []
    private = lab.key.read_text().splitlines()[1]
    found = lab.ssh("bastion", f"grep -rlF -- '{private}' /tmp /root /opt /var/tmp; true")
    assert found.stdout.strip() == ""


def _checks(run: dict) -> list[tuple[str, bool, str]]:
    checks = run["hosts"]["web1"]["evidence"]["healthcheck"]["checks"]
    return [(c["name"], c["ok"], re.sub(r"\d+%", "N%", c["detail"])) for c in checks]


def _link_of(pid: int) -> int | None:
    """The ssh child of omctl streaming the job (its command line runs the worker)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and cmdline.startswith("ssh\0") and "ansible-runner" in cmdline:
            return int(entry.name)
    return None


def _wait_for(condition, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout}s: {condition}")


def test_killing_the_link_fails_the_run_cleanly_and_records_it(bastion_lab: Lab) -> None:
    lab = bastion_lab
    process = lab.popen("run", "edge", "healthcheck", "--json")
    link = _wait_for(lambda: _link_of(process.pid))
    # Once the job is running on the node (its folder is there), cut the link.
    _wait_for(lambda: "/tmp/omctl-job." in _node_exec(lab, JOB_LEFTOVERS))
    os.kill(link, signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 1, stderr
    result = json.loads(stdout)
    assert result["status"] == "failed"
    assert "lost the connection to execution node" in result["message"]
    assert result["hosts"]["web1"]["failed"] >= 1
    history = lab.omctl("history", "edge", "--json")
    assert history.code == 0
    recorded = next(run for run in history.json() if run["id"] == result["id"])
    assert recorded["status"] == "failed"
    # The node's side notices (the worker, or its watchdog within seconds) and removes the
    # job's folder; nothing naming it runs on.
    deadline = time.monotonic() + 30
    while (left := _node_exec(lab, JOB_LEFTOVERS)).split() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left.split() == [], left
