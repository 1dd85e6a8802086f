"""content_sync on a host reached through sudo with a password is refused before any change.

rsync becomes root on the host with ``sudo rsync`` (ansible.posix.synchronize), which cannot
answer a password prompt. The real playbook runs through omctl's runner on a local-connection
host whose inventory entry is what ``omctl onboard --become-password-file`` writes; the refusal
is the first task, so nothing on the controller is touched.
"""

from __future__ import annotations

from pathlib import Path

from tests.unit.local_play import REPO, run_local_play

HOSTS = """\
all:
  hosts:
    web1:
      ansible_connection: local
      ansible_python_interpreter: "{{ ansible_playbook_python }}"
      ansible_user: deploy
      ansible_become: true
      ansible_become_password: not-used
"""


def test_a_sudo_password_is_refused_naming_nopasswd(tmp_path: Path) -> None:
    source = tmp_path / "site"
    source.mkdir()
    result = run_local_play(
        tmp_path,
        REPO / "playbooks" / "operation" / "content_sync.yml",
        hosts=HOSTS,
        extravars={"content_sync_source": str(source), "content_sync_root": str(tmp_path / "www")},
        check=True,
    )
    assert result.status == "failed" and result.hosts["web1"].failed
    assert "passwordless sudo only: configure NOPASSWD for deploy" in result.tail, result.tail
    assert not (tmp_path / "www").exists()
