from datetime import date
from pathlib import Path

import pytest
import yaml

from omctl import catalog, inventory, onboard, scope
from omctl.errors import BadInput
from omctl.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]


def _target(**overrides) -> onboard.Target:
    values = {"client": "newco", "host": "web1", "address": "192.0.2.7", "port": 2222}
    values.update(overrides)
    return onboard.Target(**values)


def test_ssh_command_pins_known_hosts_and_never_prompts(tmp_path: Path) -> None:
    key = tmp_path / "id"
    command = onboard.ssh_command(_target(key=key), tmp_path / "kh", "accept-new")
    joined = " ".join(command)
    assert "BatchMode=yes" in joined and f"UserKnownHostsFile={tmp_path / 'kh'}" in joined
    assert "StrictHostKeyChecking=accept-new" in joined
    assert command[-1] == "root@192.0.2.7" and command[command.index("-p") :][:2] == ["-p", "2222"]
    assert ["-i", str(key)] == command[command.index("-i") :][:2]


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        ("root@x: Permission denied (publickey).", "was refused"),
        ("ssh: connect to host x port 22: Connection refused", "connection refused"),
        ("ssh: connect to host x port 22: Connection timed out", "timed out"),
        ("Host key verification failed.", "does not match"),
        ("kex_exchange_identification: read: Connection reset by peer", "failed: kex"),
    ],
)
def test_ssh_failures_are_explained(stderr: str, expected: str) -> None:
    assert expected in onboard._explain_ssh_failure(_target(), stderr)


def test_new_client_gets_inventory_known_hosts_and_an_empty_valid_scope(ws: Workspace) -> None:
    assert onboard.write_inventory(
        ws, _target(), "[192.0.2.7]:2222 ssh-ed25519 AAAA\n", date.today()
    )
    client = ws.client_dir("newco")
    found = inventory.load(client / "hosts.yml")
    assert found.hosts == ["web1"]
    data = yaml.safe_load((client / "hosts.yml").read_text())
    assert data["all"]["hosts"]["web1"] == {
        "ansible_host": "192.0.2.7", "ansible_port": 2222, "ansible_user": "root",
    }  # fmt: skip
    assert "ssh-ed25519" in (client / "known_hosts").read_text()
    loaded = scope.load(client / "scope.yml")
    scope.check_against(loaded, client="newco", catalog=catalog.by_name(ws), inventory_names=None)
    assert loaded.scope.operation == {} and loaded.scope.maintenance == {}


def test_second_host_is_added_and_a_duplicate_refused(ws: Workspace) -> None:
    onboard.write_inventory(ws, _target(), "", date.today())
    scope_before = (ws.client_dir("newco") / "scope.yml").read_text()
    assert not onboard.write_inventory(ws, _target(host="web2", port=22), "", date.today())
    assert inventory.load(ws.client_dir("newco") / "hosts.yml").hosts == ["web1", "web2"]
    assert (ws.client_dir("newco") / "scope.yml").read_text() == scope_before
    with pytest.raises(BadInput, match="already in the inventory"):
        onboard.write_inventory(ws, _target(), "", date.today())


def test_adding_a_host_keeps_the_operators_comments_groups_and_order(ws: Workspace) -> None:
    hosts_file = ws.client_dir("newco") / "hosts.yml"
    hosts_file.parent.mkdir(parents=True)
    written = """\
# ACME production, contract ACME-2026 (ticket 4711)
all:
  hosts:
    db1:  # the database server: no web ports
      ansible_host: 192.0.2.20
  children:
    web:
      hosts:
        db1:
"""
    hosts_file.write_text(written)
    assert not onboard.write_inventory(ws, _target(), "", date.today())
    text = hosts_file.read_text()
    assert text.startswith(written.partition("  children:")[0])  # db1, its comment untouched
    assert "# ACME production, contract ACME-2026 (ticket 4711)" in text
    assert "# the database server: no web ports" in text
    found = inventory.load(hosts_file)
    assert found.hosts == ["db1", "web1"] and found.resolve("web") == ["db1"]
    assert yaml.safe_load(text)["all"]["hosts"]["web1"]["ansible_port"] == 2222


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"client": "Bad Name"}, "invalid client name"),
        ({"host": "web 1"}, "invalid host name"),
        ({"port": 70000}, "not a TCP port"),
        ({"key": Path("/nonexistent/key")}, "does not exist"),
    ],
)
def test_bad_targets_are_refused_before_any_probe(
    ws: Workspace, overrides: dict, message: str
) -> None:
    with pytest.raises(BadInput, match=message):
        onboard.prepare_host(ws, _target(**overrides), date.today())
    assert not ws.inventories.joinpath("newco").exists()


def test_shipped_example_client_validates_against_the_catalog() -> None:
    ws = Workspace(REPO)
    client = ws.client_dir("example")
    loaded = scope.load(client / "scope.yml")
    hosts = inventory.load(client / "hosts.yml")
    scope.check_against(
        loaded, client="example", catalog=catalog.by_name(ws), inventory_names=hosts.names
    )
