"""What WordPress has installed, read by roles/wordpress_facts into the baseline and the
healthcheck, on a debian lab host (Debian's package, /usr/share/wordpress with its content in
/var/lib/wordpress) and an upstream one (/var/www/shop), in a workspace of its own: the lab's
own plugin and theme 1.0 active, the core version what the site's own PHP says, and a site whose
database is down named with why, without failing the run.
"""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest

from tests.integration.conftest import Lab, new_lab, write_scope

CLIENT = "wpinv"
# host -> (the install's path, the Host header its site answers to)
SITES = {"web1": ("/usr/share/wordpress", None), "upstream1": ("/var/www/shop", "shop.lab.test")}


@pytest.fixture(scope="module")
def wp_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """web1 (debian) and upstream1 onboarded into one client whose contract has the healthcheck."""
    started = new_lab(tmp_path_factory, "wpinv")
    try:
        for args in (("--hosts", "1"), ("--flavour", "upstream")):
            up = started.omctl("lab", "up", *args, "--json", timeout=1800)
            assert up.code == 0, up.stderr
            started.hosts = up.json()
        for host in SITES:
            onboarded = started.onboard(CLIENT, host)
            assert onboarded.code == 0, (host, onboarded.stderr)
        write_scope(started, CLIENT, "  healthcheck: {every: on_request}\n")
        yield started
    finally:
        started.omctl("lab", "down")


def ssh(lab: Lab, host: str, command: str) -> str:
    done = lab.ssh(host, command)
    assert done.returncode == 0, (host, command, done.stderr)
    return done.stdout.strip()


def php_wp_version(lab: Lab, host: str) -> str:
    """$wp_version as the site's own PHP reads it from wp-includes/version.php."""
    path = SITES[host][0]
    return ssh(lab, host, f"php -r 'include \"{path}/wp-includes/version.php\"; echo $wp_version;'")


def runs(lab: Lab, task: str) -> list[dict]:
    listed = lab.omctl("history", CLIENT, "--json")
    assert listed.code == 0, listed.stderr
    return [r for r in listed.json() if r["task"] == task]


def shown(lab: Lab, run_id: str) -> dict:
    done = lab.omctl("show", run_id, "--json")
    assert done.code == 0, done.stderr
    return done.json()


def installed(site: dict) -> dict[tuple[str, str], tuple[str | None, bool, object]]:
    return {(i["type"], i["slug"]): (i["version"], i["active"], i["update"]) for i in site["items"]}


def assert_lab_site(lab: Lab, host: str, sites: list[dict]) -> None:
    path = SITES[host][0]
    [site] = [s for s in sites if s["path"] == path]
    assert site["error"] is None, site
    found = installed(site)
    assert found[("core", "wordpress")] == (php_wp_version(lab, host), True, None)
    assert found[("plugin", "omctl-lab-plugin")] == ("1.0", True, None)
    assert found[("theme", "omctl-lab-theme")] == ("1.0", True, None)
    # WordPress's own, shipped by Debian's package: there, not in use.
    assert found[("plugin", "akismet")][1] is False
    assert found[("theme", "twentytwentythree")][1] is False


def test_the_baseline_records_what_each_wordpress_has_installed(wp_lab: Lab) -> None:
    baselines = runs(wp_lab, "baseline")
    assert len(baselines) == 2 and all(r["status"] == "successful" for r in baselines)
    for run in baselines:
        record = shown(wp_lab, run["id"])
        [(host, result)] = record["hosts"].items()
        assert "invalid" not in result["evidence"]["baseline"], result
        assert_lab_site(wp_lab, host, result["evidence"]["baseline"]["wordpress"])
        text = wp_lab.omctl("show", run["id"])
        assert text.code == 0, text.stderr
        assert "omctl-lab-plugin 1.0 (active)" in text.stdout
        assert "omctl-lab-theme 1.0 (active)" in text.stdout


def test_the_healthcheck_records_it_on_every_run(wp_lab: Lab) -> None:
    done = wp_lab.omctl("run", CLIENT, "healthcheck", "--json", timeout=900)
    assert done.code == 0, done.stderr[-3000:]
    record = shown(wp_lab, done.json()["id"])
    assert sorted(record["hosts"]) == sorted(SITES)
    for host, result in record["hosts"].items():
        assert_lab_site(wp_lab, host, result["evidence"]["healthcheck"]["wordpress"])


def test_the_lab_theme_and_plugin_render_the_page(wp_lab: Lab) -> None:
    for host, (_, header) in SITES.items():
        conn = http.client.HTTPConnection("127.0.0.1", wp_lab.host(host)["http_port"], timeout=20)
        try:
            conn.request("GET", "/", headers={"Host": header} if header else {})
            response = conn.getresponse()
            page = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
        assert response.status == 200, (host, page[:500])
        assert "<title>omctl lab site" in page
        assert 'class="site-sidebar"' in page and "omctl lab theme 1.0" in page
        assert '<p class="omctl-lab-plugin">omctl lab plugin 1.0</p>' in page
        assert "s.w.org" not in page  # nothing a browser would fetch from outside


def test_a_site_that_does_not_load_is_named_and_the_run_goes_on(wp_lab: Lab) -> None:
    """upstream1's database stopped: its site says why; web1's is read as before."""
    ssh(wp_lab, "upstream1", "systemctl stop mariadb")
    try:
        done = wp_lab.omctl("run", CLIENT, "healthcheck", "--limit", "upstream1", "--json")
    finally:
        ssh(wp_lab, "upstream1", "systemctl start mariadb")
    # The healthcheck fails its mariadb service check, not because of the inventory.
    record = shown(wp_lab, done.json()["id"])
    evidence = record["hosts"]["upstream1"]["evidence"]["healthcheck"]
    failed = [c["name"] for c in evidence["checks"] if not c["ok"]]
    assert failed and all("mariadb" in name or name.startswith("site ") for name in failed), failed
    [site] = evidence["wordpress"]
    assert site["items"] == []
    assert site["error"].startswith("WordPress stopped while loading: "), site
    assert "database" in site["error"].lower(), site
