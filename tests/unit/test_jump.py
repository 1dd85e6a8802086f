"""Onboarding through a bastion: --jump parsing, the ssh command, what the inventory records."""

import shlex
import subprocess
from datetime import date
from pathlib import Path

import pytest
import yaml

from omctl import onboard, ssh
from omctl.errors import BadInput
from omctl.workspace import Workspace

BASTION = ssh.Jump("jumper", "bastion.example.net", 2022)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("ops@bastion.example.net", ssh.Jump("ops", "bastion.example.net", 22)),
        ("ops@10.0.0.1:2222", ssh.Jump("ops", "10.0.0.1", 2222)),
        (" deploy-2@b1:22 ", ssh.Jump("deploy-2", "b1", 22)),
    ],
)
def test_jump_values_are_parsed(value: str, expected: ssh.Jump) -> None:
    assert ssh.parse_jump(value) == expected


@pytest.mark.parametrize(
    "value",
    ["bastion", "@bastion", "ops@", "ops@bastion:0", "ops@bastion:70000", "ops@bastion:ssh",
     "ops@-oProxyCommand=x", "ops@bastion;id", "ops@bas tion", "-J@bastion"],
)  # fmt: skip
def test_bad_jump_values_are_one_line_bad_input(value: str) -> None:
    with pytest.raises(BadInput, match=r"--jump .* is not USER@BASTION\[:PORT\]") as caught:
        ssh.parse_jump(value)
    assert "\n" not in str(caught.value)


def test_the_jump_pins_the_bastion_in_the_same_known_hosts_with_the_same_key(
    tmp_path: Path,
) -> None:
    known, key = tmp_path / "known hosts", tmp_path / "id"
    line = ssh.command(
        "root", "10.89.0.5", 22, known_hosts=known, strict="yes", key=key, jump=BASTION
    )
    proxy = next(o for o in line if o.startswith("ProxyCommand="))
    inner = shlex.split(proxy.removeprefix("ProxyCommand="))
    assert inner[0] == "ssh" and inner[-3:] == ["-W", "%h:%p", "jumper@bastion.example.net"]
    assert f"UserKnownHostsFile={known}" in inner and "StrictHostKeyChecking=yes" in inner
    assert inner[inner.index("-p") + 1] == "2022" and inner[inner.index("-i") + 1] == str(key)
    assert line[-1] == "root@10.89.0.5"


def test_a_jumped_host_gets_its_proxy_command_in_its_host_vars(ws: Workspace) -> None:
    target = onboard.Target(
        client="newco", host="web1", address="10.89.0.5", key=Path("/keys/id"), jump=BASTION
    )
    onboard.write_inventory(ws, target, "10.89.0.5 ssh-ed25519 AAAA\n", date.today())
    host_vars = yaml.safe_load((ws.client_dir("newco") / "hosts.yml").read_text())["all"]["hosts"][
        "web1"
    ]
    # Ansible templates the value, then splits it with shlex; the client's settings stay first.
    templated = host_vars["ansible_ssh_common_args"].replace("{{ inventory_dir }}", "/srv/inv")
    args = shlex.split(templated)
    assert args[:4] == [
        "-o", "UserKnownHostsFile=/srv/inv/known_hosts", "-o", "StrictHostKeyChecking=yes",
    ]  # fmt: skip
    inner = shlex.split(args[5].removeprefix("ProxyCommand="))
    assert "UserKnownHostsFile=/srv/inv/known_hosts" in inner
    assert "StrictHostKeyChecking=yes" in inner and inner[-1] == "jumper@bastion.example.net"
    assert inner[inner.index("-i") :][:2] == ["-i", "/keys/id"]


def test_a_host_without_jump_keeps_the_client_wide_ssh_settings(ws: Workspace) -> None:
    target = onboard.Target(client="newco", host="web1", address="192.0.2.7")
    onboard.write_inventory(ws, target, "", date.today())
    data = yaml.safe_load((ws.client_dir("newco") / "hosts.yml").read_text())
    assert "ansible_ssh_common_args" not in data["all"]["hosts"]["web1"]


def _public_key(folder: Path, name: str) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / name)], check=True
    )
    return " ".join((folder / f"{name}.pub").read_text().split()[:2])


def test_a_bastion_pinned_before_is_checked_against_its_recorded_key(tmp_path: Path) -> None:
    known = tmp_path / "known_hosts"
    bastion_key, host_key = _public_key(tmp_path, "b"), _public_key(tmp_path, "h")
    known.write_text(f"[bastion.example.net]:2022 {bastion_key}\n10.89.0.5 {host_key}\n")
    assert onboard.pinned_bastion(known, BASTION) == f"[bastion.example.net]:2022 {bastion_key}\n"
    assert onboard.pinned_bastion(known, ssh.Jump("jumper", "other", 22)) == ""
    assert onboard.pinned_bastion(tmp_path / "missing", BASTION) == ""
    assert onboard.pinned_bastion(known, None) == ""
