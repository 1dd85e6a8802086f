"""A client's Ansible inventory (inventories/<client>/hosts.yml), read the way Ansible reads it.

Host patterns (``--limit``, a scope's ``hosts:``) are resolved by Ansible's own inventory
manager so that omctl's scope decision targets exactly the hosts the playbook will touch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from omctl import yamlfile
from omctl.errors import BadInput, InventoryInvalid

HOSTS_FILE = "hosts.yml"
GROUP_KEYS = {"hosts", "children", "vars"}


@dataclass
class Inventory:
    path: Path
    hosts: list[str]
    groups: dict[str, list[str]]
    _manager: object

    @property
    def names(self) -> set[str]:
        return set(self.hosts) | set(self.groups) | {"all"}

    def resolve(self, pattern: str | None) -> list[str]:
        """Hosts matching an Ansible pattern (all hosts for None), in inventory order."""
        if not pattern:
            return list(self.hosts)
        matched = [host.name for host in self._manager.get_hosts(pattern=pattern)]  # type: ignore[attr-defined]
        if not matched:
            raise BadInput(f"--limit {pattern!r} matches no host of {self.path}")
        return matched

    def covered(self, patterns: list[str] | None) -> set[str] | None:
        """Hosts a scope entry covers: its listed hosts and groups, or None for all."""
        if patterns is None:
            return None
        covered: set[str] = set()
        for name in patterns:
            covered.update(host.name for host in self._manager.get_hosts(pattern=name))  # type: ignore[attr-defined]
        return covered


def _check_group(located: yamlfile.LocatedYaml, key: yamlfile.PathKey, body: object) -> None:
    """Ansible only warns about a misspelt group key and then ignores it; omctl refuses."""
    if body is None:
        return
    if not isinstance(body, dict):
        raise located.error(
            f"group {key[-1]!r} must be a mapping (hosts, children, vars)", key, InventoryInvalid
        )
    for name, value in body.items():
        if name not in GROUP_KEYS:
            raise located.error(
                f"unknown key {name!r} in group {key[-1]!r} (use hosts, children, vars)",
                (*key, name),
                InventoryInvalid,
            )
        if name == "hosts" and value is not None and not isinstance(value, dict):
            raise located.error(
                "hosts must be a mapping of host names", (*key, name), InventoryInvalid
            )
        if name == "children" and value is not None:
            if not isinstance(value, dict):
                raise located.error(
                    "children must be a mapping of groups", (*key, name), InventoryInvalid
                )
            for child, child_body in value.items():
                _check_group(located, (*key, name, child), child_body)


def load(path: Path) -> Inventory:
    """Parse hosts.yml; a malformed file is an InventoryInvalid naming file:line."""
    located = yamlfile.load(path, cls=InventoryInvalid)
    data = located.data
    if not isinstance(data, dict):
        raise located.error("inventory must be a mapping with an 'all' group", cls=InventoryInvalid)
    for group, body in data.items():
        _check_group(located, (group,), body)

    # Imported here: ansible's import cost is only paid by commands that read inventories.
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.inventory.yaml import InventoryModule

    manager = InventoryManager(loader=DataLoader(), sources=None, parse=False)
    plugin = InventoryModule()
    try:
        # The YAML plugin only, called directly: a broken file raises instead of being
        # skipped with a warning as the plugin loop would do.
        plugin.parse(manager._inventory, DataLoader(), str(path), cache=False)
        manager._inventory.reconcile_inventory()
    except AnsibleError as exc:
        message = str(exc).splitlines()[0]
        raise InventoryInvalid(message, path=path) from None
    hosts = [host.name for host in manager.get_hosts(pattern="all")]
    if not hosts:
        raise InventoryInvalid("the inventory names no hosts", path=path)
    groups = {
        name: [host.name for host in group.get_hosts()]
        for name, group in manager.groups.items()
        if name not in {"all", "ungrouped"}
    }
    return Inventory(path=path, hosts=hosts, groups=groups, _manager=manager)
