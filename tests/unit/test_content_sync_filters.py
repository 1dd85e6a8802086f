"""The content_sync role's filters: rsync's figures and the releases found on a host."""

from __future__ import annotations

from pathlib import Path

from tests.unit import role_code

PLUGIN = Path(__file__).resolve().parents[2] / "roles/content_sync/filter_plugins/content_sync.py"
cs = role_code.load(PLUGIN, "content_sync_filters")

STATS = """\
>f.st...... omctl-release.txt
*deleting   old.txt

Number of files: 2,863 (reg: 2,500, dir: 301, link: 62)
Number of created files: 1 (reg: 1)
Number of deleted files: 1 (reg: 1)
Number of regular files transferred: 2
Total file size: 53,815,148 bytes
Total transferred file size: 20 bytes
Literal data: 20 bytes
Matched data: 0 bytes
File list size: 65,536
Total bytes sent: 68,860
Total bytes received: 38

sent 68,860 bytes  received 38 bytes  45,932.00 bytes/sec
total size is 53,815,148  speedup is 781.12
"""


def test_rsync_stats_are_numbers() -> None:
    stats = cs.content_sync_rsync_stats(STATS.splitlines())
    assert stats == {
        "total_files": 2863,
        "created_files": 1,
        "deleted_files": 1,
        "files_transferred": 2,
        "total_size": 53815148,
        "transferred_size": 20,
        "literal_bytes": 20,
        "matched_bytes": 0,
        "bytes_sent": 68860,
        "bytes_received": 38,
        "rsync_seconds": 1.5,
    }
    assert cs.content_sync_rsync_stats("")["files_transferred"] == 0


def test_itemized_changes() -> None:
    assert cs.content_sync_itemized(STATS) == [
        ">f.st...... omctl-release.txt",
        "*deleting   old.txt",
    ]
    assert cs.content_sync_itemized([">f+++++++++ a", "<<CHANGED>>cd+++++++++ b/"], limit=1) == [
        ">f+++++++++ a"
    ]


def _found(*entries: tuple[str, str]) -> dict:
    return {
        "files": [
            {"path": f"/srv/www/site/releases/{name}", "isdir": kind == "d", "isreg": kind == "f"}
            for name, kind in entries
        ]
    }


def test_complete_releases_have_their_marker() -> None:
    found = _found(
        ("20261127T100000Z", "d"),
        ("20261127T100000Z.json", "f"),
        ("20261128T090000Z-1a2b3c4d", "d"),
        ("20261128T090000Z-1a2b3c4d.json", "f"),
        ("20261128T100000Z", "d"),  # interrupted
        ("20261128T110000Z", "d"),  # failed its health check
        ("20261128T110000Z.failed.json", "f"),
        ("orphan.json", "f"),
    )
    assert cs.content_sync_releases(found) == ["20261127T100000Z", "20261128T090000Z-1a2b3c4d"]
    assert cs.content_sync_incomplete(found) == ["20261128T100000Z", "20261128T110000Z"]
