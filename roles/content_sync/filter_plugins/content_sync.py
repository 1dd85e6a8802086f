"""Filters of the content_sync role: rsync's --stats as numbers, and the releases on a host.

They run on the controller.
"""

from __future__ import annotations

import re
from typing import Any

# rsync --stats line -> key in the evidence.
_STATS = {
    "Number of files": "total_files",
    "Number of created files": "created_files",
    "Number of deleted files": "deleted_files",
    "Number of regular files transferred": "files_transferred",
    "Total file size": "total_size",
    "Total transferred file size": "transferred_size",
    "Literal data": "literal_bytes",
    "Matched data": "matched_bytes",
    "Total bytes sent": "bytes_sent",
    "Total bytes received": "bytes_received",
}
_LINE = re.compile(r"^(?P<name>[A-Za-z ]+):\s+(?P<number>[\d,.]+)")
# rsync's last summary: "sent N bytes  received M bytes  R bytes/sec".
_RATE = re.compile(
    r"^sent (?P<sent>[\d,.]+) bytes\s+received (?P<received>[\d,.]+) bytes"
    r"\s+(?P<rate>[\d,.]+) bytes/sec"
)
# rsync --itemize-changes lines (%i %n): "YXcstpoguax NAME" or "*deleting NAME". synchronize
# removes its <<CHANGED>> marker from the lines it returns.
_ITEMIZED = re.compile(r"^(?:<<CHANGED>>)?(\*deleting|[<>ch.][fdLDS][^ ]{9}) +(.+)$")


def content_sync_rsync_stats(output: Any) -> dict[str, Any]:
    """The figures of rsync's --stats summary (thousands separators removed; 0 when missing),
    and ``rsync_seconds``: how long rsync itself ran, from its bytes and bytes per second."""
    text = "\n".join(output) if isinstance(output, list) else str(output or "")
    stats: dict[str, Any] = dict.fromkeys(_STATS.values(), 0)
    stats["rsync_seconds"] = None
    for line in text.splitlines():
        match = _LINE.match(line.strip())
        if match and match["name"] in _STATS:
            stats[_STATS[match["name"]]] = int(float(match["number"].replace(",", "")))
        rate = _RATE.match(line.strip())
        if rate:
            sent, received, per_second = (
                float(rate[key].replace(",", "")) for key in ("sent", "received", "rate")
            )
            if per_second:
                stats["rsync_seconds"] = round((sent + received) / per_second, 3)
    return stats


def content_sync_itemized(output: Any, limit: int = 50) -> list[str]:
    """The first ``limit`` changes rsync itemized, e.g. ``>f.st...... index.php``."""
    lines = output if isinstance(output, list) else str(output or "").splitlines()
    changes = [line.removeprefix("<<CHANGED>>") for line in lines if _ITEMIZED.match(line)]
    return changes[:limit]


def content_sync_releases(found: dict[str, Any]) -> list[str]:
    """Release ids of ``find`` results over releases/: directories that have a ``<id>.json``
    marker beside them (written once the release is complete), oldest first."""
    files = found.get("files") or []
    dirs = {f["path"].rsplit("/", 1)[-1] for f in files if f.get("isdir")}
    markers = {
        f["path"].rsplit("/", 1)[-1][: -len(".json")]
        for f in files
        if f.get("isreg") and f["path"].endswith(".json")
    }
    return sorted(dirs & markers)


def content_sync_incomplete(found: dict[str, Any]) -> list[str]:
    """Release directories without their marker: left by a sync that did not finish."""
    files = found.get("files") or []
    dirs = {f["path"].rsplit("/", 1)[-1] for f in files if f.get("isdir")}
    return sorted(dirs - set(content_sync_releases(found)))


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "content_sync_rsync_stats": content_sync_rsync_stats,
            "content_sync_itemized": content_sync_itemized,
            "content_sync_releases": content_sync_releases,
            "content_sync_incomplete": content_sync_incomplete,
        }
