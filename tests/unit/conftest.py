"""Shared fixtures: a small but complete workspace in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from omctl.settings import Settings
from omctl.workspace import Workspace
from tests import pg
from tests.unit.webhook import Receiver

PLAYBOOKS = {
    "onboarding/baseline.yml": "Record the state of a server at handover",
    "maintenance/healthcheck.yml": "Check services, the site and disk space",
    "maintenance/patching.yml": "Apply OS and WordPress updates",
    "operation/content_sync.yml": "Publish a content release",
}

HOSTS = """\
all:
  children:
    web:
      hosts:
        web1: {ansible_host: 127.0.0.1, ansible_port: 2201}
        web2: {ansible_host: 127.0.0.1, ansible_port: 2202}
    db:
      hosts:
        db1: {ansible_host: 127.0.0.1, ansible_port: 2203}
"""


def scope_text(
    client: str = "acme",
    valid_from: date | None = None,
    valid_until: date | None = None,
    body: str = "",
) -> str:
    start = valid_from or date.today() - timedelta(days=30)
    end = valid_until or date.today() + timedelta(days=335)
    return f"client: {client}\ncontract: ACME-2026\nvalid_from: {start}\nvalid_until: {end}\n{body}"


DEFAULT_BODY = """\
operation:
  content_sync: {every: weekly}
maintenance:
  healthcheck:
    every: daily
    hosts: [web]
  patching: {every: monthly, window: "Sun 02:00-04:00"}
"""


def make_workspace(
    root: Path,
    hosts: str = HOSTS,
    scope_body: str = DEFAULT_BODY,
    playbooks: dict[str, str] = PLAYBOOKS,
    scope: str | None = None,
) -> Workspace:
    """``playbooks`` (path under playbooks/ -> description) as no-op plays, and client acme
    with ``hosts`` and a scope: ``scope`` as written, else ``scope_body`` under a contract."""
    for relative, description in playbooks.items():
        path = root / "playbooks" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"# description: {description}\n- name: Play\n  hosts: all\n  gather_facts: false\n"
            "  tasks:\n    - name: Nothing\n      ansible.builtin.meta: noop\n"
        )
    (root / "roles").mkdir()
    client = root / "inventories" / "acme"
    client.mkdir(parents=True)
    (client / "hosts.yml").write_text(hosts)
    (client / "scope.yml").write_text(scope if scope is not None else scope_text(body=scope_body))
    return Workspace(root)


@pytest.fixture(scope="session", autouse=True)
def ledger_keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Ledger keys go to a temporary config folder, never the real ~/.config/omctl; one for
    the session, since module-scoped ledgers outlive a test."""
    config = tmp_path_factory.mktemp("config")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CONFIG_HOME", str(config))
        patch.delenv("OMCTL_LEDGER_KEY_FILE", raising=False)
        yield config / "omctl"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return make_workspace(tmp_path)


@pytest.fixture
def settings(ws: Workspace) -> Settings:
    return Settings(workspace=ws, operator="tester@unit")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on loopback, stopped after the test."""
    started = Receiver()
    yield started
    started.server.shutdown()
    started.server.server_close()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pg.Server]:
    """A real PostgreSQL on a loopback port for the session (tests/pg.py); skipped only when
    the server binaries are not installed."""
    bin_dir = pg.binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries not installed (Debian package postgresql)")
    server = pg.start(bin_dir)
    yield server
    server.stop()
