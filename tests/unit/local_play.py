"""Run one of the project's playbooks through omctl's runner on local-connection hosts.

The unit tests that exercise a role's own checks (names refused before SQL, a sudo password
refused, patching batches) need a real ansible-playbook but no lab host.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omctl import runner

REPO = Path(__file__).resolve().parents[2]
LOCAL_HOSTS = """\
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  hosts:
    web1: {}
"""


def run_local_play(
    tmp_path: Path,
    playbook: Path,
    *,
    hosts: str = LOCAL_HOSTS,
    group_vars: dict[str, str] | None = None,
    extravars: dict[str, Any] | None = None,
    check: bool = False,
) -> runner.PlaybookResult:
    """``playbook`` against client ``acme`` whose hosts.yml is ``hosts`` and whose
    ``group_vars/all/`` holds ``group_vars`` (file name -> text)."""
    inventory = tmp_path / "inventories" / "acme"
    (inventory / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
    (inventory / "hosts.yml").write_text(hosts)
    for name, text in (group_vars or {}).items():
        (inventory / "group_vars" / "all" / name).write_text(text)
    spec = runner.PlaybookSpec(
        run_id="local-play",
        private_data_dir=tmp_path / "run",
        project_dir=REPO,
        playbook=playbook,
        inventory=inventory / "hosts.yml",
        check=check,
        extravars=extravars or {},
        ansible_cfg=REPO / "ansible.cfg",
    )
    return runner.run_playbook(spec, lambda _progress: None, lambda: False)
