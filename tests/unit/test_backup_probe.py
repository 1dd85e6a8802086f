"""The backup role's read-only probe (roles/backup/library/backup_probe.py): restic's messages
mapped to causes, lock staleness, the latest run, restic's exclude rules, the file and database
estimate, the drill's room, and whole probes against a fake restic that checks the password it
is given through its file descriptor."""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.unit import role_code

MODULE = Path(__file__).resolve().parents[2] / "roles/backup/library/backup_probe.py"
bp = role_code.load(MODULE, "backup_probe")

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
REPO = "sftp:root@10.0.0.2:/srv/omctl-backup/web1"
CFG = {"host": "web1", "repository": REPO, "password_file": "/etc/omctl-backup/password"}

# restic 0.14's own words (Debian 12), as the lab hosts print them.
WRONG_PASSWORD = "Fatal: wrong password or no key found\n"
MISSING = (
    f"Fatal: unable to open config file: Lstat /srv/omctl-backup/web1/config: no such file or "
    f"directory\nIs there a repository at the following location?\n{REPO}\n"
)
UNREACHABLE = (
    "subprocess ssh: ssh: connect to host 10.0.0.2 port 22: Connection refused\n"
    f"Fatal: unable to open repository at {REPO}: unable to start the sftp session, error: EOF\n"
)


# --- why the repository does not open -------------------------------------------------------------


def test_a_wrong_password_is_named_with_where_it_comes_from() -> None:
    given = bp.open_failure(CFG, WRONG_PASSWORD, {}, [], password_given=True)
    assert given["state"] == "wrong_password"
    assert given["problem"].message == (
        f"the repository password does not open {REPO}: check backup_password (Ansible Vault)"
    )
    on_host = bp.open_failure(CFG, WRONG_PASSWORD, {}, [], password_given=False)
    assert on_host["problem"].message.endswith("check /etc/omctl-backup/password")


def test_a_repository_never_initialised_here_would_be_initialised() -> None:
    assert bp.open_failure(CFG, MISSING, {}, [], False) == {
        "state": "would_initialise",
        "detail": "no repository yet: the real run creates it",
    }
    # Another repository's marker says nothing about this one.
    other = {"repository": "/var/backups/omctl-restic", "id": "aaaa"}
    assert bp.open_failure(CFG, MISSING, other, [], False)["state"] == "would_initialise"


def test_a_repository_that_disappeared_or_may_not_be_created_is_a_problem() -> None:
    marker = {"repository": REPO, "id": "5f3a9c21dead", "initialized_at": "2026-11-02T03:00:00Z"}
    gone = bp.open_failure(CFG, MISSING, marker, [], False)
    assert gone["state"] == "missing"
    assert "although repository 5f3a9c21 was initialized there on 2026-11-02T03:00:00Z: it was " \
           "deleted or moved" in gone["problem"].message  # fmt: skip
    no_init = bp.open_failure({**CFG, "init": False}, MISSING, {}, [], False)
    assert no_init["problem"].message.endswith("and backup_repository_init is false")


def test_an_unreachable_repository_names_ssh_unless_set_up_is_still_to_come() -> None:
    down = bp.open_failure(CFG, UNREACHABLE, {}, [], False)
    assert down["state"] == "unreachable"
    assert down["problem"].message == (
        f"cannot reach the repository {REPO}: ssh: connect to host 10.0.0.2 port 22: "
        "Connection refused"
    )
    pending = bp.open_failure(CFG, UNREACHABLE, {}, ["create the SFTP key /k"], False)
    assert pending["state"] == "not_probed" and "problem" not in pending
    assert pending["detail"].endswith("the real run first: create the SFTP key /k")
    # A wrong password is a wrong password, whatever is still to be set up.
    assert bp.open_failure(CFG, WRONG_PASSWORD, {}, ["x"], True)["state"] == "wrong_password"


def test_an_unknown_failure_keeps_restics_words() -> None:
    failed = bp.open_failure(CFG, "Fatal: some new trouble\n", {}, [], False)
    assert failed["state"] == "error"
    assert failed["problem"].message == (
        f"opening the repository {REPO} failed: Fatal: some new trouble"
    )


def test_without_restic_a_local_repository_is_looked_at_on_disk(tmp_path: Path) -> None:
    cfg = {**CFG, "repository": str(tmp_path / "repo")}
    assert bp.without_restic(cfg, {})["state"] == "would_initialise"
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "config").write_text("x")
    assert bp.without_restic(cfg, {})["detail"].startswith("a repository exists there")
    assert bp.without_restic(CFG, {})["state"] == "not_probed"


# --- locks ----------------------------------------------------------------------------------------


def _lock(minutes_ago: float, host: str = "web1", pid: int = 4242, exclusive: bool = False):
    taken = NOW - timedelta(minutes=minutes_ago)
    stamp = taken.strftime("%Y-%m-%dT%H:%M:%S") + ".123456789Z"
    return {"time": stamp, "exclusive": exclusive, "hostname": host, "username": "root", "pid": pid}


@pytest.mark.parametrize(
    ("lock", "alive", "stale"),
    [
        (_lock(5), True, False),  # a running backup on this host
        (_lock(5), False, True),  # its process is gone: restic unlock removes it
        (_lock(31), True, True),  # not refreshed for 30 minutes
        (_lock(5, host="web9"), False, False),  # another host's process cannot be looked at
        (_lock(45, host="web9"), False, True),
    ],
)
def test_locks_are_stale_by_restics_rule(lock: dict, alive: bool, stale: bool) -> None:
    judged = bp.judge_lock("c0ffee12345678", lock, NOW, "web1", lambda _pid: alive)
    assert judged["stale"] is stale
    assert judged["id"] == "c0ffee12" and judged["pid"] == 4242


def test_lock_notices_say_what_the_lock_would_block() -> None:
    def notice(lock: dict, alive: bool = True) -> str:
        return bp.lock_notice(bp.judge_lock("c0ffee12", lock, NOW, "web1", lambda _p: alive))

    assert notice(_lock(5)) == (
        "shared lock c0ffee12 of PID 4242 on web1 since 2026-12-01T11:55:00Z (a backup "
        "running?): a backup now would fail at its retention step and a restore drill at its "
        "repository check, which need an exclusive lock"
    )
    assert notice(_lock(5, exclusive=True)).endswith(
        "a backup or a restore drill now would fail until it is released"
    )
    assert notice(_lock(5), alive=False).startswith("stale shared lock c0ffee12")


# --- snapshots and runs ---------------------------------------------------------------------------


def _snap(sid: str, run: str, kind: str, minutes_ago: float, *extra: str) -> dict:
    stamp = (NOW - timedelta(minutes=minutes_ago)).strftime("%Y-%m-%dT%H:%M:%S.5+00:00")
    tags = ["omctl", "host:web1", f"kind:{kind}", f"run:{run}", *extra]
    return {"id": sid * 8, "short_id": sid * 2, "time": stamp, "tags": tags, "paths": ["/etc"]}


SNAPSHOTS = [
    _snap("a1a1", "R1", "files", 1500),
    _snap("a2a2", "R1", "db", 1499, "db:wordpress"),
    _snap("a3a3", "R1", "page", 1498),
    _snap("b1b1", "R2", "db", 90, "db:mysql"),  # a run whose files failed
    {"id": "f" * 64, "time": "2026-12-01T11:00:00Z", "tags": ["manual"]},  # not omctl's
]


def test_runs_group_snapshots_and_the_latest_is_the_newest_fitting_one() -> None:
    runs = bp.group_runs(SNAPSHOTS)
    assert sorted(runs) == ["R1", "R2"]
    assert runs["R1"]["files"]["short_id"] == "a1a1a1a1"
    assert set(runs["R1"]["databases"]) == {"wordpress"}
    latest = bp.latest_run(runs, NOW)
    assert latest["run"] == "R2" and latest["age_seconds"] == pytest.approx(90 * 60 - 0.5)
    complete = bp.latest_run(runs, NOW, files=True, database="wordpress")
    assert complete["run"] == "R1" and complete["time"] == "2026-11-30T11:00:00Z"
    assert bp.latest_run(runs, NOW, files=True, database="shop") is None
    assert bp.latest_run({}, NOW) is None


# --- restic's exclude rules -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "patterns", "out"),
    [
        ("/etc/omctl-backup/password", ["/etc/omctl-backup/password"], True),
        ("/etc/omctl-backup/passwords", ["/etc/omctl-backup/password"], False),
        ("/var/lib/wordpress/wp-content/cache", ["cache"], True),  # relative: anywhere
        ("/cache/x", ["/x"], False),  # absolute: from the root only
        ("/srv/site/debug.log", ["*.log"], True),
        ("/srv/site/a/b/c/tmp", ["/srv/**/tmp"], True),
        ("/srv/tmp", ["/srv/**/tmp"], True),  # ** may match nothing
        ("/srv/site/keep.log", ["*.log", "!keep.log"], False),
        ("/srv/site/b1", ["b[^0]"], True),
        ("/srv/site/b0", ["b[^0]"], False),
    ],
)
def test_excludes_follow_restic(path: str, patterns: list, out: bool) -> None:
    assert bp.excluded(path, patterns) is out


# --- the file and database estimate ---------------------------------------------------------------


def _tree(root: Path) -> None:
    (root / "site" / "uploads").mkdir(parents=True)
    (root / "site" / "uploads" / "a.jpg").write_bytes(b"x" * 1000)
    (root / "site" / "index.php").write_bytes(b"y" * 100)
    (root / "site" / "debug.log").write_bytes(b"z" * 5000)
    (root / "site" / "cache").mkdir()
    (root / "site" / "cache" / "CACHEDIR.TAG").write_bytes(bp.CACHEDIR_SIGNATURE + b"\n")
    (root / "site" / "cache" / "big.bin").write_bytes(b"c" * 9000)
    (root / "site" / "link").symlink_to("index.php")
    (root / "etc").mkdir()
    (root / "etc" / "password").write_text("secret\n")
    (root / "etc" / "app.conf").write_bytes(b"k" * 10)
    (root / "empty" / "sub").mkdir(parents=True)


def test_the_estimate_counts_what_restic_would_read(tmp_path: Path) -> None:
    _tree(tmp_path)
    files = {"paths": [str(tmp_path / "site"), str(tmp_path / "etc")], "exclude": ["*.log"],
             "exclude_caches": True}  # fmt: skip
    found = bp.FileEstimate(files, str(tmp_path / "etc" / "password"), None).run()
    # a.jpg, index.php, CACHEDIR.TAG, app.conf; not debug.log, big.bin or the password.
    assert found["files"] == 4
    tag = len(bp.CACHEDIR_SIGNATURE) + 1
    assert found["bytes"] == 1000 + 100 + tag + 10
    assert found["excluded"] == 2 and found["symlinks"] == 1
    assert found["missing"] == [] and found["empty"] == []
    assert found["changed_since_latest"] is None


def test_the_estimate_says_what_changed_since_the_latest_run(tmp_path: Path) -> None:
    _tree(tmp_path)
    old = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    for path in (tmp_path / "site").rglob("*"):
        os.utime(path, (old, old), follow_symlinks=False)
    files = {"paths": [str(tmp_path / "site")], "exclude": [], "exclude_caches": False}
    found = bp.FileEstimate(files, "/nonexistent", datetime.now(UTC) - timedelta(hours=1))
    # ctime cannot be set back: every file counts as changed, by ctime...
    assert found.run()["changed_since_latest"]["files"] == 5
    # ...and nothing has changed since a moment in the future.
    later = bp.FileEstimate(files, "/nonexistent", datetime.now(UTC) + timedelta(hours=1)).run()
    assert later["changed_since_latest"] == {"files": 0, "bytes": 0}


def test_missing_and_empty_sources_are_problems(tmp_path: Path) -> None:
    _tree(tmp_path)
    cfg = {**CFG, "files": {"paths": [str(tmp_path / "nope"), str(tmp_path / "empty")]},
           "databases": {"enabled": False}}  # fmt: skip
    would, problems, _ = bp.estimate_backup(cfg, None, 10)
    assert [p.message for p in problems] == [
        f"the backup source {tmp_path / 'nope'} does not exist",
        f"the backup source {tmp_path / 'empty'} is empty (no file in it)",
    ]
    assert would["databases"] is None
    # A source whose files are all excluded is not empty: the backup runs (and stores nothing).
    cfg["files"] = {"paths": [str(tmp_path / "site")], "exclude": ["/"]}
    assert bp.estimate_backup(cfg, None, 10)[1] == []


def test_databases_are_chosen_as_the_backup_chooses_them() -> None:
    found = {n: {"bytes": 1, "tables": 1}
             for n in ("wordpress", "mysql", "shop", "information_schema", "sys")}  # fmt: skip
    chosen, missing = bp.choose_databases(found, {"exclude": ["shop"]})
    assert sorted(chosen) == ["mysql", "wordpress"] and missing == []
    chosen, missing = bp.choose_databases(found, {"include": ["wordpress", "crm"]})
    assert sorted(chosen) == ["wordpress"] and missing == ["crm"]


# --- the drill's room -----------------------------------------------------------------------------


def test_room_adds_up_what_lands_on_one_file_system() -> None:
    mib = 2**20
    fs = SimpleNamespace(f_bavail=300, f_frsize=mib)  # 300 MiB free
    needs = [("files", "/var/tmp/drill", 200 * mib, 0), ("database", "/var/lib/mysql", 80 * mib, 0)]
    (one,) = bp.room(needs, 10, statvfs=lambda _p: fs, device_of=lambda _p: 1)
    assert one["for"] == ["files", "database"] and one["needed_bytes"] == 308 * mib
    assert one["ok"] is False
    assert bp.no_room(one).message == (
        "not enough room for the restore drill's files and database on the file system of "
        "/var/tmp: it needs about 308 MiB, 300 MiB are free"
    )
    # An earlier drill's leftovers are removed first: their room counts.
    (again,) = bp.room([(*needs[0][:3], 50 * mib), needs[1]], 10,
                       statvfs=lambda _p: fs, device_of=lambda _p: 1)  # fmt: skip
    assert again["ok"] is True
    # On two file systems each has its own room.
    two = bp.room(needs, 10, statvfs=lambda _p: fs, device_of=hash)
    assert [entry["ok"] for entry in two] == [True, True]


# --- whole probes, against a fake restic ----------------------------------------------------------

FAKE_RESTIC = """#!{python}
import json, os, sys
args = sys.argv[1:]
with open({log!r}, "a") as log:
    used = os.environ.get("RESTIC_PASSWORD_FILE")
    log.write(json.dumps({{"argv": args, "password_file": used}}) + "\\n")
state = json.load(open({state!r}))
password = open(os.environ["RESTIC_PASSWORD_FILE"]).read().strip()
if state.get("missing"):
    sys.stderr.write({missing!r}); sys.exit(1)
if password != state["password"]:
    sys.stderr.write("Fatal: wrong password or no key found\\n"); sys.exit(1)
rest = args[4:] if args[2:3] == ["-o"] else args[2:]
words = [a for a in rest if not a.startswith("-")]
if words[:2] == ["cat", "config"]:
    print(json.dumps({{"version": 2, "id": "5f3a9c21" + "0" * 56}}))
elif words[:1] == ["snapshots"]:
    print(json.dumps(state["snapshots"]))
elif words[:2] == ["list", "locks"]:
    print("\\n".join(state["locks"]))
elif words[:2] == ["cat", "lock"]:
    print(json.dumps(state["locks"][words[2]]))
elif words[:1] == ["stats"]:
    print(json.dumps(state["stats"][words[-1]]))
else:
    sys.stderr.write("Fatal: unexpected " + " ".join(args) + "\\n"); sys.exit(1)
"""

FAKE_MARIADB = """#!/bin/sh
case "$*" in
  *"@@datadir"*) printf '1\\t0\\t{datadir}/\\n' ;;
  *) printf 'wordpress\\t4194304\\t12\\nmysql\\t2097152\\t31\\ninformation_schema\\t0\\t80\\n' ;;
esac
"""


@pytest.fixture
def fake(tmp_path: Path):
    log, state = tmp_path / "restic.log", tmp_path / "state.json"
    restic = tmp_path / "restic"
    restic.write_text(FAKE_RESTIC.format(python=sys.executable, log=str(log), state=str(state),
                                         missing=MISSING))  # fmt: skip
    restic.chmod(0o755)
    client = tmp_path / "mariadb"
    client.write_text(FAKE_MARIADB.format(datadir=tmp_path))
    client.chmod(0o755)
    _tree(tmp_path)
    password_file = tmp_path / "etc" / "password"
    password_file.chmod(0o600)
    now = datetime.now(UTC).replace(microsecond=0)
    files_snap = _snap("a1a1", "R1", "files", 0, "x")
    files_snap["time"] = (now - timedelta(hours=5)).isoformat()
    db_snap = {**_snap("a2a2", "R1", "db", 0, "db:wordpress"),
               "time": (now - timedelta(hours=5)).isoformat()}  # fmt: skip
    data = {"password": "secret", "snapshots": [files_snap, db_snap],
            "locks": {}, "stats": {files_snap["id"]: {"total_size": 12345, "total_file_count": 4},
                                   db_snap["id"]: {"total_size": 4096}}}  # fmt: skip

    def save(**changes) -> None:
        state.write_text(json.dumps({**data, **changes}))

    save()
    cfg = {
        "host": "web1",
        "repository": REPO,
        "password_file": str(password_file),
        "sftp_command": "ssh -i /etc/omctl-backup/id_ed25519 root@10.0.0.2 -s sftp",
        "state_dir": str(tmp_path / "state"),
        "files": {"paths": [str(tmp_path / "site")], "exclude": ["*.log"]},
        "databases": {"enabled": True, "client": str(client)},
    }
    params = {"purpose": "backup", "password": "", "pending": [], "absent": False,
              "restic": str(restic),
              "timeout": 30, "drill": {}}  # fmt: skip
    return SimpleNamespace(cfg=cfg, params=params, save=save, log=log, now=now, tmp=tmp_path)


def _calls(fake) -> list[dict]:
    return [json.loads(line) for line in fake.log.read_text().splitlines()]


def test_a_healthy_repository_reports_its_latest_run_and_the_estimate(fake) -> None:
    result = bp.probe(fake.params, fake.cfg, fake.now, True, "web1")
    assert result["problems"] == [] and result["ok"] is True and result["error"] is None
    assert result["repository"] == {"url": REPO, "state": "ok", "id": "5f3a9c21", "detail": "opens"}
    assert result["latest"]["run"] == "R1" and result["latest"]["age_seconds"] == 5 * 3600
    assert result["snapshots"] == {"count": 2, "runs": 1}
    files = result["would_back_up"]["files"]
    assert files["files"] == 3 and files["excluded"] == 1  # a.jpg, index.php, CACHEDIR.TAG
    assert files["changed_since_latest"]["files"] == 3  # just written
    assert result["would_back_up"]["databases"] == {
        "wordpress": {"bytes": 4194304, "tables": 12},
        "mysql": {"bytes": 2097152, "tables": 31},
    }
    calls = _calls(fake)
    assert [c["argv"][-2:] for c in calls][:2] == [["cat", "config"], ["--tag", "omctl"]]
    for call in calls:  # read-only: no lock, no cache; the password file, never the password
        assert call["argv"][:2] == ["--no-lock", "--no-cache"]
        assert call["argv"][2:4] == ["-o", f"sftp.command={fake.cfg['sftp_command']}"]
        assert call["password_file"] == fake.cfg["password_file"]


def test_a_given_password_reaches_restic_through_a_file_descriptor_only(fake) -> None:
    wrong = bp.probe({**fake.params, "password": "not-it"}, fake.cfg, fake.now, True, "web1")
    assert wrong["ok"] is False
    assert wrong["repository"]["state"] == "wrong_password"
    message = f"the repository password does not open {REPO}: check backup_password (Ansible Vault)"
    assert wrong["problems"] == [{"code": "wrong_password", "message": message}]
    right = bp.probe({**fake.params, "password": "secret"}, fake.cfg, fake.now, True, "web1")
    assert right["ok"] is True
    for call in _calls(fake):
        assert call["password_file"].startswith("/proc/self/fd/")
        assert "secret" not in json.dumps(call["argv"]) and "not-it" not in json.dumps(call)


def test_the_file_on_the_host_is_used_and_checked_when_no_password_is_given(fake) -> None:
    fake.save(password="another")
    wrong = bp.probe(fake.params, fake.cfg, fake.now, True, "web1")
    assert wrong["error"] == (
        f"the repository password does not open {REPO}: check {fake.cfg['password_file']}"
    )
    Path(fake.cfg["password_file"]).chmod(0o644)
    loose = bp.probe(fake.params, fake.cfg, fake.now, True, "web1")
    assert loose["repository"]["state"] == "not_probed"
    assert loose["error"].endswith("must be owned by root and readable by root only (0600)")


def test_a_new_repository_has_no_snapshot_yet_and_is_not_a_failure(fake) -> None:
    fake.save(missing=True)
    result = bp.probe(fake.params, fake.cfg, fake.now, True, "web1")
    assert result["ok"] is True
    assert result["repository"]["state"] == "would_initialise"
    assert result["latest"] is None and result["snapshots"] == {"count": 0, "runs": 0}
    assert result["would_back_up"]["files"]["changed_since_latest"] is None


def test_a_repository_whose_folder_is_still_to_be_made_does_not_exist(fake) -> None:
    params = {**fake.params, "absent": True}
    result = bp.probe(params, fake.cfg, fake.now, False, "web1")
    assert result["ok"] is True and result["repository"]["state"] == "would_initialise"
    assert not fake.log.exists()  # restic was not even asked
    state = Path(fake.cfg["state_dir"])
    state.mkdir()
    (state / "repository.json").write_text(json.dumps({"repository": REPO, "id": "5f3a9c21"}))
    gone = bp.probe(params, fake.cfg, fake.now, False, "web1")
    assert gone["repository"]["state"] == "missing" and "deleted or moved" in gone["error"]


def test_a_lock_is_a_notice_not_a_problem(fake) -> None:
    lock = _lock(2, host="web1", pid=os.getpid())
    fake.save(locks={"c0ffee" + "0" * 58: lock})
    result = bp.probe(fake.params, fake.cfg, NOW, True, "web1")
    assert result["ok"] is True
    assert [lk["stale"] for lk in result["locks"]] == [False]
    assert result["notices"][0].startswith(f"shared lock c0ffee00 of PID {os.getpid()} on web1")


def test_the_drill_check_plans_the_restore_and_its_room(fake) -> None:
    scratch = fake.tmp / "scratch"
    scratch.mkdir()
    (scratch / "left.txt").write_text("from an interrupted drill")
    drill = {"files_enabled": True, "database_enabled": True, "database": "wordpress",
             "scratch_dir": str(scratch), "scratch_database": "omctl_restore_drill",
             "space_margin_percent": 10, "check_subset": "3/7", "site_port": 0}  # fmt: skip
    params = {**fake.params, "purpose": "restore_drill", "drill": drill}
    result = bp.probe(params, fake.cfg, fake.now, True, "web1")
    assert result["ok"] is True, result["error"]
    plan = result["drill"]
    assert plan["run"] == "R1" and plan["check_subset"] == "3/7"
    assert plan["files"] == {"snapshot": "a1a1a1a1", "paths": ["/etc"], "into": str(scratch),
                             "bytes": 12345, "entries": 4}  # fmt: skip
    assert plan["database"] == {"name": "wordpress", "snapshot": "a2a2a2a2", "dump_bytes": 4096,
                                "into": "omctl_restore_drill"}  # fmt: skip
    assert plan["scratch"]["dir_exists"] is True and plan["scratch"]["database_exists"] is True
    assert all(disk["ok"] for disk in plan["disk"])
    assert result["notices"] == [
        f"an earlier drill left its scratch copy ({scratch}, database omctl_restore_drill): the "
        "drill removes it first"
    ]
    assert "would_back_up" not in result


def test_the_drill_check_fails_without_a_run_to_restore_or_room_for_it(fake) -> None:
    drill = {"files_enabled": True, "database_enabled": True, "database": "shop",
             "scratch_dir": str(fake.tmp / "scratch"), "scratch_database": "omctl_restore_drill",
             "space_margin_percent": 10, "check_subset": "", "site_port": 0}  # fmt: skip
    params = {**fake.params, "purpose": "restore_drill", "drill": drill}
    nothing = bp.probe(params, fake.cfg, fake.now, True, "web1")
    assert nothing["problems"] == [{"code": "no_snapshot", "message": (
        "the repository holds no backup run of web1 with files and database shop "
        "(only 1 incomplete run(s))")}]  # fmt: skip
    huge = {"total_size": 2**60, "total_file_count": 1}
    fake.save(stats={"a1a1" * 8: huge, "a2a2" * 8: {"total_size": 1}})
    full = bp.probe({**params, "drill": {**drill, "database": "wordpress"}}, fake.cfg, fake.now,
                    True, "web1")  # fmt: skip
    assert [p["code"] for p in full["problems"]] == ["no_space"]
    assert "not enough room for the restore drill's files" in full["error"]
    fake.save(missing=True)
    empty = bp.probe(params, fake.cfg, fake.now, True, "web1")
    assert empty["error"] == "nothing to restore: no repository yet: the real run creates it"
