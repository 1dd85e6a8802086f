"""omctl's pattern resolution must agree with Ansible's own inventory manager."""

from pathlib import Path

import pytest

from omctl import inventory
from omctl.errors import BadInput, InventoryInvalid

HOSTS = """\
all:
  hosts:
    lonely: {}
  children:
    web:
      hosts:
        web1: {}
        web2: {}
      children:
        web_eu:
          hosts:
            web-eu1: {}
    db:
      hosts:
        db1: {}
        web1: {}
"""

PATTERNS = [
    "all", "*", "web", "db", "web_eu", "web1", "web*", "web1,db1", "web:db", "web:&db",
    "web:!web1", "all:!web", "!db", "&web", "~web[0-9]", "~web.*,lonely", "ungrouped",
    "web:!web_eu", "w?b2", "nothing", "db:!db", "web,!web2,&db",
]  # fmt: skip


@pytest.fixture
def hosts_file(tmp_path: Path) -> Path:
    path = tmp_path / "hosts.yml"
    path.write_text(HOSTS)
    return path


@pytest.mark.parametrize("pattern", PATTERNS)
def test_resolution_agrees_with_ansible(hosts_file: Path, pattern: str) -> None:
    ours = inventory.load(hosts_file)
    assert ours._ansible is None  # the fast path, not Ansible's manager
    manager = inventory._ansible_manager(hosts_file)
    expected = {host.name for host in manager.get_hosts(pattern=pattern)}
    assert set(inventory.resolve_pattern(pattern, ours.hosts, ours.groups)) == expected


def test_groups_include_children(hosts_file: Path) -> None:
    found = inventory.load(hosts_file)
    assert found.hosts == ["lonely", "web1", "web2", "web-eu1", "db1"]
    assert found.groups["web"] == ["web1", "web2", "web-eu1"]
    assert found.groups["ungrouped"] == ["lonely"]
    assert {"all", "web_eu", "db1"} <= found.names


def test_ranges_and_subscripts_use_ansible(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text("all:\n  children:\n    web:\n      hosts:\n        web[1:3]: {}\n")
    found = inventory.load(path)
    assert found.hosts == ["web1", "web2", "web3"]
    assert found.resolve("web[0:1]") == ["web1", "web2"]
    assert found.covered(["web[2]"]) == {"web3"}


def test_limit_matching_nothing_is_bad_input(hosts_file: Path) -> None:
    with pytest.raises(BadInput, match="matches no host"):
        inventory.load(hosts_file).resolve("web9")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("all:\n  hosts:\n    web1: [\n", 3, "invalid YAML"),
        ("all:\n  hosts:\n    web1:\n  childs: {}\n", 4, "unknown key 'childs'"),
        ("all:\n  hosts: [web1]\n", 2, "hosts must be a mapping"),
        ("- web1\n", 1, "inventory must be a mapping"),
        ("all:\n  children:\n    web: {}\n", None, "names no hosts"),
    ],
)
def test_malformed_inventory_names_file_and_line(
    tmp_path: Path, text: str, line: int | None, message: str
) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text(text)
    with pytest.raises(InventoryInvalid) as caught:
        inventory.load(path)
    assert caught.value.path == path and caught.value.line == line
    assert message in caught.value.message
