"""`omctl show` prints the check-mode evidence of the backup role: backup_check and
restore_drill_check, shaped as roles/backup/library/backup_probe.py returns them."""

from __future__ import annotations

from omctl import console
from omctl.cli import evidence

REPO = "sftp:root@10.88.0.6:/srv/omctl-backup/web1"
BACKUP_CHECK = {
    "ok": True, "check": True, "error": None, "problems": [], "setup_pending": [],
    "checked_at": "2026-12-01T20:17:00Z",
    "repository": {"url": REPO, "state": "ok", "id": "13dcfd2f", "detail": "opens"},
    "latest": {"run": "20261201T201300Z", "time": "2026-12-01T20:13:04Z", "age_seconds": 236.0,
               "files": {"id": "f4", "short_id": "f4237928", "paths": ["/etc"]},
               "databases": {"wordpress": {}, "mysql": {}}, "frontpage": None},
    "snapshots": {"count": 4, "runs": 1},
    "locks": [{"id": "c0ffee12", "time": "2026-12-01T20:16:00Z", "age_seconds": 60.0,
               "exclusive": False, "hostname": "web1", "username": "root", "pid": 812,
               "stale": False}],
    "notices": ["shared lock c0ffee12 of PID 812 on web1 since 2026-12-01T20:16:00Z (a backup "
                "running?): a backup now would fail at its retention step"],
    "would_back_up": {
        "files": {"paths": ["/var/lib/wordpress/wp-content", "/etc"], "files": 284,
                  "bytes": 1413013, "excluded": 1,
                  "changed_since_latest": {"files": 2, "bytes": 3000}},
        "databases": {"wordpress": {"bytes": 737280, "tables": 12},
                      "mysql": {"bytes": 3879731, "tables": 31}},
    },
}  # fmt: skip


def printed(kind: str, data: dict) -> str:
    with console.out.capture() as captured:
        evidence.render(kind, "web1", data)
    return captured.get()


def test_a_backup_check_shows_the_latest_run_the_locks_and_the_estimate() -> None:
    text = printed("backup_check", BACKUP_CHECK)
    assert "backup check of web1: ok (check mode: nothing backed up)" in text
    assert f"{REPO}: ok (id 13dcfd2f)" in text
    assert (
        "run 20261201T201300Z at 2026-12-01T20:13:04Z, 4 min ago (files, database mysql, "
        "database wordpress); 4 snapshots in 1 runs" in text
    )
    assert "shared, PID 812 on web1 since 2026-12-01T20:16:00Z" in text
    assert "a backup now would fail at its retention step" in text
    assert (
        "/var/lib/wordpress/wp-content, /etc: 284 files, 1.3 MiB (1 excluded); changed since "
        "the latest backup: 2 files, 2.9 KiB" in text
    )
    assert "mysql 3.7 MiB (31 tables), wordpress 720.0 KiB (12 tables)" in text


def test_a_failed_backup_check_names_the_problem_first() -> None:
    failed = {
        **BACKUP_CHECK, "ok": False, "latest": None, "locks": [], "notices": [],
        "snapshots": {"count": None, "runs": None},
        "repository": {"url": REPO, "state": "wrong_password"},
        "problems": [{"code": "wrong_password",
                      "message": f"the repository password does not open {REPO}"}],
    }  # fmt: skip
    lines = printed("backup_check", failed).splitlines()
    assert lines[0].startswith("backup check of web1: FAILED")
    assert f"the repository password does not open {REPO} (wrong_password)" in lines[1]
    assert f"{REPO}: wrong password" in lines[2]
    assert not any(line.lstrip().startswith("latest backup") for line in lines)


def test_a_first_check_says_there_is_no_snapshot_yet_and_what_is_still_to_do() -> None:
    first = {
        **BACKUP_CHECK, "latest": None, "locks": [], "notices": [],
        "snapshots": {"count": 0, "runs": 0},
        "repository": {"url": REPO, "state": "would_initialise",
                       "detail": "no repository yet: the real run creates it"},
        "setup_pending": ["create the SFTP key /etc/omctl-backup/id_ed25519"],
    }  # fmt: skip
    text = printed("backup_check", first)
    assert f"{REPO}: would initialise - no repository yet: the real run creates it" in text
    assert "no snapshot yet" in text
    assert "not done yet   create the SFTP key /etc/omctl-backup/id_ed25519" in text


def test_a_drill_check_says_what_it_would_restore_where_and_the_room() -> None:
    plan = {
        "ok": False, "check": True,
        "problems": [{"code": "no_space", "message": "not enough room"}],
        "repository": {"url": REPO, "state": "ok", "id": "13dcfd2f", "detail": "opens"},
        "notices": ["an earlier drill left its scratch copy (/var/tmp/omctl-restore-drill)"],
        "drill": {
            "run": "20261201T201300Z", "time": "2026-12-01T20:13:04Z", "age_seconds": 7200,
            "check_subset": "3/7", "other_dumps": ["mysql"],
            "files": {"snapshot": "f4237928", "paths": ["/etc"], "bytes": 1413013, "entries": 915,
                      "into": "/var/tmp/omctl-restore-drill"},
            "database": {"name": "wordpress", "snapshot": "f667b419", "dump_bytes": 66738,
                         "into": "omctl_restore_drill"},
            "disk": [{"for": ["files", "database"], "probe": "/var/tmp", "needed_bytes": 2**31,
                      "free_bytes": 2**30, "reclaimable_bytes": 0, "ok": False}],
        },
    }  # fmt: skip
    text = printed("restore_drill_check", plan)
    assert "restore drill check of web1: FAILED (check mode: nothing restored)" in text
    assert "not enough room (no_space)" in text
    assert "run 20261201T201300Z taken 2026-12-01T20:13:04Z (2.0 h ago)" in text
    assert (
        "snapshot f4237928 (/etc): 915 files and folders, 1.3 MiB into "
        "/var/tmp/omctl-restore-drill" in text
    )
    assert "wordpress from snapshot f667b419 (65.2 KiB dump) into omctl_restore_drill" in text
    assert "restic check --read-data-subset 3/7" in text
    assert "files, database on /var/tmp: needs 2.0 GiB, 1.0 GiB free: NOT ENOUGH" in text
    assert "an earlier drill left its scratch copy" in text


def test_a_backup_names_each_discovered_site_and_database() -> None:
    run = {
        "ok": True, "run": "20261201T230000Z", "repository": "/var/backups/omctl-restic",
        "snapshots": {"files": {"id": "a1b2c3d4", "files_total": 9, "files_new": 9,
                                "files_changed": 0, "bytes_total": 100, "bytes_added": 100,
                                "duration_seconds": 1.0},
                      "databases": {"shop": {"id": "d1", "bytes_total": 10}}, "frontpage": None},
        "sites": [
            {"id": "/var/www/shop", "layout": "upstream", "files": ["/var/www/shop"],
             "files_backed_up": True, "database": "shop"},
            {"id": "/var/www/blog", "layout": "upstream", "files": ["/var/www/blog"],
             "files_backed_up": False, "database": "blog"},
        ],
        "not_applicable": [],
    }  # fmt: skip
    text = " ".join(printed("backup", run).split())
    assert "site /var/www/shop: upstream: /var/www/shop backed up; database shop backed up" in text
    assert "site /var/www/blog: upstream: /var/www/blog not in backup_paths; database blog" in text


def test_a_backup_of_a_host_without_mariadb_says_dumps_do_not_apply() -> None:
    run = {"ok": True, "run": "r", "snapshots": {"files": {"id": "a1"}, "databases": {}},
           "sites": [],
           "not_applicable": ["no MariaDB/MySQL: database dumps not applicable"]}  # fmt: skip
    text = " ".join(printed("backup", run).split())
    assert "web1: not applicable no MariaDB/MySQL: database dumps not applicable" in text
    assert "database wordpress" not in text and "no local database" not in text


def test_a_restore_drill_shows_each_site_its_database_and_server() -> None:
    drill = {
        "ok": False, "run": "20261201T230000Z", "snapshot_age_seconds": 60,
        "time_to_restore_seconds": 2.5,
        "checks": [
            {"name": "files", "ok": True, "detail": "9 files", "site": None},
            {"name": "site", "ok": True, "detail": "nginx served the restored copy",
             "site": "/var/www/shop"},
            {"name": "database blog import", "ok": False, "detail": "dump truncated",
             "site": "/var/www/blog"},
        ],
        "sites": [
            {"id": "/var/www/shop", "database": "shop", "served_by": "nginx", "ok": True,
             "checks": 3},
            {"id": "/var/www/blog", "database": "blog", "served_by": None, "ok": False,
             "checks": 1},
        ],
        "not_applicable": [],
    }  # fmt: skip
    text = " ".join(printed("restore_drill", drill).split())
    assert "/var/www/shop: site" in text and "nginx served the restored copy" in text
    assert "/var/www/blog: database blog import" in text
    assert "site /var/www/shop ok database shop, served by nginx (3 checks)" in text
    assert "site /var/www/blog FAILED database blog, not served (1 checks)" in text
