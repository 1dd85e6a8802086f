"""inventories/lab/: the lab as a client like any other (hosts, SSH settings, a contract)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from omctl import files
from omctl.catalog import Category
from omctl.errors import BadInput
from omctl.lab.tools import LOOPBACK, Progress, key_path, known_hosts_path, quiet
from omctl.workspace import Workspace

if TYPE_CHECKING:
    from omctl.lab.hosts import LabHost

CLIENT = "lab"
CONTRACT = "LAB-0001"
MARKER = "# written by omctl lab"


def hosts_file(ws: Workspace) -> Path:
    return ws.inventories / CLIENT / "hosts.yml"


def scope_file(ws: Workspace) -> Path:
    return ws.inventories / CLIENT / "scope.yml"


def group_vars_file(ws: Workspace) -> Path:
    return ws.inventories / CLIENT / "group_vars" / "all" / "lab.yml"


def is_ours(path: Path) -> bool:
    if not path.is_file():
        return False  # a directory or a device where lab writes a file is never ours
    with path.open("rb") as handle:
        return handle.readline(len(MARKER) + 2).strip() == MARKER.encode()


def check_ours(path: Path) -> None:
    if path.exists() and not is_ours(path):
        raise BadInput(
            f"not written by omctl lab (no '{MARKER}' first line): move it away", path=path
        )


def _write(path: Path, data: dict[str, Any], note: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = f"{MARKER}\n# {note}\n"
    text += yaml.safe_dump(data, sort_keys=False, default_flow_style=False, width=1000)
    files.write_atomic(path, text)


def inventory_data(hosts: Sequence[LabHost], key: Path) -> dict[str, Any]:
    """hosts.yml of the lab: group ``web`` with every host on its ports, and its flavour."""
    entries = {
        host.hostname: {
            "ansible_host": LOOPBACK,
            "ansible_port": host.ssh_port,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(key.resolve()),
            "lab_http_port": host.http_port,
            "lab_flavour": host.flavour,
        }
        for host in sorted(hosts, key=lambda h: h.order)
    }
    return {"all": {"children": {"web": {"hosts": entries}}}}


def group_vars_data(known_hosts: Path) -> dict[str, Any]:
    return {
        "ansible_ssh_common_args": (
            f"-o UserKnownHostsFile={known_hosts.resolve()} -o StrictHostKeyChecking=accept-new"
        ),
        "ansible_python_interpreter": "/usr/bin/python3",
    }


def scope_data(tasks: Iterable[Any], today: date | None = None) -> dict[str, Any]:
    """A contract with every operation and maintenance task on request, valid ten years."""
    today = today or date.today()
    try:
        until = today.replace(year=today.year + 10)
    except ValueError:  # 29 February
        until = today.replace(year=today.year + 10, day=28)
    data: dict[str, Any] = {
        "client": CLIENT,
        "contract": CONTRACT,
        "valid_from": today,
        "valid_until": until,
        "operation": {},
        "maintenance": {},
    }
    for task in tasks:
        category = str(getattr(task.category, "value", task.category))
        if category in (Category.OPERATION.value, Category.MAINTENANCE.value):
            data[category][task.name] = {"every": "on_request"}
    return data


def write_inventory(ws: Workspace, hosts: Sequence[LabHost]) -> Path:
    note = "rewritten by `omctl lab up`, removed by `omctl lab down`"
    _write(hosts_file(ws), inventory_data(hosts, key_path(ws)), note)
    _write(group_vars_file(ws), group_vars_data(known_hosts_path(ws)), note)
    return hosts_file(ws)


def write_scope(
    ws: Workspace, tasks: Iterable[Any], today: date | None = None, progress: Progress = quiet
) -> Path | None:
    """scope.yml with the whole catalog in scope; a hand-edited one (no marker) is kept."""
    path = scope_file(ws)
    if path.exists() and not is_ours(path):
        progress(f"keeping {path}: it was edited by hand (no '{MARKER}' line)")
        return None
    note = "every task on request; rewritten by `omctl lab up`, removed by `omctl lab down`"
    _write(path, scope_data(tasks, today), note)
    return path
