"""The backup role's defaults from discovery, imported from the filter plugin Ansible loads."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from tests.unit import role_code

PLUGIN = Path(__file__).resolve().parents[2] / "roles/backup/filter_plugins/backup.py"
bf = role_code.load(PLUGIN, "backup_filters")

NGINX_SITE = "nginx:/etc/nginx/sites-enabled/wordpress:2"
SOCKET = "/run/php/php8.2-fpm.sock"

# The lab host as discovery reports it (the README's sample, lists shortened).
DEBIAN = {
    "web_servers": {"nginx": {"installed": True}, "apache": {"installed": False}},
    "sites": [{"id": NGINX_SITE, "server": "nginx", "names": ["_"], "ports": [80],
               "docroot": "/usr/share/wordpress",
               "php": [{"target": "unix:" + SOCKET, "pool": "8.2/www"}]}],
    "php_fpm": {"pools": [{"id": "8.2/www", "listen": SOCKET}]},
    "databases": {"mariadb": {"installed": True, "databases": ["wordpress"]},
                  "postgresql": {"installed": False}},
    "wordpress": [{"path": "/usr/share/wordpress", "layout": "debian",
                   "config": "/etc/wordpress/config-default.php", "host": "default",
                   "db_name": "wordpress", "table_prefix": "wp_",
                   "content_dir": "/var/lib/wordpress/wp-content", "sites": [NGINX_SITE]}],
    "warnings": [],
}  # fmt: skip

BARE = {
    "web_servers": {"nginx": {"installed": False}, "apache": {"installed": False}},
    "sites": [],
    "php_fpm": {"pools": []},
    "databases": {"mariadb": {"installed": False}, "postgresql": {"installed": False}},
    "wordpress": [],
    "warnings": [],
}


def upstream(*names: str, server: str = "nginx") -> dict:
    """Upstream installs in /var/www/<name>, each with its own database of that name."""
    found = copy.deepcopy(BARE)
    found["web_servers"][server]["installed"] = True
    found["php_fpm"]["pools"] = [{"id": "8.2/www", "listen": SOCKET}]
    found["databases"]["mariadb"] = {"installed": True, "databases": [*names, "other"]}
    for index, name in enumerate(names):
        site = f"{server}:/etc/{server}/sites-enabled/{name}:1"
        found["sites"].append({"id": site, "server": server, "names": [f"{name}.lab.test"],
                               "ports": [80], "docroot": f"/var/www/{name}",
                               "php": [{"target": f"unix:/run/php/{name}.sock", "pool": None}]
                               if index else []})  # fmt: skip
        found["wordpress"].append({"path": f"/var/www/{name}", "layout": "upstream",
                                   "config": f"/var/www/{name}/wp-config.php", "host": None,
                                   "db_name": name, "table_prefix": f"{name}_",
                                   "content_dir": f"/var/www/{name}/wp-content",
                                   "sites": [site]})  # fmt: skip
    return found


def test_debian_package_backs_up_etc_and_its_content_folder_as_before():
    assert bf.backup_paths(DEBIAN) == ["/var/lib/wordpress/wp-content", "/etc"]
    (site,) = bf.backup_sites(DEBIAN)
    assert site["id"] == "/usr/share/wordpress (default)"
    # The configuration is in /etc: backed up with it, not named twice.
    assert site["files"] == ["/var/lib/wordpress/wp-content", "/etc/wordpress/config-default.php"]
    assert site["database"] == "wordpress"


def test_upstream_install_is_backed_up_as_its_folder():
    found = upstream("shop")
    assert bf.backup_paths(found) == ["/var/www/shop", "/etc"]
    assert bf.backup_sites(found)[0]["files"] == ["/var/www/shop"]


def test_two_sites_are_both_backed_up_each_with_its_database():
    found = upstream("shop", "blog")
    assert bf.backup_paths(found) == ["/var/www/shop", "/var/www/blog", "/etc"]
    assert [s["database"] for s in bf.backup_sites(found)] == ["shop", "blog"]


def test_content_and_config_outside_the_install_are_added_once():
    found = upstream("shop")
    found["wordpress"][0]["content_dir"] = "/srv/shop-content"
    found["wordpress"][0]["config"] = "/var/www/wp-config.php"
    found["wordpress"].append(dict(found["wordpress"][0], path="/var/www/shop/current"))
    assert bf.backup_paths(found) == ["/var/www/shop", "/srv/shop-content",
                                      "/var/www/wp-config.php", "/etc"]  # fmt: skip


def test_a_host_without_a_site_backs_up_etc_only_and_says_databases_do_not_apply():
    assert bf.backup_paths(BARE) == ["/etc"]
    assert bf.backup_sites(BARE) == []
    assert not bf.has_mariadb(BARE)
    assert bf.backup_not_applicable(BARE, True, []) == [bf.NO_MARIADB]
    # Switched off, or databases named explicitly (which then fail loudly): nothing to say.
    assert bf.backup_not_applicable(BARE, False, []) == []
    assert bf.backup_not_applicable(BARE, True, ["wordpress"]) == []
    assert bf.backup_not_applicable(DEBIAN, True, []) == []
    # No site: no front page to keep with the backup.
    assert bf.backup_not_applicable(BARE, False, [], True) == [bf.NO_SITE]
    assert bf.backup_not_applicable(DEBIAN, True, [], True) == []


def test_no_fact_is_a_bare_host_and_a_wrong_fact_is_an_error():
    assert bf.backup_paths(None) == ["/etc"]
    with pytest.raises(AnsibleFilterError):
        bf.backup_paths("nginx")


def test_explicit_paths_win_even_when_discovery_finds_other_sites():
    assert bf.backup_paths(upstream("shop"), ["/srv/data"]) == ["/srv/data"]
    assert bf.backup_paths(upstream("shop"), []) == []
    with pytest.raises(AnsibleFilterError):
        bf.backup_paths(BARE, "/etc")


def test_dedupe_keeps_order_and_drops_nested_and_repeated_paths():
    got = bf.dedupe_paths(["/var/www/a/", "/etc", "/etc/wordpress", "/var/www", "/etc"])
    assert got == ["/etc", "/var/www"]
    # /etc is not a parent of /etcetera.
    assert bf.dedupe_paths(["/etc", "/etcetera"]) == ["/etc", "/etcetera"]


def test_site_evidence_says_whether_explicit_paths_hold_each_site():
    found = upstream("shop", "blog")
    held = bf.site_evidence(found, ["/var/www/shop", "/etc"], True)
    assert [(s["id"], s["files_backed_up"], s["database"]) for s in held] == [
        ("/var/www/shop", True, "shop"),
        ("/var/www/blog", False, "blog"),
    ]
    assert [s["database"] for s in bf.site_evidence(found, [], False)] == [None, None]


def test_a_site_whose_database_is_not_on_the_host_has_none_to_dump():
    found = upstream("shop")
    found["databases"]["mariadb"]["databases"] = ["other"]
    assert bf.backup_sites(found)[0]["database"] is None
    assert bf.backup_sites(found)[0]["db_name"] == "shop"


def test_drill_plans_the_lab_site_as_today():
    (plan,) = bf.drill_sites(DEBIAN)
    assert plan == {
        "id": "/usr/share/wordpress (default)",
        "layout": "debian",
        "path": "/usr/share/wordpress",
        "docroot": "/usr/share/wordpress",
        "wp_content_dir": "/var/lib/wordpress/wp-content",
        "wp_config": "/etc/wordpress/config-default.php",
        "database": "wordpress",
        "table_prefix": "wp_",
        "php_fpm_socket": SOCKET,
        "web_server": "nginx",
        "site_not_applicable": None,
    }
    assert bf.drill_not_applicable(DEBIAN, [plan], True) == []


def test_drill_plans_each_upstream_site_with_its_own_pool_socket():
    plans = bf.drill_sites(upstream("shop", "blog"))
    assert [(p["id"], p["docroot"], p["wp_config"], p["database"], p["table_prefix"])
            for p in plans] == [
        ("/var/www/shop", "/var/www/shop", "/var/www/shop/wp-config.php", "shop", "shop_"),
        ("/var/www/blog", "/var/www/blog", "/var/www/blog/wp-config.php", "blog", "blog_"),
    ]  # fmt: skip
    # shop's site names no FastCGI target: the host's pool; blog's its own.
    assert [p["php_fpm_socket"] for p in plans] == [SOCKET, "/run/php/blog.sock"]


def test_drill_under_apache_is_served_by_apache():
    (plan,) = bf.drill_sites(upstream("shop", server="apache"))
    assert plan["web_server"] == "apache"
    assert plan["site_not_applicable"] is None


def test_drill_on_a_bare_host_has_nothing_to_serve_and_says_so():
    assert bf.drill_sites(BARE) == []
    assert bf.drill_not_applicable(BARE, [], True) == [
        "no MariaDB/MySQL: database restore not applicable",
        "no WordPress site: serving a restored site not applicable",
    ]


def test_drill_without_web_server_or_php_still_drills_files_and_database():
    found = upstream("shop")
    found["web_servers"]["nginx"]["installed"] = False
    (plan,) = bf.drill_sites(found)
    assert plan["database"] == "shop"
    assert plan["site_not_applicable"] == (
        "/var/www/shop: no web server: serving the restored site not applicable"
    )
    found = upstream("shop")
    found["php_fpm"]["pools"] = []
    (plan,) = bf.drill_sites(found)
    assert "no PHP-FPM pool" in plan["site_not_applicable"]
    assert bf.drill_not_applicable(found, [plan], True) == [plan["site_not_applicable"]]


def test_drill_of_a_site_without_a_local_database_notes_it():
    found = upstream("shop")
    found["databases"]["mariadb"]["databases"] = []
    (plan,) = bf.drill_sites(found)
    assert plan["database"] is None
    # No scratch database, and the restored copy is not served against the live one.
    assert bf.drill_not_applicable(found, [plan], True) == [
        "/var/www/shop: no local database: its database restore not applicable",
        "/var/www/shop: no database restored: serving the restored site not applicable",
    ]


def test_explicit_drill_settings_pin_one_site_over_the_first_discovered():
    found = upstream("shop", "blog")
    plans = bf.drill_sites(found, {"database": "legacy", "docroot": None, "wp_config": None})
    assert [(p["id"], p["database"], p["docroot"]) for p in plans] == [
        ("/var/www/shop", "legacy", "/var/www/shop")
    ]
    # Nothing discovered: the explicit settings describe the site (today's variables).
    (plan,) = bf.drill_sites(
        copy.deepcopy(DEBIAN) | {"wordpress": []},
        {"database": "wordpress", "docroot": "/usr/share/wordpress",
         "wp_content_dir": "/var/lib/wordpress/wp-content",
         "wp_config": "/etc/wordpress/config-default.php", "php_fpm_socket": SOCKET},
    )  # fmt: skip
    assert plan["id"] == "/usr/share/wordpress"
    assert plan["layout"] == "debian"
    assert plan["web_server"] == "nginx"
    assert plan["site_not_applicable"] is None


def test_drill_results_name_each_site_with_its_database_server_and_result():
    plans = bf.drill_sites(upstream("shop", "blog"))
    checks = [
        {"name": "files", "ok": True, "site": None},
        {"name": "database shop import", "ok": True, "site": "/var/www/shop"},
        {"name": "site", "ok": True, "site": "/var/www/shop"},
        {"name": "database blog import", "ok": True, "site": "/var/www/blog"},
        {"name": "site", "ok": False, "site": "/var/www/blog"},
    ]
    got = bf.drill_results(plans, checks)
    assert [(r["id"], r["database"], r["served_by"], r["ok"], r["checks"]) for r in got] == [
        ("/var/www/shop", "shop", "nginx", True, 2),
        ("/var/www/blog", "blog", None, False, 2),
    ]
    # A site the drill never reached has no result, not a pass.
    assert bf.drill_results(plans, checks[:1])[0]["ok"] is None
