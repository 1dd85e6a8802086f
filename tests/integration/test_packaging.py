"""omctl installed from a wheel: `omctl init` must find the shipped playbooks and roles."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOT_SHIPPED = shutil.ignore_patterns(
    ".git", ".venv", ".omctl", "build", "*.egg-info", "__pycache__"
)


def run(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    done = subprocess.run(
        args, env=env, cwd=cwd, capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, done.stderr
    return done


def test_omctl_init_from_a_wheel_copies_every_task_and_role(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a copy, so that the build leaves nothing in the checkout
    shutil.copytree(REPO, source, ignore=NOT_SHIPPED)
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "config")}  # the ledger key
    run(sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q",
        "-w", str(tmp_path / "dist"), env=env, cwd=tmp_path)  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("omctl-*.whl")
    installed = tmp_path / "installed"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(installed)
    # The wheel's omctl, not the checkout's; its dependencies come from this virtualenv.
    env["PYTHONPATH"] = str(installed)
    where = run(sys.executable, "-c", "import omctl; print(omctl.__file__)", env=env, cwd=tmp_path)
    assert where.stdout.strip().startswith(str(installed))

    workspace = tmp_path / "provider"
    run(sys.executable, "-m", "omctl", "init", str(workspace), env=env, cwd=tmp_path)
    tasks = run(sys.executable, "-m", "omctl", "--workspace", str(workspace), "tasks", "--json",
                env=env, cwd=tmp_path).stdout  # fmt: skip
    shipped = {playbook.stem for playbook in (REPO / "playbooks").glob("*/*.yml")}
    assert {task["name"] for task in json.loads(tasks)} == shipped
    for role in (REPO / "roles").iterdir():
        for path in role.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                copied = workspace / path.relative_to(REPO)
                assert copied.read_bytes() == path.read_bytes(), copied
    check = run(sys.executable, "-m", "omctl", "--workspace", str(workspace), "scope", "check",
                "example", env=env, cwd=tmp_path)  # fmt: skip
    assert "EXAMPLE-2026-01" in check.stdout
