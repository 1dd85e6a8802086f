"""A canary secret from Ansible Vault reaches the host but never the ledger, artifacts or output."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from tests.integration.conftest import Lab, vault_encrypt, write_scope

LEAK_PLAYBOOK = """\
# description: Test control that prints the canary, proving the search would find a leak
- name: Leak probe
  hosts: all
  gather_facts: false
  tasks:
    - name: Print the secret (deliberately)
      ansible.builtin.debug:
        msg: "{{ healthcheck_http_url_password }}"
"""


def _grep(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


@pytest.fixture(scope="module")
def vaulted(lab: Lab) -> tuple[Lab, str, Path]:
    result = lab.onboard("vaulted", "web1")
    assert result.code == 0, result.stderr
    write_scope(lab, "vaulted", "  healthcheck: {every: daily}\n")
    canary = "CANARY-" + secrets.token_hex(12)
    vault_pass, encrypted = vault_encrypt(
        lab, "vault-pass", "healthcheck_http_url_password", canary
    )
    group_vars = lab.ws / "inventories" / "vaulted" / "group_vars" / "all"
    (group_vars / "secret.yml").write_text("healthcheck_http_url_username: omctl\n" + encrypted)
    return lab, canary, vault_pass


def test_canary_never_leaves_the_vault(vaulted) -> None:
    lab, canary, vault_pass = vaulted
    env = {"OMCTL_VAULT_PASSWORD_FILE": str(vault_pass)}
    result = lab.omctl("run", "vaulted", "healthcheck", "--json", env=env)
    assert result.code == 0, result.stderr
    shown = lab.omctl("show", result.json()["id"])
    history = lab.omctl("history", "vaulted")
    for text in (result.stdout, result.stderr, shown.stdout, history.stdout):
        assert canary not in text
    assert _grep(lab.ws / ".omctl", canary) == []
    assert _grep(lab.ws / ".omctl", vault_pass.read_text().strip()) == [vault_pass]


def test_control_a_deliberate_leak_is_found(vaulted) -> None:
    """Proves the search above would see a leak and that the vault value was decrypted."""
    lab, canary, vault_pass = vaulted
    (lab.ws / "playbooks" / "maintenance" / "leak_probe.yml").write_text(LEAK_PLAYBOOK)
    env = {"OMCTL_VAULT_PASSWORD_FILE": str(vault_pass)}
    result = lab.omctl(
        "run", "vaulted", "leak_probe", "--out-of-scope", "test control", "--json", env=env
    )
    assert result.code == 0, result.stderr
    leaked = _grep(lab.ws / ".omctl" / "runs" / result.json()["id"], canary)
    assert leaked, "the control run should have written the canary into its artifacts"
