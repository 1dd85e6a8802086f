"""The backup role refuses database names that would reach SQL or a command line unchecked.

Run through omctl's runner on a local-connection host: the real restore_drill playbook in
--check (the names are checked before the drill skips itself in check mode, so nothing is
done either way), and the role's backup settings check. Valid names pass, and the SQL the
drill sends quotes them (identifiers in backticks, values base64-decoded by MariaDB).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.local_play import REPO, run_local_play

HOSTILE = [
    "x`; DROP DATABASE wordpress; --",
    "drill' OR '1'='1",
    "drill; rm -rf /",
    "$(reboot)",
    "-e",
    "",
    "with space",
    "a" * 33,
    "caf\u00e9",
]
SQL_PLAY = r"""
- name: Render the drill's SQL names
  hosts: all
  gather_facts: false
  tasks:
    - name: Check the default names
      ansible.builtin.include_role:
        name: backup
        tasks_from: assert_drill
        public: true
    - name: The default names as the drill's SQL has them
      ansible.builtin.assert:
        that:
          - __backup_drill_db_ident == '`omctl_restore_drill`'
          - __backup_drill_db_user == '`omctl_restore_drill`@`localhost`'
          - __backup_drill_db_literal == "FROM_BASE64('b21jdGxfcmVzdG9yZV9kcmlsbA==')"
    - name: Quoted, even a name the check would refuse
      ansible.builtin.assert:
        that:
          - __backup_drill_db_ident == expected
          - __backup_drill_db_literal == "FROM_BASE64('YWBiJ2M=')"
      vars:
        backup_drill_scratch_database: 'a`b''c'
        expected: '`a``b''c`'
"""


def _run(tmp_path: Path, playbook: Path, extravars: dict[str, Any], check: bool):
    return run_local_play(tmp_path, playbook, extravars=extravars, check=check)


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_scratch_database_is_refused_before_the_drill(tmp_path: Path, name: str) -> None:
    playbook = REPO / "playbooks" / "maintenance" / "restore_drill.yml"
    result = _run(tmp_path, playbook, {"backup_drill_scratch_database": name}, check=True)
    assert result.status == "failed" and result.hosts["web1"].failed, result.tail
    assert "invalid restore drill names" in result.tail


@pytest.mark.parametrize(
    "extravars",
    [
        {"backup_drill_database": "--all-databases"},
        {"backup_drill_database": "wp`x"},
        {"backup_drill_table_prefix": "wp_; DROP TABLE x"},
    ],
)
def test_other_hostile_drill_names_are_refused(tmp_path: Path, extravars: dict) -> None:
    playbook = REPO / "playbooks" / "maintenance" / "restore_drill.yml"
    result = _run(tmp_path, playbook, extravars, check=True)
    assert result.status == "failed", result.tail
    assert "invalid restore drill names" in result.tail


def test_valid_names_pass_and_are_quoted_in_sql(tmp_path: Path) -> None:
    playbook = tmp_path / "names.yml"
    playbook.write_text(SQL_PLAY)
    result = _run(tmp_path, playbook, {}, check=False)
    assert result.status == "successful", result.tail


@pytest.mark.parametrize("name", ["--all-databases", "wp; DROP DATABASE x", "wp`x", ""])
def test_a_hostile_database_to_back_up_is_refused(tmp_path: Path, name: str) -> None:
    playbook = REPO / "playbooks" / "maintenance" / "backup.yml"
    result = _run(tmp_path, playbook, {"backup_databases": ["wordpress", name]}, check=True)
    assert result.status == "failed", result.tail
    assert "invalid backup settings" in result.tail
