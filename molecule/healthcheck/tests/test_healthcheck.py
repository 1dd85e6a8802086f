"""The healthcheck passes on a healthy lab host and names what broke when it is not."""

from __future__ import annotations

import pytest

CANARY = "omctl-canary-Pa55w0rd-7f3e9c"
# No retries: the failing runs below should fail at once.
FAST = {"healthcheck_http_retries": 0}
# The lab's site as discovery finds it: nginx's catch-all server, no Host header.
SITE = "site nginx:/etc/nginx/sites-enabled/wordpress:2"
SITE_AT = "nginx:/etc/nginx/sites-enabled/wordpress:2 at http://127.0.0.1:80/"


def checks_by_name(run, hostname):
    return {c["name"]: c for c in run.evidence["healthcheck"][hostname]["checks"]}


def test_healthy_host_passes(run_playbook, hostname):
    run = run_playbook(
        "maintenance/healthcheck.yml",
        extravars={"healthcheck_http_content_marker": "omctl lab site"},
    )
    assert run.status == "successful", run.stdout
    assert run.changed == {}
    result = run.evidence["healthcheck"][hostname]
    assert result["ok"] is True
    checks = checks_by_name(run, hostname)
    assert checks[SITE] == {
        "name": SITE,
        "ok": True,
        "detail": f"{SITE_AT} answered 200 with the content marker",
    }
    assert "not_applicable" not in result
    for service in ("ssh", "nginx", "mariadb", "php8.2-fpm"):
        assert checks[f"service {service}"]["ok"], checks
    assert checks["disk /"]["ok"] and checks["inodes /"]["ok"]


def test_stopped_nginx_fails_naming_it(host, run_playbook, hostname):
    host.run_expect([0], "systemctl stop nginx")
    try:
        run = run_playbook("maintenance/healthcheck.yml", extravars=FAST)
    finally:
        host.run_expect([0], "systemctl start nginx")
    assert host.service("nginx").is_running
    assert run.status == "failed"
    # Published before the host failed.
    assert run.evidence["healthcheck"][hostname]["ok"] is False
    checks = checks_by_name(run, hostname)
    assert checks["service nginx"] == {
        "name": "service nginx",
        "ok": False,
        "detail": "service nginx is inactive",
    }
    assert not checks[SITE]["ok"]
    # Failed once, with one message naming every failed check.
    messages = run.failure_messages(hostname)
    assert len(messages) == 1
    assert messages[0].startswith(
        f"healthcheck failed: service nginx is inactive; {SITE_AT} did not answer: "
    )


def test_explicit_url_is_checked_as_configured(run_playbook, hostname):
    run = run_playbook(
        "maintenance/healthcheck.yml",
        extravars={
            **FAST,
            "healthcheck_url": "http://localhost/",
            "healthcheck_http_status": 404,
            "healthcheck_services": ["ssh"],
        },
    )
    assert run.status == "failed"
    checks = checks_by_name(run, hostname)
    # Only the operator's URL and services, with the operator's status.
    assert [n for n in checks if not n.startswith(("disk", "inodes"))] == [
        "service ssh",
        "service php8.2-fpm",
        "http http://localhost/",
    ]
    assert checks["http http://localhost/"]["detail"] == (
        "http://localhost/ answered 200, expected 404"
    )


def test_thresholds_and_missing_marker_are_named(run_playbook, hostname):
    run = run_playbook(
        "maintenance/healthcheck.yml",
        extravars={
            **FAST,
            "healthcheck_disk_max_percent": 0,
            "healthcheck_http_content_marker": "no-such-marker",
            "healthcheck_services_extra": ["omctl-no-such-unit"],
        },
    )
    assert run.status == "failed"
    (message,) = run.failure_messages(hostname)
    assert "disk / is " in message and "% full (max 0%)" in message
    assert "without the content marker 'no-such-marker'" in message
    assert "service omctl-no-such-unit is not installed" in message
    assert "inodes" not in message


def test_only_the_tagged_check_runs(run_playbook, hostname):
    run = run_playbook("maintenance/healthcheck.yml", cmdline="--tags healthcheck_http")
    assert run.status == "successful"
    assert list(checks_by_name(run, hostname)) == [SITE]


@pytest.fixture
def canary_inventory(tmp_path, hostname):
    # The password comes from inventory, as it would from a client's vault.
    path = tmp_path / "canary.yml"
    path.write_text(
        f"all:\n  hosts:\n    {hostname}:\n"
        "      healthcheck_http_url_username: omctl\n"
        f"      healthcheck_http_url_password: {CANARY}\n",
    )
    return str(path)


def test_password_never_leaks_into_runner_artifacts(host, run_playbook, canary_inventory):
    # Success and connection failure both go through the task that holds it.
    ok = run_playbook("maintenance/healthcheck.yml", inventories=[canary_inventory], verbosity=3)
    failed = run_playbook(
        "maintenance/healthcheck.yml",
        inventories=[canary_inventory],
        verbosity=3,
        extravars={**FAST, "healthcheck_url": "http://localhost:81/"},
    )
    assert ok.status == "successful", ok.stdout
    assert failed.status == "failed"
    # The credentials were really sent: nginx logs the basic auth user.
    assert " - omctl [" in host.check_output("cat /var/log/nginx/*access.log")
    for run in (ok, failed):
        assert "Using module file" in run.stdout  # really -vvv
        assert CANARY not in run.stdout
        for path in run.artifacts.rglob("*"):
            if path.is_file():
                assert CANARY not in path.read_text(errors="replace"), path


def test_password_never_leaks_into_vvv_output(run_ansible_playbook, canary_inventory):
    result = run_ansible_playbook("maintenance/healthcheck.yml", "-i", canary_inventory, "-vvv")
    # Molecule sets ANSIBLE_VERBOSE_TO_STDERR: the -vvv lines may be on either stream.
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Using module file" in output  # really -vvv
    assert CANARY not in output


def test_the_healthcheck_records_what_wordpress_has_installed(run_playbook, hostname):
    """Recorded per site (and checked against the committed schema by run_playbook)."""
    run = run_playbook("maintenance/healthcheck.yml")
    assert run.status == "successful", run.stdout
    (site,) = run.evidence["healthcheck"][hostname]["wordpress"]
    assert (site["path"], site["error"]) == ("/usr/share/wordpress", None)
    found = {(i["type"], i["slug"]): (i["version"], i["active"]) for i in site["items"]}
    assert found[("plugin", "omctl-lab-plugin")] == ("1.0", True)
    assert found[("theme", "omctl-lab-theme")] == ("1.0", True)
    assert found[("core", "wordpress")][1] is True


def test_a_wordpress_that_does_not_load_is_named_not_failed(host, run_playbook, hostname):
    """A fatal error in a must-use plugin: the site's entry says why (the page's own check fails
    on its own); the inventory itself never fails the play."""
    mu = "/var/lib/wordpress/wp-content/mu-plugins"
    host.run_expect([0], f"mkdir -p {mu} && echo '<?php omctl_no_such_function();' > {mu}/x.php")
    try:
        run = run_playbook("maintenance/healthcheck.yml", extravars=FAST)
    finally:
        host.run_expect([0], f"rm -rf {mu}")
    (site,) = run.evidence["healthcheck"][hostname]["wordpress"]
    assert site["items"] == []
    assert site["error"].startswith("PHP fatal error while loading WordPress: "), site
    assert f"{mu}/x.php:1" in site["error"] and "omctl_no_such_function" in site["error"]
