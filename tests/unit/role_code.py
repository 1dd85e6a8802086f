"""The roles' Python (library modules, filter plugins) as the unit tests use it: loaded from its
file like Ansible does, and, for a module, run as Ansible runs it."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any


def load(path: Path, name: str) -> ModuleType:
    """The file at ``path`` as module ``name`` (registered: dataclasses look their module up)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run_module(
    path: Path, args: dict[str, Any], check: bool = False, timeout: float = 120
) -> dict[str, Any]:
    """The module file run as Ansible runs it: AnsibleModule reads the arguments."""
    payload = {"ANSIBLE_MODULE_ARGS": {**args, "_ansible_check_mode": check}}
    done = subprocess.run(
        [sys.executable, str(path), json.dumps(payload)],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
    )
    return json.loads(done.stdout)
