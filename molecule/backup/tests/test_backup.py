"""The backup role: --check probes read-only, the timer is scheduled, its backup makes snapshots,
a restored file matches.
"""

from __future__ import annotations

import json

PASSWORD = "molecule-backup-Pa55-4c1d"
SITE_CONFIG = "/etc/wordpress/config-default.php"


def snapshots(host) -> list[dict]:
    return json.loads(host.check_output("omctl-backup restic snapshots --json"))


def repository_files(host) -> str:
    """Every file of the repository and of restic's cache, with its size: a lock, a snapshot or
    a cache entry would show."""
    return host.check_output(
        "find /var/backups/omctl-restic /var/cache/omctl-backup -printf '%p %s\\n' | sort"
    )


def test_check_mode_opens_the_new_repository_and_changes_nothing(host, run_playbook, hostname):
    """Converge initialised the repository and made no backup: --check opens it, finds no
    snapshot yet, estimates the backup, and writes nothing (not even a lock)."""
    before = repository_files(host)
    run = run_playbook("maintenance/backup.yml", cmdline="--check")
    assert run.rc == 0, run.stdout
    probe = run.evidence["backup_check"][hostname]
    assert probe["ok"] is True and probe["problems"] == [] and probe["check"] is True
    assert probe["repository"]["state"] == "ok"
    assert probe["repository"]["url"] == "/var/backups/omctl-restic"
    assert probe["latest"] is None and probe["snapshots"] == {"count": 0, "runs": 0}
    files = probe["would_back_up"]["files"]
    assert files["files"] > 100 and files["bytes"] > 0 and files["changed_since_latest"] is None
    assert {"wordpress", "mysql"} <= set(probe["would_back_up"]["databases"])
    assert "backup" not in run.evidence
    assert run.changed.get(hostname, 0) == 0
    assert repository_files(host) == before


def test_check_mode_fails_on_a_wrong_password_naming_it(run_playbook, hostname):
    run = run_playbook(
        "maintenance/backup.yml", extravars={"backup_password": "not-it"}, cmdline="--check"
    )
    assert run.rc != 0
    probe = run.evidence["backup_check"][hostname]
    assert probe["ok"] is False and probe["repository"]["state"] == "wrong_password"
    assert run.failure_messages(hostname) == [
        "backup check failed: the repository password does not open /var/backups/omctl-restic: "
        "check backup_password (Ansible Vault)"
    ]


def test_timer_is_enabled_and_scheduled(host):
    state = host.check_output(
        "systemctl is-enabled omctl-backup.timer; systemctl is-active omctl-backup.timer; "
        "systemctl show omctl-backup.timer -p NextElapseUSecRealtime --value"
    ).splitlines()
    assert state[:2] == ["enabled", "active"]
    assert state[2].strip() not in ("", "n/a", "0")


def test_password_is_in_a_root_only_file_and_nowhere_else(host):
    mode = host.check_output("stat -c '%U %G %a' /etc/omctl-backup/password")
    assert mode == "root root 600"
    holders = host.run(
        f"grep -rlF -- '{PASSWORD}' /etc/omctl-backup /etc/systemd/system /var/lib/omctl-backup"
    ).stdout.split()
    assert holders == ["/etc/omctl-backup/password"]


def test_the_timer_backup_makes_a_snapshot_per_kind(host):
    """The timer's unit, started by hand: the same backup as `omctl run CLIENT backup`."""
    host.run_expect([0], "systemctl start omctl-backup.service")
    last = json.loads(host.check_output("cat /var/lib/omctl-backup/last-run.json"))
    assert last["ok"] is True, last["error"]
    taken = snapshots(host)
    run = [s for s in taken if f"run:{last['run']}" in s["tags"]]
    kinds = sorted(t for s in run for t in s["tags"] if t.startswith(("kind:", "db:")))
    assert kinds == ["db:mysql", "db:wordpress", "kind:db", "kind:db", "kind:files", "kind:page"]
    files = next(s for s in run if "kind:files" in s["tags"])
    assert last["snapshots"]["files"]["id"] == files["short_id"]
    assert sorted(files["paths"]) == ["/etc", "/var/lib/wordpress/wp-content"]
    assert last["snapshots"]["files"]["files_total"] > 100
    assert last["repository_size_bytes"] > 0


def test_retention_keeps_one_run_per_day(host):
    """keep-daily: a second backup on the same day replaces the first (forget, then prune)."""
    first = snapshots(host)
    host.run_expect([0], "systemctl start omctl-backup.service")
    last = json.loads(host.check_output("cat /var/lib/omctl-backup/last-run.json"))
    assert last["ok"] is True, last["error"]
    kept = snapshots(host)
    assert {f"run:{last['run']}"} == {t for s in kept for t in s["tags"] if t.startswith("run:")}
    assert len(kept) == 4
    assert last["retention"]["snapshots_removed"] == len(first) > 0
    assert last["retention"]["pruned"] is True
    assert last["retention"]["policy"] == {"keep_daily": 7, "keep_weekly": 4, "keep_monthly": 6}


def test_a_restored_file_matches_the_original(host):
    files = next(s for s in reversed(snapshots(host)) if "kind:files" in s["tags"])
    out = host.check_output(
        f"rm -rf /tmp/restore-one && omctl-backup restic restore {files['id']} "
        f"--target /tmp/restore-one --include {SITE_CONFIG} --verify >/dev/null && "
        f"stat -c '%U %G %a %s' {SITE_CONFIG} /tmp/restore-one{SITE_CONFIG} && "
        f"sha256sum {SITE_CONFIG} /tmp/restore-one{SITE_CONFIG} | cut -d' ' -f1 && "
        "find /tmp/restore-one -type f | wc -l && rm -rf /tmp/restore-one"
    ).splitlines()
    original_meta, restored_meta, original_sum, restored_sum, count = out
    assert restored_meta == original_meta
    assert restored_sum == original_sum
    assert count == "1"


def test_a_database_dump_restores_with_its_tables(host):
    dump = next(s for s in reversed(snapshots(host)) if "db:wordpress" in s["tags"])
    sql = host.check_output(f"omctl-backup restic dump {dump['id']} /wordpress.sql")
    assert "CREATE TABLE `wp_options`" in sql
    assert sql.rstrip().splitlines()[-1].startswith("-- Dump completed")
    # Streamed into restic: no dump was written to disk.
    assert host.run("find / -xdev -name '*.sql' -newer /etc/omctl-backup/backup.json").stdout == ""


def test_a_failed_scheduled_backup_fails_its_unit(host):
    """With MariaDB stopped the files are still backed up, but the unit fails, for monitoring."""
    before = len(snapshots(host))
    host.run_expect([0], "systemctl stop mariadb")
    try:
        started = host.run("systemctl start omctl-backup.service")
        state = host.run("systemctl is-failed omctl-backup.service").stdout.strip()
        last = json.loads(host.check_output("cat /var/lib/omctl-backup/last-run.json"))
    finally:
        host.run_expect(
            [0], "systemctl start mariadb && systemctl reset-failed omctl-backup.service"
        )
    assert started.rc != 0 and state == "failed"
    assert last["ok"] is False
    assert last["error"]["code"] == "database_dump_failed"
    assert last["error"]["message"].startswith(
        "cannot list the MariaDB databases (is MariaDB running?): ERROR 2002"
    )
    assert last["snapshots"]["files"]["id"]
    # The files snapshot is kept; retention does not run after a failed backup.
    assert last["retention"] is None
    assert len(snapshots(host)) == before + 1
