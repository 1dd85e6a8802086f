"""Onboarding a server as it is found: reached as a sudo user, not root.

A lab container of its own (hardening changes it for good) gets three users at test time,
each with the lab key: ``deploy`` with passwordless sudo, ``pwsudo`` whose sudo asks for a
password, and ``nosudo`` without sudo. The image is not changed for them: its tag would change
and force a rebuild for every workspace, while only this test needs such users.
"""

from __future__ import annotations

import hashlib
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from omctl import lab as omctl_lab
from omctl.workspace import Workspace
from tests.integration.conftest import Lab, Result, write_scope

CLIENT = "sudoed"
HOST = "websudo"

USERS_SCRIPT = """\
set -eu
(umask 077; mkdir -p /root/.ssh; printf '%s\\n' "$1" >> /root/.ssh/authorized_keys)
for user in deploy pwsudo nosudo; do
  useradd --create-home --shell /bin/bash "$user"
  usermod --password '*' "$user"  # no password login, but not a locked account
  install -d -m 0700 -o "$user" -g "$user" "/home/$user/.ssh"
  printf '%s\\n' "$1" > "/home/$user/.ssh/authorized_keys"
  chown "$user:$user" "/home/$user/.ssh/authorized_keys"
  chmod 0600 "/home/$user/.ssh/authorized_keys"
done
printf 'deploy ALL=(ALL:ALL) NOPASSWD: ALL\\n' > /etc/sudoers.d/90-deploy
chmod 0440 /etc/sudoers.d/90-deploy
usermod --append --groups sudo pwsudo
printf 'pwsudo:%s\\nnosudo:%s\\n' "$2" "$2" | chpasswd
"""


@pytest.fixture(scope="module")
def sudo_host(lab: Lab) -> Iterator[dict]:
    """A lab container of its own with the three users (pwsudo and nosudo with one password,
    which only pwsudo may use for sudo); removed at the end."""
    ident = Workspace(lab.ws).ident
    # The workspace label: `omctl lab down` removes it too should this test be killed.
    name = f"omctl-{ident}-{HOST}"
    ssh = omctl_lab.free_port()
    http = omctl_lab.free_port({ssh})
    omctl_lab.podman(
        "run", *omctl_lab.run_options(name, HOST, ident, ssh, http), omctl_lab.LATEST_REF
    )
    try:
        password = "pw-" + secrets.token_hex(12)
        public = Path(f"{lab.key}.pub").read_text().strip()
        omctl_lab.podman("exec", name, "sh", "-c", USERS_SCRIPT, "sh", public, password)
        host = next(h for h in omctl_lab.status(Workspace(lab.ws)) if h.name == name)
        omctl_lab.wait_ready(Workspace(lab.ws), [host])  # root's SSH and the site answer
        yield {"name": name, "port": ssh, "password": password}
    finally:
        omctl_lab.podman("rm", "--force", "--time", "5", name, check=False)


def onboard(
    lab: Lab, host: dict, user: str, *options: str, name: str = HOST, env: dict | None = None
) -> Result:
    return lab.omctl(
        "onboard", CLIENT, name, "--address", "127.0.0.1", "--port", str(host["port"]),
        "--user", user, "--key", str(lab.key), "--json", *options, env=env,
    )  # fmt: skip


def ssh_as(lab: Lab, host: dict, user: str, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            "ssh", "-i", str(lab.key), "-p", str(host["port"]), "-o", "BatchMode=yes",
            "-o", "IdentitiesOnly=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            f"{user}@127.0.0.1", command,
        ],
        capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def digest(folder: Path) -> dict[str, str]:
    """Every file under the client's folder and its sha256: proves nothing was written."""
    if not folder.exists():
        return {}
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def sshd_named(host: dict) -> bool:
    """Whether the baseline names sshd as the process on port 22, as only root can."""
    ports = host["evidence"]["baseline"]["ports"]
    return any(p["port"] == 22 and p["process"] == "sshd" for p in ports)


@pytest.fixture(scope="module")
def onboarded(lab: Lab, sudo_host: dict) -> dict:
    """The host onboarded as deploy (passwordless sudo), with hardening in the contract."""
    result = onboard(lab, sudo_host, "deploy")
    assert result.code == 0, result.stderr
    write_scope(lab, CLIENT, "  hardening: {every: on_request}\n")
    return {"result": result, "hosts": lab.ws / "inventories" / CLIENT / "hosts.yml"}


def test_onboarding_as_a_passwordless_sudo_user_writes_become(lab: Lab, onboarded: dict) -> None:
    result = onboarded["result"]
    run = result.json()
    assert run["sudo"] == "nopasswd" and run["status"] == "successful"
    assert run["hosts"][HOST]["failed"] == 0 and run["hosts"][HOST]["unreachable"] == 0
    assert "root through sudo without a password: ansible_become" in result.stderr
    text = onboarded["hosts"].read_text()
    assert "ansible_user: deploy" in text and "ansible_become: true" in text
    # The baseline ran as root through sudo: ss names the processes of other users to root only.
    shown = lab.omctl("show", run["id"], "--json")
    assert shown.code == 0, shown.stderr
    assert sshd_named(shown.json()["hosts"][HOST]), shown.stdout


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ("nosudo", "nosudo@127.0.0.1: nosudo is in no sudo group (sudo, admin, wheel) and sudo"),
        ("pwsudo", "pwsudo@127.0.0.1: sudo asks for a password; pass --become-password-file"),
    ],
    ids=["no-sudo", "sudo-with-password"],
)
def test_a_user_without_working_sudo_is_refused_and_nothing_is_written(
    lab: Lab, sudo_host: dict, onboarded: dict, user: str, message: str
) -> None:
    client = lab.ws / "inventories" / CLIENT
    before = digest(client)
    result = onboard(lab, sudo_host, user, name=f"{HOST}-{user}")
    assert result.code == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert digest(client) == before


def test_a_user_not_in_sudoers_is_named_once_a_password_is_given(
    lab: Lab, sudo_host: dict, onboarded: dict, tmp_path: Path
) -> None:
    """sudo -n cannot tell a non-sudoer from a password prompt; sudo says it once the user's
    own password is right."""
    vault_pass, password_file = secret_files(tmp_path, sudo_host["password"])
    client = lab.ws / "inventories" / CLIENT
    before = digest(client)
    result = onboard(
        lab, sudo_host, "nosudo", "--become-password-file", str(password_file),
        name=f"{HOST}-nosudo", env={"OMCTL_VAULT_PASSWORD_FILE": str(vault_pass)},
    )  # fmt: skip
    assert result.code == 2, result.stderr
    assert "nosudo@127.0.0.1: nosudo is not in sudoers" in result.stderr, result.stderr
    assert digest(client) == before


def secret_files(tmp_path: Path, password: str) -> tuple[Path, Path]:
    """A vault password file and a --become-password-file, both 0600."""
    vault_pass = tmp_path / "vault-pass"
    vault_pass.write_text("vault-" + secrets.token_hex(8) + "\n")
    password_file = tmp_path / "sudo-pass"
    password_file.write_text(password + "\n")
    for path in (vault_pass, password_file):
        path.chmod(0o600)
    return vault_pass, password_file


def test_a_wrong_sudo_password_is_refused(
    lab: Lab, sudo_host: dict, onboarded: dict, tmp_path: Path
) -> None:
    vault_pass, password_file = secret_files(tmp_path, "not-the-password")
    client = lab.ws / "inventories" / CLIENT
    before = digest(client)
    result = onboard(
        lab, sudo_host, "pwsudo", "--become-password-file", str(password_file),
        name=f"{HOST}-pw", env={"OMCTL_VAULT_PASSWORD_FILE": str(vault_pass)},
    )  # fmt: skip
    assert result.code == 2, result.stderr
    assert "pwsudo@127.0.0.1: sudo rejects the password in --become-password-file" in (
        result.stderr
    )
    assert digest(client) == before


def test_a_sudo_password_reaches_ansible_only_through_the_vault(
    lab: Lab, sudo_host: dict, onboarded: dict, tmp_path: Path
) -> None:
    password = sudo_host["password"]
    vault_pass, password_file = secret_files(tmp_path, password)
    env = {"OMCTL_VAULT_PASSWORD_FILE": str(vault_pass)}
    name = f"{HOST}-pw"
    result = onboard(
        lab, sudo_host, "pwsudo", "--become-password-file", str(password_file),
        name=name, env=env,
    )  # fmt: skip
    assert result.code == 0, result.stderr
    run = result.json()
    assert run["sudo"] == "password" and run["hosts"][name]["failed"] == 0
    shown = lab.omctl("show", run["id"], "--json")
    assert sshd_named(shown.json()["hosts"][name]), shown.stdout
    client = lab.ws / "inventories" / CLIENT
    become = client / "host_vars" / name / "become.yml"
    assert become.stat().st_mode & 0o777 == 0o600
    assert "ansible_become_password: !vault |" in become.read_text()
    # The password is nowhere in clear: not in the inventory, the ledger, the run's artifacts
    # or the output.
    for root in (client, lab.ws / ".omctl"):
        leaked = [p for p in root.rglob("*") if p.is_file() and password.encode() in p.read_bytes()]
        assert leaked == []
    assert password not in result.stdout + result.stderr
    # Without the vault password the host cannot be worked on: Ansible cannot decrypt it.
    blind = lab.omctl("run", CLIENT, "baseline", "--limit", name, "--json")
    assert blind.code != 0


def test_hardening_as_the_sudo_user_succeeds_without_editing_the_inventory(
    lab: Lab, sudo_host: dict, onboarded: dict
) -> None:
    hosts_before = onboarded["hosts"].read_bytes()
    session = ssh_as(lab, sudo_host, "deploy", "printenv SSH_CONNECTION")
    assert session.returncode == 0, session.stderr
    controller = session.stdout.split()[0]
    # Without the Lynis audits (minutes, nothing to do with sudo); every concern changes the host.
    result = lab.omctl(
        "run", CLIENT, "hardening", "--limit", HOST, "-e", "hardening_lynis_enabled=false",
        "--json", timeout=1800,
    )  # fmt: skip
    assert result.code == 0, result.stderr[-4000:]
    shown = lab.omctl("show", result.json()["id"], "--json")
    found = shown.json()["hosts"][HOST]["evidence"]["hardening"]
    assert found["error"] == "" and found["reverted"] is False
    assert (
        found["ssh"]["fresh_login"]
        == "proved by a fresh SSH login as deploy, sudo to root on port 22"
    )
    # The session was read as deploy (sudo clears SSH_CONNECTION): fail2ban never bans the
    # address the operator comes from.
    jail = omctl_lab.podman("exec", sudo_host["name"], "cat", "/etc/fail2ban/jail.local").stdout
    assert controller in jail, jail
    # The operator keeps access: deploy logs in and becomes root; the inventory is as written.
    after = ssh_as(lab, sudo_host, "deploy", "sudo -n id -u")
    assert (after.returncode, after.stdout.strip()) == (0, "0"), after.stderr
    assert onboarded["hosts"].read_bytes() == hosts_before
