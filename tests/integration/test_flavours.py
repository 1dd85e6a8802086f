"""The lab flavours: one host of each (bare1, upstream1, two-sites1, apache1) in a workspace of
its own, checked over SSH and HTTP to be the server it claims to be, and what discovery finds
on each.

The roles' end-to-end runs on these hosts build on the same ``flavour_lab`` fixture.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import REPO, Lab

TITLE = "omctl lab site"
ANSIBLE = str(Path(sys.executable).parent / "ansible")


def ssh(lab: Lab, host: str, command: str) -> str:
    done = lab.ssh(host, command)
    assert done.returncode == 0, (host, command, done.stderr)
    return done.stdout.strip()


def get(lab: Lab, host: str, host_header: str | None = None) -> tuple[int, str]:
    """GET / on the host's published HTTP port, optionally with a Host header."""
    conn = http.client.HTTPConnection("127.0.0.1", lab.host(host)["http_port"], timeout=20)
    try:
        conn.request("GET", "/", headers={"Host": host_header} if host_header else {})
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def title(page: str) -> str:
    match = re.search(r"<title>(.*?)</title>", page, re.S)
    return match[1] if match else ""


def units(lab: Lab, host: str) -> set[str]:
    out = ssh(lab, host, "systemctl list-unit-files --no-legend --plain | cut -d' ' -f1")
    return set(out.split())


def sql(lab: Lab, host: str, query: str) -> str:
    return ssh(lab, host, f'mariadb --protocol=socket -N -B -e "{query}"')


@pytest.fixture(scope="module")
def discovered(flavour_lab: Lab) -> dict[str, dict]:
    """The omctl_discover module run once over the four hosts (ad hoc, forks in parallel)."""
    env = {
        **flavour_lab.env,
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1",
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
    }
    done = subprocess.run(
        [
            ANSIBLE, "-i", "inventories/lab/hosts.yml", "all", "-f", "4",
            "-m", "omctl_discover", "-M", str(REPO / "roles" / "discover" / "library"),
        ],
        cwd=flavour_lab.ws, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    [task] = json.loads(done.stdout)["plays"][0]["tasks"]
    found = task["hosts"]
    assert sorted(found) == ["apache1", "bare1", "two-sites1", "upstream1"]
    return found


def test_inventory_and_status_name_the_flavours(flavour_lab: Lab) -> None:
    inventory = (flavour_lab.ws / "inventories" / "lab" / "hosts.yml").read_text()
    for name in ("bare", "upstream", "two-sites", "apache"):
        assert f"{name}1:" in inventory and f"lab_flavour: {name}\n" in inventory
    listed = flavour_lab.omctl("lab", "status", "--json")
    assert listed.code == 0, listed.stderr
    assert {h["hostname"]: h["flavour"] for h in listed.json()} == {
        "apache1": "apache",
        "bare1": "bare",
        "two-sites1": "two-sites",
        "upstream1": "upstream",
    }
    again = flavour_lab.omctl("lab", "up", "--flavour", "upstream", "--json", timeout=600)
    assert again.code == 0, again.stderr  # idempotent: the set-up is not run twice
    assert "set up as" not in again.stderr
    assert len(again.json()) == 4


def test_bare_has_no_web_stack(flavour_lab: Lab, discovered: dict[str, dict]) -> None:
    present = units(flavour_lab, "bare1")
    assert "ssh.service" in present
    assert not {u for u in present if re.match(r"(nginx|apache2|mariadb|mysql|php.*fpm)", u)}
    assert (
        ssh(flavour_lab, "bare1", "ls /usr/share/wordpress /etc/wordpress 2>&1 || true").count(
            "No such file"
        )
        == 2
    )
    closed = flavour_lab.ssh("bare1", "curl -sS -o /dev/null http://127.0.0.1/")
    assert closed.returncode == 7, closed  # curl: could not connect
    found = discovered["bare1"]
    assert found["sites"] == [] and found["wordpress"] == []
    assert not found["web_servers"]["nginx"]["installed"]
    assert not found["web_servers"]["apache"]["installed"]
    assert not found["databases"]["mariadb"]["installed"]


def test_upstream_is_its_own_install(flavour_lab: Lab, discovered: dict[str, dict]) -> None:
    status, page = get(flavour_lab, "upstream1", "shop.lab.test")
    assert status == 200 and TITLE in title(page)
    config = ssh(flavour_lab, "upstream1", "stat -c '%U:%G %a' /var/www/shop/wp-config.php")
    assert config == "root:www-data 640"
    assert ssh(flavour_lab, "upstream1", "grep -c DB_PASSWORD /var/www/shop/wp-config.php") == "1"
    admin = "/root/wordpress-admin-shop.lab.test.txt"  # the admin password, for root only
    assert ssh(flavour_lab, "upstream1", f"stat -c '%U %a' {admin}") == "root 600"
    assert ssh(flavour_lab, "upstream1", "dpkg-query -W wordpress 2>&1 || true").startswith(
        "dpkg-query: no packages found"
    )
    assert sql(flavour_lab, "upstream1", "SHOW DATABASES LIKE 'wordpress'") == ""
    assert sql(flavour_lab, "upstream1", "SELECT option_value FROM shop.wp_options "
               "WHERE option_name='home'") == "http://shop.lab.test"  # fmt: skip
    found = discovered["upstream1"]
    [site] = found["sites"]
    assert (site["server"], site["names"], site["docroot"]) == (
        "nginx",
        ["shop.lab.test"],
        "/var/www/shop",
    )
    [wordpress] = found["wordpress"]
    assert wordpress["layout"] == "upstream"
    assert (wordpress["path"], wordpress["config"], wordpress["db_name"]) == (
        "/var/www/shop",
        "/var/www/shop/wp-config.php",
        "shop",
    )
    assert wordpress["content_dir"] == "/var/www/shop/wp-content"
    assert wordpress["sites"] == [site["id"]]
    assert found["databases"]["mariadb"]["databases"] == ["shop"]


def test_two_sites_each_with_its_database(flavour_lab: Lab, discovered: dict[str, dict]) -> None:
    for name in ("shop", "blog"):
        status, page = get(flavour_lab, "two-sites1", f"{name}.lab.test")
        assert status == 200 and TITLE in title(page), name
        assert f"http://{name}.lab.test" in page  # the site's own links
        config = f"/var/www/{name}/wp-config.php"
        db = ssh(flavour_lab, "two-sites1", f"grep -o \"'DB_NAME', '[a-z]*'\" {config}")
        assert db == f"'DB_NAME', '{name}'"
        home = sql(flavour_lab, "two-sites1", f"SELECT option_value FROM {name}.wp_options "
                   "WHERE option_name='home'")  # fmt: skip
        assert home == f"http://{name}.lab.test"
    status, page = get(flavour_lab, "two-sites1", "other.lab.test")  # the default server: shop
    assert status == 200 and "http://shop.lab.test" in page
    found = discovered["two-sites1"]
    by_root = {site["docroot"]: site for site in found["sites"]}
    assert sorted(by_root) == ["/var/www/blog", "/var/www/shop"]
    assert by_root["/var/www/shop"]["names"] == ["shop.lab.test"]
    assert by_root["/var/www/blog"]["names"] == ["blog.lab.test"]
    installs = {wp["path"]: wp for wp in found["wordpress"]}
    assert sorted(installs) == ["/var/www/blog", "/var/www/shop"]
    for name in ("shop", "blog"):
        install = installs[f"/var/www/{name}"]
        assert (install["db_name"], install["config"]) == (name, f"/var/www/{name}/wp-config.php")
        assert install["sites"] == [by_root[f"/var/www/{name}"]["id"]]
    assert sorted(found["databases"]["mariadb"]["databases"]) == ["blog", "shop"]


def test_apache_serves_debians_wordpress(flavour_lab: Lab, discovered: dict[str, dict]) -> None:
    active = ssh(flavour_lab, "apache1", "systemctl is-active apache2 php8.2-fpm mariadb")
    assert active.split() == ["active"] * 3
    assert ssh(flavour_lab, "apache1", "apache2ctl -M 2>/dev/null | grep -c -E "
               "'mpm_event|proxy_fcgi|setenvif'") == "3"  # fmt: skip
    assert not {u for u in units(flavour_lab, "apache1") if u.startswith("nginx")}
    assert ssh(flavour_lab, "apache1", "command -v nginx || echo none") == "none"
    status, page = get(flavour_lab, "apache1")
    assert status == 200 and TITLE in title(page)
    found = discovered["apache1"]
    assert found["web_servers"]["apache"]["installed"]
    assert not found["web_servers"]["nginx"]["installed"]
    [site] = found["sites"]
    assert (site["server"], site["docroot"], site["ports"]) == (
        "apache",
        "/usr/share/wordpress",
        [80],
    )
    assert [php["pool"] for php in site["php"]] == ["8.2/www"]  # through proxy_fcgi
    [wordpress] = found["wordpress"]
    assert (wordpress["layout"], wordpress["path"], wordpress["db_name"]) == (
        "debian",
        "/usr/share/wordpress",
        "wordpress",
    )
    assert wordpress["config"] == "/etc/wordpress/config-default.php"
    assert wordpress["sites"] == [site["id"]]
