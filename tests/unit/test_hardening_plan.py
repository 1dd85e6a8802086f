"""The hardening role's planning (roles/hardening/filter_plugins/hardening.py): the files and
packages of the selected concerns, the preflight's reasons to refuse and the change list of the
evidence, as the role's YAML calls them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from tests.unit import role_code

ROLE = Path(__file__).resolve().parents[2] / "roles/hardening"
hf = role_code.load(ROLE / "filter_plugins/hardening.py", "hardening_filters")

ALL = {c: True for c in ("ssh", "firewall", "fail2ban", "sysctl", "auto_updates", "accounts")}
SETTINGS = {
    "sshd_dropin": "/etc/ssh/sshd_config.d/00-omctl-hardening.conf",
    "nft_file": "/etc/nftables.conf",
    "fail2ban_jail": "/etc/fail2ban/jail.local",
    "sysctl_file": "/etc/sysctl.d/90-omctl-hardening.conf",
    "fail2ban_wordpress": False,
    "accounts_core_dumps": False,
    "auto_updates_packages": ["unattended-upgrades", "apt-listchanges"],
    "accounts_packages": ["libpam-pwquality"],
    "enabled": {"firewall": True, "fail2ban": True, "auto_updates": True, "accounts": True},
}


# --- the plan -------------------------------------------------------------------------------------


def test_every_concern_plans_its_files_in_order_with_their_templates() -> None:
    plan = hf.plan(ALL, SETTINGS)
    assert [(f["path"], f["mode"]) for f in plan["managed_files"]] == [
        ("/etc/ssh/sshd_config.d/00-omctl-hardening.conf", "0600"),
        ("/etc/nftables.conf", "0644"),
        ("/etc/fail2ban/jail.local", "0644"),
        ("/etc/sysctl.d/90-omctl-hardening.conf", "0644"),
        ("/etc/modprobe.d/90-omctl-hardening.conf", "0644"),
        ("/etc/apt/apt.conf.d/20auto-upgrades", "0644"),
        ("/etc/apt/apt.conf.d/52omctl-unattended-upgrades", "0644"),
        ("/etc/security/pwquality.conf.d/90-omctl-hardening.conf", "0644"),
        ("/etc/security/limits.d/90-omctl-hardening.conf", "0644"),
        ("/etc/systemd/coredump.conf.d/90-omctl-hardening.conf", "0644"),
        ("/etc/profile.d/90-omctl-hardening.sh", "0644"),
        ("/etc/issue", "0644"),
        ("/etc/issue.net", "0644"),
    ]
    # Each template is the role's own, laid out like the file it renders.
    for item in plan["managed_files"]:
        assert (ROLE / "templates" / item["src"]).is_file(), item["src"]
    assert plan["managed_files"][-1]["src"] == "etc/issue.j2"  # /etc/issue.net shares it
    assert (
        plan["packages"]
        == plan["packages_selected"]
        == [
            "nftables",
            "fail2ban",
            "python3-systemd",
            "unattended-upgrades",
            "apt-listchanges",
            "libpam-pwquality",
        ]
    )


def test_the_switches_choose_optional_files() -> None:
    settings = {
        **SETTINGS,
        "fail2ban_wordpress": "true",
        "accounts_core_dumps": True,
        "accounts_packages": [],
    }
    paths = [
        f["path"] for f in hf.plan({"fail2ban": True, "accounts": True}, settings)["managed_files"]
    ]
    assert paths == [
        "/etc/fail2ban/jail.local",
        "/etc/fail2ban/filter.d/omctl-wordpress.conf",
        "/etc/profile.d/90-omctl-hardening.sh",
        "/etc/issue",
        "/etc/issue.net",
    ]


def test_tags_select_the_packages_installed_the_switches_those_probed() -> None:
    # --tags hardening_ssh: nothing to install, but every switched-on concern's packages probed.
    on = {**{c: False for c in ALL}, "ssh": True, "firewall": "False"}
    plan = hf.plan(on, SETTINGS)
    assert plan["packages_selected"] == []
    assert plan["packages"][:3] == ["nftables", "fail2ban", "python3-systemd"]
    assert [f["path"] for f in plan["managed_files"]] == [SETTINGS["sshd_dropin"]]
    off = hf.plan(on, {**SETTINGS, "enabled": {}})
    assert off["packages"] == []


# --- the reasons to refuse ----------------------------------------------------------------------

USER = {"name": "root", "exists": True, "uid": 0, "groups": ["root"], "authorized_keys": 1}
PROBE = {
    "revert_pending": False,
    "user": USER,
    "sshd_includes_dropins": True,
    "ssh_socket_active": False,
    "firewall_conflicts": [],
    "nftables_conf": {"exists": True, "stock": True, "ours": False},
}
CONTEXT = {
    "selected": ALL,
    "sshd": {"pubkeyauthentication": "yes", "passwordauthentication": "no"},
    "client_addr": "192.0.2.7",
    "port_change": False,
    "revert_unit": "omctl-hardening-revert",
    "revert_after": 120,
    "verify_timeout": 30,
    "ssh_sources": [],
    "firewall": {"web_dropped": []},
}


def test_a_safe_run_is_not_refused() -> None:
    assert hf.refusals(PROBE, CONTEXT) == []


def test_every_reason_is_named() -> None:
    probe = {
        **PROBE,
        "revert_pending": True,
        "user": {**USER, "authorized_keys": 0, "key_files": ["/root/.ssh/authorized_keys"]},
        "sshd_includes_dropins": False,
        "ssh_socket_active": True,
        "firewall_conflicts": ["ufw"],
        "nftables_conf": {"exists": True, "stock": False, "ours": False},
    }
    context = {
        **CONTEXT,
        "port_change": "True",
        "revert_after": "40",
        "ssh_sources": ["10.0.0.0/8", "198.51.100.1/32"],
        "firewall": {"web_dropped": ["8080/tcp (nginx)"]},
    }
    assert hf.refusals(probe, context) == [
        "an automatic revert of an earlier run is still armed (omctl-hardening-revert.timer): "
        "wait until it has fired",
        "the connecting user root has no authorized key (/root/.ssh/authorized_keys) and "
        "password login would be disabled",
        "/etc/ssh/sshd_config does not include /etc/ssh/sshd_config.d/*.conf, so the drop-in "
        "would not apply",
        "sshd is socket-activated (ssh.socket): changing its port needs ssh.socket changed too",
        "ufw is active and manages the firewall: disable it or set hardening_firewall_enabled: "
        "false",
        "/etc/nftables.conf holds rules omctl did not write: move them to /etc/nftables.d/*.nft "
        "(it is included) or set hardening_firewall_enabled: false",
        "the firewall would drop SSH from 192.0.2.7, the address this run connects from: "
        "hardening_firewall_ssh_sources 10.0.0.0/8, 198.51.100.1/32 does not contain it",
        "the firewall would drop web ports listening now: 8080/tcp (nginx); add them to "
        "hardening_firewall_web_ports or hardening_firewall_allowed_tcp_ports",
        "hardening_revert_after (40 s) must exceed hardening_verify_timeout (30 s) by at least "
        "30 s",
    ]


def test_a_concern_not_selected_refuses_nothing_of_its_own() -> None:
    probe = {
        **PROBE,
        "sshd_includes_dropins": False,
        "firewall_conflicts": ["firewalld"],
        "nftables_conf": {"exists": True, "stock": False, "ours": True},  # ours: never refused
    }
    context = {
        **CONTEXT,
        "selected": {**ALL, "ssh": False, "firewall": False},
        "ssh_sources": ["10.0.0.0/8"],
    }
    assert hf.refusals(probe, context) == []
    # Without a client address (not over SSH) the sources are not checked.
    only_fw = {
        **CONTEXT,
        "selected": {"firewall": True},
        "client_addr": "",
        "ssh_sources": ["10.0.0.0/8"],
    }
    assert hf.refusals({**PROBE, "firewall_conflicts": []}, only_fw) == []


# --- the change list ------------------------------------------------------------------------------

CHANGE_CONTEXT = {
    "packages": ["nftables", "fail2ban"],
    "sshd_dropin": "/etc/ssh/sshd_config.d/00-omctl-hardening.conf",
    "nft_file": "/etc/nftables.conf",
    "nft_table": "omctl_hardening",
    "fail2ban_jail": "/etc/fail2ban/jail.local",
    "sysctl_file": "/etc/sysctl.d/90-omctl-hardening.conf",
    "port_change": True,
    "current_port": 22,
    "ssh_port": 2222,
}


def _results(changed: dict[str, dict], check: bool = False) -> list[dict]:
    return [changed.get(name, {}) for name in hf.change_sources(check)]


def test_the_change_list_names_what_changed_in_order() -> None:
    results = _results(
        {
            "__hardening_packages_install": {"changed": True},
            "__hardening_ssh_file": {"changed": True},
            "__hardening_fw_load": {"changed": True},
            "__hardening_fw_boot": {"changed": False},
            "__hardening_login_defs_set": {
                "changed": True,
                "results": [
                    {"changed": True, "item": {"key": "UMASK", "value": "027"}},
                    {"changed": False, "item": {"key": "PASS_MAX_DAYS", "value": "365"}},
                    {"changed": True, "item": {"key": "PASS_MIN_DAYS", "value": "1"}},
                ],
            },
            "__hardening_services_disabled": {"skipped": True, "changed": False},
        }
    )
    assert hf.changes(results, CHANGE_CONTEXT) == [
        "packages: installed nftables, fail2ban",
        "ssh: /etc/ssh/sshd_config.d/00-omctl-hardening.conf (port 22 -> 2222)",
        "firewall: loaded table inet omctl_hardening",
        "accounts: /etc/login.defs UMASK, PASS_MIN_DAYS",
    ]


def test_check_mode_reads_the_tasks_that_show_the_change() -> None:
    sources = hf.change_sources(True)
    assert "__hardening_ssh_shown" in sources and "__hardening_ssh_file" not in sources
    assert "__hardening_fw_shown" in sources and "__hardening_fw_file" not in sources
    assert hf.change_sources("false")[2:4] == ["__hardening_ssh_file", "__hardening_fw_file"]
    results = _results({"__hardening_fw_shown": {"changed": True}}, check=True)
    assert hf.changes(results, {**CHANGE_CONTEXT, "port_change": "False"}) == [
        "firewall: /etc/nftables.conf"
    ]


def test_every_change_source_is_registered_by_a_task_of_the_role() -> None:
    registered = set()
    for tasks in (ROLE / "tasks").glob("*.yml"):
        registered |= set(re.findall(r"^\s*register:\s*(\S+)\s*$", tasks.read_text(), re.M))
    for name in set(hf.change_sources(True)) | set(hf.change_sources(False)):
        assert name in registered, name


def test_a_change_list_of_the_wrong_length_is_an_error() -> None:
    with pytest.raises(AnsibleFilterError, match="needs 24 results, got 1"):
        hf.changes([{}], CHANGE_CONTEXT)
