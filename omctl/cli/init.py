"""omctl init: create a new workspace for a provider who installed omctl as a package."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from omctl import console, ledger, ledger_key, settings, workspace


def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create (must be new or empty).")],
) -> None:
    """Create a workspace: ansible.cfg, playbooks/, roles/, inventories/example/, omctl.toml,
    and its ledger with a new key outside the workspace."""
    explicit = os.environ.get("OMCTL_LEDGER_KEY_FILE")
    if explicit:  # checked before anything is created
        ledger_key.check_outside(Path(explicit), directory.expanduser().resolve())
    created = workspace.create(directory)
    current = settings.load(created.root)
    book = ledger.SqliteLedger(current.ledger, current.ledger_key_file)
    try:
        key = book.ensure_keyed()
    finally:
        book.close()
    console.out.print(str(created.root))
    console.err.print(f"ledger key: {key.path} (keep it, outside the workspace, mode 0600)")
    console.err.print(
        f"workspace ready; next: cd {created.root} && omctl onboard CLIENT HOST --address ADDR"
    )
