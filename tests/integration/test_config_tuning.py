"""Config tuning through omctl on a lab host: applied with old and new values in the ledger,
proposed with --check --diff, and refused by PHP-FPM's own check without touching the site."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.conftest import Lab, write_scope

HOST = "web1"
POOL = "/etc/php/8.2/fpm/pool.d/zz-omctl-tuning.conf"
# The lab containers have no memory limit: size them as 1 GiB servers instead of the
# controller's RAM (an override is also what this exercises).
BASE_VARS = "config_tuning_memory_mb: 1024\n"


@pytest.fixture(scope="module")
def tuned(lab: Lab) -> Iterator[Lab]:
    result = lab.onboard("tuned", HOST)
    assert result.code == 0, result.stderr
    write_scope(lab, "tuned", "  {}\n", operation="{config_tuning: {every: on_request}}")
    vars_file(lab).write_text(BASE_VARS)
    yield lab
    vars_file(lab).write_text(BASE_VARS)


def vars_file(lab: Lab):
    return lab.ws / "inventories" / "tuned" / "group_vars" / "all" / "tuning.yml"


def site_status(lab: Lab) -> str:
    done = lab.ssh(HOST, "curl -s -o /dev/null -w '%{http_code}' http://localhost/")
    return done.stdout.strip()


def evidence(lab: Lab, run_id: str) -> dict:
    shown = lab.omctl("show", run_id, "--json")
    assert shown.code == 0, shown.stderr
    return shown.json()["hosts"][HOST]["evidence"]["config_tuning"]


def test_applied_run_records_old_and_new_values(tuned: Lab) -> None:
    result = tuned.omctl("run", "tuned", "config_tuning", "--json")
    assert result.code == 0, result.stderr
    run = result.json()
    record = evidence(tuned, run["id"])
    assert record["applied"] is True and "error" not in record
    rows = {row["name"]: row for row in record["settings"]}
    assert record["measured"]["sizing"]["ram_mb"] == 1024
    assert rows["innodb_buffer_pool_size"]["new"] == "256M"
    # The live values are the new ones.
    live = tuned.ssh(HOST, "mariadb -NBe 'SELECT @@innodb_buffer_pool_size, @@max_connections'")
    assert live.stdout.split() == [str(256 * 2**20), rows["max_connections"]["new"]]
    pool = tuned.ssh(HOST, f"cat {POOL}").stdout
    assert f"pm.max_children = {rows['pm.max_children']['new']}" in pool
    assert site_status(tuned) == "200"
    text = tuned.omctl("show", run["id"])
    assert f"config tuning of {HOST}" in text.stdout and "innodb_buffer_pool_size" in text.stdout


def test_check_diff_proposes_without_changing(tuned: Lab) -> None:
    vars_file(tuned).write_text(BASE_VARS + "config_tuning_php_upload_max_filesize_mb: 100\n")
    before = tuned.ssh(HOST, "md5sum /etc/php/8.2/fpm/conf.d/99-omctl-tuning.ini").stdout
    result = tuned.omctl("run", "tuned", "config_tuning", "--check", "--diff", "--json")
    assert result.code == 0, result.stderr
    record = evidence(tuned, result.json()["id"])
    assert record["applied"] is False and record["check_mode"] is True
    rows = {row["name"]: row for row in record["settings"]}
    assert (rows["upload_max_filesize"]["old"], rows["upload_max_filesize"]["new"]) == (
        "64M",
        "100M",
    )
    assert any("+upload_max_filesize = 100M" in diff for diff in record["diffs"])
    assert tuned.ssh(HOST, "md5sum /etc/php/8.2/fpm/conf.d/99-omctl-tuning.ini").stdout == before


def test_invalid_override_keeps_the_old_config_live_and_fails(tuned: Lab) -> None:
    before = tuned.ssh(HOST, f"cat {POOL}").stdout
    assert "pm.max_children = " in before
    vars_file(tuned).write_text(BASE_VARS + "config_tuning_php_pm_max_children: -3\n")
    result = tuned.omctl("run", "tuned", "config_tuning", "--json")
    assert result.code == 1, result.stderr
    run = result.json()
    assert run["status"] == "failed"
    assert "Size the PHP-FPM pool" in run["message"]
    # The role's own failure, after it put everything back, says why in PHP-FPM's words.
    messages = [f["message"] for f in run["hosts"][HOST]["failures"]]
    assert any(
        "previous configuration is back in force" in m
        and "pm.max_children must be a positive value" in m
        for m in messages
    ), messages
    record = evidence(tuned, run["id"])
    assert record["applied"] is False
    assert "pm.max_children must be a positive value" in record["error"]
    # The previous pool file is in place and in force; the site answers.
    assert tuned.ssh(HOST, f"cat {POOL}").stdout == before
    assert tuned.ssh(HOST, "php-fpm8.2 -t").returncode == 0
    assert tuned.ssh(HOST, "systemctl is-active php8.2-fpm nginx").stdout.split() == [
        "active",
        "active",
    ]
    assert site_status(tuned) == "200"
