"""Edits of a client's hosts.yml made by omctl itself: onboarding adds a host, a proven SSH port
change updates its ``ansible_port``. Each is a YAML round trip, so the operator's comments,
groups and key order stay as written, and the file is replaced atomically."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omctl import files, yamlfile
from omctl.errors import BadInput, InventoryInvalid

if TYPE_CHECKING:
    from ruamel.yaml import YAML

# Ansible reads these for a host's own variables; they override hosts.yml.
HOST_VARS_SUFFIXES = ("", ".yml", ".yaml", ".json")


def _editor() -> YAML:
    from ruamel.yaml import YAML  # imported on use: `omctl run` edits an inventory rarely

    editor = YAML()
    editor.indent(mapping=2, sequence=4, offset=2)
    editor.width = 4096
    return editor


def _dump(data: Any) -> str:
    out = io.StringIO()
    _editor().dump(data, out)
    return out.getvalue()


def with_host(current: str | None, host: str, host_vars: dict[str, Any], header: str = "") -> str:
    """The inventory text with ``host`` added under ``all.hosts``; ``header`` starts a new file."""
    data = {} if current is None else (_editor().load(current) or {})
    if data.get("all") is None:
        data["all"] = {}
    if data["all"].get("hosts") is None:
        data["all"]["hosts"] = {}
    data["all"]["hosts"][host] = dict(host_vars)
    return (header if current is None else "") + _dump(data)


def _entries(group: Any, host: str, found: list[dict[str, Any]]) -> None:
    """Every ``hosts:`` mapping of the group and its children that names ``host``."""
    if not isinstance(group, dict):
        return
    hosts = group.get("hosts")
    if isinstance(hosts, dict) and host in hosts:
        found.append(hosts)
    children = group.get("children")
    if isinstance(children, dict):
        for child in children.values():
            _entries(child, host, found)


def overriding_host_vars(hosts_file: Path, host: str, name: str) -> Path | None:
    """The host_vars file next to the inventory that sets ``name`` for ``host``, if any: a value
    there wins over hosts.yml, so editing hosts.yml would change nothing."""
    for suffix in HOST_VARS_SUFFIXES:
        candidate = hosts_file.parent / "host_vars" / (host + suffix)
        files = sorted(candidate.rglob("*")) if candidate.is_dir() else [candidate]
        for path in files:
            if path.is_file() and _sets(path, name):
                return path
    return None


def _sets(path: Path, name: str) -> bool:
    """Does the vars file set ``name``? A file omctl's loader refuses is a BadInput at its line."""
    data = yamlfile.load(path).data
    return isinstance(data, dict) and name in data


def _load(path: Path) -> Any:
    """The round-trip data of hosts.yml, once the file passes the checks of every omctl read
    (size, anchors, duplicate keys, values), so that nothing is edited that omctl refuses."""
    text = yamlfile.read_bounded(path, InventoryInvalid)
    yamlfile.parse(text, path, InventoryInvalid)
    return _editor().load(text)


def set_host_var(hosts_file: Path, host: str, name: str, value: Any) -> Any:
    """Set a variable of ``host`` in hosts.yml; returns its previous value there (None if unset).
    Where the host's entries set it, each is updated; else it is added to the first entry.
    Raises BadInput when hosts.yml cannot carry it (the host comes from a range, or a
    host_vars file sets the variable)."""
    overriding = overriding_host_vars(hosts_file, host, name)
    if overriding is not None:
        raise BadInput(f"{overriding} sets {name} for {host}: set {name}: {value} there")
    data = _load(hosts_file)
    entries: list[dict[str, Any]] = []
    for group in (data or {}).values():
        _entries(group, host, entries)
    if not entries:
        raise BadInput(f"{hosts_file} does not name {host} (a host range?): set {name}: {value}")
    setting = [hosts for hosts in entries if isinstance(hosts[host], dict) and name in hosts[host]]
    previous = setting[-1][host][name] if setting else None
    for hosts in setting or entries[:1]:
        if not isinstance(hosts[host], dict):
            hosts[host] = {}
        hosts[host][name] = value
    files.write_atomic(hosts_file, _dump(data), 0o644)
    return previous
