"""Canaries in the operator's environment, in Ansible Vault, in a ``-e`` secret and in a
``secret_vars`` variable, through a demo-sized cycle (onboard, healthcheck, hardening --check,
backup, report) and a playbook that deliberately prints, diffs, publishes and fails with them:
zero bytes of any canary anywhere under the workspace or in any output.

Each canary provably reached the playbook: the probe publishes it reversed, and that reversed
form is found in the ledger and the run's artifacts (so the search would see a leak).
"""

from __future__ import annotations

import secrets
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.integration.conftest import Lab, Result, vault_encrypt, write_scope

CLIENT = "canaried"
LEAK_PLAYBOOK = """\
# description: Test probe that prints, diffs, publishes and fails with every canary
- name: Leak probe
  hosts: all
  gather_facts: false
  vars:
    all_canaries: >-
      {{ [healthcheck_http_url_password, probe_api_token, probe_site_secret,
          lookup('env', 'DEPLOY_TOKEN')] }}
  tasks:
    - name: Print the secrets (deliberately)
      ansible.builtin.debug:
        msg: "{{ all_canaries }}"
    - name: Echo them on the host
      ansible.builtin.command: "echo {{ all_canaries | join(' ') }}"
      changed_when: false
    - name: Write them to a file, shown as a diff
      ansible.builtin.copy:
        content: "{{ all_canaries | join('\\n') }}\\n"
        dest: /tmp/omctl-leak-probe
        mode: "0600"
    - name: Publish them, and each reversed as the control
      ansible.builtin.set_stats:
        data:
          omctl_evidence:
            probe: "{{ {inventory_hostname: {'values': all_canaries,
              'control': all_canaries | map('reverse') | list,
              'env_not_passed': lookup('env', 'CLOUD_API_TOKEN')}} }}"
        aggregate: true
        per_host: false
    - name: Fail with them
      ansible.builtin.fail:
        msg: "failing with {{ all_canaries | join(' ') }}"
"""


def _grep(root: Path, needle: str) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and needle.encode() in p.read_bytes()]


class Canaried:
    def __init__(self, lab: Lab):
        self.lab = lab
        token = secrets.token_hex(10)
        self.vault = f"CANARY-vault-{token}"
        self.extra = f"CANARY-extra-{token}"
        self.secret_var = f"CANARY-secretvar-{token}"
        self.passed = f"CANARY-passedenv-{token}"
        self.env_only = f"CANARY-envonly-{token}"
        self.outputs: list[str] = []
        self.vault_pass: Path | None = None
        self.env = {"CLOUD_API_TOKEN": self.env_only, "DEPLOY_TOKEN": self.passed}

    @property
    def all(self) -> list[str]:
        return [self.vault, self.extra, self.secret_var, self.passed, self.env_only]

    def omctl(self, *args: str) -> Result:
        result = self.lab.omctl(*args, env=self.env, timeout=1200)
        self.outputs += [result.stdout, result.stderr]
        return result

    def run(self, task: str, *options: str) -> Result:
        return self.omctl(
            "run", CLIENT, task, "-e", f"probe_api_token={self.extra}",
            "-e", "probe_key_path=/etc/probe/key", "--json", *options,
        )  # fmt: skip


@pytest.fixture(scope="module")
def canaried(lab: Lab) -> Canaried:
    found = Canaried(lab)
    onboarded = found.omctl(
        "onboard", CLIENT, "web1", "--address", "127.0.0.1",
        "--port", str(lab.host("web1")["ssh_port"]), "--key", str(lab.key), "--json",
    )  # fmt: skip
    assert onboarded.code == 0, onboarded.stderr
    write_scope(
        lab,
        CLIENT,
        "  healthcheck: {every: daily}\n  hardening: {every: monthly}\n  backup: {every: daily}\n",
    )
    vault_pass, encrypted = vault_encrypt(
        lab, "vault-pass-canaried", "healthcheck_http_url_password", found.vault
    )
    found.vault_pass = vault_pass
    found.env["OMCTL_VAULT_PASSWORD_FILE"] = str(vault_pass)
    group_vars = lab.ws / "inventories" / CLIENT / "group_vars" / "all"
    # The vault canary is also the restic repository's password: it reaches the host's files.
    (group_vars / "secret.yml").write_text(
        "healthcheck_http_url_username: omctl\n" + encrypted
        + "backup_password: '{{ healthcheck_http_url_password }}'\n"
    )  # fmt: skip
    (group_vars / "probe.yml").write_text(f"probe_site_secret: {found.secret_var}\n")
    (group_vars / "quick.yml").write_text("hardening_lynis_enabled: false\n")
    (lab.ws / "omctl.toml").write_text(
        'secret_vars = ["probe_site_secret"]\npass_env = ["DEPLOY_TOKEN"]\n'
    )
    (lab.ws / "playbooks" / "maintenance" / "leak_probe.yml").write_text(LEAK_PLAYBOOK)
    return found


@pytest.fixture(scope="module")
def cycle(canaried: Canaried) -> dict[str, Result]:
    results = {
        "healthcheck": canaried.run("healthcheck"),
        "hardening": canaried.run("hardening", "--check", "--diff"),
        "backup": canaried.run("backup"),
        "probe": canaried.run("leak_probe", "--diff", "--out-of-scope", "test probe"),
    }
    period = datetime.now(UTC).strftime("%Y-%m")
    for fmt in ("md", "json"):
        results[f"report-{fmt}"] = canaried.omctl(
            "report", CLIENT, "--period", period, "--format", fmt
        )
    results["report-html"] = canaried.omctl(
        "report", CLIENT, "--period", period, "--format", "html",
        "--output", str(canaried.lab.ws / ".omctl" / "canaried-report.html"),
    )  # fmt: skip
    for name in ("healthcheck", "hardening", "backup", "probe"):
        run_id = results[name].json()["id"]
        canaried.omctl("show", run_id)
        canaried.omctl("show", run_id, "--json")
    canaried.omctl("history", CLIENT)
    canaried.omctl("history", CLIENT, "--json")
    return results


def test_the_cycle_runs(canaried: Canaried, cycle: dict[str, Result]) -> None:
    for name in ("healthcheck", "hardening", "backup", "report-md", "report-json", "report-html"):
        assert cycle[name].code == 0, (name, cycle[name].stderr[-3000:])
    assert cycle["probe"].code == 1  # its last task fails on purpose


def test_each_canary_reached_the_playbook(canaried: Canaried, cycle: dict[str, Result]) -> None:
    """The control: each canary was there, reversed in the ledger and the run's artifacts."""
    run_id = cycle["probe"].json()["id"]
    shown = canaried.omctl("show", run_id, "--json").json()
    probe = shown["hosts"]["web1"]["evidence"]["probe"]
    reached = [canaried.vault, canaried.extra, canaried.secret_var, canaried.passed]
    assert probe["control"] == [value[::-1] for value in reached]
    assert probe["values"] == ["<redacted>"] * 4
    assert probe["env_not_passed"] == ""  # not in the allow-list nor pass_env
    artifacts = canaried.lab.ws / ".omctl" / "runs" / run_id
    for value in reached:
        assert _grep(artifacts, value[::-1]), value
    # The host got the plaintext (the probe wrote it there), and the restic repository opens
    # with the vault canary as its password.
    on_host = canaried.lab.ssh("web1", "cat /tmp/omctl-leak-probe").stdout
    assert on_host.split() == reached
    assert "<redacted>" in cycle["probe"].stderr  # the diff and the failure, scrubbed


def test_no_canary_anywhere(canaried: Canaried, cycle: dict[str, Result]) -> None:
    ws = canaried.lab.ws
    # The operator put the secret_vars value in that inventory file; the vault file holds
    # ciphertext only.
    planted = ws / "inventories" / CLIENT / "group_vars" / "all" / "probe.yml"
    for canary in canaried.all:
        for text in canaried.outputs:
            assert canary not in text
        leaked = [path for path in _grep(ws, canary) if path != planted]
        assert leaked == [], (canary, leaked)
    assert canaried.vault_pass is not None
    password = canaried.vault_pass.read_text().strip()
    assert _grep(ws / ".omctl", password) == [canaried.vault_pass]


def test_extra_vars_recorded_by_name(canaried: Canaried, cycle: dict[str, Result]) -> None:
    shown = canaried.omctl("show", cycle["healthcheck"].json()["id"], "--json").json()
    assert shown["extra_vars"] == {
        "probe_api_token": "<redacted>",
        "probe_key_path": "/etc/probe/key",  # where a key is, not a key: kept
    }


def test_artifacts_keep_no_environment_and_are_private(
    canaried: Canaried, cycle: dict[str, Result]
) -> None:
    runs = canaried.lab.ws / ".omctl" / "runs"
    for name in ("healthcheck", "probe"):
        folder = runs / cycle[name].json()["id"]
        command = (folder / "artifacts" / folder.name / "command").read_text()
        assert '"env"' not in command and "PATH" not in command
    state = canaried.lab.ws / ".omctl"
    for path in [runs, *runs.rglob("*"), state / "locks", *(state / "locks").iterdir()]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    report = state / "canaried-report.html"
    assert stat.S_IMODE(report.stat().st_mode) == 0o600
