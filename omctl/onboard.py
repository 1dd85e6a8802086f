"""Onboarding a client server: prove SSH and Python work, write the inventory, take a baseline.

Nothing is written until the probe has passed, so a failed onboarding leaves no trace but its
error message.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from omctl import inventory, inventory_edit, scope
from omctl.errors import BadInput, EnvironmentProblem, HostsFailed
from omctl.inventory_edit import write_atomic
from omctl.workspace import Workspace, check_client_name

BASELINE_TASK = "baseline"
PROBE_TIMEOUT = 20
HOST_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")


@dataclass(frozen=True)
class Target:
    client: str
    host: str
    address: str
    port: int = 22
    user: str = "root"
    key: Path | None = None


def ssh_command(target: Target, known_hosts: Path, strict: str) -> list[str]:
    command = [
        "ssh",
        "-o", "BatchMode=yes",
        "-o", f"ConnectTimeout={PROBE_TIMEOUT // 2}",
        "-o", f"StrictHostKeyChecking={strict}",
        "-o", f"UserKnownHostsFile={known_hosts}",
        "-p", str(target.port),
    ]  # fmt: skip
    if target.key is not None:
        command += ["-i", str(target.key), "-o", "IdentitiesOnly=yes"]
    return [*command, f"{target.user}@{target.address}"]


def _explain_ssh_failure(target: Target, stderr: str) -> str:
    where = f"{target.user}@{target.address}:{target.port}"
    text = stderr.strip().splitlines()
    last = text[-1] if text else "no output"
    lowered = stderr.lower()
    if "permission denied" in lowered:
        return f"SSH login to {where} was refused ({last}); check the user and --key"
    if "connection refused" in lowered:
        return f"nothing accepts SSH at {where} (connection refused)"
    if "timed out" in lowered or "no route" in lowered:
        return f"SSH to {where} timed out"
    if "host key verification failed" in lowered or "remote host identification" in lowered:
        return f"the host key of {where} does not match the one recorded for it"
    return f"SSH to {where} failed: {last}"


def probe(target: Target, known_hosts: Path) -> str:
    """Log in and run Python; returns the remote Python version.

    An unreachable host or a failed login is HostsFailed (exit 1, like any unreachable host).
    """
    if shutil.which("ssh") is None:
        raise EnvironmentProblem("the ssh client is not installed (apt-get install openssh-client)")
    command = [
        *ssh_command(target, known_hosts, "accept-new"),
        "python3 -c 'import sys; print(\"%d.%d\" % sys.version_info[:2])'",
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=PROBE_TIMEOUT, check=False,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise HostsFailed(
            f"SSH to {target.user}@{target.address}:{target.port} did not answer "
            f"within {PROBE_TIMEOUT}s"
        ) from None
    if done.returncode == 255:
        raise HostsFailed(_explain_ssh_failure(target, done.stderr))
    if done.returncode != 0:
        raise HostsFailed(
            f"SSH works on {target.address} but python3 does not (exit {done.returncode}); "
            f"install python3 on the host first"
        )
    return done.stdout.strip()


def scope_template(client: str, today: date) -> str:
    return f"""\
# Contract scope of client {client}: the tasks the contract covers, how often, in which window.
# Nothing is in scope until the provider fills this in; `omctl tasks` lists the catalog and
# `omctl scope check {client}` validates this file.
#
# operation:            # improve the system
#   content_sync: {{every: weekly, window: "Mon-Fri 09:00-17:00"}}
# maintenance:          # keep it stable and secure
#   healthcheck: {{every: daily}}
#   patching: {{every: monthly, window: "Sun 02:00-04:00", hosts: [web1]}}
client: {client}
contract: {client.upper()}-CHANGE-ME
valid_from: {today.isoformat()}
valid_until: {(today + timedelta(days=365)).isoformat()}
timezone: UTC
operation: {{}}
maintenance: {{}}
"""


SSH_VARS = """\
# SSH settings of this client. The known_hosts file beside the inventory holds the host keys
# recorded at onboarding; a changed key stops every run.
ansible_ssh_common_args: >-
  -o UserKnownHostsFile={{ inventory_dir }}/known_hosts
  -o StrictHostKeyChecking=yes
"""


def _host_vars(target: Target) -> dict[str, object]:
    host_vars: dict[str, object] = {"ansible_host": target.address}
    if target.port != 22:
        host_vars["ansible_port"] = target.port
    host_vars["ansible_user"] = target.user
    if target.key is not None:
        host_vars["ansible_ssh_private_key_file"] = str(target.key)
    return host_vars


def validate_target(target: Target) -> None:
    check_client_name(target.client)
    if not target.host or not set(target.host.lower()) <= HOST_NAME_CHARS:
        raise BadInput(f"invalid host name {target.host!r}")
    if not 0 < target.port < 65536:
        raise BadInput(f"--port {target.port} is not a TCP port")
    if target.key is not None and not target.key.is_file():
        raise BadInput(f"--key {target.key} does not exist")


def write_inventory(ws: Workspace, target: Target, known_hosts_lines: str, today: date) -> bool:
    """Add the host to the client's inventory; creates the client when new. Returns new?"""
    client_dir = ws.client_dir(target.client)
    hosts_file = client_dir / inventory.HOSTS_FILE
    is_new = not hosts_file.exists()
    if not is_new and target.host in inventory.load(hosts_file).hosts:
        raise BadInput(f"host {target.host!r} is already in the inventory", path=hosts_file)
    header = f"# Hosts of client {target.client}; `omctl onboard` adds to this file.\n"
    current = None if is_new else hosts_file.read_text()
    text = inventory_edit.with_host(current, target.host, _host_vars(target), header)
    client_dir.mkdir(parents=True, exist_ok=True)
    (client_dir / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
    write_atomic(hosts_file, text)
    if is_new:
        write_atomic(client_dir / scope.SCOPE_FILE, scope_template(target.client, today))
        write_atomic(client_dir / "group_vars" / "all" / "ssh.yml", SSH_VARS)
    known_hosts = client_dir / "known_hosts"
    existing = known_hosts.read_text() if known_hosts.exists() else ""
    write_atomic(known_hosts, existing + known_hosts_lines)
    return is_new


def prepare_host(ws: Workspace, target: Target, today: date) -> bool:
    """Probe the host, then write it into the inventory. Returns whether the client is new."""
    validate_target(target)
    hosts_file = ws.client_dir(target.client) / inventory.HOSTS_FILE
    if hosts_file.exists() and target.host in inventory.load(hosts_file).hosts:
        raise BadInput(f"host {target.host!r} is already in the inventory", path=hosts_file)
    with tempfile.TemporaryDirectory(prefix="omctl-onboard-") as scratch:
        known_hosts = Path(scratch) / "known_hosts"
        probe(target, known_hosts)
        lines = known_hosts.read_text() if known_hosts.exists() else ""
    return write_inventory(ws, target, lines, today)
