"""Config tuning sizes the container from its own limits, keeps every config valid, proposes in
check mode, and keeps the previous configuration when a daemon's check rejects a value."""

from __future__ import annotations

import re

import pytest

MEMORY_MB = 1536  # --memory in molecule.yml
POOL = "/etc/php/8.2/fpm/pool.d/zz-omctl-tuning.conf"
INI = "/etc/php/8.2/fpm/conf.d/99-omctl-tuning.ini"
CNF = "/etc/mysql/mariadb.conf.d/90-omctl-tuning.cnf"
NGINX = "/etc/nginx/nginx.conf /etc/nginx/conf.d/omctl-tuning.conf"
WATCHED = f"{NGINX} /etc/nginx/sites-available/wordpress {POOL} {INI} {CNF}"


def tuning(run_playbook, hostname, extravars=None, cmdline=None):
    run = run_playbook("operation/config_tuning.yml", extravars=extravars, cmdline=cmdline)
    return run, run.evidence["config_tuning"][hostname]


def settings(record):
    return {row["name"]: row for row in record["settings"]}


@pytest.fixture(scope="module")
def nofile(host) -> int:
    """The hard open files limit of the nginx master (what its workers may be given)."""
    limits = host.check_output("cat /proc/$(cat /run/nginx.pid)/limits")
    return int(re.search(r"Max open files\s+\S+\s+(\d+)", limits)[1])


@pytest.fixture(scope="module")
def proposal(run_playbook, hostname, host):
    """A check run with a larger upload size asked for: the proposal, and the host before and
    after it. The converge already applied the sizing: the proposal's old values are in force."""
    before = host.check_output(f"md5sum {WATCHED}")
    run, record = tuning(
        run_playbook,
        hostname,
        extravars={"config_tuning_php_upload_max_filesize_mb": 128},
        cmdline="--check --diff",
    )
    assert run.status == "successful", run.stdout
    return record, before, host.check_output(f"md5sum {WATCHED}")


def test_memory_is_the_cgroup_limit(proposal, nofile):
    measured = proposal[0]["measured"]
    assert measured["memory_mb"] == MEMORY_MB
    assert measured["memory_source"].startswith("cgroup")
    assert measured["nofile_hard"] == nofile and measured["nofile_source"] == "nginx master"


def test_values_as_computed_for_this_container(proposal, host, nofile):
    record = proposal[0]
    rows = settings(record)
    new = {name: row["new"] for name, row in rows.items()}
    sizing = record["measured"]["sizing"]
    # MariaDB: a quarter of the RAM in 128 MiB chunks; the system keeps 256 MiB (> 10 %).
    assert new["innodb_buffer_pool_size"] == "384M"
    assert sizing["system_reserve_mb"] == 256 and sizing["opcache_mb"] == 64
    assert sizing["available_mb"] == MEMORY_MB - 256 - (384 + 256) - 64
    # PHP-FPM: the memory left over the measured worker size (kept when within 20 %).
    worker = sizing["worker_rss_mb"]
    assert worker == max(32, record["measured"]["php_worker_rss_mb"] or 64)
    sized = int(sizing["available_mb"] // worker)
    assert sizing["children_sized"] == sized
    children = int(new["pm.max_children"])
    assert children == sized or abs(children - sized) <= 0.2 * children
    assert new["pm"] == "ondemand"  # under 2 GiB of RAM
    assert int(new["max_connections"]) == max(children + 30, 50)
    # nginx: a worker per usable core, connections within half the open files.
    assert new["worker_processes"] == host.check_output("nproc").strip()
    connections = min(4096, nofile // 2)
    assert new["worker_connections"] == str(connections)
    assert new["worker_rlimit_nofile"] == str(min(2 * connections, nofile))
    # WordPress limits: consistent, and the lab's 2M / 8M / 32m were raised at converge.
    assert (rows["upload_max_filesize"]["old"], rows["post_max_size"]["old"]) == ("64M", "72M")
    assert rows["client_max_body_size"]["old"] == "72m"
    assert (new["upload_max_filesize"], new["post_max_size"]) == ("128M", "136M")
    assert new["client_max_body_size"] == "136m"


def test_the_running_services_use_the_values(proposal, host):
    old = {name: row["old"] for name, row in settings(proposal[0]).items()}
    live = host.check_output("mariadb -NBe 'SELECT @@innodb_buffer_pool_size, @@max_connections'")
    assert live.split() == [str(384 * 2**20), old["max_connections"]]
    assert old["innodb_buffer_pool_size"] == "384M"
    info = host.check_output("php-fpm8.2 -i")
    assert "upload_max_filesize => 64M" in info and "post_max_size => 72M" in info
    dump = host.check_output("nginx -T 2>/dev/null")
    assert f"worker_connections {old['worker_connections']};" in dump
    assert "client_max_body_size 72m;" in dump
    rlimit = old["worker_rlimit_nofile"]
    workers = host.check_output("cat /proc/$(pgrep -f 'nginx: worker' | head -1)/limits")
    assert re.search(rf"Max open files\s+{rlimit}\s+{rlimit}", workers), workers


def test_configs_are_valid_and_the_site_answers_with_timed_logs(host):
    host.run_expect([0], "nginx -t")
    host.run_expect([0], "php-fpm8.2 -t")
    check = host.run("mariadbd --help --verbose --user=mysql 2>&1 >/dev/null")
    assert "[ERROR]" not in check.stdout
    assert host.run("curl -s -o /dev/null -w '%{http_code}' http://localhost/").stdout == "200"
    last = host.check_output("tail -1 /var/log/nginx/wordpress.access.log")
    assert re.search(r'"curl/[^"]*" \d+\.\d{3}$', last), last


def test_sysctls_are_written_not_applied_in_a_container(proposal, host):
    assert host.file("/etc/sysctl.d/60-omctl-tuning.conf").contains("^vm.swappiness = 10$")
    assert host.check_output("cat /proc/sys/vm/swappiness") != "10"
    assert proposal[0]["sysctl_applied"] is False
    assert any("not applied" in note for note in proposal[0]["notes"])


def test_check_diff_is_a_proposal_that_changes_nothing(proposal):
    record, before, after = proposal
    assert after == before
    assert record["applied"] is False and record["check_mode"] is True
    diffs = "\n".join(record["diffs"])
    for line in (
        "-upload_max_filesize = 64M",
        "+upload_max_filesize = 128M",
        "+post_max_size = 136M",
        "+    client_max_body_size 136m;",
    ):
        assert f"\n{line}\n" in diffs, diffs


def test_a_value_nginx_rejects_keeps_the_previous_config(run_playbook, hostname, host):
    before = host.check_output(f"md5sum {WATCHED}")
    run, record = tuning(
        run_playbook,
        hostname,
        # A change nginx accepts (the FastCGI timeout follows max_execution_time), then one
        # `nginx -t` rejects: both are undone.
        extravars={"config_tuning_php_max_execution_time": 120,
                   "config_tuning_nginx_worker_processes": "many"},
    )  # fmt: skip
    assert run.status == "failed"
    assert host.check_output(f"md5sum {WATCHED}") == before
    assert host.check_output("find /etc/nginx /etc/php /etc/mysql -name '*~'") == ""
    assert '"worker_processes" directive invalid value' in record["error"]
    assert "max_execution_time => 60" in host.check_output("php-fpm8.2 -i")
    assert host.run("curl -s -o /dev/null -w '%{http_code}' http://localhost/").stdout == "200"
