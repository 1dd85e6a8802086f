"""Safe WordPress updates on one upstream lab host (shop.lab.test, reached through its published
HTTP port): the lab plugin 1.0 -> 1.1 updates and stays; 1.2 (a PHP fatal in the footer) and 1.3
(a broken layout) each roll back with the gate that caught them and the site exactly as before;
a feed marking 1.0 vulnerable makes the scan find it and, after the update, the report names it
fixed. The package folders are built by tests/unit/wordpress_packages.py from the 1.0 sources.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.integration.conftest import REPO, Lab, new_lab, write_scope
from tests.unit import wordpress_packages

CLIENT = "wpupd"
HOST = "upstream1"
PLUGIN_DIR = "/var/www/shop/wp-content/plugins/omctl-lab-plugin"
FEED = REPO / "tests" / "unit" / "feeds" / "wordfence-lab.json"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    started = new_lab(tmp_path_factory, "wpupdate")
    try:
        up = started.omctl("lab", "up", "--flavour", "upstream", "--json", timeout=1800)
        assert up.code == 0, up.stderr
        started.hosts = up.json()
        onboarded = started.onboard(CLIENT, HOST)
        assert onboarded.code == 0, onboarded.stderr
        # As tuned production hosts run it: PHP never looks at a file again once compiled, so
        # an update or a rollback shows only because the role makes PHP-FPM reload.
        tuned = started.ssh(HOST, "echo opcache.validate_timestamps=0 > "
                                  "/etc/php/8.2/fpm/conf.d/99-omctl-test.ini && "
                                  "systemctl restart php8.2-fpm")  # fmt: skip
        assert tuned.returncode == 0, tuned.stderr
        write_scope(started, CLIENT, "  wordpress_update: {every: on_request}\n"
                                     "  vulnerability_scan: {every: on_request}\n")  # fmt: skip
        host_vars = started.ws / "inventories" / CLIENT / "host_vars"
        host_vars.mkdir(exist_ok=True)
        (host_vars / f"{HOST}.yml").write_text(
            f'wordpress_update_connect: "127.0.0.1:{started.host(HOST)["http_port"]}"\n'
            "wordpress_update_check_pages:\n  - path: /\n    marker: omctl lab site\n"
            "wordpress_update_restore_keep: 2\n"
        )
        with (started.ws / "omctl.toml").open("a") as toml:
            toml.write(f'wordpress_vulnerability_feed = "{FEED}"\n')
        yield started
    finally:
        started.omctl("lab", "down")


def folder(lab: Lab, version: str) -> Path:
    return wordpress_packages.build(lab.ws / f"packages-{version}", version).parent


def update(lab: Lab, version: str) -> tuple[dict, str]:
    packages = f"wordpress_update_packages={folder(lab, version)}"
    done = lab.omctl("run", CLIENT, "wordpress_update", "--json", "-e", packages, timeout=900)
    run_id = done.json()["id"]
    shown = lab.omctl("show", run_id, "--json")
    assert shown.code == 0, shown.stderr
    record = shown.json()["hosts"][HOST]["evidence"]["wordpress_update"]
    # A failed run names what its items' gates and rollback found.
    assert done.code == 0, (done.stderr[-2000:], [
        {k: item.get(k) for k in ("outcome", "reason", "gates", "rollback")}
        for item in record.get("items", [])
    ])  # fmt: skip
    assert "invalid" not in record, record
    text = lab.omctl("show", run_id)
    assert text.code == 0, text.stderr
    return record, text.stdout


def plugin_state(lab: Lab) -> str:
    """Every file of the plugin with its owner, mode and digest. (The database is proven by the
    role right after loading its dump: page loads after that write WordPress's transients.)"""
    done = lab.ssh(HOST, f"cd {PLUGIN_DIR} && find . -printf '%p %u:%g %m\\n' | sort && "
                         "find . -type f | sort | xargs sha256sum")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def scan(lab: Lab) -> dict:
    done = lab.omctl("run", CLIENT, "vulnerability_scan", "--json", timeout=900)
    assert done.code == 0, done.stderr[-3000:]
    shown = lab.omctl("show", done.json()["id"], "--json")
    return shown.json()["hosts"][HOST]["evidence"]["vulnerability_scan"]


def lab_plugin(record: dict) -> list[dict]:
    return [f for f in record["findings"] if f.get("slug") == "omctl-lab-plugin"]


def test_1_0_is_found_vulnerable_then_updated_to_1_1_and_reported_fixed(shop: Lab) -> None:
    [finding] = lab_plugin(scan(shop))
    assert (finding["installed"], finding["fixed_in"]) == ("1.0", "1.1")

    record, text = update(shop, "1.1")
    [item] = record["items"]
    assert (item["from"], item["to"], item["outcome"]) == ("1.0", "1.1", "updated")
    assert all(gate["ok"] for gate in item["gates"]), item["gates"]
    [after] = item["after"]
    assert after["status"] == 200 and after["marker_found"] is True
    assert after["changed_percent"] < after["threshold"]
    for page in item["before"] + item["after"]:
        assert Path(page["screenshot"]).is_file()
        assert Path(page["screenshot"]).is_relative_to(shop.ws / ".omctl")
    assert "1.0 -> 1.1: updated" in text
    done = shop.ssh(HOST, f'grep -c "Version: 1.1" {PLUGIN_DIR}/omctl-lab-plugin.php')
    assert done.stdout.strip() == "1", done

    assert lab_plugin(scan(shop)) == []
    month = datetime.now(UTC).strftime("%Y-%m")
    report = shop.omctl("report", CLIENT, "--period", month, "--format", "json")
    assert report.code == 0, report.stderr
    findings = report.json()["maintenance"]["vulnerabilities"]["findings"]
    states = {(f["component"], f["state"]) for f in findings}
    assert ("plugin omctl-lab-plugin", "fixed") in states, findings


@pytest.mark.parametrize(
    ("version", "gate", "reason"),
    [("1.2", "php_fatal", "PHP Fatal error"), ("1.3", "visual", "of its pixels")],
)
def test_a_broken_version_rolls_back_and_leaves_the_site_as_it_was(
    shop: Lab, version: str, gate: str, reason: str
) -> None:
    before = plugin_state(shop)
    record, text = update(shop, version)
    [item] = record["items"]
    assert (item["from"], item["to"], item["outcome"]) == ("1.1", version, "rolled_back")
    failed = [g["name"] for g in item["gates"] if not g["ok"]]
    assert failed == [gate], item["gates"]
    assert reason in item["reason"]
    rollback = item["rollback"]
    assert rollback["files_identical"] and rollback["database_identical"], rollback
    assert rollback["pages_ok"] and rollback["proven"], rollback
    [again] = rollback["pages"]
    assert again["status"] == 200 and again["changed_percent"] <= again["threshold"]
    assert plugin_state(shop) == before
    assert f"1.1 -> {version}: rolled back" in text


def test_only_the_newest_runs_restore_points_are_kept(shop: Lab) -> None:
    """Three update runs above (keep 2): the first run's restore point is gone."""
    runs = shop.omctl("history", CLIENT, "--json")
    assert runs.code == 0, runs.stderr
    updates = sorted(r["id"] for r in runs.json() if r["task"] == "wordpress_update")
    assert len(updates) == 3
    done = shop.ssh(HOST, "ls /var/backups/omctl-wordpress-update")
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.split()) == updates[1:]
