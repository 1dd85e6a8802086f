"""Backups with restic to a second lab host over SFTP, restore drills, and every failure named.

Client ``backedup``: web1 is backed up, web2 stores the repository (SFTP, key authorized for SFTP
only). The repository password is a canary from Ansible Vault that must never leave the vault:
not in any omctl output, run artifact or the ledger. Each failure case breaks one thing, runs the
backup through omctl, and undoes it; the last test proves the host backs up cleanly again.
``--check`` runs probe read-only: before any backup, after one, with a wrong password and with
the repository locked.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.integration.conftest import Lab, Result, vault_encrypt, write_scope

CLIENT = "backedup"
REPO_DIR = "/srv/omctl-backup/web1"
CHANGE = "changed-by-the-backup-test"


class Backedup:
    def __init__(self, lab: Lab, canary: str, vault_pass: Path):
        self.lab = lab
        self.canary = canary
        self.env = {"OMCTL_VAULT_PASSWORD_FILE": str(vault_pass)}
        self.outputs: list[str] = []
        self.host_vars = lab.ws / "inventories" / CLIENT / "host_vars" / "web1" / "test.yml"
        self.last_run = ""  # the backup run id of the latest backup
        self.shown_text = ""  # `omctl show` of the latest run

    def run(self, task: str, *options: str) -> tuple[Result, dict]:
        """omctl run TASK; returns the result and the recorded run (omctl show --json)."""
        result = self.lab.omctl("run", CLIENT, task, *options, "--json", env=self.env,
                                timeout=900)  # fmt: skip
        self.outputs += [result.stdout, result.stderr]
        assert result.stdout, result.stderr
        shown = self.lab.omctl("show", result.json()["id"], "--json")
        text = self.lab.omctl("show", result.json()["id"])
        self.outputs += [shown.stdout, text.stdout, text.stderr]
        self.shown_text = text.stdout
        return result, shown.json()

    def ssh(self, host: str, command: str) -> str:
        done = self.lab.ssh(host, command)
        assert done.returncode == 0, f"{command}: {done.stderr}"
        return done.stdout

    @contextmanager
    def overrides(self, text: str) -> Iterator[None]:
        self.host_vars.write_text(text)
        try:
            yield
        finally:
            self.host_vars.write_text("{}\n")


@pytest.fixture(scope="module")
def backedup(lab: Lab) -> Backedup:
    for name in ("web1", "web2"):
        result = lab.onboard(CLIENT, name)
        assert result.code == 0, result.stderr
    write_scope(lab, CLIENT, "  backup: {every: daily}\n  restore_drill: {every: weekly}\n")
    canary = "CANARY-restic-" + secrets.token_hex(12)
    vault_pass, encrypted = vault_encrypt(lab, "vault-pass-backedup", "backup_password", canary)
    inventory = lab.ws / "inventories" / CLIENT
    (inventory / "group_vars" / "all" / "backup.yml").write_text(encrypted)
    (inventory / "host_vars" / "web1").mkdir(parents=True)
    (inventory / "host_vars" / "web1" / "backup.yml").write_text(
        "backup_sftp_enabled: true\nbackup_sftp_host: web2\n"
    )
    (inventory / "host_vars" / "web1" / "test.yml").write_text("{}\n")
    (inventory / "host_vars" / "web2.yml").write_text("backup_enabled: false\n")
    return Backedup(lab, canary, vault_pass)


def evidence(shown: dict, kind: str, host: str = "web1") -> dict:
    return shown["hosts"][host]["evidence"][kind]


def test_check_before_any_backup_would_initialise_and_changes_nothing(backedup: Backedup) -> None:
    result, shown = backedup.run("backup", "--check")
    assert result.code == 0, result.stderr
    probe = evidence(shown, "backup_check")
    assert probe["ok"] is True and probe["check"] is True and probe["problems"] == []
    # The SFTP parent folder does not exist yet: no repository, the real run initialises one.
    assert probe["repository"]["state"] == "would_initialise"
    assert probe["latest"] is None and probe["snapshots"] == {"count": 0, "runs": 0}
    assert "create the SFTP key /etc/omctl-backup/id_ed25519" in probe["setup_pending"]
    files = probe["would_back_up"]["files"]
    assert files["paths"] == ["/var/lib/wordpress/wp-content", "/etc"] and files["files"] > 100
    assert files["bytes"] > 0 and files["missing"] == files["empty"] == []
    databases = probe["would_back_up"]["databases"]
    assert {"wordpress", "mysql"} <= set(databases) and databases["wordpress"]["tables"] >= 10
    assert "backup check of web1: ok (check mode: nothing backed up)" in backedup.shown_text
    assert "no snapshot yet" in backedup.shown_text
    # Honest --check: nothing was installed, configured or created on either host.
    assert backedup.ssh("web1", "ls -d /etc/omctl-backup /usr/local/sbin/omctl-backup "
                                "/etc/systemd/system/omctl-backup.timer 2>/dev/null; "
                                "command -v restic; true").strip() == ""  # fmt: skip
    assert backedup.ssh("web2", "ls -d /srv/omctl-backup 2>/dev/null; true").strip() == ""
    drill, shown = backedup.run("restore_drill", "--check")
    assert drill.code == 1
    assert "restore drill: /etc/omctl-backup/backup.json is missing on web1: run the backup task " \
           "first" in drill.json()["message"]  # fmt: skip


def test_backup_change_backup_again_then_the_drill_passes(backedup: Backedup) -> None:
    first, shown = backedup.run("backup")
    assert first.code == 0, first.stderr
    one = evidence(shown, "backup")
    assert one["ok"] is True and one["error"] is None
    assert one["repository"].startswith("sftp:root@") and one["repository"].endswith(REPO_DIR)
    assert one["snapshots"]["files"]["files_total"] > 100
    assert {"wordpress", "mysql"} <= set(one["snapshots"]["databases"])
    assert one["snapshots"]["frontpage"]["status"] == 200
    assert one["repository_size_bytes"] > 0
    # From discovery: the package's content folder and /etc, as before; the site, its database.
    assert one["snapshots"]["files"]["paths"] == ["/var/lib/wordpress/wp-content", "/etc"]
    assert [(s["id"], s["files_backed_up"], s["database"]) for s in one["sites"]] == [
        ("/usr/share/wordpress (default)", True, "wordpress")
    ]
    assert one["not_applicable"] == []
    assert not shown["hosts"]["web2"].get("evidence")
    # The repository is on web2, and web1's key there opens SFTP and nothing else.
    assert backedup.ssh("web2", f"test -f {REPO_DIR}/config && echo stored").strip() == "stored"
    shell = backedup.lab.ssh(
        "web1", "ssh -i /etc/omctl-backup/id_ed25519 -o UserKnownHostsFile="
        "/etc/omctl-backup/known_hosts -o BatchMode=yes "
        "$(python3 -c \"import json; print(json.load(open('/etc/omctl-backup/backup.json'))"
        "['repository'].split(':')[1])\") id",
    )  # fmt: skip
    assert "uid=0" not in shell.stdout and "sftp connections only" in shell.stdout + shell.stderr

    backedup.ssh(
        "web1",
        "mariadb wordpress -e \"UPDATE wp_options SET option_value='" + CHANGE + "' "
        "WHERE option_name='blogdescription'\" && "
        f"echo {CHANGE} > /var/lib/wordpress/wp-content/uploads/backup-test.txt && "
        # Incompressible and new: its pack is the largest in the repository (see the next test).
        "head -c 2M /dev/urandom > /var/lib/wordpress/wp-content/uploads/backup-test.bin",
    )
    assert CHANGE in backedup.ssh("web1", "curl -s -H 'Host: localhost' http://127.0.0.1/")
    second, shown = backedup.run("backup")
    assert second.code == 0, second.stderr
    backedup.last_run = evidence(shown, "backup")["run"]
    # The configuration (SFTP key, pinned host key, units) is idempotent: only the backup changed.
    assert shown["hosts"]["web1"]["changed_tasks"] == ["backup : Back up files and databases now"]
    two = evidence(shown, "backup")
    files = two["snapshots"]["files"]
    assert files["id"] != one["snapshots"]["files"]["id"]
    assert files["files_new"] >= 2 and files["files_unmodified"] > 100
    # Deduplicated: what did not change was not stored again.
    assert 2 * 2**20 <= files["bytes_added"] < files["bytes_total"] - 2**20 // 2
    # The front page kept with the second backup shows the change.
    page = backedup.ssh(
        "web1", f"omctl-backup restic dump {two['snapshots']['frontpage']['id']} /frontpage.html"
    )
    assert CHANGE in page

    drill, shown = backedup.run("restore_drill")
    assert drill.code == 0, drill.stderr
    proof = evidence(shown, "restore_drill")
    assert proof["ok"] is True and proof["error"] is None
    assert proof["run"] == two["run"]
    checks = {c["name"]: c for c in proof["checks"]}
    assert all(c["ok"] for c in checks.values()), checks
    assert {"repository", "latest backup", "files", "database wordpress import",
            "database wordpress content", "database mysql dump", "site"} <= set(checks)  # fmt: skip
    assert any(re.fullmatch(r"restic check --read-data-subset [1-7]/7", n) for n in checks)
    assert proof["files_restored"] == files["files_total"]
    assert proof["siteurl"] == "http://localhost"
    assert "with the same front page (front page stored at backup time" in checks["site"]["detail"]
    assert checks["site"]["site"] == "/usr/share/wordpress (default)"
    assert [(s["id"], s["database"], s["served_by"], s["ok"]) for s in proof["sites"]] == [
        ("/usr/share/wordpress (default)", "wordpress", "nginx", True)
    ]
    assert 0 <= proof["snapshot_age_seconds"] < 3600
    assert proof["time_to_restore_seconds"] > 0
    # The scratch copy is gone: files, vhost and port, WordPress config, database.
    leftovers = backedup.ssh(
        "web1",
        "ls -d /var/tmp/omctl-restore-drill /etc/nginx/conf.d/omctl-restore-drill.conf "
        "/etc/wordpress/config-omctl-restore-drill.php 2>/dev/null; "
        "mariadb -N -e \"SHOW DATABASES LIKE 'omctl_restore_drill'\"; "
        "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:18089/ || true",
    )
    assert leftovers.strip() == "000"
    text = backedup.lab.omctl("show", drill.json()["id"])
    assert "restore drill of web1: passed" in text.stdout
    assert "snapshot age (RPO)" in text.stdout


def test_check_after_a_backup_reports_the_latest_snapshot_and_its_age(backedup: Backedup) -> None:
    new = "/var/lib/wordpress/wp-content/uploads/after-the-backup.txt"
    backedup.ssh("web1", f"head -c 3000 /dev/zero > {new}")
    try:
        result, shown = backedup.run("backup", "--check")
    finally:
        backedup.ssh("web1", f"rm -f {new}")
    assert result.code == 0, result.stderr
    probe = evidence(shown, "backup_check")
    assert probe["ok"] is True and probe["setup_pending"] == []
    assert probe["repository"]["state"] == "ok"
    assert re.fullmatch(r"[0-9a-f]{8}", probe["repository"]["id"])
    latest = probe["latest"]
    assert latest["run"] == backedup.last_run
    assert latest["files"] and {"wordpress", "mysql"} <= set(latest["databases"])
    assert 0 <= latest["age_seconds"] < 3600
    assert probe["snapshots"]["runs"] == 1 and probe["locks"] == [] and probe["notices"] == []
    changed = probe["would_back_up"]["files"]["changed_since_latest"]
    assert changed["files"] >= 1 and changed["bytes"] >= 3000
    assert f"latest backup  run {backedup.last_run} at " in backedup.shown_text
    # Only the check ran: no new snapshot, no lock left behind.
    snapshots = json.loads(backedup.ssh("web1", "omctl-backup restic snapshots --json"))
    assert len({t for s in snapshots for t in s["tags"] if t.startswith("run:")}) == 1
    assert backedup.ssh("web1", "omctl-backup restic list locks --no-lock").strip() == ""

    drill, shown = backedup.run("restore_drill", "--check")
    assert drill.code == 0, drill.stderr
    plan = evidence(shown, "restore_drill_check")
    assert plan["ok"] is True, plan["error"]
    assert plan["drill"]["run"] == backedup.last_run
    assert plan["drill"]["files"]["into"] == "/var/tmp/omctl-restore-drill"
    assert plan["drill"]["files"]["bytes"] > 2 * 2**20  # the 2 MiB upload is in it
    assert plan["drill"]["database"]["name"] == "wordpress"
    assert plan["drill"]["database"]["into"] == "omctl_restore_drill"
    assert plan["drill"]["other_dumps"] == ["mysql"]
    assert plan["drill"]["scratch"]["dir_exists"] is False
    assert plan["drill"]["scratch"]["database_exists"] is False
    assert all(disk["ok"] for disk in plan["drill"]["disk"])
    assert "restore_drill" not in shown["hosts"]["web1"]["evidence"]
    assert "restore drill check of web1: ok (check mode: nothing restored)" in backedup.shown_text
    leftovers = backedup.ssh(
        "web1", "ls -d /var/tmp/omctl-restore-drill 2>/dev/null; "
        "mariadb -N -e \"SHOW DATABASES LIKE 'omctl_restore_drill'\"",
    )  # fmt: skip
    assert leftovers.strip() == ""


def test_a_corrupt_pack_fails_the_drill_naming_it(backedup: Backedup) -> None:
    """Eight bytes flipped in the pack holding the latest backup's new 2 MiB upload."""
    size, pack = backedup.ssh(
        "web2", f"find {REPO_DIR}/data -type f -printf '%s %p\\n' | sort -n | tail -1"
    ).split()
    assert int(size) > 2 * 2**20
    backedup.ssh(
        "web2",
        f"cp -p {pack} /root/pack.orig && size=$(stat -c %s {pack}) && "
        f"printf '\\377\\376\\375\\374\\373\\372\\371\\370' | "
        f"dd of={pack} bs=1 seek=$((size / 3)) conv=notrunc status=none",
    )
    try:
        drill, shown = backedup.run("restore_drill")
    finally:
        backedup.ssh("web2", f"mv /root/pack.orig {pack}")
    assert drill.code == 1
    proof = evidence(shown, "restore_drill")
    assert proof["ok"] is False
    failed = [c for c in proof["checks"] if not c["ok"]]
    assert len(failed) == 1
    pack_id = pack.rsplit("/", 1)[1]
    # Named by restic check (the pack) or, when today's subset skips that pack, by the restore
    # (the file whose data no longer decrypts).
    assert (failed[0]["name"].startswith("restic check") and pack_id in failed[0]["detail"]) or (
        failed[0]["name"] == "files"
        and "/uploads/backup-test.bin: ciphertext verification failed" in failed[0]["detail"]
    ), failed
    assert drill.json()["message"].startswith("web1 failed at ")
    assert failed[0]["detail"] in drill.json()["message"]
    assert proof["scratch_removed"] is True
    assert (
        backedup.ssh("web1", "ls /var/tmp/omctl-restore-drill 2>&1 || true")
        .strip()
        .endswith("No such file or directory")
    )


def _failed_backup(backedup: Backedup) -> tuple[dict, str]:
    result, shown = backedup.run("backup")
    assert result.code == 1, result.stdout
    record = evidence(shown, "backup")
    assert record["ok"] is False
    return record, result.json()["message"]


def test_a_wrong_password_fails_clearly(backedup: Backedup) -> None:
    with backedup.overrides("backup_password: not-the-repository-password\n"):
        check, shown = backedup.run("backup", "--check")
        record, message = _failed_backup(backedup)
    assert record["error"]["code"] == "wrong_password"
    assert "backup failed: the repository password does not open sftp:root@" in message
    assert record["snapshots"]["files"] is None
    # --check fails the same way, naming the password, before anything is stored.
    assert check.code == 1
    probe = evidence(shown, "backup_check")
    assert probe["ok"] is False and probe["repository"]["state"] == "wrong_password"
    assert [p["code"] for p in probe["problems"]] == ["wrong_password"]
    assert re.search(r"backup check failed: the repository password does not open sftp:root@"
                     r"\S+: check backup_password \(Ansible Vault\)",
                     check.json()["message"])  # fmt: skip


def test_a_missing_repository_fails_clearly(backedup: Backedup) -> None:
    backedup.ssh("web2", f"mv {REPO_DIR} {REPO_DIR}.moved")
    try:
        record, message = _failed_backup(backedup)
    finally:
        backedup.ssh("web2", f"mv {REPO_DIR}.moved {REPO_DIR}")
    assert record["error"]["code"] == "repository_missing"
    assert re.search(
        rf"backup failed: there is no restic repository at sftp:root@[0-9.]+:{REPO_DIR} although "
        r"repository [0-9a-f]{8} was initialized there on .*: it was deleted or moved",
        message,
    ), message


def test_an_empty_source_fails_clearly(backedup: Backedup) -> None:
    backedup.ssh("web1", "mkdir -p /srv/empty-site/uploads")
    with backedup.overrides("backup_paths: [/srv/empty-site]\n"):
        record, message = _failed_backup(backedup)
    assert record["error"]["code"] == "source_empty"
    assert "backup failed: the backup source /srv/empty-site is empty (no file in it)" in message


def test_a_stopped_mariadb_fails_clearly(backedup: Backedup) -> None:
    backedup.ssh("web1", "systemctl stop mariadb")
    try:
        record, message = _failed_backup(backedup)
    finally:
        backedup.ssh("web1", "systemctl start mariadb")
    assert record["error"]["code"] == "database_dump_failed"
    assert "backup failed: cannot list the MariaDB databases (is MariaDB running?)" in message
    # The files were still backed up; the old snapshots were not thinned out.
    assert record["snapshots"]["files"]["id"]
    assert record["retention"] is None


def test_a_locked_repository_fails_clearly(backedup: Backedup) -> None:
    holder = backedup.ssh(
        "web1",
        "setsid sh -c 'sleep 300 | omctl-backup restic backup --stdin --stdin-filename hold' "
        ">/dev/null 2>&1 < /dev/null & echo $!",
    ).strip()
    try:
        # The lock exists once restic has opened the repository (a moment, longer under load).
        backedup.ssh(
            "web1",
            "timeout 60 sh -c 'until omctl-backup restic list locks --no-lock | grep -q .;"
            " do sleep 0.5; done'",
        )
        check, shown = backedup.run("backup", "--check")
        record, message = _failed_backup(backedup)
    finally:
        # SIGINT to restic first: it then removes its lock (not so on SIGTERM); then the rest.
        backedup.ssh(
            "web1",
            f"kill -INT $(pgrep -g {holder} -x restic);"
            f" timeout 30 sh -c 'while pgrep -g {holder} -x restic >/dev/null; do sleep 0.5; done';"
            f" kill -TERM -- -{holder} 2>/dev/null; true",
        )
    assert backedup.ssh("web1", "omctl-backup restic list locks --no-lock").strip() == ""
    assert record["error"]["code"] == "repository_locked"
    assert re.search(r"the repository sftp:\S+ is locked by another restic process .*"
                     r"locked by PID \d+", message), message  # fmt: skip
    # --check names the live lock and what it would block, and does not fail on it.
    assert check.code == 0, check.stderr
    probe = evidence(shown, "backup_check")
    assert probe["ok"] is True
    (lock,) = probe["locks"]
    assert lock["stale"] is False and lock["exclusive"] is False and lock["hostname"] == "web1"
    assert re.match(rf"shared lock [0-9a-f]{{8}} of PID {lock['pid']} on web1 since .*: a backup "
                    "now would fail at its retention step", probe["notices"][0])  # fmt: skip


def test_healthy_again_and_the_canary_never_appears(backedup: Backedup) -> None:
    result, shown = backedup.run("backup")
    assert result.code == 0, result.stderr
    assert evidence(shown, "backup")["ok"] is True
    text = backedup.lab.omctl("show", result.json()["id"]).stdout
    assert f"backup of web1 (run {evidence(shown, 'backup')['run']}): ok" in text
    assert "database wordpress" in text and "retention" in text
    history = backedup.lab.omctl("history", CLIENT)
    backedup.outputs.append(history.stdout)
    for text in backedup.outputs:
        assert backedup.canary not in text
    leaked = [
        p for p in (backedup.lab.ws / ".omctl").rglob("*")
        if p.is_file() and backedup.canary.encode() in p.read_bytes()
    ]  # fmt: skip
    assert leaked == []
    # The canary did reach the host, in the root-only password file only.
    on_host = backedup.ssh(
        "web1", f"grep -rlF -- '{backedup.canary}' /etc /var/lib/omctl-backup /root || true"
    )
    assert on_host.split() == ["/etc/omctl-backup/password"]
    assert backedup.lab.omctl("ledger", "verify").code == 0
    runs = json.loads(backedup.lab.omctl("history", CLIENT, "--json").stdout)
    assert [r["status"] for r in runs if r["task"] in ("backup", "restore_drill")
            and not r["check"]] == [
        "successful", "successful", "successful",
        "failed", "failed", "failed", "failed", "failed", "failed",
        "successful",
    ]  # fmt: skip
    assert [(r["task"], r["status"]) for r in runs if r["check"]] == [
        ("backup", "successful"), ("restore_drill", "failed"),  # before any backup
        ("backup", "successful"), ("restore_drill", "successful"),  # after one
        ("backup", "failed"),  # wrong password
        ("backup", "successful"),  # locked: a notice
    ]  # fmt: skip
