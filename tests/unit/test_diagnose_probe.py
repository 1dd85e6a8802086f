"""The diagnose role's read-only probe (roles/diagnose/library/diagnose_probe.py): which commands
each concern runs, what it returns from their answers (systemd's and coreutils' own words), and
the module as Ansible runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.unit import role_code

MODULE = Path(__file__).resolve().parents[2] / "roles/diagnose/library/diagnose_probe.py"
dp = role_code.load(MODULE, "diagnose_probe")

PARAMS = {
    "probes": ["units"],
    "units": ["nginx.service", "cron.service"],
    "unit_properties": dp.PROPERTIES,
    "unit_log_lines": 10,
    "df_fields": "source,fstype,size,used,avail,pcent,itotal,iused,iavail,ipcent,target",
    "ignore_fstypes": ["tmpfs", "proc"],
    "since_hours": 24,
    "oom_pattern": dp.OOM_PATTERN,
    "journal_fields": "MESSAGE,PRIORITY",
    "timeout": 50,
}
FAILED = "● broken.service loaded failed failed Broken demo\nnginx.service loaded failed failed x\n"
SHOW = (
    "Id=broken.service\nLoadState=loaded\nActiveState=failed\nSubState=failed\n"
    "UnitFileState=static\nResult=exit-code\n\n"
    "Id=nginx.service\nLoadState=loaded\nActiveState=failed\nSubState=failed\n"
    "UnitFileState=enabled\nResult=exit-code\n\n"
    "Id=cron.service\nLoadState=loaded\nActiveState=active\nSubState=running\n"
    "UnitFileState=enabled\nResult=success\n"
)


class Host:
    """Answers commands as a host would, and keeps what was run."""

    def __init__(self, answers: dict[tuple[str, ...], dict]) -> None:
        self.answers, self.ran = answers, []

    def __call__(self, *argv: str, timeout: int = 50) -> dict:
        self.ran.append(argv)
        for prefix, answer in self.answers.items():
            if argv[: len(prefix)] == prefix:
                return answer
        return {"rc": 127, "out": ""}


def test_failed_units_parse_with_and_without_a_bullet() -> None:
    assert dp.failed_units(FAILED) == ["broken.service", "nginx.service"]


def test_unit_states_are_read_once_each() -> None:
    states = dp.unit_states(SHOW + "\n" + SHOW)
    assert [(s["unit"], s["active"], s["enabled"]) for s in states] == [
        ("broken.service", "failed", "static"),
        ("nginx.service", "failed", "enabled"),
        ("cron.service", "active", "enabled"),
    ]


def test_units_are_read_with_the_journal_of_those_not_active() -> None:
    host = Host(
        {
            ("systemctl", "list-units"): {"rc": 0, "out": FAILED},
            ("systemctl", "show"): {"rc": 0, "out": SHOW},
            ("systemctl", "is-active", "--quiet", "--", "cron.service"): {"rc": 0, "out": ""},
            ("systemctl", "is-active"): {"rc": 3, "out": ""},
            ("journalctl", "--unit", "nginx.service"): {
                "rc": 0,
                "out": "2026-12-01T10:00:00+0000 web1 nginx[12]: bind() failed\n\n",
            },
            ("journalctl", "--unit", "broken.service"): {"rc": 0, "out": ""},
        }
    )
    found = dp.probe(PARAMS, host)["units"]
    assert found["failed"] == ["broken.service", "nginx.service"] and found["error"] is None
    assert [s["unit"] for s in found["states"]] == [
        "broken.service",
        "nginx.service",
        "cron.service",
    ]
    assert found["logs"] == {
        "broken.service": [],
        "nginx.service": ["2026-12-01T10:00:00+0000 web1 nginx[12]: bind() failed"],
    }
    # nginx is failed and asked for: its state and journal are read once.
    show = [argv for argv in host.ran if argv[:2] == ("systemctl", "show")]
    assert show == [
        (
            "systemctl",
            "show",
            "--property=Id,LoadState,ActiveState,SubState,UnitFileState,Result",
            "--",
            "broken.service",
            "nginx.service",
            "cron.service",
        )
    ]
    assert [a[2] for a in host.ran if a[0] == "journalctl"] == ["broken.service", "nginx.service"]


def test_units_that_cannot_be_listed_are_an_error_not_a_crash() -> None:
    host = Host({("systemctl", "show"): {"rc": 0, "out": SHOW}})
    found = dp.probe({**PARAMS, "units": []}, host)["units"]
    assert found == {
        "failed": None,
        "error": "systemctl list-units --failed did not answer",
        "states": [],
        "logs": {},
    }


def test_disk_reads_df_without_the_ignored_types_and_the_apt_cache() -> None:
    df = "Filesystem Type 1B-blocks Used Avail Use% ... Mounted on\n/dev/vda1 ext4 1 1 0 95% /\n"
    host = Host(
        {
            ("df", "-B1"): {"rc": 1, "out": df},  # one mount unreadable, the others reported
            ("df", "--output=target"): {"rc": 0, "out": "Mounted on\n/\n"},
            ("du",): {"rc": 0, "out": "73400320\t/var/cache/apt\n"},
        }
    )
    found = dp.probe({**PARAMS, "probes": ["disk"]}, host)
    assert found == {
        "df": {"rc": 1, "out": df},
        "apt_cache_mount": "/",
        "apt_cache_bytes": 73400320,
    }
    assert host.ran[0] == (
        "df",
        "-B1",
        f"--output={PARAMS['df_fields']}",
        "--exclude-type=tmpfs",
        "--exclude-type=proc",
    )
    unknown = dp.probe({**PARAMS, "probes": ["disk"]}, Host({}))
    assert unknown["apt_cache_mount"] is None and unknown["apt_cache_bytes"] is None


def test_memory_reads_meminfo_and_the_oom_messages(tmp_path: Path) -> None:
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal: 2048000 kB\nMemAvailable: 1024000 kB\n")
    oom = '{"MESSAGE": "Out of memory: Killed process 42 (php-fpm8.2)"}\n'
    host = Host({("journalctl",): {"rc": 0, "out": oom}})
    found = dp.probe_memory(PARAMS, host, meminfo=str(meminfo))
    assert found == {"meminfo": {"rc": 0, "out": meminfo.read_text()}, "oom": {"rc": 0, "out": oom}}
    assert host.ran == [
        (
            "journalctl",
            "--since=-24h",
            f"--grep={dp.OOM_PATTERN}",
            "--case-sensitive=false",
            "--output=json",
            "--output-fields=MESSAGE,PRIORITY",
            "--no-pager",
            "--quiet",
        )
    ]
    assert dp.probe_memory(PARAMS, host, meminfo=str(tmp_path / "absent"))["meminfo"] == {
        "rc": 1,
        "out": "",
    }


def test_ports_and_packages_are_read_as_the_baseline_reads_them() -> None:
    host = Host({})
    found = dp.probe({**PARAMS, "probes": ["ports", "packages"]}, host)
    assert host.ran == [
        ("ss", "-Hltnup"),
        (
            "dpkg-query",
            "--show",
            "--showformat=${db:Status-Abbrev}\t${binary:Package}\t${Version}\n",
        ),
    ]
    assert found == {"ss": {"rc": 127, "out": ""}, "dpkg": {"rc": 127, "out": ""}}


def test_a_missing_tool_or_a_hung_command_is_rc_127() -> None:
    assert dp.run("omctl-no-such-tool") == {"rc": 127, "out": ""}
    assert dp.run("sleep", "5", timeout=1) == {"rc": 127, "out": ""}
    assert dp.run("sh", "-c", "echo out; echo err >&2; exit 3") == {"rc": 3, "out": "out\n"}


def test_the_module_runs_in_check_mode_and_changes_nothing() -> None:
    result = role_code.run_module(MODULE, {"probes": ["memory"]}, check=True, timeout=60)
    assert result["changed"] is False
    assert result["meminfo"]["rc"] == 0 and "MemTotal:" in result["meminfo"]["out"]
    assert set(result) >= {"meminfo", "oom"} and "units" not in result
    bad = subprocess.run(
        [sys.executable, str(MODULE), json.dumps({"ANSIBLE_MODULE_ARGS": {"probes": ["cpu"]}})],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert json.loads(bad.stdout)["failed"] is True
