"""The workspace: a folder holding inventories/, playbooks/, roles/ and omctl's state in .omctl/."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from omctl.errors import BadInput, UnknownClient

CLIENT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def inventories(self) -> Path:
        return self.root / "inventories"

    @property
    def playbooks(self) -> Path:
        return self.root / "playbooks"

    @property
    def roles(self) -> Path:
        return self.root / "roles"

    @property
    def state(self) -> Path:
        """omctl's own state: ledger, run folders, locks, lab keys. Never committed."""
        return self.root / ".omctl"

    @property
    def ansible_cfg(self) -> Path:
        return self.root / "ansible.cfg"

    @property
    def ident(self) -> str:
        """A short stable id of this workspace, to keep lab containers of two checkouts apart."""
        return hashlib.sha256(str(self.root.resolve()).encode()).hexdigest()[:8]

    def client_dir(self, client: str) -> Path:
        check_client_name(client)
        return self.inventories / client

    def existing_client_dir(self, client: str) -> Path:
        path = self.client_dir(client)
        if not path.is_dir():
            known = ", ".join(self.clients()) or "none"
            raise UnknownClient(f"unknown client {client!r} (known: {known})", path=path)
        return path

    def clients(self) -> list[str]:
        if not self.inventories.is_dir():
            return []
        return sorted(p.name for p in self.inventories.iterdir() if (p / "hosts.yml").is_file())

    def ensure_state(self) -> Path:
        self.state.mkdir(mode=0o700, parents=True, exist_ok=True)
        gitignore = self.state / ".gitignore"
        if not gitignore.exists():
            try:
                fd = os.open(gitignore, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another omctl process (a tick's) made it just now
                return self.state
            with os.fdopen(fd, "w") as handle:
                handle.write("*\n")
        return self.state


def check_client_name(client: str) -> str:
    if not CLIENT_NAME.match(client):
        raise BadInput(
            f"invalid client name {client!r}: use lowercase letters, digits, '-' and '_'"
        )
    return client


WORKSPACE_CONTENT = ("ansible.cfg", "playbooks", "roles", "inventories/example")


def template_root() -> Path:
    """Where the shipped playbooks and roles are: packaged data, or the source checkout."""
    package = Path(__file__).resolve().parent
    for candidate in (package / "data" / "workspace", package.parent):
        if (candidate / "playbooks").is_dir() and (candidate / "roles").is_dir():
            return candidate
    raise BadInput("cannot find omctl's playbooks and roles to copy; reinstall omctl")


def create(target: Path) -> Workspace:
    """A new workspace at ``target`` with omctl's playbooks, roles and an example client."""
    import shutil

    target = target.expanduser().resolve()
    if target.exists() and any(target.iterdir()):
        raise BadInput(f"{target} exists and is not empty")
    source = template_root()
    target.mkdir(parents=True, exist_ok=True)
    for item in WORKSPACE_CONTENT:
        origin = source / item
        if origin.is_dir():
            shutil.copytree(origin, target / item)
        elif origin.is_file():
            (target / item).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, target / item)
    (target / ".gitignore").write_text(".omctl/\n")
    (target / "omctl.toml").write_text(
        "# omctl settings of this workspace; OMCTL_* environment variables and command-line\n"
        "# options take precedence.\n"
        "# artifacts_keep = 20            # run folders kept under .omctl/runs/\n"
        '# vault_password_file = "~/.config/omctl/vault-pass"\n'
    )
    ws = Workspace(target)
    ws.ensure_state()
    return ws
