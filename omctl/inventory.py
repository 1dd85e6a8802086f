"""A client's Ansible inventory (inventories/<client>/hosts.yml) and Ansible host patterns.

omctl needs the hosts a run will target before Ansible starts, to decide on scope. Plain
inventories (named hosts and groups) are read here directly and patterns are resolved with
Ansible's rules (``a,b``/``a:b`` union, ``&`` intersection, ``!`` exclusion, wildcards,
``~regex``); a test compares the result with Ansible's own inventory manager. Host ranges
(``web[01:10]``) and pattern subscripts (``web[0]``) are left to Ansible's manager itself,
imported only then because its import costs about a third of a second.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omctl import yamlfile
from omctl.errors import BadInput, InventoryInvalid

HOSTS_FILE = "hosts.yml"
GROUP_KEYS = {"hosts", "children", "vars"}
IMPLICIT_GROUPS = {"all", "ungrouped"}


@dataclass
class Inventory:
    path: Path
    hosts: list[str]  # inventory order
    groups: dict[str, list[str]]  # every host of a group, its children's included
    _ansible: Any = field(default=None, repr=False)  # Ansible's manager, for ranges/subscripts

    @property
    def names(self) -> set[str]:
        return set(self.hosts) | set(self.groups) | IMPLICIT_GROUPS

    def resolve(self, pattern: str | None) -> list[str]:
        """Hosts matching an Ansible pattern (all hosts for None), in inventory order."""
        if not pattern:
            return list(self.hosts)
        matched = self._match(pattern)
        if not matched:
            raise BadInput(f"--limit {pattern!r} matches no host of {self.path}")
        return matched

    def covered(self, patterns: list[str] | None) -> set[str] | None:
        """Hosts a scope entry covers: its listed hosts and groups, or None for all."""
        if patterns is None:
            return None
        covered: set[str] = set()
        for name in patterns:
            covered.update(self._match(name))
        return covered

    def _match(self, pattern: str) -> list[str]:
        if self._ansible is not None or "[" in pattern:
            manager = self._ansible or _ansible_manager(self.path)
            return [host.name for host in manager.get_hosts(pattern=pattern)]
        return resolve_pattern(pattern, self.hosts, self.groups)


def split_pattern(pattern: str) -> list[str]:
    """Ansible's split: on commas, or on colons when there is no comma (no IPv6 here)."""
    separator = "," if "," in pattern else ":"
    return [part.strip() for part in pattern.split(separator) if part.strip()]


def _match_one(term: str, hosts: list[str], groups: dict[str, list[str]]) -> set[str]:
    regex = re.compile(term[1:] if term.startswith("~") else fnmatch.translate(term))
    found: set[str] = set()
    for group, members in groups.items():
        if regex.match(group):
            found.update(members)
    found.update(host for host in hosts if regex.match(host))
    return found


def resolve_pattern(pattern: str, hosts: list[str], groups: dict[str, list[str]]) -> list[str]:
    every = {**groups, "all": hosts, "ungrouped": groups.get("ungrouped", [])}
    terms = split_pattern(pattern)
    plain = [t for t in terms if not t.startswith(("!", "&"))] or ["all"]
    selected: set[str] = set()
    for term in plain:
        selected |= _match_one(term, hosts, every)
    for term in (t[1:] for t in terms if t.startswith("&")):
        selected &= _match_one(term, hosts, every)
    for term in (t[1:] for t in terms if t.startswith("!")):
        selected -= _match_one(term, hosts, every)
    return [host for host in hosts if host in selected]


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


def _collect(
    name: str,
    body: dict[str, Any] | None,
    hosts: list[str],
    direct: dict[str, list[str]],
    children: dict[str, list[str]],
) -> None:
    direct.setdefault(name, [])
    children.setdefault(name, [])
    if not body:
        return
    for name_of_host in body.get("hosts") or {}:
        host = str(name_of_host)
        if host not in hosts:
            hosts.append(host)
        if host not in direct[name]:
            direct[name].append(host)
    for child, child_body in (body.get("children") or {}).items():
        children[name].append(str(child))
        _collect(str(child), child_body, hosts, direct, children)


def _members(group: str, direct: dict[str, list[str]], children: dict[str, list[str]]) -> set[str]:
    seen: set[str] = set()
    stack = [group]
    members: set[str] = set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        members.update(direct.get(current, []))
        stack.extend(children.get(current, []))
    return members


def load(path: Path) -> Inventory:
    """Parse hosts.yml; a malformed file is an InventoryInvalid naming file:line."""
    located = yamlfile.load(path, cls=InventoryInvalid)
    data = located.data
    if not isinstance(data, dict):
        raise located.error("inventory must be a mapping with an 'all' group", cls=InventoryInvalid)
    for group, body in data.items():
        _check_group(located, (group,), body)
    hosts: list[str] = []
    direct: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for group, body in data.items():
        _collect(str(group), body, hosts, direct, children)
    if any("[" in host for host in hosts):
        manager = _ansible_manager(path)
        hosts = [host.name for host in manager.get_hosts(pattern="all")]
        groups = {
            name: [host.name for host in group.get_hosts()]
            for name, group in manager.groups.items()
            if name not in IMPLICIT_GROUPS
        }
        return _checked(Inventory(path, hosts, groups, manager))
    grouped = {h for g in direct if g not in IMPLICIT_GROUPS for h in _members(g, direct, children)}
    groups = {
        name: [h for h in hosts if h in _members(name, direct, children)]
        for name in direct
        if name not in IMPLICIT_GROUPS
    }
    ungrouped = [h for h in hosts if h not in grouped]
    if ungrouped:
        groups["ungrouped"] = ungrouped
    return _checked(Inventory(path, hosts, groups))


def _checked(found: Inventory) -> Inventory:
    if not found.hosts:
        raise InventoryInvalid("the inventory names no hosts", path=found.path)
    return found


def _ansible_manager(path: Path) -> Any:
    from ansible.errors import AnsibleError
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.inventory.yaml import InventoryModule

    manager = InventoryManager(loader=DataLoader(), sources=None, parse=False)
    try:
        # The YAML plugin only, called directly: a broken file raises instead of being
        # skipped with a warning as the plugin loop would do.
        InventoryModule().parse(manager._inventory, DataLoader(), str(path), cache=False)
        manager._inventory.reconcile_inventory()
    except AnsibleError as exc:
        raise InventoryInvalid(str(exc).splitlines()[0], path=path) from None
    return manager
