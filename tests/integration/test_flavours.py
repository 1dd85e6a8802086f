"""The lab flavours: one host of each (bare1, upstream1, two-sites1, apache1) in a workspace of
its own, checked over SSH and HTTP to be the server it claims to be, and what discovery finds
on each.

The roles' end-to-end runs on these hosts build on the same ``flavour_lab`` fixture.
"""

from __future__ import annotations

import http.client
import json
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import REPO, Lab, vault_encrypt, write_scope

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


# --- every task on every flavour --------------------------------------------------------------

CLIENT = "flavours"
HOSTS = ("bare1", "upstream1", "two-sites1", "apache1")
# The order an operator would take over a server: look, back up, prove the restore, harden,
# patch (which needs the backup), and diagnose.
TASKS = ("healthcheck", "backup", "restore_drill", "hardening", "patching", "diagnose")


@pytest.fixture(scope="module")
def cycle(flavour_lab: Lab) -> dict[str, dict]:
    """The four hosts onboarded into one client and every task run once across all four
    (Ansible's forks take them in parallel); each task's run record as ``omctl show --json``."""
    for host in HOSTS:
        onboarded = flavour_lab.onboard(CLIENT, host)
        assert onboarded.code == 0, (host, onboarded.stderr)
    write_scope(
        flavour_lab, CLIENT, "".join(f"  {task}: {{every: on_request}}\n" for task in TASKS)
    )
    vault_pass, encrypted = vault_encrypt(
        flavour_lab, "vault-pass-flavours", "backup_password", secrets.token_hex(16)
    )
    (flavour_lab.ws / "inventories" / CLIENT / "group_vars" / "all" / "backup.yml").write_text(
        encrypted
    )
    # Lynis's audits (minutes per host, before and after) are proven by test_hardening.py and
    # Molecule; here hardening is about the sites staying up on each kind of server.
    (flavour_lab.ws / "inventories" / CLIENT / "group_vars" / "all" / "hardening.yml").write_text(
        "hardening_lynis_enabled: false\n"
    )
    env = {"OMCTL_VAULT_PASSWORD_FILE": str(vault_pass)}
    records: dict[str, dict] = {}
    for task in TASKS:
        done = flavour_lab.omctl("run", CLIENT, task, "--json", timeout=1800, env=env)
        shown = flavour_lab.omctl("show", done.json()["id"], "--json")
        assert shown.code == 0, shown.stderr
        records[task] = {**shown.json(), "code": done.code, "stderr": done.stderr}
    return records


def evidence(record: dict, host: str, kind: str | None = None) -> dict:
    return record["hosts"][host]["evidence"][kind or record["task"]]


@pytest.mark.parametrize("task", TASKS)
def test_every_task_succeeds_on_every_flavour(cycle: dict[str, dict], task: str) -> None:
    record = cycle[task]
    failed = {
        h: r["failures"] for h, r in record["hosts"].items() if r["status"] not in ("ok", "changed")
    }
    assert record["code"] == 0 and record["status"] == "successful", (
        failed,
        record["stderr"][-3000:],
    )
    assert sorted(record["hosts"]) == sorted(HOSTS)


def test_bare_says_what_was_not_applicable(cycle: dict[str, dict]) -> None:
    """No web stack: nothing fails, and every role says what it skipped and why."""
    for task in ("healthcheck", "hardening", "backup", "restore_drill"):
        skipped = evidence(cycle[task], "bare1").get("not_applicable") or []
        assert any("not applicable" in reason for reason in skipped), (task, skipped)
    checks = [c["name"] for c in evidence(cycle["healthcheck"], "bare1")["checks"]]
    assert "service ssh" in checks and not [c for c in checks if c.startswith("site ")]
    assert not [c for c in checks if re.search(r"nginx|apache|mariadb|fpm", c)], checks
    skipped = evidence(cycle["backup"], "bare1")["not_applicable"]
    assert "no MariaDB/MySQL: database dumps not applicable" in skipped
    assert not evidence(cycle["backup"], "bare1").get("sites")


@pytest.mark.parametrize(
    ("host", "sites"), [("upstream1", ["shop"]), ("two-sites1", ["shop", "blog"])]
)
def test_every_site_is_checked_backed_up_and_drilled(
    cycle: dict[str, dict], host: str, sites: list[str]
) -> None:
    checks = {c["name"]: c for c in evidence(cycle["healthcheck"], host)["checks"]}
    backup = json.dumps(evidence(cycle["backup"], host))
    drill = evidence(cycle["restore_drill"], host)
    drilled = json.dumps(drill["sites"])
    hardened = json.dumps(evidence(cycle["hardening"], host)["sites"])
    for name in sites:
        assert checks[f"site {name}.lab.test"]["ok"], checks
        assert f"/var/www/{name}" in backup and f'"{name}"' in backup, (name, backup)
        assert f"/var/www/{name}" in drilled, (name, drilled)
        assert f"{name}.lab.test" in hardened, (name, hardened)
    assert drill["ok"] and len(drill["sites"]) == len(sites)
    # Each site answered from its restored copy, served by the host's own web server.
    assert all(site["ok"] and site["served_by"] == "nginx" for site in drill["sites"]), drill
    served = [c for c in drill["checks"] if c["name"] == "site"]
    assert len(served) == len(sites) and all(c["ok"] for c in served), drill["checks"]


@pytest.mark.parametrize(
    ("host", "paths"),
    [("bare1", []), ("upstream1", ["/var/www/shop"]),
     ("two-sites1", ["/var/www/blog", "/var/www/shop"]), ("apache1", ["/usr/share/wordpress"])],
)  # fmt: skip
def test_every_wordpress_says_what_it_has_installed(
    cycle: dict[str, dict], host: str, paths: list[str]
) -> None:
    """roles/wordpress_facts in the healthcheck: the lab's own plugin and theme 1.0 in use on
    every WordPress of every flavour, none on the bare host."""
    sites = evidence(cycle["healthcheck"], host)["wordpress"]
    assert sorted(s["path"] for s in sites) == paths
    for site in sites:
        assert site["error"] is None, site
        found = {(i["type"], i["slug"]): (i["version"], i["active"]) for i in site["items"]}
        assert found[("plugin", "omctl-lab-plugin")] == ("1.0", True), (host, found)
        assert found[("theme", "omctl-lab-theme")] == ("1.0", True), (host, found)
        assert found[("core", "wordpress")][1] is True


def test_apache_is_checked_and_kept_up(flavour_lab: Lab, cycle: dict[str, dict]) -> None:
    checks = {c["name"]: c for c in evidence(cycle["healthcheck"], "apache1")["checks"]}
    assert checks["service apache2"]["ok"] and "service nginx" not in checks
    assert [name for name in checks if name.startswith("site ")], checks
    assert all(c["ok"] for c in checks.values()), checks
    assert evidence(cycle["hardening"], "apache1")["sites"]
    [drilled] = evidence(cycle["restore_drill"], "apache1")["sites"]
    assert drilled["ok"] and drilled["served_by"] == "apache", drilled
    status, page = get(flavour_lab, "apache1")  # after hardening and patching
    assert status == 200 and TITLE in title(page)
