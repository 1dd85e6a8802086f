"""The config tuning's sizing rules, imported from the module file Ansible ships to the host."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit import role_code

MODULE = Path(__file__).resolve().parents[2] / "roles/config_tuning/library/config_tuning_plan.py"
ct = role_code.load(MODULE, "config_tuning_plan")

MEMINFO = "MemTotal:       24684084 kB\nMemFree:        1000 kB\n"  # 24105 MiB


@pytest.mark.parametrize(
    ("v2", "v1", "expected"),
    [
        (None, None, (24105, "MemTotal")),
        ("max\n", None, (24105, "MemTotal")),
        ("1610612736\n", None, (1536, "cgroup v2 memory.max")),
        (None, "1610612736\n", (1536, "cgroup v1 limit")),
        (None, "9223372036854771712\n", (24105, "MemTotal")),  # v1 without a limit
    ],
)
def test_memory_is_the_cgroup_limit_when_one_is_set(v2, v1, expected) -> None:
    assert ct.memory_mb(MEMINFO, v2, v1) == expected


@pytest.mark.parametrize(
    ("affinity", "quota", "period", "cores"),
    [
        (8, None, None, 8),
        (8, "max 100000", None, 8),
        (8, "150000 100000", None, 2),  # v2: 1.5 CPUs -> 2 workers
        (8, "-1", "100000", 8),  # v1 without a quota
        (8, "200000", "100000", 2),
        (1, "400000 100000", None, 1),
    ],
)
def test_usable_cores(affinity, quota, period, cores) -> None:
    assert ct.usable_cores(affinity, quota, period) == cores


def test_worker_size_prefers_workers_that_served() -> None:
    ps = (
        "  10 37636 php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)\n"
        "  11 30720 php-fpm: pool www\n"
        "  12 40960 php-fpm: pool www\n"
        "  13 45056 php-fpm: pool www\n"
    )
    workers = ct.pool_workers(ps, {10: 500, 11: 0, 12: 40, 13: 9})
    assert workers == [(30720, 0), (40960, 40), (45056, 9)]
    assert ct.worker_rss_mb(workers) == (42.0, 2, True)
    assert ct.worker_rss_mb([(30720, 0), (32768, 1)]) == (31.0, 2, False)
    assert ct.worker_rss_mb([]) == (None, 0, False)


MEASURED = {"memory_mb": 1536, "cores": 2, "nofile_hard": 20000, "php_worker_rss_mb": 40.0}
CURRENT = {
    "upload_max_filesize": "2M",
    "post_max_size": "8M",
    "memory_limit": "128M",
    "max_execution_time": "30",
    "client_max_body_size": "32m",
    "net.core.somaxconn": "4096",
}


def test_plan_for_a_small_container() -> None:
    values, problems = ct.plan(MEASURED, CURRENT)
    assert problems == []
    assert values["innodb_buffer_pool_size"] == "384M"
    sizing = values["__sizing"]
    assert sizing["available_mb"] == 1536 - 256 - 640 - 64
    assert values["pm.max_children"] == 576 // 40 == 14
    assert values["pm"] == "ondemand" and values["pm.start_servers"] is None
    assert values["max_connections"] == 50  # 14 + 30, at least 50
    assert (values["worker_processes"], values["worker_connections"]) == (2, 4096)
    assert values["worker_rlimit_nofile"] == 8192
    assert (values["upload_max_filesize"], values["post_max_size"]) == ("64M", "72M")
    assert values["client_max_body_size"] == "72m"
    assert values["max_execution_time"] == 60
    assert values["fastcgi_read_timeout"] == values["request_terminate_timeout"] == "90s"


def test_plan_for_a_large_host_uses_dynamic_and_caps() -> None:
    values, _ = ct.plan({**MEASURED, "memory_mb": 65536, "nofile_hard": 1024}, CURRENT)
    assert values["innodb_buffer_pool_size"] == "16384M"
    assert values["pm"] == "dynamic" and values["pm.max_children"] == 256
    assert (values["pm.min_spare_servers"], values["pm.start_servers"]) == (32, 64)
    assert values["pm.max_spare_servers"] == 128
    assert values["worker_connections"] == 512 and values["worker_rlimit_nofile"] == 1024


def test_children_within_tolerance_keep_the_pool_in_force() -> None:
    kept, _ = ct.plan(MEASURED, {**CURRENT, "pm.max_children": "16"})
    assert kept["pm.max_children"] == 16 and kept["__sizing"]["children_sized"] == 14
    moved, _ = ct.plan(MEASURED, {**CURRENT, "pm.max_children": "20"})
    assert moved["pm.max_children"] == 14


def test_limits_are_never_planned_lower_than_now() -> None:
    big = {**CURRENT, "upload_max_filesize": "512M", "post_max_size": "1G", "memory_limit": "1G"}
    values, problems = ct.plan(MEASURED, {**big, "client_max_body_size": "2g"})
    assert values["upload_max_filesize"] == "512M"
    assert values["post_max_size"] == "1024M"
    assert values["client_max_body_size"] == "2048m"
    assert values["memory_limit"] == "1024M"
    assert problems == []


def test_overrides_are_taken_as_they_are_and_inconsistent_ones_are_named() -> None:
    values, problems = ct.plan(
        MEASURED,
        CURRENT,
        overrides={"pm.max_children": -3, "upload_max_filesize": "200M", "post_max_size": "100M"},
    )
    assert values["pm.max_children"] == -3
    assert problems == [
        "upload_max_filesize (200M) is larger than post_max_size (100M): uploads of that size "
        "would be refused"
    ]


def test_nginx_directives_by_level() -> None:
    text = (
        "user www-data;\nworker_processes auto;\nevents {\n\tworker_connections 768;\n}\n"
        "http {\n  sendfile on; # comment\n  server {\n    client_max_body_size 32m;\n"
        "    location / { try_files $uri =404; }\n    location ~ \\.php$ {\n"
        "      fastcgi_read_timeout 5s;\n    }\n  }\n}\n"
    )
    found = ct.nginx_directives(text)
    assert found["worker_processes"] == "auto"
    assert found["worker_connections"] == "768"
    assert found["sendfile"] == "on"
    assert found["server.client_max_body_size"] == "32m"
    assert "fastcgi_read_timeout" not in found and "server.fastcgi_read_timeout" not in found


def test_pool_values_later_files_win(tmp_path: Path) -> None:
    (tmp_path / "www.conf").write_text("[www]\npm = dynamic\npm.max_children = 5\n")
    (tmp_path / "zz.conf").write_text(
        "; comment\n[www]\npm.max_children = 12\n[other]\npm = static\n"
    )
    files = [str(tmp_path / "www.conf"), str(tmp_path / "zz.conf")]
    assert ct.pool_values(files, "www") == {"pm": "dynamic", "pm.max_children": "12"}
