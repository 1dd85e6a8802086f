"""The on-host omctl-backup tool of roles/backup: error mapping, dump streaming, drill checks.

The tool runs on client hosts (stdlib only); here it is loaded from the role's files and driven
with a fake restic, a fake mariadb-dump and a local HTTP server.
"""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
import time
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "roles/backup/files/usr/local/sbin/omctl-backup"


def _load() -> types.ModuleType:
    """Executed from source: no bytecode cache may land in the role's files."""
    module = types.ModuleType("omctl_backup_tool")
    module.__file__ = str(TOOL)
    sys.modules[module.__name__] = module
    exec(compile(TOOL.read_text(), str(TOOL), "exec"), module.__dict__)
    return module


tool = _load()
FAKE_RESTIC = """#!/bin/sh
echo "$@" >> "{log}"
case "$1" in
  backup) cat > /dev/null
          echo '{{"message_type":"summary","snapshot_id":"abcd1234","data_added":7,\
"total_bytes_processed":8,"total_duration":0.5,"files_new":1}}' ;;
  dump) printf '%s' "$FAKE_DUMP" ;;
esac
"""


@pytest.fixture
def cfg(tmp_path: Path) -> dict:
    password = tmp_path / "password"
    password.write_text("secret\n")
    password.chmod(0o600)
    log = tmp_path / "restic.log"
    restic = tmp_path / "restic"
    restic.write_text(FAKE_RESTIC.format(log=log))
    restic.chmod(0o755)
    return {
        "host": "web1",
        "repository": "sftp:root@10.0.0.2:/srv/omctl-backup/web1",
        "password_file": str(password),
        "restic": str(restic),
        "state_dir": str(tmp_path / "state"),
        "lock_file": str(tmp_path / "lock"),
        "lock_wait_seconds": 1,
        "databases": {"dump_command": ["sh", "-c", "echo 'CREATE TABLE t;'; exit 2"]},
    }


def restic_calls(cfg: dict) -> list[str]:
    log = Path(cfg["restic"]).parent / "restic.log"
    return log.read_text().splitlines() if log.exists() else []


# --- restic's messages mapped to causes -------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "code", "words"),
    [
        ("Fatal: wrong password or no key found\n", "wrong_password",
         "the repository password does not open sftp:root@10.0.0.2:/srv/omctl-backup/web1"),
        ("Fatal: unable to open config file: Lstat: file does not exist\nIs there a repository "
         "at the following location?\nsftp:root@10.0.0.2:/srv/omctl-backup/web1\n",
         "repository_missing", "there is no restic repository at sftp:root@10.0.0.2"),
        ("unable to create lock in backend: repository is already locked by PID 373 on web1 by "
         "root (UID 0, GID 0)\nlock was created at 2026-11-28 14:11:36\n", "repository_locked",
         "(unable to create lock in backend: repository is already locked by PID 373 on web1"),
        ("subprocess ssh: Host key verification failed.\nFatal: unable to open repository at "
         "sftp:...: unable to start the sftp session, error: EOF\n", "repository_unreachable",
         "cannot reach the repository sftp:root@10.0.0.2:/srv/omctl-backup/web1: Host key "
         "verification failed."),
        ("Fatal: something new\n", "fatal", "the backup failed: Fatal: something new"),
    ],
)  # fmt: skip
def test_restic_failures_are_named(cfg: dict, output: str, code: str, words: str) -> None:
    failure = tool.classify(cfg, output, "the backup")
    assert failure.code == code
    assert words in failure.message
    assert tool.EXIT[code] == {"wrong_password": 12, "repository_missing": 10,
                               "repository_locked": 11, "repository_unreachable": 13,
                               "fatal": 1}[code]  # fmt: skip


def test_a_repository_that_disappeared_says_when_it_was_made(cfg: dict) -> None:
    tool.write_json_atomic(
        tool.marker_path(cfg),
        {"repository": cfg["repository"], "id": "84d2645d441b", "initialized_at": "2026-01-02"},
    )
    failure = tool.classify(cfg, "Is there a repository at the following location?", "x")
    assert failure.message.endswith(
        "although repository 84d2645d was initialized there on 2026-01-02: it was deleted or "
        f"moved; restore it, or remove {tool.marker_path(cfg)} to start a new one"
    )


def test_a_readable_password_file_is_refused(cfg: dict, tmp_path: Path) -> None:
    os.chmod(cfg["password_file"], 0o644)
    config = tmp_path / "backup.json"
    config.write_text(json.dumps(cfg))
    with pytest.raises(tool.Failure, match=r"readable by root only \(0600\)"):
        tool.load_config(str(config))


# --- sources and database dumps ----------------------------------------------------------------


def test_empty_and_missing_sources_are_refused(tmp_path: Path) -> None:
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(tool.Failure, match="is empty"):
        tool.check_sources([str(tmp_path / "empty")])
    with pytest.raises(tool.Failure, match="does not exist"):
        tool.check_sources([str(tmp_path / "nowhere")])
    (tmp_path / "empty" / "sub" / "file").write_text("x")
    tool.check_sources([str(tmp_path / "empty")])


def test_databases_asked_for_on_a_host_without_a_client_fail_naming_it(tmp_path: Path) -> None:
    client = str(tmp_path / "no-such-mariadb")
    cfg = {"databases": {"client": client, "include": ["wordpress"]}}
    with pytest.raises(tool.Failure, match=f"the {client} client is not installed") as failed:
        tool.list_databases(cfg)
    assert failed.value.code == "database_dump_failed"


def test_a_failed_dump_leaves_no_snapshot_behind(cfg: dict) -> None:
    """restic stores whatever came on stdin: the partial snapshot must be forgotten."""
    with pytest.raises(tool.Failure) as caught:
        tool.backup_database(cfg, "20260101T000000Z", "wordpress")
    assert caught.value.code == "database_dump_failed"
    assert caught.value.message.startswith("database wordpress could not be dumped (mariadb-dump")
    calls = restic_calls(cfg)
    assert calls[0].startswith("backup --json --stdin --stdin-filename wordpress.sql --host web1")
    assert "kind:db,run:20260101T000000Z,db:wordpress" in calls[0]
    assert calls[1] == "forget abcd1234"


def test_a_good_dump_is_kept(cfg: dict) -> None:
    cfg["databases"]["dump_command"] = ["sh", "-c", "echo '-- Dump completed'"]
    facts = tool.backup_database(cfg, "20260101T000000Z", "wordpress")
    assert facts == {"id": "abcd1234", "bytes_added": 7, "bytes_total": 8,
                     "duration_seconds": 0.5}  # fmt: skip
    assert [c.split()[0] for c in restic_calls(cfg)] == ["backup"]


@pytest.mark.parametrize(
    ("dump", "complete"), [("CREATE TABLE t;\n-- Dump completed on 2026-01-01\n", True),
                           ("CREATE TABLE t;\nINSERT INTO t VAL", False)],
)  # fmt: skip
def test_a_truncated_dump_is_found(
    cfg: dict, monkeypatch: pytest.MonkeyPatch, dump: str, complete: bool
) -> None:
    monkeypatch.setenv("FAKE_DUMP", dump)
    args = type("Args", (), {"snapshot": "abcd1234", "database": "wordpress", "into": "",
                             "client": "mariadb"})()  # fmt: skip
    if complete:
        assert tool.cmd_import_dump(cfg, args)["bytes"] == len(dump)
    else:
        with pytest.raises(tool.Failure, match="is truncated"):
            tool.cmd_import_dump(cfg, args)


@pytest.mark.parametrize("stale", [True, False])
def test_a_stale_lock_is_removed_once_a_live_one_is_reported(
    cfg: dict, tmp_path: Path, stale: bool
) -> None:
    log, gone = tmp_path / "restic.log", tmp_path / "unlocked"
    Path(cfg["restic"]).write_text(
        f'#!/bin/sh\necho "$@" >> {log}\n'
        f'if [ "$1" = unlock ] && {"true" if stale else "false"}; then touch {gone}; exit 0; fi\n'
        f'if [ "$1" = unlock ]; then exit 0; fi\n'
        f"if [ ! -e {gone} ]; then echo 'unable to create lock in backend: repository is "
        "already locked by PID 9 on web1 by root' >&2; exit 1; fi\n"
    )
    done = tool.restic(cfg, "forget", "--keep-daily", "7")
    assert log.read_text().splitlines() == ["forget --keep-daily 7", "unlock",
                                            "forget --keep-daily 7"]  # fmt: skip
    assert done.returncode == (0 if stale else 1)
    if not stale:
        assert tool.classify(cfg, tool.text(done.stderr), "forget").code == "repository_locked"


def test_a_stop_signal_lets_restic_release_its_lock(cfg: dict, tmp_path: Path) -> None:
    """restic 0.14 removes its lock on SIGINT only: SIGTERM to the tool becomes SIGINT to restic."""
    released, ready = tmp_path / "released", tmp_path / "ready"
    # A Python fake, as restic (Go) installs its handler even when SIGINT was ignored on entry;
    # sh cannot trap a signal ignored on entry, and earlier in-process ansible-runner runs of the
    # unit suite leave SIGINT ignored for the processes pytest starts.
    Path(cfg["restic"]).write_text(
        f"#!{sys.executable}\nimport pathlib, signal, sys, time\n"
        f"def release(*_):\n    pathlib.Path({str(released)!r}).write_text('released\\n')\n"
        "    sys.exit(130)\n"
        f"signal.signal(signal.SIGINT, release)\npathlib.Path({str(ready)!r}).touch()\n"
        "time.sleep(30)\n"
    )
    caught: list = []

    def backup() -> None:
        try:
            tool.restic(cfg, "backup", "/etc")
        except tool.Failure as failure:
            caught.append(failure)

    worker = threading.Thread(target=backup)
    worker.start()
    deadline = time.monotonic() + 10
    while not (tool.CHILDREN and ready.exists()) and time.monotonic() < deadline:
        time.sleep(0.05)  # until the fake restic has its trap (a loaded machine takes a while)
    try:
        tool.forward_stop(signal.SIGTERM, None)
        worker.join(10)
    finally:
        tool.STOPPED_BY.clear()
    assert released.read_text() == "released\n"
    assert [f.message for f in caught] == ["stopped by SIGTERM (restic was interrupted cleanly)"]


# --- restore drill -------------------------------------------------------------------------------


def node(path: str, kind: str, size: int = 0) -> dict:
    return {"path": path, "type": kind, "size": size, "struct_type": "node"}


def test_the_restored_tree_must_match_the_snapshot(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hosts").write_text("127.0.0.1 localhost\n")
    (tmp_path / "etc" / "link").symlink_to("hosts")
    nodes = [node("/etc", "dir"), node("/etc/hosts", "file", 20), node("/etc/link", "symlink")]
    clean = tool.compare_tree(nodes, str(tmp_path))
    assert clean == {"files": 1, "dirs": 1, "symlinks": 1, "other": 0, "bytes": 20,
                     "problems": []}  # fmt: skip
    (tmp_path / "etc" / "hosts").write_text("changed\n")
    (tmp_path / "etc" / "extra").write_text("x")
    (tmp_path / "etc" / "link").unlink()
    problems = tool.compare_tree([*nodes, node("/etc/gone", "file", 1)], str(tmp_path))["problems"]
    assert problems == [
        "size of /etc/hosts: 8 bytes, snapshot says 20",
        "missing symlink /etc/link",
        "missing file /etc/gone",
        "unexpected /etc/extra",
    ]


def test_the_latest_run_must_hold_every_part(cfg: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    def snap(run: str, kind: str, at: str, db: str = "") -> dict:
        tags = ["omctl", f"kind:{kind}", f"run:{run}", *([f"db:{db}"] if db else [])]
        return {"id": f"{run}{kind}{db}".ljust(64, "0"), "time": at, "tags": tags, "paths": []}

    listing = [
        snap("r1", "files", "2026-01-01T02:00:00.123456789Z"),
        snap("r1", "db", "2026-01-01T02:00:05Z", "wordpress"),
        # The newer run has no wordpress dump (it failed): the drill takes r1.
        snap("r2", "files", "2026-01-02T02:00:00+01:00"),
        snap("r2", "db", "2026-01-02T02:00:05+01:00", "mysql"),
    ]
    monkeypatch.setattr(tool, "list_snapshots", lambda _cfg: listing)
    args = type("Args", (), {"database": ["wordpress"], "require_files": True})()
    latest = tool.cmd_latest_run(cfg, args)
    assert latest["run"] == "r1" and latest["runs"] == 2
    assert latest["time"] == "2026-01-01T02:00:00.123456789Z"
    assert set(latest["databases"]) == {"wordpress"}
    args.database = ["postgres"]
    with pytest.raises(tool.Failure, match="holds no backup run of web1 with files and database"):
        tool.cmd_latest_run(cfg, args)


class _Pages(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(self.server.body)  # type: ignore[attr-defined]

    def log_message(self, *_args) -> None:
        pass


@pytest.fixture
def site() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


STORED = (
    '<html>\n<!-- cached 12:00 -->\n<title>omctl lab site</title>\n<p>nonce="0123456789ab"</p>\n'
)


@pytest.mark.parametrize(
    ("served", "verdict"),
    [
        # Volatile parts differ: still the same page.
        ("<html>\n<!-- cached 13:37 -->\n<title>omctl lab site</title>\n"
         "<p>nonce=\"ba9876543210\"</p>\n", None),
        ("<html>\n<title>omctl lab site - DRILL</title>\n<p>nonce=\"ba9876543210\"</p>\n",
         "differs from the one served at backup time from line 2: expected "
         "'<title>omctl lab site</title>', got '<title>omctl lab site - DRILL</title>'"),
    ],
)  # fmt: skip
def test_the_restored_front_page_is_compared(
    cfg: dict, site, monkeypatch: pytest.MonkeyPatch, served: str, verdict: str | None
) -> None:
    site.body = served.encode()
    monkeypatch.setenv("FAKE_DUMP", STORED)
    args = type("Args", (), {
        "url": f"http://127.0.0.1:{site.server_port}/", "host": "localhost", "timeout": 5,
        "snapshot": "abcd1234", "title": "",
        "ignore": ["<!--.*?-->", "(?i)(_wpnonce|nonce)([\"':= ]+)[0-9a-f]{8,}"],
    })()  # fmt: skip
    if verdict is None:
        assert tool.cmd_compare_page(cfg, args)["ok"] is True
    else:
        with pytest.raises(tool.Failure, match="restored front page") as caught:
            tool.cmd_compare_page(cfg, args)
        assert verdict in caught.value.message


def test_every_command_prints_json_and_exits_with_its_code(tmp_path: Path) -> None:
    (tmp_path / "restic").write_text("#!/bin/sh\n")
    (tmp_path / "restic").chmod(0o755)
    done = subprocess.run(
        ["python3", str(TOOL), "--config", str(tmp_path / "none.json"), "probe"],
        capture_output=True, text=True, check=False,
        env={**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"},
    )  # fmt: skip
    assert done.returncode == 2
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "config" and error["exit"] == 2
    assert error["message"].endswith("is missing: this host's backup is not configured "
                                     "(run the backup task)")  # fmt: skip
