"""Execution nodes: the inventory's execution_node, the worker's ssh command, the job streamed."""

import shlex
import subprocess
import time
from pathlib import Path

import pytest

from omctl import inventory, nodes, runner, ssh
from omctl.errors import BadInput

HOSTS = """\
all:
  vars:
    execution_node: {ssh: "ops@10.0.0.2:2222", key: /keys/node}
  children:
    web:
      hosts:
        web1: {ansible_host: 10.0.1.1, ansible_ssh_private_key_file: /keys/hosts}
        web2: {ansible_host: 10.0.1.2, ansible_port: 2200}
    dmz:
      vars:
        execution_node: {ssh: "root@dmz-node", venv: /srv/venv}
      hosts:
        edge1: {}
"""


def _inventory(tmp_path: Path, text: str = HOSTS) -> inventory.Inventory:
    path = tmp_path / "client" / "hosts.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return inventory.load(path)


def test_a_group_node_overrides_the_client_wide_one(tmp_path: Path) -> None:
    by_host = nodes.nodes_by_host(_inventory(tmp_path))
    assert by_host["web1"] == nodes.ExecutionNode(
        ssh.Jump("ops", "10.0.0.2", 2222), Path("/keys/node")
    )
    assert by_host["web2"] == by_host["web1"]
    assert by_host["edge1"] == nodes.ExecutionNode(ssh.Jump("root", "dmz-node"), None, "/srv/venv")


def test_a_run_goes_to_the_one_node_its_hosts_share(tmp_path: Path) -> None:
    inv = _inventory(tmp_path)
    assert str(nodes.for_targets(inv, ["web1", "web2"])) == "ops@10.0.0.2:2222"
    with pytest.raises(BadInput, match="split the run with --limit"):
        nodes.for_targets(inv, ["web1", "edge1"])


def test_a_client_without_node_runs_on_the_controller(tmp_path: Path) -> None:
    inv = _inventory(tmp_path, "all:\n  hosts:\n    web1: {ansible_host: 10.0.1.1}\n")
    assert nodes.for_targets(inv, ["web1"]) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('"root@x"', "must be a mapping"),
        ("{ssh: bad}", "execution_node ssh 'bad' is not USER@BASTION"),
        ("{ssh: root@x, port: 22}", "unknown keys port"),
        ("{ssh: root@x, venv: 'relative/venv'}", "not a plain absolute path"),
        ("{ssh: root@x, venv: '/opt/v; rm -rf /'}", "not a plain absolute path"),
    ],
)
def test_a_bad_node_is_bad_input_naming_file_and_line(
    tmp_path: Path, value: str, message: str
) -> None:
    inv = _inventory(
        tmp_path, f"all:\n  vars:\n    execution_node: {value}\n  hosts:\n    web1: {{}}\n"
    )
    with pytest.raises(BadInput, match=message) as caught:
        nodes.nodes_by_host(inv)
    assert caught.value.path == inv.path and caught.value.line == 3


def test_the_worker_runs_over_pinned_ssh_on_a_folder_it_removes(tmp_path: Path) -> None:
    node = nodes.ExecutionNode(ssh.Jump("ops", "10.0.0.2", 2222), Path("/keys/node"))
    line = nodes.worker_command(node, tmp_path / "known_hosts")
    assert f"UserKnownHostsFile={tmp_path / 'known_hosts'}" in line
    assert "StrictHostKeyChecking=yes" in line and "ServerAliveInterval=5" in line
    assert line[-2] == "ops@10.0.0.2" and line[line.index("-p") + 1] == "2222"
    script = line[-1]
    assert "/opt/omctl-node/bin/ansible-runner worker" in script and "--delete" in script
    assert 'rm -rf "$job"' in script and "trap 'exit 1' HUP INT TERM PIPE" in script


def test_the_worker_leaves_no_agent_holding_the_key(tmp_path: Path) -> None:
    """ansible-runner wraps the playbook in ``ssh-agent sh -c ...`` naming the job's folder;
    the agent would linger (holding the key) until its next check of its parent."""
    fake_runner = tmp_path / "ansible-runner"
    # $3 is the private data dir; the agent's own command line names it, as the real one does.
    seen = tmp_path / "socket"
    fake_runner.write_text(
        f'#!/bin/sh\nssh-agent sh -c \'echo "$SSH_AUTH_SOCK" > {seen}; : "$1"\' _ "$3/x"\n'
    )
    fake_runner.chmod(0o755)
    script = nodes.WORKER_SCRIPT.format(runner=shlex.quote(str(fake_runner)), keepalive=5)
    done = subprocess.run(
        ["sh", "-c", script], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    socket = Path(seen.read_text().strip())
    assert socket.name.startswith("agent.")  # the agent ran, with its socket
    assert not socket.parent.exists()  # an agent removes its socket's folder as it exits


def test_the_hosts_key_is_the_one_key_of_the_targets(tmp_path: Path) -> None:
    inv = _inventory(tmp_path)
    assert nodes.hosts_key(inv, ["web1"]) == Path("/keys/hosts")
    assert nodes.hosts_key(inv, ["web2"]) is None
    two_keys = HOSTS.replace(
        "web2: {ansible_host: 10.0.1.2,", "web2: {ansible_ssh_private_key_file: /k2,"
    )
    with pytest.raises(BadInput, match="several SSH keys"):
        nodes.hosts_key(_inventory(tmp_path, two_keys), ["web1", "web2"])


def test_the_streamed_job_carries_project_inventory_and_secrets_relative(tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "playbooks" / "maintenance").mkdir(parents=True)
    (root / "playbooks" / "maintenance" / "healthcheck.yml").write_text("- hosts: all\n")
    (root / "roles" / "healthcheck").mkdir(parents=True)
    (root / "ansible.cfg").write_text("[defaults]\n")
    client = root / "inventories" / "acme"
    client.mkdir(parents=True)
    (client / "hosts.yml").write_text("all: {hosts: {web1: {}}}\n")
    (client / "known_hosts").write_text("web1 ssh-ed25519 AAAA\n")
    vault, key = tmp_path / "vault", tmp_path / "key"
    vault.write_text("s3cret\n")
    key.write_text("PRIVATE KEY\n")
    spec = runner.PlaybookSpec(
        run_id="r1", private_data_dir=tmp_path / "runs" / "r1", project_dir=root,
        playbook=root / "playbooks" / "maintenance" / "healthcheck.yml",
        inventory=client / "hosts.yml", limit="web1", check=True,
        extravars={"a": 1}, vault_password_file=vault,
    )  # fmt: skip
    worker = runner.RemoteWorker(["ssh"], "ops@node:22", "/opt/omctl-node/bin", ("web1",), key)
    staged = tmp_path / "runs" / "r1.job"
    staged.parent.mkdir()
    kwargs = runner.remote_job(spec, worker, staged)
    assert (staged / "project" / "roles" / "healthcheck").is_dir()
    assert (staged / "project" / "ansible.cfg").is_file()
    assert (staged / "inventory" / "known_hosts").read_text() == "web1 ssh-ed25519 AAAA\n"
    assert kwargs["playbook"].endswith("project/playbooks/maintenance/healthcheck.yml")
    assert kwargs["inventory"] == str(staged / "inventory" / "hosts.yml")
    assert kwargs["envvars"]["PATH"].startswith("/opt/omctl-node/bin:")
    assert "ANSIBLE_CONFIG" not in kwargs["envvars"]  # the project's, found in the node's cwd
    assert kwargs["extravars"] == {"a": 1} and kwargs["ssh_key"] == "PRIVATE KEY\n"
    assert shlex.split(kwargs["cmdline"]) == [
        "--check", "--vault-password-file", runner.REMOTE_VAULT_FILE,
    ]  # fmt: skip
    copied = staged / "project" / runner.REMOTE_VAULT_FILE
    assert copied.read_text() == "s3cret\n" and copied.stat().st_mode & 0o077 == 0
    assert kwargs["limit"] == "web1" and str(vault) not in repr(kwargs)


def test_a_lost_link_fails_every_unfinished_host_with_the_reason() -> None:
    collector = runner._Collector(lambda _progress: None)
    worker = runner.RemoteWorker(["ssh"], "ops@node:22", "/v/bin", ("web1", "web2"))
    runner._fail_unfinished(collector, worker, "ssh exit 255: Broken pipe")
    hosts = collector.hosts()
    assert set(hosts) == {"web1", "web2"} and hosts["web1"].failed == 1
    assert hosts["web2"].failures == [
        {
            "task": "execution node ops@node:22",
            "message": "lost the connection to execution node ops@node:22 (ssh exit 255: "
            "Broken pipe)",
        }
    ]


def test_a_worker_stuck_after_the_link_dropped_is_stopped_with_its_folder(tmp_path: Path) -> None:
    """The worker's shell loses its parent (sshd exits with the link); a worker blocked for
    good, deaf to SIGTERM, is killed and the job's folder removed."""
    fake_runner = tmp_path / "ansible-runner"
    seen = tmp_path / "job"
    fake_runner.write_text(
        f'#!/bin/sh\necho "$3" > {seen}\ntrap "" TERM\n'
        'exec python3 -c "import time; time.sleep(300)" "$3"\n'
    )
    fake_runner.chmod(0o755)
    script = nodes.WORKER_SCRIPT.format(runner=shlex.quote(str(fake_runner)), keepalive=5)
    # The outer shell stands in for sshd's session process.
    session = subprocess.Popen(
        ["sh", "-c", 'sh -c "$0" & wait', script],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not (seen.exists() and seen.read_text().strip()) and time.monotonic() < deadline:
        time.sleep(0.1)
    data_dir = Path(seen.read_text().strip())
    assert data_dir.parent.is_dir()
    session.kill()
    session.wait()
    deadline = time.monotonic() + 30
    while _naming(data_dir.parent) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _naming(data_dir.parent) == []
    assert not data_dir.parent.exists()


def _naming(folder: Path) -> list[str]:
    """Command lines of the processes that name ``folder``."""
    found = subprocess.run(
        ["pgrep", "-a", "-f", f"{folder}/"], capture_output=True, text=True, check=False
    )
    return found.stdout.splitlines()
