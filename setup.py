"""Build hook: the wheel carries the playbooks, roles and example client that `omctl init` copies.

In the source checkout they sit beside the package (omctl/workspace.py finds them there); an
installed omctl finds them under omctl/data/workspace/, which this hook fills at build time.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

WORKSPACE_CONTENT = ("ansible.cfg", "playbooks", "roles", "inventories/example")


class BuildWithWorkspace(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install uses the checkout itself
        target = Path(self.build_lib) / "omctl" / "data" / "workspace"
        for item in WORKSPACE_CONTENT:
            origin = Path(item)
            if origin.is_dir():
                shutil.copytree(
                    origin,
                    target / item,
                    dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                )
            else:
                (target / item).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target / item)


setup(cmdclass={"build_py": BuildWithWorkspace})
