"""Filters of the config_tuning role: what each write did, as the ledger records it.

They run on the controller.
"""

from __future__ import annotations

import difflib
from typing import Any


def _unified(diff: Any, path: str) -> str:
    """Ansible's {before, after} diff (one dict or a list of them) as unified diff text."""
    parts = diff if isinstance(diff, list) else [diff]
    lines: list[str] = []
    for part in parts:
        if not isinstance(part, dict) or "before" not in part or "after" not in part:
            continue
        before = str(part.get("before") or "")
        after = str(part.get("after") or "")
        if before == after:
            continue
        lines.extend(
            difflib.unified_diff(
                before.splitlines(keepends=True),
                after.splitlines(keepends=True),
                fromfile=f"{path} (before)",
                tofile=f"{path} (after)",
            )
        )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def config_tuning_write(entry: dict[str, Any]) -> dict[str, Any]:
    """{path, r: registered result (of a loop too)} -> {path, changed, backups, diff}.

    ``backups`` are the copies the modules made of the file before changing it, oldest first.
    """
    result = entry.get("r") or {}
    path = str(entry.get("path") or "")
    items = result.get("results") if isinstance(result.get("results"), list) else [result]
    changed_items = [item for item in items if isinstance(item, dict) and item.get("changed")]
    return {
        "path": path,
        "changed": bool(changed_items),
        "backups": [
            str(item.get("backup_file") or item.get("backup"))
            for item in changed_items
            if item.get("backup_file") or item.get("backup")
        ],
        "diff": "".join(_unified(item.get("diff"), path) for item in changed_items),
    }


def config_tuning_originals(writes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per changed file, in the order written: the backup of its state before the run (the
    first backup made of it), or none when the run created it."""
    originals: dict[str, dict[str, Any]] = {}
    for write in writes:
        if write.get("changed") and write["path"] not in originals:
            backups = write.get("backups") or []
            first = backups[0] if backups else ""
            originals[write["path"]] = {"path": write["path"], "backup": first}
    return list(originals.values())


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "config_tuning_write": config_tuning_write,
            "config_tuning_originals": config_tuning_originals,
        }
