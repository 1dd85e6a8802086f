"""The patching play's batches: patching_serial from extra vars or the client's group_vars/all.

Ansible sizes a play's batches before host variables exist, so the play reads patching_serial
itself from the inventory's group_vars/all files (as text: they may hold inline vault values).
The real playbook runs through omctl's runner on local-connection hosts in --check with every
step switched off (the reboot policy "never" only reads the boot id), so only the record, which
names each host's batch, is made and published.
"""

from __future__ import annotations

from pathlib import Path

from tests.unit.local_play import REPO, run_local_play

HOSTS = """\
all:
  vars:
    ansible_connection: local
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  hosts:
    web1: {}
    web2: {}
    web3: {}
    web4: {}
"""
INLINE_VAULT = """\
db_password: !vault |
  $ANSIBLE_VAULT;1.1;AES256
  66386439653236336462626566653063336164663966303231363934653561363964363833313662
  6431626536303530376336343832656537303632313433360a626438346336353331386135323734
  62656361653630373663653839343962366137643638373066613734313866383961366135636462
  3163343562336134370a343564393738323165623236333935383930623936383631346536306166
  3037
"""


def batches(tmp_path: Path, group_vars: dict[str, str], extravars: dict | None = None):
    steps_off = {
        f"patching_{step}_enabled": False
        for step in ("preflight", "health", "apt", "services", "wordpress")
    }
    result = run_local_play(
        tmp_path,
        REPO / "playbooks" / "maintenance" / "patching.yml",
        hosts=HOSTS,
        group_vars=group_vars,
        extravars={**steps_off, "patching_reboot": "never", **(extravars or {})},
        check=True,
    )
    assert result.status == "successful", result.tail
    records = result.evidence["patching"]
    return sorted({tuple(record["batch"]) for record in records.values()})


def test_serial_comes_from_the_client_group_vars(tmp_path) -> None:
    group_vars = {
        "main.yml": "other: 1\npatching_serial: '50%'  # half of the hosts at a time\n",
        "secrets.yml": INLINE_VAULT,
    }
    assert batches(tmp_path, group_vars) == [("web1", "web2"), ("web3", "web4")]


def test_extra_vars_win_over_the_inventory(tmp_path) -> None:
    found = batches(tmp_path, {"patching.yml": "patching_serial: 1\n"}, {"patching_serial": 4})
    assert found == [("web1", "web2", "web3", "web4")]
