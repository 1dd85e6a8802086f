"""hosts.yml edits keep what the operator wrote and refuse where hosts.yml would not win."""

from pathlib import Path

import pytest
import yaml

from omctl import inventory, inventory_edit
from omctl.errors import BadInput

WRITTEN = """\
# ACME production (ticket 4711)
all:
  hosts:
    web1:  # the shop
      ansible_host: 192.0.2.10
  children:
    web:
      hosts:
        web1:
        web2: {ansible_host: 192.0.2.11, ansible_port: 2202}
    db:
      hosts:
        web2:
          ansible_port: 2222  # the later entry wins in Ansible
"""


@pytest.fixture
def hosts_file(tmp_path: Path) -> Path:
    path = tmp_path / "inventories" / "acme" / "hosts.yml"
    path.parent.mkdir(parents=True)
    path.write_text(WRITTEN)
    return path


def port_of(path: Path, host: str) -> int | None:
    """ansible_port of the host as Ansible itself resolves it from the file."""
    manager = inventory._ansible_manager(path)
    return manager.get_host(host).get_vars().get("ansible_port")


def test_a_host_without_a_port_gets_it_in_its_first_entry(hosts_file: Path) -> None:
    assert inventory_edit.set_host_var(hosts_file, "web1", "ansible_port", 40022) is None
    text = hosts_file.read_text()
    assert "# ACME production (ticket 4711)" in text and "web1:  # the shop" in text
    assert yaml.safe_load(text)["all"]["hosts"]["web1"]["ansible_port"] == 40022
    assert port_of(hosts_file, "web1") == 40022
    assert inventory.load(hosts_file).resolve("web") == ["web1", "web2"]


def test_every_entry_that_sets_the_port_is_changed(hosts_file: Path) -> None:
    assert port_of(hosts_file, "web2") == 2222
    assert inventory_edit.set_host_var(hosts_file, "web2", "ansible_port", 40023) == 2222
    assert port_of(hosts_file, "web2") == 40023
    assert (
        "2202" not in hosts_file.read_text() and "# the later entry wins" in hosts_file.read_text()
    )


@pytest.mark.parametrize("name", ["web1.yml", "web1/ssh.yml"])
def test_a_host_vars_file_that_sets_it_is_named_and_nothing_changes(
    hosts_file: Path, name: str
) -> None:
    vars_file = hosts_file.parent / "host_vars" / name
    vars_file.parent.mkdir(parents=True)
    vars_file.write_text("ansible_port: 2200\n")
    with pytest.raises(BadInput, match=rf"{vars_file} sets ansible_port for web1: set "):
        inventory_edit.set_host_var(hosts_file, "web1", "ansible_port", 40022)
    assert hosts_file.read_text() == WRITTEN
    vars_file.write_text("ansible_user: deploy\n")  # other variables do not matter
    inventory_edit.set_host_var(hosts_file, "web1", "ansible_port", 40022)
    assert port_of(hosts_file, "web1") == 40022


def test_a_host_the_file_does_not_name_is_refused(hosts_file: Path) -> None:
    with pytest.raises(BadInput, match="does not name web9"):
        inventory_edit.set_host_var(hosts_file, "web9", "ansible_port", 40022)
    assert hosts_file.read_text() == WRITTEN
