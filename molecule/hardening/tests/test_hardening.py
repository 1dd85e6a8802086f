"""The hardening role on a lab host: what sshd, nftables and fail2ban really do, real SSH logins,
the site, the services, and a drift put right by one tagged concern.

Every remote command costs a round trip through Ansible: related checks share one command.
Check mode on a fresh host and the idempotent re-run are Molecule's own check and idempotence
steps; the integration tests cover the fresh-login check, the revert and the audit over SSH.
"""

from __future__ import annotations

import json
import secrets
import socket
import subprocess

import pytest

# The variables of molecule.yml, for the run the tests make themselves.
VARS = {
    "hardening_lynis_enabled": False,
    "hardening_fail2ban_wordpress_enabled": True,
    "hardening_services_unneeded": ["omctl-unneeded-demo"],
}
SSH = (
    "ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null "
    "-o ConnectTimeout=10"
)
WP_CONFIG = "/etc/wordpress/config-default.php"


def test_sshd_runs_with_the_hardened_settings(host):
    settings: dict[str, str] = {}
    out = host.check_output("sshd -T -C user=root,host=127.0.0.1,addr=127.0.0.1")
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        settings.setdefault(key, value)
    assert settings["port"] == "22"
    assert settings["passwordauthentication"] == "no"
    assert settings["kbdinteractiveauthentication"] == "no"
    assert settings["permitrootlogin"] == "without-password"  # prohibit-password
    assert settings["maxauthtries"] == "3"
    assert settings["logingracetime"] == "30"
    assert (settings["clientaliveinterval"], settings["clientalivecountmax"]) == ("300", "2")
    assert settings["x11forwarding"] == "no"
    assert settings["allowtcpforwarding"] == "no"
    assert settings["allowagentforwarding"] == "no"
    assert settings["ciphers"].split(",") == [
        "chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com",
        "aes256-ctr", "aes192-ctr", "aes128-ctr",
    ]  # fmt: skip
    assert all("sha1" not in mac and "md5" not in mac for mac in settings["macs"].split(","))
    assert settings["kexalgorithms"].split(",")[0] == "sntrup761x25519-sha512@openssh.com"


def test_password_login_is_refused_by_a_real_client(host):
    # An account whose password is right: the server must not even offer to check it.
    password = "Mol-" + secrets.token_urlsafe(18)
    script = f"""
set -u
useradd -m omctl-pwtest
# pam_pwquality: a weak password is rejected, a strong one accepted.
echo 'omctl-pwtest:short1' | chpasswd 2>/dev/null && echo weak-accepted
echo 'omctl-pwtest:{password}' | chpasswd || echo strong-rejected
printf '#!/bin/sh\\necho {password}\\n' > /tmp/askpass && chmod 700 /tmp/askpass
SSH_ASKPASS=/tmp/askpass SSH_ASKPASS_REQUIRE=force DISPLAY=none {SSH} \\
    -o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive \\
    omctl-pwtest@127.0.0.1 true
echo "ssh-rc=$?"
userdel -r omctl-pwtest 2>/dev/null; rm -f /tmp/askpass
"""
    result = host.run(script)
    assert "weak-accepted" not in result.stdout and "strong-rejected" not in result.stdout
    assert "ssh-rc=255" in result.stdout, result.stderr
    assert "omctl-pwtest@127.0.0.1: Permission denied (publickey)." in result.stderr


def test_key_login_is_accepted_by_a_real_client(host):
    result = host.run(f"{SSH} -i /root/.ssh/molecule_verify root@127.0.0.1 id -un")
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "root"
    assert "Authorized access only" in result.stderr  # the banner


def test_ruleset_is_loaded_with_a_drop_policy(host):
    out = host.check_output(
        "nft -j list table inet omctl_hardening && nft -c -f /etc/nftables.conf "
        "&& systemctl is-enabled nftables"
    )
    table_json, enabled = out.rsplit("\n", 1)
    assert enabled == "enabled"  # loaded again at boot
    table = json.loads(table_json)["nftables"]
    (chain,) = [item["chain"] for item in table if "chain" in item]
    assert (chain["hook"], chain["policy"]) == ("input", "drop")
    ports: set[int] = set()
    for item in table:
        rule = item.get("rule")
        if not rule or not any("accept" in e for e in rule["expr"]):
            continue
        for expr in rule["expr"]:
            match = expr.get("match", {})
            payload = match.get("left", {}).get("payload", {})
            if payload.get("protocol") == "tcp" and payload.get("field") == "dport":
                right = match["right"]
                values = right["set"] if isinstance(right, dict) else [right]
                ports.update(int(v) for v in values)
    # SSH and the ports the discovered sites listen on: the lab's one site is plain HTTP, so
    # 443 stays closed (hardening_firewall_web_ports: null follows discovery).
    assert ports == {22, 80}


@pytest.fixture
def instance_address(host) -> str:
    return subprocess.run(
        ["podman", "inspect", "--format", "{{.NetworkSettings.IPAddress}}", host.backend.name],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip


def _connects(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=3):
            return True
    except OSError:
        return False


def test_firewall_drops_what_it_does_not_admit(host, instance_address):
    # A listener the ruleset does not admit, reached from the controller over the bridge.
    host.run_expect(
        [0],
        "systemd-run --unit=omctl-probe-8081 python3 -m http.server 8081 && "
        "timeout 60 sh -c 'until ss -Hltn | grep -q :8081; do sleep 0.5; done' && "
        "curl -sf -o /dev/null http://127.0.0.1:8081/",  # it answers from inside
    )
    try:
        assert not _connects(instance_address, 8081)
    finally:
        host.run("systemctl stop omctl-probe-8081")
    assert _connects(instance_address, 80)
    assert _connects(instance_address, 22)


def test_fail2ban_guards_the_ssh_port(host):
    out = host.check_output(
        "fail2ban-client status && fail2ban-client status sshd >/dev/null && "
        "fail2ban-client get sshd action nftables-multiport port"
    )
    assert "sshd" in out and "omctl-wordpress" in out
    assert out.splitlines()[-1] == "22"


def test_site_answers(host):
    out = host.check_output("curl -s -w '\\n%{http_code}' http://localhost/")
    assert out.endswith("\n200") and "omctl lab site" in out


def test_unneeded_service_is_stopped_and_disabled(host):
    result = host.run(
        "systemctl is-active omctl-unneeded-demo; systemctl is-enabled omctl-unneeded-demo"
    )
    assert result.stdout.split() == ["inactive", "disabled"]


def test_sysctl_settings_are_written_not_applied_in_a_container(host):
    written = host.file("/etc/sysctl.d/90-omctl-hardening.conf").content_string
    assert "kernel.kptr_restrict = 2" in written
    assert "ip_forward" not in written  # left alone unless set
    # /proc/sys is read-only here: the file is all the role can do (it says so in "skipped").
    assert host.run("sysctl -w kernel.sysrq=0").rc != 0


def test_tagged_concern_puts_a_drift_right(host, run_playbook, hostname):
    host.run_expect([0], f"chmod 0644 {WP_CONFIG}")
    try:
        run = run_playbook(
            "maintenance/hardening.yml", extravars=VARS, cmdline="--tags hardening_accounts"
        )
    finally:
        mode = host.file(WP_CONFIG).mode
        host.run(f"chmod 0640 {WP_CONFIG}")
    assert run.status == "successful", run.stdout
    assert mode == 0o640
    evidence = run.evidence["hardening"][hostname]
    assert evidence["changes"] == [
        "accounts: WordPress configuration readable by owner and web server group only: "
        + WP_CONFIG
    ]
    assert [site["same"] for site in evidence["sites"]] == [True]
    config = host.file(WP_CONFIG)
    assert (config.user, config.group) == ("root", "www-data")
