"""The baseline published to omctl matches what is really on the lab host."""

from __future__ import annotations

import json
import re

import pytest


@pytest.fixture(scope="module")
def run(run_playbook):
    return run_playbook("onboarding/baseline.yml")


@pytest.fixture(scope="module")
def baseline(run, hostname):
    assert run.status == "successful", run.stdout
    return run.evidence["baseline"][hostname]


def version_in(text: str, regex: str) -> str:
    match = re.search(regex, text, re.MULTILINE)
    assert match, f"no version matching {regex!r} in {text!r}"
    return match.group(1)


def test_run_changes_nothing(run):
    assert run.status == "successful"
    assert run.changed == {}


def test_listening_ports_include_ssh_and_http(baseline):
    tcp = {(p["port"], p["process"]) for p in baseline["ports"] if p["proto"] == "tcp"}
    assert (22, "sshd") in tcp
    assert (80, "nginx") in tcp
    assert baseline["ports_error"] is None


def test_nginx_version_is_the_installed_one(host, baseline):
    installed = version_in(host.run("nginx -v").stderr, r"nginx/([0-9][0-9.]*[0-9])")
    assert baseline["webstack"]["nginx"] == {
        "installed": True,
        "version": installed,
        "source": "nginx -v",
    }


def test_web_stack_versions(host, baseline):
    stack = baseline["webstack"]
    fpm = host.run("php-fpm8.2 -v").stdout
    assert stack["php"]["installed"]
    assert {
        "binary": "php-fpm8.2",
        "version": version_in(fpm, r"^PHP ([0-9][0-9.]*[0-9])"),
    } in stack["php"]["fpm"]
    mariadb = host.run("mariadbd --version").stdout
    assert stack["mariadb"]["version"] == version_in(mariadb, r"Ver ([0-9][0-9.]*[0-9])")
    wp = host.file("/usr/share/wordpress/wp-includes/version.php").content_string
    assert {
        "path": "/usr/share/wordpress",
        "version": version_in(wp, r"^\$wp_version\s*=\s*'([^']+)'"),
    } in stack["wordpress"]["sites"]


def test_packages_match_dpkg(host, baseline):
    packages = baseline["packages"]
    assert packages["supported"] is True
    assert packages["installed"]["nginx"] == host.package("nginx").version
    dpkg = host.check_output(
        "dpkg-query --show --showformat='${db:Status-Abbrev}\\n' | grep -c '^.i'"
    )
    assert packages["installed_count"] == len(packages["installed"]) == int(dpkg)
    assert packages["upgradable_count"] == len(packages["upgradable"])
    assert packages["security_count"] == sum(1 for u in packages["upgradable"] if u["security"])


def test_services(baseline):
    services = baseline["services"]
    for unit in ("ssh.service", "nginx.service", "mariadb.service", "php8.2-fpm.service"):
        assert unit in services["enabled"]
    assert services["failed_count"] == len(services["failed"])


def test_os_and_disks(host, baseline):
    assert baseline["os"]["kernel"] == host.check_output("uname -r")
    assert baseline["os"]["distribution"] == "Debian"
    root = next(d for d in baseline["disks"] if d["mount"] == "/")
    assert 0 <= root["used_percent"] <= 100
    assert root["inodes_total"] > 0
    assert not any(d["fstype"] == "tmpfs" for d in baseline["disks"])


def test_package_lists_are_not_refreshed(host, run):
    # Read-only: the default run must not have run apt-get update.
    refresh = [
        e
        for e in run.events
        if e["event"] == "runner_on_ok"
        and e["event_data"].get("task") == "Refresh the package lists"
    ]
    assert refresh == []


@pytest.fixture(scope="module")
def discovered(baseline):
    return baseline["discovered"]


def test_discovery_finds_the_site_nginx_serves(host, discovered):
    (site,) = [s for s in discovered["sites"] if s["server"] == "nginx"]
    assert site["file"] == "/etc/nginx/sites-enabled/wordpress"
    assert host.file(site["file"]).linked_to == "/etc/nginx/sites-available/wordpress"
    assert (site["docroot"], site["ports"], site["tls"]) == ("/usr/share/wordpress", [80], False)
    # The site really is the one that answers on the discovered port, from that root.
    page = host.check_output(f"curl -fsS http://127.0.0.1:{site['ports'][0]}/")
    assert "omctl lab site" in page
    (handler,) = site["php"]
    assert handler["pool"] == "8.2/www"
    assert host.socket(handler["target"].replace("unix:", "unix://")).is_listening
    nginx = discovered["web_servers"]["nginx"]
    assert nginx["service"]["active"] == host.check_output("systemctl is-active nginx")
    assert discovered["web_servers"]["apache"]["installed"] is False


def test_discovery_finds_the_wordpress_install_and_its_database(host, discovered, baseline):
    (wp,) = discovered["wordpress"]
    wp_version = host.file(f"{wp['path']}/wp-includes/version.php").content_string
    assert wp["version"] == version_in(wp_version, r"^\$wp_version\s*=\s*'([^']+)'")
    assert (wp["layout"], wp["config"]) == ("debian", "/etc/wordpress/config-default.php")
    assert wp["sites"] == [s["id"] for s in discovered["sites"]]
    assert host.file(wp["content_dir"]).is_directory
    # The database and table prefix discovered hold this site's WordPress tables.
    blogname = host.check_output(
        f'mariadb -N -e "SELECT option_value FROM {wp["db_name"]}.{wp["table_prefix"]}options '
        "WHERE option_name='blogname'\""
    )
    assert blogname == "omctl lab site"
    mariadb = discovered["databases"]["mariadb"]
    assert (mariadb["flavour"], mariadb["service"]["active"]) == ("mariadb", "active")
    assert mariadb["version"] == baseline["webstack"]["mariadb"]["version"]
    listed = host.check_output("mariadb -N -e 'SHOW DATABASES'").split()
    assert wp["db_name"] in mariadb["databases"]
    assert set(mariadb["databases"]) <= set(listed)
    assert discovered["databases"]["postgresql"]["installed"] is False


def test_discovery_returns_no_secret(host, run):
    config = host.file("/etc/wordpress/config-default.php").content_string
    secrets = re.findall(r"define\('(?:DB_PASSWORD|[A-Z_]*(?:KEY|SALT))',\s*'([^']+)'\)", config)
    assert len(secrets) == 9
    published = json.dumps(run.evidence)
    assert not [s for s in secrets if s in published]


def test_each_wordpress_says_what_it_has_installed(host, baseline, discovered):
    """roles/wordpress_facts: the lab's plugin and theme 1.0 in use, core as version.php says.
    (Every published record is also checked against its committed schema by run_playbook.)"""
    (wp,) = discovered["wordpress"]
    (site,) = baseline["wordpress"]
    assert (site["path"], site["error"], site["multisite"]) == (wp["path"], None, False)
    assert site["user"] == "www-data"  # the owner of Debian's /var/lib/wordpress/wp-content
    found = {(i["type"], i["slug"]): (i["version"], i["active"]) for i in site["items"]}
    assert found[("core", "wordpress")] == (wp["version"], True)
    assert found[("plugin", "omctl-lab-plugin")] == ("1.0", True)
    assert found[("theme", "omctl-lab-theme")] == ("1.0", True)
    assert found[("theme", "twentytwentythree")][1] is False
    header = host.file(f"{wp['content_dir']}/plugins/omctl-lab-plugin/omctl-lab-plugin.php")
    assert "Version: 1.0" in header.content_string
