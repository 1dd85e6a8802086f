"""The filters that turn discovery into the roles' defaults, imported from the file Ansible
loads (roles/discover/filter_plugins/discover_sites.py), over discover_found dicts of the
shapes the module returns."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tests.unit import role_code

REPO = Path(__file__).resolve().parents[2]
ds = role_code.load(REPO / "roles/discover/filter_plugins/discover_sites.py", "discover_sites")

NGINX = {
    "installed": True,
    "binary": "/usr/sbin/nginx",
    "version": "1.22.1",
    "service": {"unit": "nginx.service", "load": "loaded", "active": "active"},
}
NO_SERVER = {"installed": False, "binary": None, "version": None, "service": None}
MARIADB = {
    "installed": True,
    "flavour": "mariadb",
    "service": {"unit": "mariadb.service", "active": "active"},
    "databases": ["wordpress"],
}
NO_POSTGRES = {"installed": False, "service": None, "databases": None}
PHP = {
    "versions": [
        {
            "version": "8.2",
            "binary": "/usr/sbin/php-fpm8.2",
            "service": {"unit": "php8.2-fpm.service", "active": "active"},
        }
    ],
    "pools": [],
}


def listen(address: str, port: int, ssl: bool = False, default: bool = False) -> dict:
    return {"address": address, "port": port, "ssl": ssl, "default_server": default}


def site(sid: str, names: list[str], entries: list[dict], docroot: str | None, **kw) -> dict:
    server = sid.split(":", 1)[0]
    return {
        "id": sid,
        "server": server,
        "names": names,
        "listen": entries,
        "ports": sorted({e["port"] for e in entries if e["port"] is not None}),
        "tls": any(e["ssl"] for e in entries),
        "docroot": docroot,
        **kw,
    }


def wordpress(path: str, sites: list[str], **kw) -> dict:
    return {"path": path, "layout": "upstream", "db_name": "shop", "sites": sites, **kw}


LAB_ID = "nginx:/etc/nginx/sites-enabled/wordpress:2"
# The lab's debian host as the module reports it (provision.sh's site).
LAB = {
    "web_servers": {"nginx": NGINX, "apache": NO_SERVER},
    "sites": [
        site(
            LAB_ID,
            ["_"],
            [listen("*", 80, default=True), listen("[::]", 80, default=True)],
            "/usr/share/wordpress",
        )
    ],
    "wordpress": [
        wordpress(
            "/usr/share/wordpress",
            [LAB_ID],
            layout="debian",
            host="default",
            config="/etc/wordpress/config-default.php",
        )
    ],
    "databases": {"mariadb": MARIADB, "postgresql": NO_POSTGRES},
    "php_fpm": PHP,
    "warnings": [],
}

SHOP = "nginx:/etc/nginx/sites-enabled/shop:1"
BLOG = "nginx:/etc/nginx/sites-enabled/blog:1"
TWO = {
    **LAB,
    "sites": [
        site(
            SHOP,
            ["shop.lab.test", "www.shop.lab.test"],
            [listen("*", 80, default=True)],
            "/var/www/shop",
        ),
        site(BLOG, ["blog.lab.test"], [listen("*", 80)], "/var/www/blog"),
    ],
    "wordpress": [wordpress("/var/www/shop", [SHOP]), wordpress("/var/www/blog", [BLOG])],
}

BARE = {
    "web_servers": {"nginx": NO_SERVER, "apache": NO_SERVER},
    "sites": [],
    "wordpress": [],
    "databases": {
        "mariadb": {"installed": False, "service": None, "databases": None},
        "postgresql": NO_POSTGRES,
    },
    "php_fpm": {"versions": [], "pools": []},
    "warnings": [],
}

APACHE_ID = "apache:/etc/apache2/sites-enabled/000-default.conf:1"
APACHE = {
    **LAB,
    "web_servers": {
        "nginx": NO_SERVER,
        "apache": {**NGINX, "binary": "/usr/sbin/apache2", "service": {"unit": "apache2.service"}},
    },
    "sites": [
        site(APACHE_ID, [], [listen("*", 80)], "/usr/share/wordpress"),
    ],
    "wordpress": [wordpress("/usr/share/wordpress", [APACHE_ID], layout="debian")],
}


def test_lab_site_is_requested_on_loopback_without_a_host_header():
    (target,) = ds.omctl_site_targets(LAB)
    assert target == {
        "id": LAB_ID,
        "server": "nginx",
        "names": ["_"],
        "url": "http://127.0.0.1:80/",
        "port": 80,
        "host_header": None,
        "tls": False,
        "validate_certs": True,
        "docroot": "/usr/share/wordpress",
        "wordpress": "/usr/share/wordpress",
    }


def test_two_nginx_sites_each_with_its_first_name():
    targets = ds.omctl_site_targets(TWO)
    assert [(t["id"], t["url"], t["host_header"], t["wordpress"]) for t in targets] == [
        (SHOP, "http://127.0.0.1:80/", "shop.lab.test", "/var/www/shop"),
        (BLOG, "http://127.0.0.1:80/", "blog.lab.test", "/var/www/blog"),
    ]
    assert ds.omctl_site_ports(TWO) == [80]


def test_https_only_site_is_requested_over_https_without_certificate_validation():
    found = copy.deepcopy(LAB)
    found["sites"] = [
        site(
            "nginx:/etc/nginx/sites-enabled/secure:1",
            ["*.example.org", "~^www\\d+$", "secure.example.org"],
            [listen("[::]", 443, ssl=True), listen("*", 443, ssl=True)],
            "/var/www/secure",
        )
    ]
    (target,) = ds.omctl_site_targets(found)
    assert target["url"] == "https://127.0.0.1:443/"  # IPv4 before IPv6
    assert target["validate_certs"] is False
    assert target["tls"] is True
    # Wildcards and regular expressions are no Host header; the literal name is.
    assert target["host_header"] == "secure.example.org"
    assert target["wordpress"] is None
    assert ds.omctl_site_ports(found) == [443]


def test_site_with_both_ports_prefers_plain_http_but_stays_tls():
    found = copy.deepcopy(LAB)
    found["sites"][0]["listen"] = [listen("*", 443, ssl=True), listen("*", 8080)]
    found["sites"][0]["tls"] = True
    (target,) = ds.omctl_site_targets(found)
    assert (target["url"], target["validate_certs"], target["tls"]) == (
        "http://127.0.0.1:8080/",
        True,
        True,
    )
    assert ds.omctl_site_ports(found) == [443, 8080]


@pytest.mark.parametrize(
    ("address", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8081/"),
        ("192.0.2.10", "http://192.0.2.10:8081/"),
        ("[::1]", "http://[::1]:8081/"),
        ("[::]", "http://[::1]:8081/"),
        ("localhost", "http://127.0.0.1:8081/"),
        ("0.0.0.0", "http://127.0.0.1:8081/"),
    ],
)
def test_listen_address_gives_the_url(address, url):
    found = copy.deepcopy(LAB)
    found["sites"][0]["listen"] = [listen(address, 8081)]
    assert ds.omctl_site_targets(found)[0]["url"] == url


def test_unix_socket_only_site_is_not_a_target_nor_a_port():
    found = copy.deepcopy(LAB)
    found["sites"][0]["listen"] = [
        {"address": "unix:/run/nginx.sock", "port": None, "ssl": False, "default_server": False}
    ]
    assert ds.omctl_site_targets(found) == []
    assert ds.omctl_site_ports(found) == []


def test_apache_vhost_without_server_name():
    (target,) = ds.omctl_site_targets(APACHE)
    assert (target["server"], target["url"], target["host_header"]) == (
        "apache",
        "http://127.0.0.1:80/",
        None,
    )
    assert target["wordpress"] == "/usr/share/wordpress"
    assert ds.omctl_service_units(APACHE) == ["apache2", "mariadb", "php8.2-fpm"]
    assert ds.omctl_web_servers(APACHE) == ["apache"]


def test_apache_server_name_with_port_and_default_address():
    found = copy.deepcopy(APACHE)
    found["sites"][0]["names"] = ["Shop.Example.org:80", "www.shop.example.org"]
    found["sites"][0]["listen"] = [listen("_default_", 80, default=True)]
    (target,) = ds.omctl_site_targets(found)
    assert (target["url"], target["host_header"]) == ("http://127.0.0.1:80/", "shop.example.org")


def test_no_web_server_gives_nothing():
    assert ds.omctl_site_targets(BARE) == []
    assert ds.omctl_site_ports(BARE) == []
    assert ds.omctl_service_units(BARE) == []
    assert ds.omctl_web_servers(BARE) == []


def test_no_site_reason_names_the_web_server_that_serves_none():
    assert ds.omctl_no_site_reason(BARE) == "no web server: site checks not applicable"
    found = copy.deepcopy(LAB)
    found["sites"] = []
    assert ds.omctl_no_site_reason(found, "web ports") == (
        "nginx serves no site the host can request: web ports not applicable"
    )


def test_wordpress_paths_by_layout():
    assert ds.omctl_wordpress_paths(LAB) == []
    assert ds.omctl_wordpress_paths(LAB, "debian") == ["/usr/share/wordpress"]
    assert ds.omctl_wordpress_paths(TWO) == ["/var/www/blog", "/var/www/shop"]
    assert ds.omctl_wordpress_paths(BARE) == []


def test_lab_units_and_web_server():
    assert ds.omctl_service_units(LAB) == ["nginx", "mariadb", "php8.2-fpm"]
    assert ds.omctl_web_servers(LAB) == ["nginx"]


def test_mysql_and_postgresql_units():
    found = copy.deepcopy(BARE)
    found["databases"]["mariadb"] = {"installed": True, "service": {"unit": "mysql.service"}}
    found["databases"]["postgresql"] = {
        "installed": True,
        "service": {"unit": "postgresql.service"},
    }
    assert ds.omctl_service_units(found) == ["mysql", "postgresql"]


def test_debian_package_with_two_configs_names_the_install_once():
    found = copy.deepcopy(LAB)
    found["wordpress"].append(
        wordpress("/usr/share/wordpress", [LAB_ID], layout="debian", host="shop.example.org")
    )
    assert ds.omctl_site_targets(found)[0]["wordpress"] == "/usr/share/wordpress"


def test_filters_are_registered_and_reject_what_is_not_the_fact():
    assert set(ds.FilterModule().filters()) == {
        "omctl_site_targets",
        "omctl_site_ports",
        "omctl_service_units",
        "omctl_web_servers",
        "omctl_site_requests",
        "omctl_no_site_reason",
        "omctl_wordpress_paths",
    }
    with pytest.raises(TypeError, match="discover_found"):
        ds.omctl_site_targets(None)


# Requests made of the targets (healthcheck, hardening).
SHOP_T = {
    "id": "nginx:/etc/nginx/sites-enabled/shop:1",
    "url": "http://127.0.0.1:80/",
    "host_header": "shop.lab.test",
    "validate_certs": True,
}
CATCH_ALL = {
    "id": "nginx:/etc/nginx/sites-enabled/wordpress:2",
    "url": "http://127.0.0.1:80/",
    "host_header": None,
    "validate_certs": True,
}
TLS_ONLY = {
    "id": "apache:/etc/apache2/sites-enabled/secure.conf:1",
    "url": "https://127.0.0.1:443/",
    "host_header": "secure.example.org",
    "validate_certs": False,
}


def test_each_site_is_its_own_request_with_its_host_header():
    shop, catch_all = ds.omctl_site_requests(
        [SHOP_T, CATCH_ALL], {"host": "ignored.example", "X-Probe": "omctl"}, True
    )
    assert shop["name"] == "site shop.lab.test"
    assert shop["label"] == "shop.lab.test at http://127.0.0.1:80/"
    # The site's name replaces an operator's Host header whatever its case; others stay.
    assert shop["headers"] == {"X-Probe": "omctl", "Host": "shop.lab.test"}
    assert catch_all["name"] == "site nginx:/etc/nginx/sites-enabled/wordpress:2"
    assert catch_all["headers"] == {"host": "ignored.example", "X-Probe": "omctl"}


def test_a_site_passes_on_2xx_or_3xx_without_following_redirects():
    (request,) = ds.omctl_site_requests([SHOP_T], {}, True)
    assert 200 in request["status"] and 301 in request["status"] and 399 in request["status"]
    assert 199 not in request["status"] and 400 not in request["status"]
    assert 503 not in request["status"]
    assert (request["expected"], request["follow_redirects"]) == ("2xx or 3xx", "none")


def test_certificates_are_validated_only_where_the_name_can_match():
    tls, plain = ds.omctl_site_requests([TLS_ONLY, SHOP_T], {}, True)
    assert (tls["validate_certs"], plain["validate_certs"]) == (False, True)
    (plain,) = ds.omctl_site_requests([SHOP_T], {}, False)
    assert plain["validate_certs"] is False


def test_no_site_no_request():
    assert ds.omctl_site_requests([], {}, True) == []
