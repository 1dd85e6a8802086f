"""The on-host modules of roles/wordpress_update: wp-config.php's database settings and the
client options made of them, the tree digest and owner-keeping copy of a restore point, a zip's
install (its top folder checked, swapped in place, .maintenance gone), and PHP fatals read only
since a mark. The database dump and load run against MariaDB in the integration test."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from tests.unit import role_code

LIBRARY = Path(__file__).resolve().parents[2] / "roles" / "wordpress_update" / "library"
restore = role_code.load(LIBRARY / "wordpress_restore_point.py", "wordpress_restore_point")
package = role_code.load(LIBRARY / "wordpress_package.py", "wordpress_package")
fatals = role_code.load(LIBRARY / "wordpress_php_fatals.py", "wordpress_php_fatals")

CONFIG = """<?php
define( 'DB_NAME', 'shop' );
define('DB_USER', "shop_user");
define( 'DB_PASSWORD', 'it\\'s secret' );
define( 'DB_HOST', 'db.internal:3307' );
"""


def test_wp_config_gives_the_sites_own_database_settings() -> None:
    found = restore.database_settings(CONFIG)
    assert found == {"DB_NAME": "shop", "DB_USER": "shop_user", "DB_PASSWORD": "it's secret",
                     "DB_HOST": "db.internal:3307"}  # fmt: skip
    args, env = restore.client_args(found)
    assert args == ["--user=shop_user", "--host=db.internal", "--port=3307"]
    assert env == {"MYSQL_PWD": "it's secret"}  # never on the command line


@pytest.mark.parametrize(("host", "args"), [
    ("localhost", []), ("", []), ("10.0.0.5", ["--host=10.0.0.5"]),
    ("localhost:/run/mysqld/mysqld.sock", ["--socket=/run/mysqld/mysqld.sock"]),
])  # fmt: skip
def test_database_hosts_become_client_options(host: str, args: list[str]) -> None:
    settings = {"DB_NAME": "x", "DB_USER": "u", "DB_PASSWORD": "", "DB_HOST": host}
    assert restore.client_args(settings)[0] == ["--user=u", *args]


def test_a_config_without_a_database_name_is_a_problem() -> None:
    with pytest.raises(restore.Problem, match="DB_NAME"):
        restore.database_settings("<?php define('DB_NAME', getenv('X'));")


def plugin(root: Path, version: str) -> Path:
    (root / "assets").mkdir(parents=True)
    (root / "plugin.php").write_text(f"<?php // {version}")
    (root / "assets" / "style.css").write_text("body{}")
    return root


def test_a_copied_tree_has_the_same_digest_and_any_change_shows(tmp_path: Path) -> None:
    source = plugin(tmp_path / "plugin", "1.0")
    restore.copy_tree(source, tmp_path / "copy")
    assert restore.tree_digest(tmp_path / "copy") == restore.tree_digest(source)
    (tmp_path / "copy" / "assets" / "style.css").chmod(0o600)
    assert restore.tree_digest(tmp_path / "copy") != restore.tree_digest(source)
    (tmp_path / "copy" / "assets" / "style.css").chmod(
        (source / "assets" / "style.css").stat().st_mode
    )
    (tmp_path / "copy" / "extra.php").write_text("")
    assert restore.tree_digest(tmp_path / "copy") != restore.tree_digest(source)


def zip_of(path: Path, entries: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return path


def test_a_zip_replaces_the_installed_version_and_leaves_no_maintenance_file(tmp_path) -> None:
    site = tmp_path / "site"
    dest = plugin(site / "wp-content" / "plugins" / "demo", "1.0")
    src = zip_of(tmp_path / "demo.1.1.zip", {"demo/": "", "demo/plugin.php": "<?php // 1.1"})
    assert package.install(src, dest, "demo", site) == 1
    assert (dest / "plugin.php").read_text() == "<?php // 1.1"
    assert not (dest / "assets").exists()  # the old version's files are gone
    assert sorted(p.name for p in dest.parent.iterdir()) == ["demo"]
    assert not (site / ".maintenance").exists()


@pytest.mark.parametrize("name", ["other/plugin.php", "demo/../../evil.php", "/demo/x.php"])
def test_a_zip_outside_its_top_folder_changes_nothing(tmp_path: Path, name: str) -> None:
    site = tmp_path / "site"
    dest = plugin(site / "wp-content" / "plugins" / "demo", "1.0")
    before = restore.tree_digest(dest)
    src = zip_of(tmp_path / "demo.1.1.zip", {"demo/plugin.php": "x", name: "x"})
    with pytest.raises(package.Problem, match="is not under the top folder demo/"):
        package.install(src, dest, "demo", site)
    assert restore.tree_digest(dest) == before
    assert not (site / ".maintenance").exists()


def test_fatals_are_read_only_after_the_mark(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    log.write_text('old: FastCGI sent in stderr: "PHP message: PHP Fatal error:  old one"\n')
    marks, found = fatals.scan([str(tmp_path / "*.log")], {})
    assert len(found) == 1 and marks == {str(log): log.stat().st_size}
    with log.open("a") as handle:
        handle.write("PHP Warning:  not fatal\nPHP Parse error:  syntax error in x.php\n")
    _, found = fatals.scan([str(tmp_path / "*.log")], marks)
    assert found == [f"{log}: PHP Parse error:  syntax error in x.php"]


def test_a_log_that_shrank_is_read_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    log.write_text("PHP Fatal error:  after rotation\n")
    _, found = fatals.scan([str(log)], {str(log): 10_000})
    assert found == [f"{log}: PHP Fatal error:  after rotation"]


# --- core checksums through wp-cli -------------------------------------------------------------

checksums = role_code.load(LIBRARY / "wordpress_core_checksums.py", "wordpress_core_checksums")


def fake_wp_cli(tmp_path: Path, output: str, rc: int) -> tuple[Path, Path]:
    """A stand-in for wp-cli (not installable here) that records its arguments."""
    called = tmp_path / "called"
    wp = tmp_path / "wp"
    wp.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {called}\necho '{output}'\nexit {rc}\n")
    wp.chmod(0o755)
    return wp, called


def test_without_wp_cli_the_gate_is_not_available(tmp_path: Path) -> None:
    found = checksums.verify(str(tmp_path), str(tmp_path / "no-such-wp"), 10)
    assert found == {"available": False, "ok": None, "detail": f"no wp-cli ({tmp_path}/no-such-wp)"}


def test_core_that_verifies_passes_and_wp_cli_skips_plugins(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "wp-config.php").write_text("<?php")
    wp, called = fake_wp_cli(
        tmp_path, "Success: WordPress installation verifies against checksums.", 0
    )
    found = checksums.verify(str(site), str(wp), 10)
    assert found["available"] and found["ok"], found
    assert "verifies against checksums" in found["detail"]
    args = called.read_text().split()
    assert args[:2] == ["core", "verify-checksums"] and f"--path={site}" in args
    assert {"--skip-plugins", "--skip-themes"} <= set(args)


def test_a_changed_core_file_fails_with_wp_clis_words(tmp_path: Path) -> None:
    wp, _ = fake_wp_cli(tmp_path, "Warning: File does not verify against checksum: wp-load.php", 1)
    found = checksums.verify(str(tmp_path), str(wp), 10)
    assert found["available"] and found["ok"] is False
    assert "wp-load.php" in found["detail"]


def test_wp_cli_runs_as_the_sites_owner_not_root(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    config = site / "wp-config.php"
    config.write_text("<?php")
    os.chown(config, 65534, 65534)
    assert checksums.site_owner(str(site)) == "nobody"
    assert checksums.command("/usr/bin/wp", str(site), "nobody")[:4] == [
        "runuser", "-u", "nobody", "--",
    ]  # fmt: skip
    assert checksums.command("/usr/bin/wp", str(site), "root")[-1] == "--allow-root"
