"""The diagnose role's parsers and analysis, imported from the filter plugin Ansible loads."""

from __future__ import annotations

import json
from pathlib import Path

from tests.unit import role_code

PLUGIN = Path(__file__).resolve().parents[2] / "roles/diagnose/filter_plugins/diagnose.py"
df = role_code.load(PLUGIN, "diagnose_filters")
# The states are parsed on the host, by the role's probe module.
probe = role_code.load(PLUGIN.parents[1] / "library/diagnose_probe.py", "diagnose_probe")

OPTIONS = {
    "restartable_units": ["nginx", "php8.2-fpm", "cron"],
    "disk_threshold": 90,
    "inode_threshold": 90,
    "memory_min_available_percent": 10,
    "since_hours": 24,
}
SHOW = """\
Id=nginx.service
LoadState=loaded
ActiveState=inactive
SubState=dead
UnitFileState=enabled
Result=success

Id=php8.2-fpm.service
LoadState=loaded
ActiveState=active
SubState=running
UnitFileState=enabled
Result=success

Id=cron.service
LoadState=loaded
ActiveState=inactive
SubState=dead
UnitFileState=disabled
Result=success

Id=broken.service
LoadState=loaded
ActiveState=failed
SubState=failed
UnitFileState=static
Result=exit-code

Id=absent.service
LoadState=not-found
ActiveState=inactive
SubState=dead
UnitFileState=
Result=success
"""
DF = """\
Filesystem Type 1B-blocks Used Avail Use% Inodes IUsed IFree IUse% Mounted on
/dev/vda1 ext4 1000 950 50 95% 100 10 90 10% /
/dev/vdb1 ext4 1000 100 900 10% 100 95 5 95% /srv/data dir
/dev/vda1 ext4 1000 950 50 95% 100 10 90 10% /etc/hosts
"""


def journal(*entries: dict) -> str:
    return "\n".join(json.dumps(e) for e in entries) + "\n"


def entry(message, unit="nginx.service", at=1_795_884_001_000_000, ident=None) -> dict:
    return {"MESSAGE": message, "_SYSTEMD_UNIT": unit, "__REALTIME_TIMESTAMP": str(at),
            "PRIORITY": "3", **({"SYSLOG_IDENTIFIER": ident} if ident else {})}  # fmt: skip


def probes(**overrides) -> dict:
    base = {
        "down_units": [],
        "unit_logs": {},
        "errors": {"total": 0, "distinct": 0, "top": []},
        "ooms": [],
        "memory": df.meminfo("MemTotal: 2048000 kB\nMemAvailable: 1024000 kB\n"),
        "disks": df.df_usage(DF.replace("95%", "50%"), ["/etc/hosts"]),
        "apt_cache_mount": "/",
    }
    return {**base, **overrides}


def test_down_units_are_failed_ones_and_enabled_watched_ones_not_running():
    states = probe.unit_states(SHOW)
    down = df.down_units(states, ["broken.service"], ["nginx", "php8.2-fpm", "cron", "absent"])
    assert [(u["unit"], u["why"]) for u in down] == [
        ("broken.service", "failed"),
        ("nginx.service", "enabled but inactive"),
    ]


def test_unit_names_get_their_suffix_once():
    assert df.unit_names(["nginx", "php8.2-fpm", "x.timer", "nginx.service"]) == [
        "nginx.service",
        "php8.2-fpm.service",
        "x.timer",
    ]


def test_journal_errors_are_deduplicated_by_shape_with_counts():
    out = (
        journal(
            entry("upstream timed out (110) while connecting to 10.0.0.1:9000", at=1),
            entry("upstream timed out (110) while connecting to 10.0.0.2:9000", at=3_000_000),
            entry("disk full", unit="mariadb.service", at=2_000_000),
            # Ansible logs its own module arguments: never counted.
            entry("Invoked with argv=journalctl --grep=oom", unit="", ident="ansible-command"),
        )
        + "not json\n"
    )
    errors = df.journal_errors(out, limit=1)
    assert errors["total"] == 3 and errors["distinct"] == 2
    (top,) = errors["top"]
    assert top["count"] == 2 and top["source"] == "nginx.service"
    assert top["message"].endswith("10.0.0.2:9000")  # the latest wording
    assert (top["first"], top["last"]) == ("1970-01-01T00:00:00Z", "1970-01-01T00:00:03Z")


def test_oom_events_name_the_victim_and_skip_other_lines():
    out = journal(
        entry("Out of memory: Killed process 4242 (php-fpm8.2) total-vm:1kB", unit=""),
        entry("nginx.service: A process of this unit has been killed by the OOM killer."),
        entry("all fine"),
        entry("Invoked with out of memory", ident="ansible-ansible.legacy.command"),
    )
    events = df.oom_events(out)
    assert [e["killed"] for e in events] == ["php-fpm8.2", None]
    finding = df.analyse(probes(ooms=events), OPTIONS)["findings"]
    memory = next(f for f in finding if f["check"] == "memory")
    assert memory["severity"] == "warning"
    assert "2 OOM message(s)" in memory["message"] and "php-fpm8.2" in memory["message"]


def test_disks_over_threshold_are_critical_and_plan_the_apt_clean():
    incident = df.analyse(probes(disks=df.df_usage(DF, ["/etc/hosts"])), OPTIONS)
    disk = [f for f in incident["findings"] if f["check"] in ("disk", "inodes")]
    assert [(f["check"], f["message"]) for f in disk] == [
        ("disk", "/ is 95% full (threshold 90%)"),
        ("inodes", "inodes on /srv/data dir are 95% used (threshold 90%)"),
    ]
    assert incident["severity"] == "critical"
    assert incident["plan"]["apt_clean"] is True
    # The apt cache on another filesystem than the full one: nothing to clean.
    elsewhere = df.analyse(probes(disks=df.df_usage(DF), apt_cache_mount="/srv/data dir"), OPTIONS)
    assert elsewhere["plan"]["apt_clean"] is False


def test_only_allow_listed_units_are_planned_for_a_restart():
    down = df.down_units(probe.unit_states(SHOW), ["broken.service"], ["nginx"])
    incident = df.analyse(probes(down_units=down), OPTIONS)
    assert incident["plan"]["restart"] == ["nginx.service"]
    units = incident["findings"][0]
    assert units["severity"] == "critical"
    assert {u["unit"]: u["restartable"] for u in units["details"]} == {
        "broken.service": False,
        "nginx.service": True,
    }
    read_only = df.with_actions(incident, [], recover=False, check=False)
    assert "plan" not in read_only and read_only["actions"] == []
    assert read_only["summary"].endswith("run again with diagnose_recover=true")


def test_a_healthy_host_without_history_is_ok_and_says_what_was_skipped():
    incident = df.with_actions(df.analyse(probes(), OPTIONS), [], recover=False, check=False)
    assert incident["severity"] == "ok"
    assert incident["summary"] == "ok: no problem found"
    skipped = {f["check"]: f["message"] for f in incident["findings"] if "skipped" in f["message"]}
    assert set(skipped) == {"ports", "packages", "timeline"}
    assert "no ledger history was given" in skipped["timeline"]


def test_baseline_comparison_names_new_and_missing_listeners_and_package_changes():
    ss = (
        'tcp LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:(("nginx",pid=40,fd=7))\n'
        'tcp LISTEN 0 128 [::]:2222 [::]:* users:(("sshd",pid=9,fd=4))\n'
    )
    history = {
        "baseline": {
            "ports": [
                {"proto": "tcp", "address": "0.0.0.0", "port": 80, "process": "nginx"},
                {"proto": "tcp", "address": "127.0.0.1", "port": 3306, "process": "mariadbd"},
            ],
            "packages": {"installed": {"nginx": "1.0", "gone": "2.0", "same": "1"}},
        },
        "baseline_at": "2026-11-01T00:00:00Z",
        "runs": [
            {"id": "a", "task": "baseline", "status": "successful", "failed": 0},
            {"id": "b", "task": "patching", "status": "failed", "failed": 1, "extra": "x"},
            {"id": "now", "task": "diagnose", "status": "running", "failed": 0},
        ],
    }
    current = df.dpkg_packages("ii \tnginx\t1.1\nii \tsame\t1\nii \tnew\t3\nrc \told\t0\n")
    # The run omctl is recording now is left out of the timeline.
    options = {**OPTIONS, "current_run": "now"}
    incident = df.analyse(probes(ports=df.ss_listeners(ss), packages=current), options, history)
    found = {f["check"]: f for f in incident["findings"]}
    assert found["ports"]["severity"] == "warning"
    assert found["ports"]["message"] == (
        "listeners changed since the baseline of 2026-11-01T00:00:00Z: "
        "new: 2222/tcp on :: (sshd); missing: 3306/tcp on 127.0.0.1 (mariadbd)"
    )
    packages = found["packages"]["details"]
    assert packages["installed"] == [{"name": "new", "version": "3"}]
    assert packages["removed"] == [{"name": "gone", "version": "2.0"}]
    assert packages["changed"] == [{"name": "nginx", "from": "1.0", "to": "1.1"}]
    assert found["timeline"]["severity"] == "warning"  # the last run failed
    assert [r["id"] for r in incident["timeline"]] == ["a", "b"]
    assert "extra" not in incident["timeline"][1]
    assert incident["severity"] == "warning"


def test_actions_are_appended_to_the_summary():
    incident = df.analyse(probes(), OPTIONS)
    action = {"action": "restart", "target": "nginx.service", "reason": "r", "result": "ok"}
    result = df.with_actions(incident, [action], recover=True, check=True)
    assert result["actions"] == [action] and result["check_mode"] is True
    assert result["summary"].endswith("Recovery: restart nginx.service: ok")
