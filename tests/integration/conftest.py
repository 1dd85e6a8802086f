"""Integration fixtures: a fresh workspace with two real lab containers reached over SSH.

Everything runs through the installed ``omctl`` command in subprocesses, as an operator would.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

OMCTL = str(Path(sys.executable).parent / "omctl")
REPO = Path(__file__).resolve().parents[2]

# The files that take longest on the 2-core CI machine (each 10-20 minutes: four flavour
# hosts through every task; Lynis audits; held apt locks and upgrades; backups and drills),
# longest first. pytest-xdist hands whole files to its workers in collection order, so these
# start at once instead of meeting late on one worker while the other idles.
SLOWEST_FIRST = ("test_flavours.py", "test_hardening.py", "test_patching.py", "test_backup.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return SLOWEST_FIRST.index(name) if name in SLOWEST_FIRST else len(SLOWEST_FIRST)

    items.sort(key=rank)  # stable: the rest keep their order


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self):
        return json.loads(self.stdout)


@dataclass
class Lab:
    ws: Path
    hosts: list[dict]
    env: dict[str, str]

    @property
    def key(self) -> Path:
        return self.ws / ".omctl" / "lab" / "id_ed25519"

    def host(self, name: str) -> dict:
        return next(h for h in self.hosts if h["hostname"] == name)

    def omctl(self, *args: str, timeout: int = 600, env: dict | None = None) -> Result:
        done = subprocess.run(
            [OMCTL, *args],
            cwd=self.ws,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        return Result(done.returncode, done.stdout, done.stderr)

    def popen(self, *args: str, env: dict | None = None) -> subprocess.Popen:
        return subprocess.Popen(
            [OMCTL, *args],
            cwd=self.ws,
            env={**self.env, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )

    def onboard(self, client: str, name: str) -> Result:
        return self.omctl(
            "onboard", client, name, "--address", "127.0.0.1",
            "--port", str(self.host(name)["ssh_port"]), "--key", str(self.key), "--json",
        )  # fmt: skip

    def ssh(self, name: str, command: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                "ssh", "-i", str(self.key), "-p", str(self.host(name)["ssh_port"]),
                "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "root@127.0.0.1", command,
            ],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip


@pytest.fixture(scope="session", autouse=True)
def ledger_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Ledger keys of the tests' ledgers (in-process ones too) go to a temporary config folder,
    never the real ~/.config/omctl."""
    config = tmp_path_factory.mktemp("config")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(config))
        patch.delenv("OMCTL_LEDGER_KEY_FILE", raising=False)
        yield config / "omctl"


def new_lab(tmp_path_factory: pytest.TempPathFactory, name: str = "workspace") -> Lab:
    """A fresh workspace (``omctl init``) with no lab hosts yet."""
    if os.geteuid() != 0 or shutil.which("podman") is None:
        pytest.fail("integration tests need root and podman: run them through `make test`")
    ws = tmp_path_factory.mktemp(name) / "ws"
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("OMCTL_") and k != "ANSIBLE_CONFIG"
    }
    env["CONTAINERS_CONF"] = str(REPO / "omctl" / "data" / "containers.conf")
    env["OMCTL_OPERATOR"] = "itest@lab"
    init = subprocess.run(
        [OMCTL, "init", str(ws)], env=env, capture_output=True, text=True, check=False
    )
    assert init.returncode == 0, init.stderr
    return Lab(ws, [], env)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    started = new_lab(tmp_path_factory)
    try:
        up = started.omctl("lab", "up", "--hosts", "2", "--json", timeout=1800)
        assert up.code == 0, up.stderr
        started.hosts = up.json()
        yield started
    finally:
        started.omctl("lab", "down")


FLAVOURS = ("bare", "upstream", "two-sites", "apache")


@pytest.fixture(scope="module")
def flavour_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A workspace of its own with one lab host of each flavour: bare1, upstream1, two-sites1,
    apache1 (``omctl lab up --flavour X`` for each), taken down at the end of the module."""
    started = new_lab(tmp_path_factory, "flavours")
    try:
        for name in FLAVOURS:
            up = started.omctl("lab", "up", "--flavour", name, "--json", timeout=1800)
            assert up.code == 0, up.stderr
            started.hosts = up.json()
        assert sorted((h["hostname"], h["flavour"]) for h in started.hosts) == sorted(
            (f"{name}1", name) for name in FLAVOURS
        )
        yield started
    finally:
        started.omctl("lab", "down")


def write_scope(lab: Lab, client: str, maintenance: str, operation: str = "{}") -> None:
    path = lab.ws / "inventories" / client / "scope.yml"
    path.write_text(
        f"client: {client}\ncontract: {client.upper()}-1\nvalid_from: 2026-01-01\n"
        f"valid_until: 2099-12-31\noperation: {operation}\nmaintenance:\n{maintenance}"
    )


def vault_encrypt(lab: Lab, password_file: str, name: str, secret: str) -> tuple[Path, str]:
    """A new vault password file under .omctl/ and ``name: <secret encrypted with it>``."""
    vault_pass = lab.ws / ".omctl" / password_file
    vault_pass.write_text(secrets.token_hex(16) + "\n")
    vault_pass.chmod(0o600)
    encrypted = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-vault"), "encrypt_string",
         "--vault-password-file", str(vault_pass), "--name", name, secret],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return vault_pass, encrypted
