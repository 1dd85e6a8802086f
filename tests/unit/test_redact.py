"""omctl.redact: which values are secret, and scrubbing them from text and data."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from omctl import redact
from omctl.errors import BadInput
from omctl.redact import REDACTED, Redactor


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("db_password", True),
        ("api_token", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("backup_sftp_key", True),
        ("registry_credentials", True),
        ("backup_sftp_key_path", False),  # where a key is kept, not the key
        ("tls_key_file", False),
        ("backup_password_file", False),
        ("gnupg_key_dir", False),
        ("healthcheck_url", False),
        ("patching_serial", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert redact.secret_name(name) is secret


def test_text_and_data_are_scrubbed_everywhere() -> None:
    scrub = Redactor(["s3cr3t-value", "other-secret"])
    assert scrub.text("mysql -ps3cr3t-value db") == f"mysql -p{REDACTED} db"
    data = {
        "msg": "token other-secret here",
        "list": ["s3cr3t-value", 3, None, True],
        "s3cr3t-value": {"nested": ("x", "s3cr3t-value!")},
    }
    assert scrub.data(data) == {
        "msg": f"token {REDACTED} here",
        "list": [REDACTED, 3, None, True],
        REDACTED: {"nested": ["x", f"{REDACTED}!"]},
    }
    event = {"stdout": "other-secret", "event_data": {"res": {"cmd": "echo s3cr3t-value"}}}
    scrub.in_place(event)
    assert event == {"stdout": REDACTED, "event_data": {"res": {"cmd": f"echo {REDACTED}"}}}


def test_longest_value_first_and_escaped_forms() -> None:
    scrub = Redactor(['pa"ss\\word-1', 'pa"ss\\word-1-longer', "pässwört-9"])
    assert scrub.text('pa"ss\\word-1-longer') == REDACTED
    # JSON-escaped, as in a result printed by Ansible, in either ASCII or UTF-8 form.
    assert scrub.text('"msg": "pa\\"ss\\\\word-1"') == f'"msg": "{REDACTED}"'
    assert scrub.text('"p\\u00e4ssw\\u00f6rt-9"') == f'"{REDACTED}"'


def test_multi_line_secret_scrubbed_line_by_line() -> None:
    key = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----\n"
    scrub = Redactor([key])
    shown = scrub.text("first line MIIEvQIBADANBgkqhkiG9w0BAQEFAASC reformatted")
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in shown


def test_short_values_are_not_scrubbed_but_counted() -> None:
    scrub = Redactor(["abc", "", "12345", "abcdef"])
    assert scrub.text("abc 12345 abcdef") == f"abc 12345 {REDACTED}"
    assert scrub.too_short == 2
    assert len("abcdef") == redact.MIN_SECRET_LENGTH


def test_nothing_to_scrub_is_the_identity() -> None:
    scrub = Redactor()
    data = {"a": ["b"]}
    assert not scrub and scrub.data(data) is data and scrub.text("x") == "x"


def _encrypt(password_file: Path, plaintext: str, name: str | None = None) -> str:
    command = [str(Path(sys.executable).parent / "ansible-vault")]
    if name is None:
        command += ["encrypt", "--vault-password-file", str(password_file), "--output", "-", "-"]
    else:
        command += ["encrypt_string", "--vault-password-file", str(password_file), "--name", name]
    done = subprocess.run(
        [*command, *([] if name is None else [plaintext])],
        input=plaintext if name is None else None,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_collect_vault_secret_vars_extra_vars_and_environment(tmp_path: Path) -> None:
    inventory = tmp_path / "inventories" / "acme"
    (inventory / "group_vars" / "all").mkdir(parents=True)
    (inventory / "host_vars").mkdir()
    password = tmp_path / "vault-pass"
    password.write_text("vault-password-" + secrets.token_hex(4) + "\n")
    inline = _encrypt(password, "inline-secret-1", name="db_password")
    (inventory / "group_vars" / "all" / "vault.yml").write_text(
        "plain_setting: visible-value\n" + inline
    )
    whole = _encrypt(password, "api_token: whole-file-2\nnested: {deep: whole-file-3}\n")
    (inventory / "group_vars" / "all" / "encrypted.yml").write_text(whole)
    (inventory / "host_vars" / "web1.yml").write_text(
        "site_admin: {login: admin, pin: listed-var-4}\nother: !unsafe '{{ not-secret }}'\n"
    )
    (inventory / "hosts.yml").write_text(
        "all: {hosts: {web1: {site_admin: listed-var-5, ansible_host: 10.0.0.1}}}\n"
    )
    roles = tmp_path / "roles" / "r" / "vars"
    roles.mkdir(parents=True)
    (roles / "main.yml").write_text(_encrypt(password, "role_secret: in-a-role-6\n"))
    found = redact.collect(
        inventory_dir=inventory,
        vault_dirs=[tmp_path / "roles"],
        vault_password_file=password,
        secret_vars=["site_admin"],
        extravars={"api_token": "extra-7", "note": "harmless", "site_admin": "extra-8"},
        environment={"DEPLOY_TOKEN": "env-9", "LANG": "C.UTF-8"},
    )
    assert set(found) == {
        password.read_text().strip(),
        "inline-secret-1",
        "whole-file-2",
        "whole-file-3",
        "admin",
        "listed-var-4",
        "listed-var-5",
        "in-a-role-6",
        "extra-7",
        "extra-8",
        "env-9",
    }


def test_collect_reads_no_file_without_vault_or_secret_vars(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text("all: [unparsable\n")
    found = redact.collect(inventory_dir=tmp_path, extravars={"db_password": "hunter22"})
    assert found == ["hunter22"]


def test_unreadable_vault_password_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="vault password cannot be read"):
        redact.collect(inventory_dir=tmp_path, vault_password_file=tmp_path / "missing")
