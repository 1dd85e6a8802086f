"""The hardening role's read-only probe (roles/hardening/library/hardening_probe.py): the parsers
and readers one by one, against real files in a temporary folder and a real HTTP server on
loopback, then the module as Ansible runs it."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit import role_code

MODULE = Path(__file__).resolve().parents[2] / "roles/hardening/library/hardening_probe.py"
hp = role_code.load(MODULE, "hardening_probe")

ME = os.getuid()


def run_module(args: dict, check: bool = False) -> dict:
    return role_code.run_module(MODULE, args, check)


# --- parsers ----------------------------------------------------------------------------------

SS_TCP = (
    'LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:(("nginx",pid=812,fd=6))\n'
    'LISTEN 0 128 [::]:22 [::]:* users:(("sshd",pid=301,fd=4))\n'
    'LISTEN 0 80 127.0.0.1:3306 0.0.0.0:* users:(("mariadbd",pid=500,fd=20))\n'
    "LISTEN 0 4096 127.0.0.53%lo:53 0.0.0.0:*\n"
    "garbage line\n"
)


def test_ss_listeners_name_address_port_process_and_loopback() -> None:
    found = hp.parse_ss(SS_TCP, "tcp")
    assert [(f["addr"], f["port"], f["process"], f["loopback"], f["iface"]) for f in found] == [
        ("0.0.0.0", 80, "nginx", False, ""),
        ("::", 22, "sshd", False, ""),
        ("127.0.0.1", 3306, "mariadbd", True, ""),
        ("127.0.0.53", 53, "", True, "lo"),
    ]
    assert {f["proto"] for f in found} == {"tcp"}


def test_sshd_key_files_come_from_sshd_t() -> None:
    stdout = (
        "port 22\nauthorizedkeysfile .ssh/authorized_keys /etc/ssh/keys/%u\npermitrootlogin no\n"
    )
    assert hp.sshd_key_files(stdout) == [".ssh/authorized_keys", "/etc/ssh/keys/%u"]
    assert hp.sshd_key_files("port 22\n") == []


def test_sshd_config_includes_the_drop_in_folder(tmp_path: Path) -> None:
    config = tmp_path / "sshd_config"
    config.write_text("Port 22\n  include /etc/ssh/sshd_config.d/*.conf \n")
    assert hp.includes_dropins(str(config)) is True
    config.write_text("#Include /etc/ssh/sshd_config.d/*.conf\nInclude /etc/other/*.conf\n")
    assert hp.includes_dropins(str(config)) is False
    assert hp.includes_dropins(str(tmp_path / "absent")) is False


# --- files on the host --------------------------------------------------------------------------


def test_a_user_counts_the_keys_of_the_files_sshd_reads(tmp_path: Path) -> None:
    import pwd

    me = pwd.getpwuid(ME)
    keys = tmp_path / f"keys-{me.pw_name}"
    keys.write_text("# comment\nssh-ed25519 AAAA one\n\nssh-ed25519 BBBB two\n")
    found = hp.user_info(me.pw_name, [str(tmp_path / "keys-%u"), "none", str(tmp_path / "gone")])
    assert found["exists"] is True and found["uid"] == ME
    assert found["authorized_keys"] == 2
    assert found["key_files"] == [str(keys)]
    assert hp.user_info("omctl-no-such-user", None) == {
        "name": "omctl-no-such-user",
        "exists": False,
        "groups": [],
        "authorized_keys": 0,
        "key_files": [],
    }


def test_managed_files_report_sha1_mode_or_absence(tmp_path: Path) -> None:
    present = tmp_path / "present.conf"
    present.write_text("x = 1\n")
    present.chmod(0o640)
    found = hp.managed_files([str(present), str(tmp_path / "absent.conf"), str(tmp_path)])
    assert found[str(present)]["sha1"] == hashlib.sha1(b"x = 1\n").hexdigest()
    assert found[str(present)]["mode"] == "0640" and found[str(present)]["exists"] is True
    assert found[str(tmp_path / "absent.conf")] == {"exists": False, "sha1": ""}
    assert found[str(tmp_path)] == {"exists": False, "sha1": ""}  # a folder is not the file


def test_wordpress_configs_are_the_files_holding_the_database_password(tmp_path: Path) -> None:
    site = tmp_path / "www" / "shop"
    site.mkdir(parents=True)
    (site / "wp-config.php").write_text("<?php define('DB_PASSWORD', 'x');")
    (site / "wp-config-sample.php").write_text("<?php define('DB_PASSWORD', 'x');")
    (site / "config-shop.php").write_text("<?php define('DB_PASSWORD', 'x');")
    (site / "config-empty.php").write_text("<?php // nothing")
    deep = tmp_path / "www" / "a" / "b" / "c" / "d" / "e"
    deep.mkdir(parents=True)
    (deep / "wp-config.php").write_text("DB_PASSWORD")
    found = hp.wordpress_configs([str(tmp_path / "www"), str(tmp_path / "absent")])
    assert sorted(Path(f["path"]).name for f in found) == ["config-shop.php", "wp-config.php"]


def test_login_defs_keys_are_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    defs = tmp_path / "login.defs"
    defs.write_text("# UMASK 000\nUMASK\t\t022\nPASS_MAX_DAYS 99999\nENCRYPT_METHOD SHA512\n")
    real_open = open
    monkeypatch.setattr(
        "builtins.open",
        lambda path, *a, **k: real_open(defs if path == "/etc/login.defs" else path, *a, **k),
    )
    assert hp.login_defs(["UMASK", "PASS_MAX_DAYS", "PASS_MIN_DAYS"]) == {
        "UMASK": "022",
        "PASS_MAX_DAYS": "99999",
    }


def test_the_lynis_report_keeps_the_index_and_the_warnings(tmp_path: Path) -> None:
    report = tmp_path / "lynis-after.dat"
    report.write_text("report_version=1.0\nhardening_index=67\nwarning[]=SSH-7408|x|\nos=Linux\n")
    assert hp.read_report(str(report)) == "hardening_index=67\nwarning[]=SSH-7408|x|"
    assert hp.read_report(str(tmp_path / "absent")) == ""


def test_an_earlier_audit_is_reused_only_while_nothing_changed(tmp_path: Path) -> None:
    assert hp.lynis_reuse(str(tmp_path), 0, "h") == {"valid": False, "reason": "reuse disabled"}
    assert hp.lynis_reuse(str(tmp_path), 24, "h")["reason"] == "no earlier audit"
    report = tmp_path / "lynis-after.dat"
    report.write_text("hardening_index=70\n")
    (tmp_path / "lynis-after.dat.services").write_text("other\n")
    assert hp.lynis_reuse(str(tmp_path), 24, "h")["reason"] == "the running services changed"
    old = time.time() - 30 * 3600
    os.utime(report, (old, old))
    assert hp.lynis_reuse(str(tmp_path), 24, "other")["reason"] == "the earlier audit is 30 h old"


def test_newer_than_names_the_first_changed_file_and_skips(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "mtab").write_text("x")
    moment = time.time() - 60
    assert hp.newer_than([str(tmp_path / "etc")], moment, [str(tmp_path / "etc" / "mtab")]) is None
    changed = tmp_path / "etc" / "hosts"
    changed.write_text("127.0.0.1 localhost\n")
    assert hp.newer_than([str(tmp_path / "etc")], moment, []) in (
        str(changed),
        str(tmp_path / "etc" / "mtab"),
    )
    assert hp.newer_than([str(changed)], moment, []) == str(changed)
    assert hp.newer_than([str(changed)], time.time() + 60, []) is None


# --- the front pages, over loopback -------------------------------------------------------------


class _Site(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/moved":
            self.send_response(301)
            self.send_header("Location", "http://shop.invalid/")
            self.end_headers()
            return
        body = f"hello {self.headers.get('X-Site', '')}".encode()
        self.send_response(200 if self.path == "/" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def site() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_sites_answer_with_status_and_checksum_and_redirects_are_the_answer(site: str) -> None:
    found = hp.sites(
        [
            {"url": f"{site}/", "headers": {"X-Site": "shop"}},
            {"url": f"{site}/gone"},
            {"url": f"{site}/moved", "follow_redirects": False},
            {"url": "http://127.0.0.1:9/"},
        ]
    )
    assert found[0] == {
        "status": 200,
        "sha256": hashlib.sha256(b"hello shop").hexdigest(),
        "bytes": len(b"hello shop"),
    }
    assert found[1]["status"] == 404
    assert found[2]["status"] == 301  # not followed to a name only the host may resolve
    assert found[3]["status"] == -1 and found[3]["error"]


# --- the module as Ansible runs it --------------------------------------------------------------


def test_the_sites_mode_returns_only_the_sites_in_check_mode(site: str) -> None:
    result = run_module({"mode": "sites", "sites": [{"url": f"{site}/"}]}, check=True)
    assert result["changed"] is False
    assert [s["status"] for s in result["sites"]] == [200]
    assert "uid" not in result


def test_the_compilers_mode_resolves_real_files(tmp_path: Path) -> None:
    result = run_module({"mode": "compilers", "compilers": ["sh", "omctl-no-such-compiler"]})
    assert result["changed"] is False
    paths = [c["path"] for c in result["compilers"]]
    assert paths == [os.path.realpath("/bin/sh")]
    assert result["compilers"][0]["override"] in (True, False)


def test_the_full_probe_reads_without_changing_the_state_folder(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "nft.sha256").write_text("abc\n")
    managed = tmp_path / "managed.conf"
    managed.write_text("y\n")
    before = sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.rglob("*"))
    result = run_module(
        {
            "user": "",
            "session": ["192.0.2.7", "50000", "192.0.2.1", "22"],
            "sshd_candidate": "PermitRootLogin no\n",
            "state_dir": str(state),
            "nft_file": str(tmp_path / "nftables.conf"),
            "lynis_reuse_hours": 24,
            "managed_paths": [str(managed)],
            "permission_paths": [str(managed), str(tmp_path / "absent")],
            "login_defs_keys": ["UMASK"],
        },
        check=True,
    )
    assert result["changed"] is False
    assert result["uid"] == ME
    assert result["session"] == ["192.0.2.7", "50000", "192.0.2.1", "22"]
    assert result["state_dir"] is True
    assert result["nft"]["recorded"] == "abc"
    assert result["nftables_conf"] == {"exists": False, "stock": False, "ours": False}
    assert result["lynis_reuse"] == {"valid": False, "reason": "no earlier audit"}
    assert result["managed"][str(managed)]["sha1"] == hashlib.sha1(b"y\n").hexdigest()
    assert [f["path"] for f in result["files"]] == [str(managed)]
    assert set(result["sshd"]) == {"rc", "stdout", "stderr"}
    assert result["sites"] == [] and result["packages"] == {} and result["units"] == {}
    assert sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.rglob("*")) == before


def test_a_service_listing_systemd_did_not_answer_is_none_not_empty(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a busy host systemctl's D-Bus calls time out: read as "no service enabled", the role
    disabled nothing and said nothing (a Molecule converge under load did)."""
    calls = []

    def failing(*argv, timeout=60):
        calls.append(argv)
        return 1, ""

    monkeypatch.setattr(hp, "run", failing)
    assert hp.enabled_services() is None
    assert len(calls) == 3 and calls[0][:2] == ("systemctl", "list-unit-files")
    answers = iter([(1, ""), (0, "nginx.service enabled enabled\nssh.socket enabled -\n")])
    monkeypatch.setattr(hp, "run", lambda *argv, timeout=60: next(answers))
    assert hp.enabled_services() == ["nginx"]  # answered at the second try
