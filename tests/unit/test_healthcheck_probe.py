"""The healthcheck role's probe (roles/healthcheck/library/healthcheck_probe.py): which commands it
runs and the checks it makes of their answers (systemd's and df's own words), its tag filter,
and the module as Ansible runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit import role_code

ROLE = Path(__file__).resolve().parents[2] / "roles/healthcheck"
MODULE = ROLE / "library/healthcheck_probe.py"
hp = role_code.load(MODULE, "healthcheck_probe")
filters = role_code.load(ROLE / "filter_plugins/healthcheck.py", "healthcheck_filters")

PARAMS = {
    "services_enabled": True,
    "services": ["ssh", "nginx.service", "mariadb", "postgresql"],
    "services_php_fpm": True,
    "services_extra": [],
    "disk_enabled": True,
    "disk_max_percent": 90,
    "inode_enabled": True,
    "inode_max_percent": 90,
    "ignore_fstypes": ["tmpfs", "proc"],
    "timeout": 60,
}
UNIT_FILES = (
    "ssh.service enabled enabled\n"
    "nginx.service enabled enabled\n"
    "mariadb.service enabled enabled\n"
    "php8.2-fpm.service enabled enabled\n"
    "php-fpm-helper.service static -\n"
    "cron.service enabled enabled\n"
)
DF = "Use% IUse% Mounted on\n 41%    3% /\n 95%   92% /srv/my site\n  7%     - /boot/efi\n"


class Host:
    """Answers commands as a host would, and keeps what was run."""

    def __init__(self, answers: dict[tuple[str, ...], hp.Answer]) -> None:
        self.answers, self.ran = answers, []

    def __call__(self, *argv: str, timeout: int = 60) -> hp.Answer:
        self.ran.append((argv, timeout))
        for prefix, answer in self.answers.items():
            if argv[: len(prefix)] == prefix:
                return answer
        return hp.Answer(127, err=f"no such command: {argv[0]}")


def systemd(active: str) -> Host:
    return Host(
        {
            ("systemctl", "list-unit-files"): hp.Answer(0, UNIT_FILES),
            ("systemctl", "is-active"): hp.Answer(3, active),
        }
    )


def test_installed_services_php_fpm_and_extras_are_checked_in_order_once_each() -> None:
    host = systemd("active\ninactive\nactive\nfailed\n")
    params = {**PARAMS, "services_extra": ["nginx", "omctl-missing"]}
    checks = hp.service_checks(params, host)
    # systemd is asked for the units in question only (cron is listed but never checked).
    assert host.ran[0] == (
        ("systemctl", "list-unit-files", "--type=service", "--no-legend", "--no-pager", "--plain",
         "ssh.service", "nginx.service", "mariadb.service", "postgresql.service", "nginx.service",
         "omctl-missing.service", "php*-fpm.service"),
        60,
    )  # fmt: skip
    # postgresql is not installed: left out; nginx once although also an extra; the missing
    # extra is asked too, but not installed wins over what is-active says of it.
    assert host.ran[1] == (
        ("systemctl", "is-active", "ssh.service", "nginx.service", "mariadb.service",
         "php8.2-fpm.service", "omctl-missing.service"),
        60,
    )  # fmt: skip
    assert checks == [
        {"name": "service ssh", "ok": True, "detail": "service ssh is active"},
        {"name": "service nginx", "ok": False, "detail": "service nginx is inactive"},
        {"name": "service mariadb", "ok": True, "detail": "service mariadb is active"},
        {"name": "service php8.2-fpm", "ok": False, "detail": "service php8.2-fpm is failed"},
        {
            "name": "service omctl-missing",
            "ok": False,
            "detail": "service omctl-missing is not installed",
        },
    ]


def test_a_unit_systemd_gave_no_answer_for_is_in_an_unknown_state() -> None:
    checks = hp.service_checks({**PARAMS, "services_php_fpm": False}, systemd("active\n"))
    assert [c["detail"] for c in checks] == [
        "service ssh is active",
        "service nginx is in an unknown state",
        "service mariadb is in an unknown state",
    ]


def test_a_unit_name_that_is_no_pattern_of_itself_lists_every_unit() -> None:
    host = systemd("active\n")
    checks = hp.service_checks({**PARAMS, "services": ["ssh", "dev-x\\x2dy"]}, host)
    assert host.ran[0][0][-1] == "--plain"
    assert [c["name"] for c in checks] == ["service ssh", "service php8.2-fpm"]


def test_patterns_that_match_no_unit_file_mean_none_is_installed() -> None:
    host = Host(
        {
            ("systemctl", "list-unit-files"): hp.Answer(1),
            ("systemctl", "is-active"): hp.Answer(3, "inactive\n"),
        }
    )
    checks = hp.service_checks(
        {**PARAMS, "services": ["postgresql"], "services_extra": ["omctl-x"]}, host
    )
    assert checks == [
        {"name": "service omctl-x", "ok": False, "detail": "service omctl-x is not installed"}
    ]


def test_php_fpm_units_are_left_out_when_switched_off_and_nothing_wanted_asks_nothing() -> None:
    host = systemd("")
    params = {**PARAMS, "services": ["postgresql"], "services_php_fpm": False}
    assert hp.service_checks(params, host) == []
    assert [argv[:2] for argv, _ in host.ran] == [("systemctl", "list-unit-files")]


@pytest.mark.parametrize(
    ("answer", "detail"),
    [
        (
            hp.Answer(1, err="System has not been booted with systemd as init system (PID 1).\n"),
            "services could not be listed: System has not been booted with systemd as init "
            "system (PID 1).",
        ),
        (hp.Answer(4), "services could not be listed: non-zero return code"),
    ],
)
def test_services_that_cannot_be_listed_are_one_failed_check(
    answer: hp.Answer, detail: str
) -> None:
    host = Host({("systemctl", "list-unit-files"): answer})
    assert hp.service_checks(PARAMS, host) == [{"name": "services", "ok": False, "detail": detail}]
    assert len(host.ran) == 1


def test_disk_then_inode_checks_per_mount_with_spaces_and_no_inode_table() -> None:
    host = Host({("df",): hp.Answer(0, DF)})
    checks = hp.disk_checks(PARAMS, host)
    assert host.ran == [
        (("df", "--output=pcent,ipcent,target", "--exclude-type=tmpfs", "--exclude-type=proc"), 60)
    ]
    assert checks == [
        {"name": "disk /", "ok": True, "detail": "disk / is 41% full (max 90%)"},
        {
            "name": "disk /srv/my site",
            "ok": False,
            "detail": "disk /srv/my site is 95% full (max 90%)",
        },
        {"name": "disk /boot/efi", "ok": True, "detail": "disk /boot/efi is 7% full (max 90%)"},
        {"name": "inodes /", "ok": True, "detail": "inodes on / are 3% used (max 90%)"},
        {
            "name": "inodes /srv/my site",
            "ok": False,
            "detail": "inodes on /srv/my site are 92% used (max 90%)",
        },
    ]


def test_each_switch_and_threshold_applies_alone() -> None:
    host = Host({("df",): hp.Answer(1, DF, "df: /mnt/gone: Permission denied\n")})
    disk = hp.disk_checks({**PARAMS, "inode_enabled": False, "disk_max_percent": 41}, host)
    assert [(c["name"], c["ok"]) for c in disk] == [
        ("disk /", True),
        ("disk /srv/my site", False),
        ("disk /boot/efi", True),
    ]
    inodes = hp.disk_checks({**PARAMS, "disk_enabled": False, "inode_max_percent": 95}, host)
    assert [(c["name"], c["ok"]) for c in inodes] == [
        ("inodes /", True),
        ("inodes /srv/my site", True),
    ]


@pytest.mark.parametrize(
    "answer",
    [hp.Answer(127, err="df did not answer within 60 s"), hp.Answer(1, "Use% IUse% Mounted on\n")],
)
def test_df_that_reports_no_filesystem_fails_the_probe(answer: hp.Answer) -> None:
    with pytest.raises(hp.ProbeFailed, match="df reported no filesystem"):
        hp.disk_checks(PARAMS, Host({("df",): answer}))


def test_a_command_that_hangs_or_is_missing_answers_127_with_the_reason() -> None:
    hung = hp.run("sleep", "5", timeout=1)
    assert (hung.rc, hung.err) == (127, "sleep did not answer within 1 s")
    missing = hp.run("omctl-no-such-command")
    assert missing.rc == 127 and "omctl-no-such-command" in missing.err


@pytest.mark.parametrize(
    ("run_tags", "skip_tags", "services", "disk"),
    [
        (["all"], [], True, True),
        (["healthcheck"], [], True, True),
        (["healthcheck_services"], [], True, False),
        (["healthcheck_inode"], [], False, True),
        (["healthcheck_http"], [], False, False),
        (["tagged"], [], True, True),
        (["all"], ["healthcheck_services"], False, True),
        (["all"], ["healthcheck_disk"], True, False),
        (["all"], ["healthcheck"], False, False),
    ],
)
def test_the_tags_select_the_concerns_as_they_selected_their_tasks(
    run_tags: list[str], skip_tags: list[str], services: bool, disk: bool
) -> None:
    assert (
        filters.selected(["healthcheck", "healthcheck_services"], run_tags, skip_tags) is services
    )
    disk_tags = ["healthcheck", "healthcheck_disk", "healthcheck_inode"]
    assert filters.selected(disk_tags, run_tags, skip_tags) is disk


def test_the_module_reads_this_machine_in_check_mode_and_changes_nothing() -> None:
    result = role_code.run_module(
        MODULE,
        {"disk_enabled": True, "inode_enabled": True, "ignore_fstypes": ["tmpfs"]},
        check=True,
    )
    assert result["changed"] is False and not result.get("failed"), result
    assert result["services"] == []
    root = next(c for c in result["disk"] if c["name"] == "disk /")
    assert root["detail"].startswith("disk / is ") and root["detail"].endswith("% full (max 90%)")


def test_the_module_asked_nothing_runs_nothing() -> None:
    result = role_code.run_module(MODULE, {})
    assert (result["changed"], result["services"], result["disk"]) == (False, [], [])
