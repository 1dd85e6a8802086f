"""The WordPress inventory module (roles/wordpress_facts/library/wordpress_inventory.py): who PHP
runs as, the command, how PHP's answer is read (a good one, a fatal error, WordPress dying while
loading, no answer at all) and whole module runs against a fake PHP that checks what it is sent.
The PHP program itself runs against real WordPress in tests/integration/test_wordpress_facts.py.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.unit import role_code

MODULE = (
    Path(__file__).resolve().parents[2] / "roles/wordpress_facts/library/wordpress_inventory.py"
)
wi = role_code.load(MODULE, "wordpress_inventory")

CORE = {"type": "core", "slug": "wordpress", "name": "WordPress", "version": "6.1.9",
        "active": True, "update": None}  # fmt: skip
PLUGIN = {"type": "plugin", "slug": "omctl-lab-plugin", "name": "omctl lab plugin",
          "version": "1.0", "active": True, "file": "omctl-lab-plugin/omctl-lab-plugin.php",
          "must_use": False, "network_active": False, "update": {"version": "1.1"}}  # fmt: skip
THEME = {"type": "theme", "slug": "omctl-lab-theme", "name": "omctl lab theme", "version": "1.0",
         "active": True, "parent": None, "update": None}  # fmt: skip
ANSWER = {"url": "http://localhost", "siteurl": "http://localhost", "multisite": False,
          "items": [CORE, PLUGIN, THEME]}  # fmt: skip


def answer(data: Any) -> str:
    return wi.MARKER + json.dumps(data) + "\n"


# --- reading PHP's answer ------------------------------------------------------------------------


def test_a_good_answer_gives_the_items_as_sent() -> None:
    parsed = wi.parse(0, answer(ANSWER), "")
    assert parsed == {**ANSWER, "error": None}


def test_other_output_around_the_answer_is_ignored() -> None:
    noisy = "PHP Deprecated: something\n<p>a plugin that echoes</p>\n" + answer(ANSWER) + "bye\n"
    assert wi.parse(0, noisy, "PHP Warning: x\n")["items"] == [CORE, PLUGIN, THEME]


def test_items_are_normalised_and_what_is_not_an_item_is_dropped() -> None:
    items = [
        CORE,
        {"type": "plugin", "slug": "hello", "version": 1.7, "active": 1, "update": {"version": ""}},
        {"type": "theme", "slug": "bare", "version": "", "active": False, "update": []},
        {"type": "widget", "slug": "x", "version": "1"},
        {"type": "plugin", "slug": "", "version": "1"},
        "not a dict",
    ]
    parsed = wi.parse(0, answer({**ANSWER, "items": items}), "")
    assert parsed["error"] is None
    assert parsed["items"][1:] == [
        {"type": "plugin", "slug": "hello", "version": "1.7", "active": True, "update": None},
        {"type": "theme", "slug": "bare", "version": None, "active": False, "update": None},
    ]


def test_a_php_fatal_error_while_loading_is_named_in_one_line() -> None:
    bad = "/var/www/shop/wp-content/plugins/bad/bad.php"
    fatal = {"type": 1, "line": 3, "file": bad,
             "message": f"Uncaught Error: Call to undefined function nope() in {bad}:3\n"
                        "Stack trace:\n#0 {main}"}  # fmt: skip
    parsed = wi.parse(255, answer({"fatal": fatal, "output": ""}), "PHP Fatal error: ...")
    assert parsed["items"] == [] and parsed["url"] is None
    assert parsed["error"] == (
        "PHP fatal error while loading WordPress: Uncaught Error: Call to undefined function "
        "nope() in /var/www/shop/wp-content/plugins/bad/bad.php:3"
    )
    # Where PHP's message does not say where, the file and line are added.
    parse_error = {"type": 4, "line": 7, "file": "/x/wp-config.php", "message": "syntax error"}
    assert wi.parse(255, answer({"fatal": parse_error}), "")["error"] == (
        "PHP fatal error while loading WordPress: syntax error in /x/wp-config.php:7"
    )


def test_wordpress_dying_while_loading_says_what_it_printed() -> None:
    dead_db = {"fatal": None, "output": "Database Error Error establishing a database connection"}
    assert wi.parse(0, answer(dead_db), "")["error"] == (
        "WordPress stopped while loading: Database Error Error establishing a database connection"
    )
    assert wi.parse(0, answer({"fatal": None, "output": ""}), "")["error"] == (
        "WordPress stopped while loading"
    )


@pytest.mark.parametrize(
    ("returncode", "stdout", "stderr", "error"),
    [
        (127, "", "[Errno 2] No such file or directory: 'php'",
         "PHP could not be run: [Errno 2] No such file or directory: 'php'"),
        (124, "", "PHP did not answer within 60 s", "PHP did not answer within 60 s"),
        (255, "", "\nPHP Parse error: syntax error in Standard input code on line 1\n",
         "PHP exited 255 without an answer: PHP Parse error: syntax error in Standard input "
         "code on line 1"),
        (0, "", "", "PHP exited 0 without an answer: no output"),
        (0, wi.MARKER + "{not json\n", "",
         "the inventory program printed JSON that does not parse"),
        (0, answer(["a", "list"]), "", "the inventory program's answer is not a JSON object"),
        (0, answer({**ANSWER, "items": {"a": 1}}), "",
         "the inventory program's items are not a list"),
        (0, answer({**ANSWER, "items": [PLUGIN]}), "",
         "WordPress answered without its core version"),
    ],
)  # fmt: skip
def test_no_usable_answer_is_an_error_with_no_items(
    returncode: int, stdout: str, stderr: str, error: str
) -> None:
    parsed = wi.parse(returncode, stdout, stderr)
    assert parsed == {"url": None, "siteurl": None, "multisite": None, "items": [], "error": error}


# --- who runs PHP, and how -----------------------------------------------------------------------


def test_the_config_host_is_debians_host_or_localhost() -> None:
    assert wi.config_host({"host": "shop.example.org"}) == "shop.example.org"
    assert wi.config_host({"host": "default"}) == "localhost"
    assert wi.config_host({"host": None}) == "localhost"
    assert wi.config_host({}) == "localhost"


def test_php_runs_as_the_owner_of_the_files_else_of_the_content_else_root() -> None:
    owners = {"/var/www/shop/wp-load.php": "shop", "/var/lib/wordpress/wp-content": "www-data",
              "/var/www/blog/wp-content": "www-data"}  # fmt: skip
    owner_of = owners.get
    assert wi.run_as({"path": "/var/www/shop"}, owner_of) == "shop"
    debian = {"path": "/usr/share/wordpress", "content_dir": "/var/lib/wordpress/wp-content"}
    assert wi.run_as(debian, owner_of) == "www-data"
    assert wi.run_as({"path": "/var/www/blog", "content_dir": None}, owner_of) == "www-data"
    assert wi.run_as({"path": "/srv/root-only"}, owner_of) == "root"
    assert wi.run_as({"path": "/var/www/shop", "user": "deploy"}, owner_of) == "deploy"


def test_owner_is_none_for_roots_files_and_missing_ones(tmp_path: Path) -> None:
    mine = tmp_path / "wp-load.php"
    mine.write_text("<?php\n")
    expected = None if os.geteuid() == 0 else wi.pwd.getpwuid(os.geteuid()).pw_name
    assert wi.owner(str(mine)) == expected
    assert wi.owner(str(tmp_path / "missing")) is None


def test_the_command_reads_stdin_and_drops_privileges_only_as_root() -> None:
    php = ["php", "-d", "display_errors=stderr", "-d", "log_errors=0", "-d", "html_errors=0"]
    assert wi.command("php", "www-data", as_root=True) == ["runuser", "-u", "www-data", "--", *php]
    assert wi.command("php", "root", as_root=True) == php
    assert wi.command("php", "", as_root=False) == php


def test_a_site_is_loaded_with_its_path_and_host_and_the_program_on_stdin() -> None:
    calls = []

    def runner(argv: list[str], env: dict[str, str], stdin: str) -> tuple[int, str, str]:
        calls.append((argv, env, stdin))
        return 0, answer(ANSWER), ""

    site = {"path": "/usr/share/wordpress", "host": "default", "db_name": "wordpress",
            "content_dir": "/var/lib/wordpress/wp-content"}  # fmt: skip
    found = wi.inventory(site, "/usr/bin/php", runner, as_root=True,
                         owner_of={"/var/lib/wordpress/wp-content": "www-data"}.get,
                         is_file=lambda path: True)  # fmt: skip
    assert found == {"path": "/usr/share/wordpress", "host": "default", "user": "www-data",
                     **wi.parse(0, answer(ANSWER), "")}  # fmt: skip
    [(argv, env, stdin)] = calls
    assert argv[:4] == ["runuser", "-u", "www-data", "--"] and argv[4] == "/usr/bin/php"
    assert env == {"OMCTL_WP_ROOT": "/usr/share/wordpress", "OMCTL_WP_HOST": "localhost"}
    assert stdin == wi.PROGRAM
    # What the program must do, by the names WordPress gives it.
    for needed in (
        "define('WP_USE_THEMES', false)",
        "wp-load.php",
        "get_plugins()",
        "is_plugin_active(",
        "get_mu_plugins()",
        "wp_get_themes()",
        "get_site_transient('update_core')",
        "get_site_transient('update_plugins')",
        "get_site_transient('update_themes')",
        "'pre_http_request'",
        "is_multisite()",
    ):
        assert needed in wi.PROGRAM, needed  # fmt: skip
    assert "wp_version_check" not in wi.PROGRAM and "wp_update_plugins" not in wi.PROGRAM


def test_a_site_without_wp_load_or_php_is_not_run() -> None:
    def runner(argv: list[str], env: dict[str, str], stdin: str) -> tuple[int, str, str]:
        raise AssertionError("PHP must not run")

    gone = wi.inventory({"path": "/var/www/gone"}, "php", runner, is_file=lambda path: False)
    assert gone["error"] == "no wp-load.php in /var/www/gone" and gone["items"] == []
    no_php = wi.inventory({"path": "/var/www/shop"}, None, runner, is_file=lambda path: True)
    assert no_php["error"] == "no PHP CLI (php) on this host"
    assert wi.inventory({}, "php", runner)["error"] == "no path given for this site"


# --- the whole module, against a fake PHP --------------------------------------------------------

FAKE_PHP = """#!{python}
import json, os, sys
program = sys.stdin.read()
root = os.environ["OMCTL_WP_ROOT"]
if "wp-load.php" not in program or "-d" not in sys.argv:
    sys.exit("not the inventory program")
if root.endswith("broken"):
    fatal = {{"type": 1, "file": root + "/wp-content/plugins/x.php", "line": 2,
              "message": "Uncaught Error: nope()"}}
    print({marker!r} + json.dumps({{"fatal": fatal, "output": ""}}))
    sys.exit(255)
if root.endswith("slow"):
    import subprocess
    # A child that outlives a plain kill of this process: the module ends its whole session.
    child = subprocess.Popen(["sleep", "30"])
    open(root + "/pids", "w").write(f"{{os.getpid()}} {{child.pid}}")
    child.wait()
answer = {answer}
answer["url"] = "http://" + os.environ["OMCTL_WP_HOST"]
print("<p>stray output</p>")
print({marker!r} + json.dumps(answer))
"""


@pytest.fixture
def fake_php(tmp_path: Path) -> Path:
    php = tmp_path / "php"
    php.write_text(FAKE_PHP.format(python=sys.executable, marker=wi.MARKER, answer=repr(ANSWER)))
    php.chmod(0o755)
    for name in ("shop", "broken", "slow"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "wp-load.php").write_text("<?php\n")
    return php


def running(pid: int) -> bool:
    """Whether the process runs still (a zombie waiting for its reaper has ended)."""
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.1)
    return True


def sites(tmp_path: Path, *names: str) -> list[dict[str, Any]]:
    return [{"path": str(tmp_path / n), "host": f"{n}.lab.test", "user": "root"} for n in names]


@pytest.mark.parametrize("check", [False, True])
def test_the_module_reads_every_site_and_fails_none(
    tmp_path: Path, fake_php: Path, check: bool
) -> None:
    args = {"sites": sites(tmp_path, "shop", "broken", "gone"), "php": str(fake_php)}
    result = role_code.run_module(MODULE, args, check=check)
    assert result["changed"] is False and not result.get("failed"), result
    shop, broken, gone = result["sites"]
    assert shop["error"] is None and shop["url"] == "http://shop.lab.test"
    assert [(i["type"], i["slug"], i["version"], i["active"]) for i in shop["items"]] == [
        ("core", "wordpress", "6.1.9", True),
        ("plugin", "omctl-lab-plugin", "1.0", True),
        ("theme", "omctl-lab-theme", "1.0", True),
    ]
    assert broken["error"] == (
        "PHP fatal error while loading WordPress: Uncaught Error: nope() in "
        f"{tmp_path}/broken/wp-content/plugins/x.php:2"
    )
    assert gone["error"] == f"no wp-load.php in {tmp_path}/gone"


def test_a_slow_site_times_out_and_a_missing_php_is_named(tmp_path: Path, fake_php: Path) -> None:
    started = time.monotonic()
    slow = role_code.run_module(
        MODULE, {"sites": sites(tmp_path, "slow"), "php": str(fake_php), "timeout": 1}
    )
    assert slow["sites"][0]["error"] == "PHP did not answer within 1 s"
    # Not the 30 s of the child that still held PHP's output open.
    assert time.monotonic() - started < 15
    for pid in map(int, (tmp_path / "slow" / "pids").read_text().split()):
        assert not running(pid), pid
    missing = role_code.run_module(
        MODULE, {"sites": sites(tmp_path, "shop"), "php": str(tmp_path / "no-php")}
    )
    assert missing["sites"][0]["error"] == "no PHP CLI (php) on this host"
