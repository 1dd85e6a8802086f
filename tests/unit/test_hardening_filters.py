"""The hardening role's preflight decisions, imported from the filter plugin Ansible loads."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit import role_code

PLUGIN = Path(__file__).resolve().parents[2] / "roles/hardening/filter_plugins/hardening.py"
hf = role_code.load(PLUGIN, "hardening_filters")

ROOT = {"name": "root", "exists": True, "uid": 0, "groups": ["root"], "authorized_keys": 1}
DEPLOY = {"name": "deploy", "exists": True, "uid": 1000, "groups": ["deploy", "sudo"],
          "authorized_keys": 2}  # fmt: skip
SSHD_T = """\
port 22
permitrootlogin without-password
pubkeyauthentication yes
passwordauthentication no
authorizedkeysfile .ssh/authorized_keys .ssh/authorized_keys2
authenticationmethods any
"""


def settings(extra: str = "") -> dict:
    return hf.sshd_settings(SSHD_T + extra)


def test_sshd_output_is_parsed_with_lists_for_repeated_options():
    parsed = settings("allowusers alice\nallowusers bob@10.0.0.0/8\n")
    assert parsed["allowusers"] == ["alice", "bob@10.0.0.0/8"]
    assert parsed["authorizedkeysfile"] == [".ssh/authorized_keys", ".ssh/authorized_keys2"]
    assert parsed["permitrootlogin"] == "without-password"


def test_stock_settings_let_a_user_with_a_key_in():
    assert hf.ssh_refusals(settings(), ROOT, "10.88.0.1") == []
    assert hf.ssh_refusals(settings(), DEPLOY, "10.88.0.1") == []


@pytest.mark.parametrize(
    ("extra", "user", "addr", "reason"),
    [
        ("allowusers deploy\n", ROOT, "10.88.0.1",
         "AllowUsers deploy would not let the connecting user root from 10.88.0.1 in"),
        ("allowusers root@192.0.2.0/24\n", ROOT, "10.88.0.1",
         "AllowUsers root@192.0.2.0/24 would not let the connecting user root from 10.88.0.1 in"),
        ("allowgroups admins\n", DEPLOY, "10.88.0.1",
         "AllowGroups admins would not let the connecting user deploy in (member of deploy, sudo)"),
        ("denyusers r*\n", ROOT, "10.88.0.1", "DenyUsers r* would refuse the connecting user root"),
        ("denygroups sudo\n", DEPLOY, "", "DenyGroups sudo would refuse the connecting user"),
        ("permitrootlogin no\n", ROOT, "", "PermitRootLogin no would refuse root"),
        ("authenticationmethods publickey,password\n", ROOT, "",
         "AuthenticationMethods publickey,password would demand more than a key"),
    ],
)  # fmt: skip
def test_settings_that_lock_the_user_out_are_named(extra, user, addr, reason):
    # sshd -T prints an option once: the first value (the candidate's) is the one that counts.
    parsed = hf.sshd_settings(extra + SSHD_T)
    reasons = hf.ssh_refusals(parsed, user, addr)
    assert len(reasons) == 1 and reasons[0].startswith(reason), reasons


def test_matching_patterns_let_the_user_in():
    parsed = hf.sshd_settings("allowusers deploy root@10.88.0.0/16\nallowgroups ro*\n" + SSHD_T)
    assert hf.ssh_refusals(parsed, ROOT, "10.88.0.1") == []
    # PermitRootLogin applies to uid 0 only.
    assert hf.ssh_refusals(hf.sshd_settings("permitrootlogin no\n" + SSHD_T), DEPLOY, "") == []


def test_a_user_without_a_key_is_refused_when_passwords_are_off():
    keyless = {**ROOT, "authorized_keys": 0, "key_files": []}
    (reason,) = hf.ssh_refusals(settings(), keyless, "")
    assert reason.startswith("the connecting user root has no authorized key")
    parsed = hf.sshd_settings("passwordauthentication yes\n" + SSHD_T)
    assert hf.ssh_refusals(parsed, keyless, "") == []


def test_ssh_sources_must_contain_the_connecting_address():
    assert hf.addr_in("10.88.0.1", [])  # no restriction
    assert hf.addr_in("10.88.0.1", ["10.88.0.0/16", "2001:db8::/32"])
    assert hf.addr_in("::ffff:10.88.0.1", ["10.88.0.0/16"])  # IPv4-mapped
    assert not hf.addr_in("10.88.0.1", ["192.0.2.0/24"])
    assert hf.cidrs(["192.0.2.7/24", "2001:db8::/32"], "4") == ["192.0.2.0/24"]
    with pytest.raises(Exception, match="not a network address"):
        hf.cidrs(["not-a-network"])


LISTENERS = [
    {"proto": "tcp", "addr": "0.0.0.0", "port": 22, "process": "sshd", "loopback": False},
    {"proto": "tcp", "addr": "0.0.0.0", "port": 80, "process": "nginx", "loopback": False},
    {"proto": "tcp", "addr": "0.0.0.0", "port": 8080, "process": "nginx", "loopback": False},
    {"proto": "tcp", "addr": "127.0.0.1", "port": 3306, "process": "mariadbd", "loopback": True},
    {"proto": "tcp", "addr": "0.0.0.0", "port": 9100, "process": "node_exporter",
     "loopback": False},
]  # fmt: skip


def test_firewall_plan_names_web_ports_it_would_drop():
    plan = hf.firewall_plan(LISTENERS, [22], [80, 443], ["nginx"], [], [])
    assert plan["tcp_ports"] == [80, 443]
    assert plan["web_dropped"] == ["8080/tcp (nginx)"]
    # Not a web server: reported, not refused; loopback listeners are never concerned.
    assert plan["others_dropped"] == ["9100/tcp (node_exporter)"]
    admitted = hf.firewall_plan(LISTENERS, [2222], [80, 443], ["nginx"], [8080, 9100], [])
    assert admitted["ssh_ports"] == [2222] and admitted["tcp_ports"] == [80, 443, 8080, 9100]
    assert admitted["web_dropped"] == [] and admitted["others_dropped"] == []


def test_no_web_server_no_web_ports():
    plan = hf.firewall_plan(LISTENERS[:1], [22], [80, 443], ["nginx"], [], [])
    assert plan["tcp_ports"] == [] and plan["web_server"] == []


def test_lynis_report_lines():
    report = "hardening_index=80\nwarning[]=FINT-4315|No AIDE configuration|-|-|\n"
    assert hf.lynis_report(report) == {"index": 80, "warnings": 1, "warning_tests": ["FINT-4315"]}


def test_only_files_that_differ_are_written():
    managed = [{"path": "/etc/a", "mode": "0644"}, {"path": "/etc/b", "mode": "0600"}]
    sha_a = "da39a3ee5e6b4b0d3255bfef95601890afd80709"  # sha1 of ""
    found = {
        "/etc/a": {"exists": True, "sha1": sha_a, "mode": "0644", "owner": "root", "group": "root"},
        "/etc/b": {"exists": True, "sha1": sha_a, "mode": "0644", "owner": "root", "group": "root"},
    }
    assert hf.files_to_write(managed, ["", ""], found) == ["/etc/b"]  # mode differs
    assert hf.files_to_write(managed, ["x", ""], {}) == ["/etc/a", "/etc/b"]


def test_services_plan_keeps_the_allowed_and_the_protected():
    enabled = ["ssh", "nginx", "cups", "myapp", "systemd-journald"]
    plan = hf.services_plan(enabled, ["ssh", "systemd-*"], ["cups"], ["nginx"], False)
    assert plan == {"disable": ["cups"], "unlisted": ["myapp"]}
    strict = hf.services_plan(enabled, ["ssh", "systemd-*"], ["cups"], ["nginx"], True)
    assert strict["disable"] == ["cups", "myapp"]


def test_tags_select_concerns():
    assert hf.selected("hardening_ssh", ["all"], [])
    assert hf.selected("hardening_ssh", ["hardening_ssh"], [])
    assert not hf.selected("hardening_ssh", ["hardening_firewall"], [])
    assert not hf.selected("hardening_ssh", ["all"], ["hardening_ssh"])
    assert not hf.selected("hardening_ssh", ["all"], ["hardening"])


def test_reverted_changes_are_marked():
    changes = [
        "packages: installed nftables",
        "ssh: /etc/ssh/x.conf",
        "firewall: /etc/nftables.conf",
    ]
    assert hf.mark_reverted(changes, True) == [
        "packages: installed nftables",
        "ssh: /etc/ssh/x.conf (undone by the automatic revert)",
        "firewall: /etc/nftables.conf (undone by the automatic revert)",
    ]
    assert hf.mark_reverted(changes, False) == changes


# The sites proved before and after (the operator's URL, or omctl_site_requests' entries).
EXPLICIT = {"name": "http://localhost/", "label": "http://localhost/", "status": [200],
            "expected": "200"}  # fmt: skip
SHOP = {"name": "site shop.lab.test", "label": "shop.lab.test at http://127.0.0.1:80/",
        "status": list(range(200, 400)), "expected": "2xx or 3xx"}  # fmt: skip
PAGE = {"status": 200, "sha256": "c1ca", "bytes": 52597}


def test_a_site_that_does_not_answer_as_it_must_is_refused():
    down = {"status": -1, "sha256": "", "bytes": 0, "error": "Connection refused"}
    redirect = {"status": 301, "sha256": "ab", "bytes": 0}
    assert hf.site_refusals([PAGE, redirect], [EXPLICIT, SHOP]) == []
    (message,) = hf.site_refusals([redirect, down], [EXPLICIT, EXPLICIT])[:1]
    assert message.startswith(
        "the site does not answer 200 now (http://localhost/ answered 301): without a working"
    )
    (message,) = hf.site_refusals([down], [SHOP])
    assert message.startswith(
        "the site does not answer 2xx or 3xx now (shop.lab.test at http://127.0.0.1:80/ "
        "answered -1 Connection refused)"
    )
    assert hf.site_refusals([], []) == []


def test_each_site_must_answer_the_same_after():
    changed = {**PAGE, "sha256": "beef", "bytes": 10}
    same, other = hf.site_comparison([PAGE, changed], [PAGE, PAGE], [EXPLICIT, SHOP])
    assert same == {"name": "http://localhost/", "url": "http://localhost/", "before": PAGE,
                    "after": PAGE, "same": True}  # fmt: skip
    assert other["same"] is False
    assert hf.site_broken([same, other]) == [
        "shop.lab.test at http://127.0.0.1:80/ answered 200 with 52597 bytes before and 200 "
        "with 10 bytes (different content) after"
    ]
    # A status that was a redirect before must stay that redirect.
    moved = {"status": 302, "sha256": "c1ca", "bytes": 52597}
    (result,) = hf.site_comparison([moved], [PAGE], [SHOP])
    assert result["same"] is False
    with pytest.raises(ValueError):
        hf.site_comparison([PAGE], [PAGE, PAGE], [SHOP, SHOP])
