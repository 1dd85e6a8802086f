"""omctl init: create a new workspace for a provider who installed omctl as a package."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from omctl import console, workspace


def init(
    directory: Annotated[Path, typer.Argument(help="Folder to create (must be new or empty).")],
) -> None:
    """Create a workspace: ansible.cfg, playbooks/, roles/, inventories/example/, omctl.toml."""
    created = workspace.create(directory)
    console.out.print(str(created.root))
    console.err.print(
        f"workspace ready; next: cd {created.root} && omctl onboard CLIENT HOST --address ADDR"
    )
