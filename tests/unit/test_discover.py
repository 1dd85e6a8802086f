"""The discovery module over captured configurations, imported from the file Ansible ships.

Host trees are built under tmp_path from the fixtures in discover_fixtures/ (Debian's own
nginx files, the lab's configuration taken from provision.sh itself, hand-written sites of the
kinds providers meet) and the module is pointed at them through its ``root`` parameter.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.unit import role_code

REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "roles/discover/library/omctl_discover.py"
FIXTURES = Path(__file__).parent / "discover_fixtures"
dm = role_code.load(MODULE, "omctl_discover")

# The lab's secrets as provision.sh would generate them: none may reach the result.
DB_PASSWORD = "LabDbPasswordCanary0123456789abc"
SALT = "LabSaltCanary"
MIME_TYPES = "types {\n    text/html html;\n    image/svg+xml svg svgz;\n}\n"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def build(root: Path, files: dict[str, str], links: dict[str, str] | None = None) -> Path:
    """A host tree: files by host path, symbolic links (host path -> target, as on the host)."""
    for path, text in files.items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    for path, target in (links or {}).items():
        link = root / path.lstrip("/")
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(target)
    return root


def heredoc(script: str, start: str) -> str:
    """The text of the heredoc that begins with the line ``start`` in a shell script."""
    lines = script.splitlines()
    first = lines.index(start) + 1
    last = lines.index("EOF", first)
    return "\n".join(lines[first:last]) + "\n"


def lab_files() -> dict[str, str]:
    """The files the lab image's provisioning writes, as provision.sh writes them for PHP 8.2."""
    script = (REPO / "omctl/data/lab/provision.sh").read_text()
    site = heredoc(script, "cat > /etc/nginx/sites-available/wordpress <<EOF")
    site = site.replace("${PHP_VERSION}", "8.2").replace(
        "${PHP_FPM_SOCKET}", "/run/php/php8.2-fpm.sock"
    )
    config = heredoc(script, 'cat > "$WP_CONFIG" <<EOF')
    salts = "".join(
        f"define('{key}', '{SALT}{n}');\n"
        for n, key in enumerate(
            (
                "AUTH_KEY",
                "SECURE_AUTH_KEY",
                "LOGGED_IN_KEY",
                "NONCE_KEY",
                "AUTH_SALT",
                "SECURE_AUTH_SALT",
                "LOGGED_IN_SALT",
                "NONCE_SALT",
            )  # as provision.sh loops over them
        )
    )
    config = (
        config.replace("${WP_DB}", "wordpress")
        .replace("${WP_DB_USER}", "wordpress")
        .replace("${DB_PASSWORD}", DB_PASSWORD)
        .replace("${salt_lines}", salts)
    )
    files = {
        "/etc/nginx/sites-available/wordpress": re.sub(r"\\\$", "$", site),
        "/etc/wordpress/config-default.php": re.sub(r"\\\$", "$", config),
        "/etc/nginx/nginx.conf": fixture("nginx/nginx.conf"),
        "/etc/nginx/mime.types": MIME_TYPES,
        "/etc/nginx/snippets/fastcgi-php.conf": fixture("nginx/fastcgi-php.conf"),
        "/etc/nginx/fastcgi.conf": fixture("nginx/fastcgi.conf"),
        "/etc/nginx/sites-available/default": fixture("nginx/debian-default"),
        "/etc/php/8.2/fpm/pool.d/www.conf": fixture("php/www.conf"),
        "/usr/share/wordpress/wp-includes/version.php": fixture("wordpress/version.php"),
        "/usr/share/wordpress/wp-config.php": fixture("wordpress/debian-wp-config.php"),
        "/usr/share/wordpress/wp-settings.php": "<?php\n",
        "/usr/sbin/nginx": "",
        "/usr/sbin/mariadbd": "",
        "/usr/bin/mariadb": "",
        "/usr/sbin/php-fpm8.2": "",
    }
    assert "DB_PASSWORD" in files["/etc/wordpress/config-default.php"]
    return files


class Replay:
    """Answers commands from captured output; records every argv it was asked to run."""

    def __init__(self, answers: dict[str, tuple[int, str, str]]) -> None:
        self.answers = answers
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str]) -> tuple[int, str, str]:
        self.calls.append(argv)
        for prefix, answer in self.answers.items():
            if " ".join(argv).startswith(prefix):
                return answer
        return 127, "", f"{argv[0]}: not captured"


def lab_replay() -> Replay:
    return Replay(
        {
            "systemctl show": (0, fixture("commands/systemctl-show.txt"), ""),
            "/usr/sbin/nginx -v": (0, "", "nginx version: nginx/1.22.1\n"),
            "/usr/sbin/mariadbd --version": (
                0,
                "/usr/sbin/mariadbd  Ver 10.11.11-MariaDB-0+deb12u1 for debian-linux-gnu\n",
                "",
            ),
            "/usr/bin/mariadb": (0, fixture("commands/show-databases.txt"), ""),
        }
    )


# --- nginx -----------------------------------------------------------------------------------


def test_nginx_comments_quotes_and_multiline_values() -> None:
    parsed = dm.parse_nginx(fixture("nginx/two-tls-sites.conf"), "two.conf")
    upstream, plain, shop, blog = parsed
    assert (upstream.name, upstream.args, upstream.line) == ("upstream", ["shop_php"], 2)
    assert [d.args for d in upstream.block if d.name == "server"] == [
        ["unix:/run/php/php8.2-fpm-shop.sock"]
    ]
    names = [d for d in shop.block if d.name == "server_name"]
    assert [(d.args, d.line) for d in names] == [(["shop.example.com", "www.shop.example.com"], 16)]
    assert [d.args for d in shop.block if d.name == "root"] == [["/var/www/shop/current"]]
    # Quotes keep ; { } and # as text; the comment after a value is not a value.
    assert ["$ignored", "a ; { } # inside quotes"] in [d.args for d in blog.block]
    assert [d.args for d in blog.block if d.name == "ssl_certificate"] == [
        ["/etc/ssl/certs/blog.pem"]
    ]
    assert plain.args == [] and plain.line == 6


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (fixture("nginx/broken.conf"), "broken.conf:8: unexpected end of file"),
        ("server {\n  listen 80\n}\n", 'broken.conf:2: "listen" is not terminated by ";"'),
        ("}\n", 'broken.conf:1: unexpected "}"'),
        ("server_name 'open;\n", "broken.conf:1: unterminated quoted string"),
    ],
)
def test_nginx_syntax_errors_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(dm.ParseError, match=re.escape(message)):
        dm.parse_nginx(text, "broken.conf")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], ("*", 80, False, False)),
        (["80", "default_server"], ("*", 80, False, True)),
        (["[::]:443", "ssl", "http2"], ("[::]", 443, True, False)),
        (["127.0.0.1:8443", "ssl"], ("127.0.0.1", 8443, True, False)),
        (["127.0.0.1"], ("127.0.0.1", 80, False, False)),
        (["[::1]"], ("[::1]", 80, False, False)),
        (["*:8080", "default"], ("*", 8080, False, True)),
        (["unix:/run/nginx.sock"], ("unix:/run/nginx.sock", None, False, False)),
    ],
)
def test_nginx_listen(args: list[str], expected: tuple) -> None:
    found = dm.nginx_listen(args)
    assert (found["address"], found["port"], found["ssl"], found["default_server"]) == expected


def test_debian_default_site_through_the_include_globs(tmp_path: Path) -> None:
    root = build(
        tmp_path,
        {
            "/etc/nginx/nginx.conf": fixture("nginx/nginx.conf"),
            "/etc/nginx/sites-available/default": fixture("nginx/debian-default"),
            "/etc/nginx/mime.types": MIME_TYPES,
        },
        {"/etc/nginx/sites-enabled/default": "/etc/nginx/sites-available/default"},
    )
    tree = dm.Tree(str(root))
    config, files = dm.load_nginx(tree)
    # modules-enabled/*.conf and conf.d/*.conf match nothing: no warning, as nginx says none.
    assert files == [
        "/etc/nginx/nginx.conf",
        "/etc/nginx/mime.types",
        "/etc/nginx/sites-enabled/default",
    ]
    assert tree.warnings == []
    (site,) = dm.nginx_sites(config, tree)
    assert site["id"] == "nginx:/etc/nginx/sites-enabled/default:21"
    assert site["names"] == ["_"]
    assert site["listen"] == [
        {"address": "*", "port": 80, "ssl": False, "default_server": True},
        {"address": "[::]", "port": 80, "ssl": False, "default_server": True},
    ]
    assert (site["docroot"], site["tls"], site["certificate"]) == ("/var/www/html", False, None)
    assert site["php"] == []  # the PHP location is commented out


def test_missing_include_and_include_loop_are_warnings(tmp_path: Path) -> None:
    root = build(
        tmp_path,
        {
            "/etc/nginx/nginx.conf": "http {\n  include /etc/nginx/site.conf;\n"
            "  include missing.conf;\n}\n",
            "/etc/nginx/site.conf": "server { listen 81; }\ninclude site.conf;\n",
        },
    )
    tree = dm.Tree(str(root))
    config, _ = dm.load_nginx(tree)
    assert [s["ports"] for s in dm.nginx_sites(config)] == [[81]]
    assert tree.warnings == [
        "/etc/nginx/site.conf:2: include loop through /etc/nginx/site.conf",
        "/etc/nginx/nginx.conf:3: included /etc/nginx/missing.conf does not exist",
    ]


# --- Apache ----------------------------------------------------------------------------------


def apache_files() -> dict[str, str]:
    return {
        "/etc/apache2/apache2.conf": fixture("apache/apache2.conf"),
        "/etc/apache2/envvars": fixture("apache/envvars"),
        "/etc/apache2/ports.conf": fixture("apache/ports.conf"),
        "/etc/apache2/conf-available/php8.2-fpm.conf": fixture("apache/php8.2-fpm.conf"),
        "/etc/apache2/sites-available/two-vhosts.conf": fixture("apache/two-vhosts.conf"),
        "/etc/php/8.2/fpm/pool.d/www.conf": fixture("php/www.conf"),
        "/etc/php/8.2/fpm/pool.d/secure.conf": "[secure]\nuser = secure\n"
        "listen = /run/php/php8.2-fpm-secure.sock\npm = ondemand\npm.max_children = 3\n",
        **{
            f"/etc/apache2/mods-available/{name}.load": f"LoadModule {name}_module "
            f"/usr/lib/apache2/modules/mod_{name}.so\n"
            for name in ("ssl", "proxy", "proxy_fcgi", "setenvif")
        },
        "/usr/sbin/apache2": "",
        "/var/www/news/wp-includes/version.php": '<?php\n$wp_version = "6.6.2";\n',
        "/var/www/news/wp-config.php": fixture("wordpress/wp-config-upstream.php"),
        "/srv/secure/htdocs/wp-includes/version.php": fixture("wordpress/version.php"),
        "/srv/secure/htdocs/wp-config.php": fixture("wordpress/wp-config-variants.php"),
    }


APACHE_LINKS = {
    **{
        f"/etc/apache2/mods-enabled/{name}.load": f"../mods-available/{name}.load"
        for name in ("ssl", "proxy", "proxy_fcgi", "setenvif")
    },
    "/etc/apache2/conf-enabled/php8.2-fpm.conf": "../conf-available/php8.2-fpm.conf",
    "/etc/apache2/sites-enabled/two-vhosts.conf": "../sites-available/two-vhosts.conf",
}


def test_apache_two_vhosts_with_ssl_and_php_fpm(tmp_path: Path) -> None:
    found = dm.discover(str(build(tmp_path, apache_files(), APACHE_LINKS)), run=None)
    news, secure = found["sites"]
    assert news == {
        "id": "apache:/etc/apache2/sites-enabled/two-vhosts.conf:2",
        "server": "apache",
        "file": "/etc/apache2/sites-enabled/two-vhosts.conf",
        "line": 2,
        "names": ["news.example.net", "www.news.example.net", "old.news.example.net"],
        "listen": [{"address": "*", "port": 80, "ssl": False, "default_server": False}],
        "ports": [80],
        "tls": False,
        "certificate": None,
        "docroot": "/var/www/news",
        "roots": ["/var/www/news"],
        # The site sets no handler: Debian's conf-enabled/php8.2-fpm.conf applies.
        "php": [{"target": "unix:/run/php/php8.2-fpm.sock", "pool": "8.2/www"}],
        "proxy": [],
        "wordpress_config": None,
    }
    assert secure["names"] == ["secure.example.net"]
    assert secure["ports"] == [443] and secure["tls"] is True
    assert secure["listen"][0]["default_server"] is True  # _default_:443
    assert secure["certificate"] == "/etc/ssl/certs/secure.example.net.pem"
    assert secure["docroot"] == "/srv/secure/htdocs"
    assert secure["php"] == [
        {"target": "unix:/run/php/php8.2-fpm-secure.sock", "pool": "8.2/secure"}
    ]
    assert found["web_servers"]["apache"]["files"] == [
        "/etc/apache2/apache2.conf",
        "/etc/apache2/mods-enabled/proxy.load",  # sorted as Apache sorts the glob
        "/etc/apache2/mods-enabled/proxy_fcgi.load",
        "/etc/apache2/mods-enabled/setenvif.load",
        "/etc/apache2/mods-enabled/ssl.load",
        "/etc/apache2/ports.conf",
        "/etc/apache2/conf-enabled/php8.2-fpm.conf",
        "/etc/apache2/sites-enabled/two-vhosts.conf",
    ]
    assert found["web_servers"]["nginx"]["installed"] is False
    by_path = {wp["path"]: wp for wp in found["wordpress"]}
    assert by_path["/var/www/news"]["sites"] == [news["id"]]
    assert by_path["/srv/secure/htdocs"]["sites"] == [secure["id"]]
    assert by_path["/var/www/news"]["version"] == "6.6.2"


def test_apache_sections_of_modules_not_loaded_are_not_served(tmp_path: Path) -> None:
    links = {k: v for k, v in APACHE_LINKS.items() if not k.endswith("/ssl.load")}
    found = dm.discover(str(build(tmp_path, apache_files(), links)), run=None)
    (news,) = found["sites"]  # the TLS vhost is inside <IfModule mod_ssl.c>
    assert news["names"][0] == "news.example.net"
    assert news["php"] == [{"target": "unix:/run/php/php8.2-fpm.sock", "pool": "8.2/www"}]


def test_apache_with_mod_php(tmp_path: Path) -> None:
    files = apache_files()
    files["/etc/apache2/mods-available/php8.2.load"] = (
        "LoadModule php_module /usr/lib/apache2/modules/libphp8.2.so\n"
    )
    links = {
        **APACHE_LINKS,
        "/etc/apache2/mods-enabled/php8.2.load": "../mods-available/php8.2.load",
    }
    news, secure = dm.discover(str(build(tmp_path, files, links)), run=None)["sites"]
    # Debian's php8.2-fpm.conf is inside <IfModule !mod_php8.c>: mod_php serves the site.
    assert news["php"] == [{"target": "mod_php", "pool": None}]
    assert secure["php"][0]["pool"] == "8.2/secure"  # its own handler still wins


def test_apache_unclosed_section_is_a_warning(tmp_path: Path) -> None:
    files = apache_files()
    files["/etc/apache2/sites-available/unclosed.conf"] = fixture("apache/unclosed.conf")
    links = {
        **APACHE_LINKS,
        "/etc/apache2/sites-enabled/unclosed.conf": "../sites-available/unclosed.conf",
    }
    found = dm.discover(str(build(tmp_path, files, links)), run=None)
    assert len(found["sites"]) == 2
    assert (
        "/etc/apache2/sites-enabled/unclosed.conf:1: <virtualhost> is never closed"
        in (found["warnings"])
    )


def test_apache_sites_enabled_without_apache2_conf(tmp_path: Path) -> None:
    files = {"/etc/apache2/sites-available/two-vhosts.conf": fixture("apache/two-vhosts.conf")}
    root = build(tmp_path, files, {k: v for k, v in APACHE_LINKS.items() if "sites" in k})
    found = dm.discover(str(root), run=None)
    assert [s["docroot"] for s in found["sites"]] == ["/var/www/news", "/srv/secure/htdocs"]
    assert found["sites"][0]["php"] == []  # no global handler without conf-enabled


# --- PHP-FPM ---------------------------------------------------------------------------------


def test_php_fpm_pools() -> None:
    (www,) = dm.parse_fpm_pools(fixture("php/www.conf"), "/etc/php/8.2/fpm/pool.d/www.conf", "8.2")
    assert www == {
        "id": "8.2/www",
        "name": "www",
        "version": "8.2",
        "file": "/etc/php/8.2/fpm/pool.d/www.conf",
        "line": 4,
        "listen": "/run/php/php8.2-fpm.sock",
        "user": "www-data",
        "group": "www-data",
        "pm": {
            "mode": "dynamic",
            "max_children": 5,
            "start_servers": 2,
            "min_spare_servers": 1,
            "max_spare_servers": 3,
            "max_requests": None,
        },
    }
    shop, legacy = dm.parse_fpm_pools(fixture("php/shop.conf"), "shop.conf", "8.2")
    assert shop["listen"] == "/run/php/php8.2-fpm-shop.sock"  # quoted, $pool replaced
    assert shop["pm"]["max_children"] == 12 and shop["pm"]["max_requests"] == 500
    assert (legacy["listen"], legacy["pm"]["mode"], legacy["group"]) == ("9000", "static", None)
    with pytest.raises(dm.ParseError, match=r"^broken.conf:1: bad section header"):
        dm.parse_fpm_pools(fixture("php/broken.conf"), "broken.conf", "8.2")


@pytest.mark.parametrize(
    ("target", "normalised"),
    [
        ("unix:/run/php/php8.2-fpm.sock", "unix:/run/php/php8.2-fpm.sock"),
        ("/var/run/php/php8.2-fpm.sock", "unix:/run/php/php8.2-fpm.sock"),
        ('"proxy:unix:/run/php/x.sock|fcgi://localhost"', "unix:/run/php/x.sock"),
        ("proxy:fcgi://127.0.0.1:9000", "127.0.0.1:9000"),
        ("fcgi://localhost:9001/var/www/site/$1", "127.0.0.1:9001"),
        ("localhost:9000", "127.0.0.1:9000"),
        ("9000", "*:9000"),
        ("0.0.0.0:9000", "*:9000"),
        ("php_upstream", "php_upstream"),  # an upstream defined nowhere
    ],
)
def test_fastcgi_targets_are_normalised(target: str, normalised: str) -> None:
    assert dm.normalise_fcgi(target) == normalised


def test_fastcgi_targets_reach_pools() -> None:
    assert dm.fcgi_matches("127.0.0.1:9000", "*:9000")
    assert dm.fcgi_matches("127.0.0.1:9000", "127.0.0.1:9000")
    assert not dm.fcgi_matches("127.0.0.1:9000", "192.0.2.1:9000")
    assert not dm.fcgi_matches("127.0.0.1:9000", "*:9001")
    assert not dm.fcgi_matches("unix:/run/a.sock", "unix:/run/b.sock")
    assert not dm.fcgi_matches("php_upstream", "*:9000")


# --- WordPress -------------------------------------------------------------------------------


def test_wp_version() -> None:
    assert dm.wp_version(fixture("wordpress/version.php")) == "6.7.1"
    assert dm.wp_version('<?php\n$wp_version = "6.5-beta1";\n') == "6.5-beta1"
    assert dm.wp_version("<?php\n// $wp_version is set elsewhere\n") is None


def test_wp_config_upstream_reads_settings_never_secrets() -> None:
    text = fixture("wordpress/wp-config-upstream.php")
    values, warnings = dm.parse_wp_config(text, "/var/www/shop/wp-config.php", "/var/www/shop")
    # Commented-out defines (//, #, /* */) are not read.
    assert values == {
        "db_name": "shop_wp",
        "db_user": "shop",
        "db_host": "localhost",
        "db_charset": "utf8mb4",
        "table_prefix": "shop_",
    }
    assert warnings == []


def test_wp_config_variants() -> None:
    text = fixture("wordpress/wp-config-variants.php")
    values, warnings = dm.parse_wp_config(text, "/srv/blog/wp-config.php", "/srv/blog/public")
    assert values == {
        "db_name": "blog",  # double quotes, no spaces
        "db_user": "blog_rw",  # DEFINE with spaces before the parenthesis and the comma
        "content_dir": "/srv/blog/content",  # dirname(__FILE__) . '/content'
        "home": "https://blog.example.org",
        "siteurl": "https://blog.example.org/wp",
        "multisite": True,
        "table_prefix": "blog_",
    }
    assert warnings == ["/srv/blog/wp-config.php:6: DB_HOST is not a literal, not read"]


@pytest.mark.parametrize(
    ("php", "expected"),
    [
        ("'it\\'s'", "it's"),
        ('"a \\"b\\""', 'a "b"'),
        ("__DIR__ . '/x'", "/here/x"),
        ("ABSPATH . 'wp-content'", "/abs/wp-content"),
        ("'a' . 'b' . 'c'", "abc"),
        ("false", False),
        ("42", 42),
    ],
)
def test_php_constant_expressions(php: str, expected: object) -> None:
    value, _ = dm.php_value(php + ")", 0, "/here", "/abs")
    assert value == expected


@pytest.mark.parametrize("php", ["getenv('X')", '"db_$suffix"', "$name", "CONSTANT_X"])
def test_php_values_that_need_php_are_not_guessed(php: str) -> None:
    with pytest.raises(dm.Unresolved):
        dm.php_value(php + ")", 0, "/here", "/abs")


def test_wordpress_search_is_bounded_and_follows_links_once(tmp_path: Path) -> None:
    version = "<?php\n$wp_version = '6.7.1';\n"
    root = build(
        tmp_path,
        {
            "/srv/a/b/c/wp-includes/version.php": version,  # depth 3
            "/srv/a/b/c/d/wp-includes/version.php": version,  # inside an install
            "/srv/w/x/y/z/wp-includes/version.php": version,  # depth 4
            "/srv/www/site/releases/1/wp-includes/version.php": version,
            "/srv/www/site/releases/2/wp-includes/version.php": version,
        },
        {"/srv/www/site/current": "releases/2", "/srv/loop": "/srv"},
    )
    tree = dm.Tree(str(root))
    assert dm.find_wordpress(tree, [("/srv", 3)]) == [
        ("/srv/a/b/c", "/srv/a/b/c"),
        ("/srv/www/site/current", "/srv/www/site/releases/2"),
    ]
    assert ("/srv/w/x/y/z", "/srv/w/x/y/z") in dm.find_wordpress(tree, [("/srv", 4)])
    assert dm.find_wordpress(tree, [("/srv", 4)], limit=2) == []
    assert tree.warnings == ["WordPress search stopped after 2 directories"]


# --- whole hosts -----------------------------------------------------------------------------


def test_the_lab_host(tmp_path: Path) -> None:
    root = build(
        tmp_path,
        lab_files(),
        {"/etc/nginx/sites-enabled/wordpress": "/etc/nginx/sites-available/wordpress"},
    )
    replay = lab_replay()
    found = dm.discover(str(root), run=replay)
    (site,) = found["sites"]
    assert site == {
        "id": "nginx:/etc/nginx/sites-enabled/wordpress:2",
        "server": "nginx",
        "file": "/etc/nginx/sites-enabled/wordpress",
        "line": 2,
        "names": ["_"],
        "listen": [
            {"address": "*", "port": 80, "ssl": False, "default_server": True},
            {"address": "[::]", "port": 80, "ssl": False, "default_server": True},
        ],
        "ports": [80],
        "tls": False,
        "certificate": None,
        "docroot": "/usr/share/wordpress",
        "roots": ["/usr/share/wordpress"],
        "php": [{"target": "unix:/run/php/php8.2-fpm.sock", "pool": "8.2/www"}],
        "proxy": [],
        "wordpress_config": None,
    }
    (wordpress,) = found["wordpress"]
    assert wordpress == {
        "path": "/usr/share/wordpress",
        "realpath": "/usr/share/wordpress",
        "version": "6.7.1",
        "layout": "debian",
        "config": "/etc/wordpress/config-default.php",
        "host": "default",
        "db_name": "wordpress",
        "db_user": "wordpress",
        "db_host": "localhost",
        "db_charset": "utf8mb4",
        "table_prefix": "wp_",
        "content_dir": "/var/lib/wordpress/wp-content",
        "home": None,  # defined from $_SERVER: not read
        "siteurl": None,
        "multisite": False,
        "sites": [site["id"]],
    }
    nginx = found["web_servers"]["nginx"]
    assert (nginx["installed"], nginx["version"], nginx["service"]["active"]) == (
        True,
        "1.22.1",
        "active",
    )
    assert found["web_servers"]["apache"] == {
        "installed": False,
        "binary": None,
        "version": None,
        "service": None,
        "config": None,
        "files": [],
    }
    mariadb = found["databases"]["mariadb"]
    assert mariadb["flavour"] == "mariadb" and mariadb["version"] == "10.11.11"
    assert mariadb["socket"] == "/run/mysqld/mysqld.sock"
    assert mariadb["databases"] == ["wordpress"]  # system schemas left out
    assert found["databases"]["postgresql"]["installed"] is False
    assert found["php_fpm"]["versions"] == [
        {
            "version": "8.2",
            "binary": "/usr/sbin/php-fpm8.2",
            "service": {
                "unit": "php8.2-fpm.service",
                "load": "loaded",
                "active": "failed",
                "sub": "failed",
                "enabled": "enabled",
            },
        }
    ]
    # The database list is read without a shell, through the socket the options name.
    assert [
        "/usr/bin/mariadb",
        "--protocol=socket",
        "--socket=/run/mysqld/mysqld.sock",
        "--connect-timeout=5",
        "--batch",
        "--skip-column-names",
        "-e",
        "SHOW DATABASES",
    ] in replay.calls
    # The lab sets its URLs from the request's Host header: said, not guessed.
    assert found["warnings"] == [
        "/etc/wordpress/config-default.php:23: WP_HOME is not a literal, not read",
        "/etc/wordpress/config-default.php:24: WP_SITEURL is not a literal, not read",
    ]
    dumped = json.dumps(found)
    assert DB_PASSWORD not in dumped and SALT not in dumped and "DB_PASSWORD" not in dumped


def test_debian_package_serving_several_hosts(tmp_path: Path) -> None:
    files = lab_files()
    files["/etc/wordpress/config-shop.example.com.php"] = (
        "<?php\ndefine('DB_NAME', 'shop');\ndefine('DB_PASSWORD', 'x');\n"
    )
    files["/etc/wordpress/config-drill.php"] = "<?php\ndefine('DB_NAME', 'drill');\n"
    files["/etc/nginx/sites-available/shop"] = (
        "server {\n  listen 80;\n  server_name shop.example.com www.shop.example.com;\n"
        "  root /usr/share/wordpress;\n}\n"
        "server {\n  listen 127.0.0.1:8099;\n  root /usr/share/wordpress;\n"
        "  location ~ \\.php$ {\n    fastcgi_param WORDPRESS_CONFIG drill;\n"
        "    fastcgi_pass unix:/run/php/php8.2-fpm.sock;\n  }\n}\n"
    )
    links = {
        "/etc/nginx/sites-enabled/wordpress": "/etc/nginx/sites-available/wordpress",
        "/etc/nginx/sites-enabled/shop": "/etc/nginx/sites-available/shop",
    }
    found = dm.discover(str(build(tmp_path, files, links)), run=None)
    shop, drill, lab = found["sites"]
    assert drill["wordpress_config"] == "drill"
    by_host = {wp["host"]: wp for wp in found["wordpress"]}
    assert sorted(by_host) == ["default", "drill", "shop.example.com"]
    # www.shop.example.com loads its parent domain's file; "_" falls back to the default.
    assert by_host["shop.example.com"]["sites"] == [shop["id"]]
    assert by_host["drill"]["sites"] == [drill["id"]]
    assert by_host["default"]["sites"] == [lab["id"]]
    # Unset in config-drill.php: Debian's wp-config.php supplies them.
    assert by_host["drill"]["db_user"] == "wordpress"
    assert by_host["drill"]["content_dir"] == "/var/lib/wordpress/wp-content"
    assert (by_host["shop.example.com"]["db_name"], by_host["drill"]["db_name"]) == (
        "shop",
        "drill",
    )


def test_two_upstream_sites_with_tls(tmp_path: Path) -> None:
    files = {
        "/etc/nginx/nginx.conf": fixture("nginx/nginx.conf"),
        "/etc/nginx/mime.types": MIME_TYPES,
        "/etc/nginx/conf.d/shops.conf": fixture("nginx/two-tls-sites.conf"),
        "/etc/nginx/conf.d/broken.conf": fixture("nginx/broken.conf"),
        "/etc/nginx/snippets/fastcgi-php.conf": fixture("nginx/fastcgi-php.conf"),
        "/etc/nginx/fastcgi.conf": fixture("nginx/fastcgi.conf"),
        "/etc/php/8.2/fpm/pool.d/shop.conf": fixture("php/shop.conf"),
        "/etc/php/8.2/fpm/pool.d/zz-broken.conf": fixture("php/broken.conf"),
        "/etc/mysql/mariadb.conf.d/50-server.cnf": "[server]\n\n[mysqld]\n"
        "socket = /run/mysqld/custom.sock\nbind-address = 127.0.0.1\nport = 3307\n",
        "/var/www/shop/releases/1/wp-includes/version.php": "<?php\n$wp_version = '6.6';\n",
        "/var/www/shop/releases/2/wp-includes/version.php": fixture("wordpress/version.php"),
        "/var/www/shop/releases/2/wp-config.php": fixture("wordpress/wp-config-upstream.php"),
        "/srv/blog/public/wp-includes/version.php": fixture("wordpress/version.php"),
        "/srv/blog/wp-config.php": fixture("wordpress/wp-config-variants.php"),
        "/srv/unserved/wp-includes/version.php": "<?php\n$wp_version = '5.9';\n",
    }
    root = build(tmp_path, files, {"/var/www/shop/current": "releases/2"})
    found = dm.discover(str(root), run=None)
    redirect, shop, blog = found["sites"]
    assert redirect["names"] == ["shop.example.com", "www.shop.example.com", "blog.example.org"]
    assert (redirect["docroot"], redirect["ports"], redirect["tls"]) == (None, [80], False)
    assert shop["names"] == ["shop.example.com", "www.shop.example.com"]
    assert (shop["ports"], shop["tls"]) == ([443], True)
    assert shop["certificate"] == "/etc/letsencrypt/live/shop.example.com/fullchain.pem"
    assert shop["php"] == [{"target": "unix:/run/php/php8.2-fpm-shop.sock", "pool": "8.2/shop"}]
    assert blog["php"] == [{"target": "127.0.0.1:9000", "pool": "8.2/legacy"}]
    assert blog["roots"] == ["/srv/blog/public", "/srv/blog/assets"]
    by_path = {wp["path"]: wp for wp in found["wordpress"]}
    assert sorted(by_path) == ["/srv/blog/public", "/srv/unserved", "/var/www/shop/current"]
    current = by_path["/var/www/shop/current"]
    assert current["realpath"] == "/var/www/shop/releases/2"
    assert (current["db_name"], current["table_prefix"], current["sites"]) == (
        "shop_wp",
        "shop_",
        [shop["id"]],
    )
    assert current["content_dir"] == "/var/www/shop/current/wp-content"
    blog_wp = by_path["/srv/blog/public"]
    assert blog_wp["config"] == "/srv/blog/wp-config.php"  # one level above the install
    assert blog_wp["content_dir"] == "/srv/blog/content"
    assert (blog_wp["db_name"], blog_wp["db_host"], blog_wp["sites"]) == (
        "blog",
        None,
        [blog["id"]],
    )
    assert by_path["/srv/unserved"]["sites"] == []
    assert by_path["/srv/unserved"]["config"] is None
    mariadb = found["databases"]["mariadb"]
    assert mariadb["installed"] is False  # option files alone are no server
    assert (mariadb["socket"], mariadb["port"], mariadb["bind_address"]) == (
        "/run/mysqld/custom.sock",
        3307,
        "127.0.0.1",
    )
    assert found["warnings"] == [
        "/etc/nginx/conf.d/broken.conf:8: unexpected end of file",
        "/etc/php/8.2/fpm/pool.d/zz-broken.conf:1: bad section header [broken",
        "/srv/blog/wp-config.php:6: DB_HOST is not a literal, not read",
        "/srv/unserved: WordPress without a wp-config.php",
    ]
    dumped = json.dumps(found)
    for secret in ("Sup3r-s3cret", "never-leak", "secret"):
        assert secret not in dumped


def test_a_bare_host_finds_nothing_and_says_so(tmp_path: Path) -> None:
    replay = Replay({"systemctl show": (1, "", "System has not been booted with systemd\n")})
    found = dm.discover(str(tmp_path), run=replay)
    assert found["sites"] == [] and found["wordpress"] == [] and found["php_fpm"]["pools"] == []
    assert not any(s["installed"] for s in found["web_servers"].values())
    assert not any(d["installed"] for d in found["databases"].values())
    assert found["warnings"] == ["systemctl show: System has not been booted with systemd"]
    assert [argv[0] for argv in replay.calls] == ["systemctl"]


def test_refused_database_login_is_reported(tmp_path: Path) -> None:
    root = build(tmp_path, lab_files())
    replay = lab_replay()
    replay.answers["/usr/bin/mariadb"] = (
        1,
        "",
        "ERROR 1698 (28000): Access denied for user 'root'@'localhost'\n",
    )
    mariadb = dm.discover(str(root), run=replay)["databases"]["mariadb"]
    assert mariadb["databases"] is None
    assert mariadb["databases_error"] == (
        "ERROR 1698 (28000): Access denied for user 'root'@'localhost'"
    )


def run_module(args: dict, check: bool = False) -> dict:
    return role_code.run_module(MODULE, args, check, timeout=60)


def test_module_end_to_end_in_check_mode(tmp_path: Path) -> None:
    root = build(
        tmp_path,
        lab_files(),
        {"/etc/nginx/sites-enabled/wordpress": "/etc/nginx/sites-available/wordpress"},
    )
    before = sorted(p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file())
    result = run_module({"root": str(root), "commands": False}, check=True)
    assert result["changed"] is False
    assert [s["docroot"] for s in result["sites"]] == ["/usr/share/wordpress"]
    assert [(w["version"], w["db_name"]) for w in result["wordpress"]] == [("6.7.1", "wordpress")]
    assert result["databases"]["mariadb"]["databases"] is None  # commands off
    assert result["web_servers"]["nginx"]["service"] is None
    assert "warnings" not in result  # Ansible's own key
    assert result["discovery_warnings"][0].endswith("WP_HOME is not a literal, not read")
    assert DB_PASSWORD not in json.dumps(result)
    assert sorted(p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()) == before


def test_module_rejects_bad_arguments(tmp_path: Path) -> None:
    result = run_module({"root": str(tmp_path / "missing")})
    assert result["failed"] is True
    assert result["msg"] == f"root {tmp_path / 'missing'} is not a directory"
    result = run_module({"root": str(tmp_path), "wordpress_depth": -1})
    assert result["msg"] == "wordpress_depth must be 0 or more, not -1"


# --- omctl show ------------------------------------------------------------------------------


def shown(discovered: dict) -> str:
    from omctl import console
    from omctl.cli import evidence

    with console.out.capture() as captured:
        evidence.render("baseline", "web1", {"collected_at": "2026-12-01T10:00:00Z",
                                             "discovered": discovered})  # fmt: skip
    return re.sub(r"\s+", " ", captured.get())


def test_show_prints_what_the_baseline_discovered(tmp_path: Path) -> None:
    root = build(
        tmp_path,
        lab_files(),
        {"/etc/nginx/sites-enabled/wordpress": "/etc/nginx/sites-available/wordpress"},
    )
    found = dm.discover(str(root), run=lab_replay())
    text = shown(found)
    assert "sites nginx _ :80 -> /usr/share/wordpress, php 8.2/www" in text
    assert (
        "wordpress /usr/share/wordpress 6.7.1 (debian, /etc/wordpress/config-default.php): "
        "db wordpress@localhost, prefix wp_, content /var/lib/wordpress/wp-content; nginx _"
    ) in text
    assert "databases mariadb 10.11.11 (active): wordpress" in text
    assert "php-fpm pools 8.2/www /run/php/php8.2-fpm.sock (dynamic, max 5)" in text
    assert "warnings /etc/wordpress/config-default.php:23: WP_HOME is not a literal" in text


def test_show_says_what_a_bare_host_lacks(tmp_path: Path) -> None:
    text = shown(dm.discover(str(tmp_path), run=None))
    assert "sites none: no web server" in text
    assert "wordpress none found" in text
    assert "databases none: no database server" in text
    assert "php-fpm pools none" in text


def test_show_prints_host_data_as_text_not_markup(tmp_path: Path) -> None:
    site = "server {\n  listen 80;\n  server_name '[red]evil[/red]';\n  root /var/www/x;\n}\n"
    root = build(tmp_path, {"/etc/nginx/nginx.conf": f"http {{\n{site}}}\n"})
    assert "nginx [red]evil[/red] :80 -> /var/www/x" in shown(dm.discover(str(root), run=None))


def test_the_documentation_is_the_interface(tmp_path: Path) -> None:
    import yaml

    doc = yaml.safe_load(dm.DOCUMENTATION)
    assert set(doc["options"]) == {"wordpress_paths", "wordpress_depth", "commands", "root"}
    assert doc["options"]["wordpress_paths"]["default"] == dm.WORDPRESS_PATHS
    assert yaml.safe_load(dm.EXAMPLES)
    returned = set(run_module({"root": str(tmp_path), "commands": False})) - {
        "changed", "invocation",
    }  # fmt: skip
    assert set(yaml.safe_load(dm.RETURN)) == returned


# --- the lab flavours, as omctl/data/lab/flavour.sh writes them -------------------------------

FLAVOUR_SCRIPT = REPO / "omctl/data/lab/flavour.sh"


def test_the_lab_apache_flavour(tmp_path: Path) -> None:
    """Debian's package behind Apache with php-fpm: the vhost taken from flavour.sh itself."""
    vhost = heredoc(
        FLAVOUR_SCRIPT.read_text(),
        "    cat > /etc/apache2/sites-available/wordpress.conf <<'EOF'",
    )
    files = {k: v for k, v in lab_files().items() if "nginx" not in k}
    files.update({k: v for k, v in apache_files().items() if k.startswith("/etc/apache2/")})
    del files["/etc/apache2/sites-available/two-vhosts.conf"]
    files["/etc/apache2/sites-available/wordpress.conf"] = vhost
    files["/usr/sbin/apache2"] = ""
    links = {k: v for k, v in APACHE_LINKS.items() if "two-vhosts" not in k and "ssl" not in k}
    links["/etc/apache2/sites-enabled/wordpress.conf"] = "../sites-available/wordpress.conf"
    found = dm.discover(str(build(tmp_path, files, links)), run=None)
    (site,) = found["sites"]
    assert site["id"] == "apache:/etc/apache2/sites-enabled/wordpress.conf:2"
    assert (site["server"], site["names"], site["ports"], site["tls"]) == (
        "apache",
        [],
        [80],
        False,
    )
    assert site["docroot"] == "/usr/share/wordpress"
    assert site["php"] == [{"target": "unix:/run/php/php8.2-fpm.sock", "pool": "8.2/www"}]
    (wordpress,) = found["wordpress"]
    assert (wordpress["layout"], wordpress["path"], wordpress["db_name"]) == (
        "debian",
        "/usr/share/wordpress",
        "wordpress",
    )
    assert wordpress["config"] == "/etc/wordpress/config-default.php"
    assert wordpress["content_dir"] == "/var/lib/wordpress/wp-content"
    assert wordpress["sites"] == [site["id"]]
    assert found["web_servers"]["nginx"]["installed"] is False


def test_the_lab_two_sites_flavour(tmp_path: Path) -> None:
    """Two upstream installs on one nginx: the server block taken from flavour.sh itself."""
    block = heredoc(
        FLAVOUR_SCRIPT.read_text(), '    cat > "/etc/nginx/sites-available/$name" <<EOF'
    )
    files = {
        k: v
        for k, v in lab_files().items()
        if "wordpress" not in k and not k.endswith("sites-available/default")
    }
    links: dict[str, str] = {}
    for name, default in (("shop", " default_server"), ("blog", "")):
        listen = f"listen 80{default};\n    listen [::]:80{default};"
        text = (
            block.replace("$listen", listen)
            .replace("$(php_version)", "8.2")
            .replace("$WWW", "/var/www")
            .replace("$host", f"{name}.lab.test")
            .replace("$name", name)
        )
        files[f"/etc/nginx/sites-available/{name}"] = re.sub(r"\\\$", "$", text)
        links[f"/etc/nginx/sites-enabled/{name}"] = f"/etc/nginx/sites-available/{name}"
        files[f"/var/www/{name}/wp-includes/version.php"] = fixture("wordpress/version.php")
        files[f"/var/www/{name}/wp-config.php"] = (
            f"<?php\ndefine( 'DB_NAME', '{name}' );\ndefine( 'DB_USER', '{name}' );\n"
            f"define( 'DB_PASSWORD', '{DB_PASSWORD}' );\ndefine( 'DB_HOST', 'localhost' );\n"
            "$table_prefix = 'wp_';\nrequire_once ABSPATH . 'wp-settings.php';\n"
        )
    found = dm.discover(str(build(tmp_path, files, links)), run=None)
    sites = {site["docroot"]: site for site in found["sites"]}
    assert sorted(sites) == ["/var/www/blog", "/var/www/shop"]
    assert sites["/var/www/shop"]["names"] == ["shop.lab.test"]
    assert sites["/var/www/shop"]["listen"][0]["default_server"] is True
    assert sites["/var/www/blog"]["names"] == ["blog.lab.test"]
    assert sites["/var/www/blog"]["listen"][0]["default_server"] is False
    installs = {wp["path"]: wp for wp in found["wordpress"]}
    for name in ("shop", "blog"):
        install = installs[f"/var/www/{name}"]
        assert install["layout"] == "upstream"
        assert (install["config"], install["db_name"], install["db_user"]) == (
            f"/var/www/{name}/wp-config.php",
            name,
            name,
        )
        assert install["content_dir"] == f"/var/www/{name}/wp-content"
        assert install["sites"] == [sites[f"/var/www/{name}"]["id"]]
    assert DB_PASSWORD not in json.dumps(found)
