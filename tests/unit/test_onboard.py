import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from omctl import catalog, inventory, onboard, scope
from omctl.errors import BadInput
from omctl.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]


def _target(**overrides) -> onboard.Target:
    values = {"client": "newco", "host": "web1", "address": "192.0.2.7", "port": 2222}
    values.update(overrides)
    return onboard.Target(**values)


def test_ssh_command_pins_known_hosts_and_never_prompts(tmp_path: Path) -> None:
    key = tmp_path / "id"
    command = onboard.ssh_command(_target(key=key), tmp_path / "kh", "accept-new")
    joined = " ".join(command)
    assert "BatchMode=yes" in joined and f"UserKnownHostsFile={tmp_path / 'kh'}" in joined
    assert "StrictHostKeyChecking=accept-new" in joined
    assert command[-1] == "root@192.0.2.7" and command[command.index("-p") :][:2] == ["-p", "2222"]
    assert ["-i", str(key)] == command[command.index("-i") :][:2]


@pytest.mark.parametrize(
    ("stderr", "expected"),
    [
        ("root@x: Permission denied (publickey).", "was refused"),
        ("ssh: connect to host x port 22: Connection refused", "connection refused"),
        ("ssh: connect to host x port 22: Connection timed out", "timed out"),
        ("Host key verification failed.", "does not match"),
        ("kex_exchange_identification: read: Connection reset by peer", "failed: kex"),
    ],
)
def test_ssh_failures_are_explained(stderr: str, expected: str) -> None:
    assert expected in onboard._explain_ssh_failure(_target(), stderr)


def test_new_client_gets_inventory_known_hosts_and_an_empty_valid_scope(ws: Workspace) -> None:
    assert onboard.write_inventory(
        ws, _target(), "[192.0.2.7]:2222 ssh-ed25519 AAAA\n", date.today()
    )
    client = ws.client_dir("newco")
    found = inventory.load(client / "hosts.yml")
    assert found.hosts == ["web1"]
    data = yaml.safe_load((client / "hosts.yml").read_text())
    assert data["all"]["hosts"]["web1"] == {
        "ansible_host": "192.0.2.7", "ansible_port": 2222, "ansible_user": "root",
    }  # fmt: skip
    assert "ssh-ed25519" in (client / "known_hosts").read_text()
    loaded = scope.load(client / "scope.yml")
    scope.check_against(loaded, client="newco", catalog=catalog.by_name(ws), inventory_names=None)
    assert loaded.scope.operation == {} and loaded.scope.maintenance == {}


def test_second_host_is_added_and_a_duplicate_refused(ws: Workspace) -> None:
    onboard.write_inventory(ws, _target(), "", date.today())
    scope_before = (ws.client_dir("newco") / "scope.yml").read_text()
    assert not onboard.write_inventory(ws, _target(host="web2", port=22), "", date.today())
    assert inventory.load(ws.client_dir("newco") / "hosts.yml").hosts == ["web1", "web2"]
    assert (ws.client_dir("newco") / "scope.yml").read_text() == scope_before
    with pytest.raises(BadInput, match="already in the inventory"):
        onboard.write_inventory(ws, _target(), "", date.today())


def test_adding_a_host_keeps_the_operators_comments_groups_and_order(ws: Workspace) -> None:
    hosts_file = ws.client_dir("newco") / "hosts.yml"
    hosts_file.parent.mkdir(parents=True)
    written = """\
# ACME production, contract ACME-2026 (ticket 4711)
all:
  hosts:
    db1:  # the database server: no web ports
      ansible_host: 192.0.2.20
  children:
    web:
      hosts:
        db1:
"""
    hosts_file.write_text(written)
    assert not onboard.write_inventory(ws, _target(), "", date.today())
    text = hosts_file.read_text()
    assert text.startswith(written.partition("  children:")[0])  # db1, its comment untouched
    assert "# ACME production, contract ACME-2026 (ticket 4711)" in text
    assert "# the database server: no web ports" in text
    found = inventory.load(hosts_file)
    assert found.hosts == ["db1", "web1"] and found.resolve("web") == ["db1"]
    assert yaml.safe_load(text)["all"]["hosts"]["web1"]["ansible_port"] == 2222


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"client": "Bad Name"}, "invalid client name"),
        ({"host": "web 1"}, "invalid host name"),
        ({"port": 70000}, "not a TCP port"),
        ({"key": Path("/nonexistent/key")}, "does not exist"),
    ],
)
def test_bad_targets_are_refused_before_any_probe(
    ws: Workspace, overrides: dict, message: str
) -> None:
    with pytest.raises(BadInput, match=message):
        onboard.prepare_host(ws, _target(**overrides), date.today())
    assert not ws.inventories.joinpath("newco").exists()


def test_shipped_example_client_validates_against_the_catalog() -> None:
    ws = Workspace(REPO)
    client = ws.client_dir("example")
    loaded = scope.load(client / "scope.yml")
    hosts = inventory.load(client / "hosts.yml")
    scope.check_against(
        loaded, client="example", catalog=catalog.by_name(ws), inventory_names=hosts.names
    )


# --- root through sudo ------------------------------------------------------------------------


def _deploy(**overrides) -> onboard.Target:
    return _target(user="deploy", address="127.0.0.1", **overrides)


def test_probe_output_is_read_as_key_value_lines() -> None:
    fields = onboard.parse_probe(
        "python=3.11\nuid=1001\nsudo_rc=1\nsudo_out=sudo: a password is required\n"
        "sudo_out=second line\nnot a field\n"
    )
    assert fields["python"] == ["3.11"] and fields["uid"] == ["1001"]
    assert fields["sudo_out"] == ["sudo: a password is required", "second line"]
    assert "not a field" not in " ".join(fields)


@pytest.mark.parametrize(
    ("rc", "output", "with_password", "verdict"),
    [
        (0, "0", False, "ok"),
        # The sudo lecture before the answer does not hide it.
        (0, "We trust you have received the usual lecture...\n0", True, "ok"),
        (0, "1001", False, "failed"),  # sudo ran, but not as root
        (None, "", False, "missing"),
        (1, "sudo: a password is required", False, "password_required"),
        (1, "deploy is not in the sudoers file.", True, "not_in_sudoers"),
        (1, "deploy is not in the sudoers file.  This incident will be reported.", True,
         "not_in_sudoers"),
        (1, "Sorry, user deploy may not run sudo on web1.", False, "no_rule_here"),
        (1, "Sorry, user deploy is not allowed to execute '/bin/sh -c id -u' as root on web1.",
         False, "command_denied"),
        (1, "sudo: sorry, you must have a tty to run sudo", False, "needs_tty"),
        (1, "Sorry, try again.\nsudo: no password was provided\nsudo: 1 incorrect password attempt",
         True, "password_rejected"),
        (1, "sudo: unable to resolve host web1\nsudo: PAM account management error", False,
         "failed"),
    ],
)  # fmt: skip
def test_sudo_answers_are_classified(
    rc: int | None, output: str, with_password: bool, verdict: str
) -> None:
    assert onboard.classify_sudo(rc, output, with_password) == verdict


@pytest.mark.parametrize(
    ("groups", "verdict"),
    [
        (["deploy", "sudo"], "password_required"),
        (["deploy", "wheel"], "password_required"),
        (["deploy", "www-data"], "password_required_no_group"),
        ([], "password_required_no_group"),
    ],
)
def test_a_password_prompt_is_told_apart_by_the_users_groups(groups: list, verdict: str) -> None:
    """sudo -n asks a user sudoers does not name for a password too (sudo 1.9.13)."""
    answer = "sudo: a password is required"
    assert onboard.classify_sudo(1, answer, False, groups) == verdict
    assert onboard.classify_sudo(0, "0", False, groups) == "ok"


@pytest.mark.parametrize(
    ("verdict", "message"),
    [
        ("missing", "deploy@127.0.0.1: sudo is not installed"),
        ("not_in_sudoers", "deploy@127.0.0.1: deploy is not in sudoers"),
        (
            "password_required_no_group",
            "deploy@127.0.0.1: deploy is in no sudo group (sudo, admin, wheel) and sudo asks "
            "for a password",
        ),
        (
            "password_required",
            "deploy@127.0.0.1: sudo asks for a password; pass --become-password-file or "
            "configure NOPASSWD",
        ),
        ("password_rejected", "rejects the password in --become-password-file /run/pw"),
        ("failed", "does not make deploy root (sudo: PAM account management error)"),
    ],
)
def test_sudo_refusals_name_what_is_missing_in_one_line(verdict: str, message: str) -> None:
    target = _deploy(become_password_file=Path("/run/pw"))
    text = onboard.sudo_refusal(target, verdict, "sudo: x\nsudo: PAM account management error")
    assert message in text and "\n" not in text


def test_a_sudo_login_writes_ansible_become_and_no_password(ws: Workspace) -> None:
    login = onboard.Login("nopasswd")
    onboard.write_inventory(ws, _deploy(), "", date.today(), login)
    client = ws.client_dir("newco")
    entry = yaml.safe_load((client / "hosts.yml").read_text())["all"]["hosts"]["web1"]
    assert entry["ansible_user"] == "deploy" and entry["ansible_become"] is True
    assert not (client / "host_vars").exists()


def test_a_root_login_writes_no_become(ws: Workspace) -> None:
    onboard.write_inventory(ws, _target(), "", date.today(), onboard.Login())
    entry = yaml.safe_load((ws.client_dir("newco") / "hosts.yml").read_text())["all"]["hosts"]
    assert "ansible_become" not in entry["web1"]


def _secret_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_the_sudo_password_is_stored_only_vault_encrypted(ws: Workspace, tmp_path: Path) -> None:
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault_pass = _secret_file(tmp_path / "vault-pass", "vault-secret\n")
    encrypted = onboard.vault_encrypt(vault_pass, "ansible_become_password", "s3cret pw")
    login = onboard.Login("password")
    onboard.write_inventory(ws, _deploy(), "", date.today(), login, encrypted)
    become = ws.client_dir("newco") / "host_vars" / "web1" / "become.yml"
    assert become.stat().st_mode & 0o777 == 0o600
    text = become.read_text()
    assert (
        "s3cret" not in text
        and "s3cret" not in (become.parent.parent.parent / "hosts.yml").read_text()
    )
    # What Ansible will read: the tagged vault value, decrypting to the password.
    vaulted = text.split("!vault |\n", 1)[1]
    vault = VaultLib([("default", VaultSecret(b"vault-secret"))])
    plain = vault.decrypt("".join(line.strip() + "\n" for line in vaulted.splitlines()))
    assert plain == b"s3cret pw"


@pytest.mark.parametrize(
    ("content", "mode", "vault", "message"),
    [
        ("pw\n", 0o644, True, "is readable by others (mode 0644): chmod 600 it"),
        ("pw\n", 0o640, True, "is readable by others (mode 0640)"),
        ("\n", 0o600, True, "is empty"),
        ("pw\n", 0o600, False, "needs the workspace's vault password"),
    ],
)
def test_a_become_password_file_is_refused_before_any_probe(
    ws: Workspace, tmp_path: Path, content: str, mode: int, vault: bool, message: str
) -> None:
    password = _secret_file(tmp_path / "pw", content, mode)
    vault_pass = _secret_file(tmp_path / "vault-pass", "vault-secret\n") if vault else None
    target = _deploy(become_password_file=password)
    with pytest.raises(BadInput, match=re.escape(message)):
        onboard.prepare_host(ws, target, date.today(), vault_pass)
    assert not ws.inventories.joinpath("newco").exists()


def test_a_missing_become_password_file_is_refused(ws: Workspace, tmp_path: Path) -> None:
    target = _deploy(become_password_file=tmp_path / "nothing")
    with pytest.raises(BadInput, match="does not exist"):
        onboard.prepare_host(ws, target, date.today(), tmp_path / "vault-pass")


def test_an_unreadable_vault_password_file_is_refused_before_any_probe(
    ws: Workspace, tmp_path: Path
) -> None:
    password = _secret_file(tmp_path / "pw", "pw\n")
    target = _deploy(become_password_file=password)
    with pytest.raises(BadInput, match=r"vault password file .*not found"):
        onboard.prepare_host(ws, target, date.today(), tmp_path / "no-vault-pass")
    assert not ws.inventories.joinpath("newco").exists()
