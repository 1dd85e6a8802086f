"""Execution nodes: a host inside a client's network that runs the client's jobs.

A client names one in its inventory, client-wide (``all: vars: execution_node:``) or for a
group (``<group>: vars: execution_node:``)::

    execution_node:
      ssh: root@10.0.0.2:22    # USER@HOST[:PORT], as omctl reaches it
      key: /path/to/key        # optional: the SSH key for the node
      venv: /opt/omctl-node    # optional: where ``omctl node prepare`` installs Ansible

omctl reaches the node over SSH (host key pinned in the client's known_hosts, first use by
``node prepare``/``node check``) and streams the job there: ``ansible-runner worker`` reads it
on stdin and answers with its events on stdout (omctl.runner). The job's folder is a
``mktemp -d`` removed when the worker ends, however it ends.
"""

from __future__ import annotations

import io
import json
import shlex
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

from omctl import inventory, runner, ssh, yamlfile
from omctl.errors import BadInput, EnvironmentProblem, HostsFailed

NODE_VAR = "execution_node"
DEFAULT_VENV = "/opt/omctl-node"
NODE_PACKAGES = ("ansible-core", "ansible-runner")
CONNECT_TIMEOUT = 10
# The worker sends a keepalive this often: a lost link is noticed on the node within it.
KEEPALIVE_SECONDS = 5
CHECK_TIMEOUT = 120
PREPARE_TIMEOUT = 600
NODE_KEYS = {"ssh", "key", "venv"}

# The job's folder (private data dir, SSH control sockets) exists only while the worker runs:
# removed on exit, on a signal and when the link breaks; its SSH masters are closed with it. So
# is every process still naming the folder: Ansible's workers (each in a session of its own,
# they outlive a playbook killed with the worker) and the ssh-agent ansible-runner starts with
# the hosts' key (it notices its command has ended only at its next check, up to 10 s later,
# holding the key and its /tmp/ssh-* socket until then).
# A broken link does not always end the worker by itself: a write to the closed stdout kills
# only the thread that made it, and a worker cut off before its playbook started was seen
# blocked on a lock for good. So a watchdog checks every second that the shell still has the
# sshd session as its parent (sshd exits when the link drops) and stops the job if not; it
# holds none of the channel's descriptors, which would keep the session open after the job.
WORKER_SCRIPT = """\
job=$(mktemp -d /tmp/omctl-job.XXXXXXXX) || exit 1
export ANSIBLE_SSH_CONTROL_PATH_DIR="$job/cp"
link=$PPID
(
  while sleep 1; do
    read -r _ _ _ parent _ < /proc/$$/stat || exit 0
    if [ "$parent" != "$link" ]; then
      pkill -TERM -f "$job/"; sleep 5; pkill -KILL -f "$job/"; exit 0
    fi
  done
) </dev/null >/dev/null 2>&1 &
watchdog=$!
trap 'kill "$watchdog" 2>/dev/null; \
  for s in "$job"/cp/*; do [ -S "$s" ] && ssh -o ControlPath="$s" -O exit omctl; done \
  >/dev/null 2>&1; pkill -TERM -f "$job/"; n=0; \
  while pgrep -f "$job/" >/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done; \
  pkill -KILL -f "$job/"; rm -rf "$job"' EXIT
trap 'exit 1' HUP INT TERM PIPE
{runner} worker --private-data-dir "$job/data" --delete --keepalive-seconds {keepalive}
"""

# Run by the node's python3 with the venv and NAME=HOST:PORT arguments; prints one JSON line.
CHECK_SCRIPT = """\
import json, socket, subprocess, sys
venv = sys.argv[1]
found = {"reach": {}}
for package in ("ansible-core", "ansible-runner"):
    code = "from importlib.metadata import version; print(version(%r))" % package
    try:
        done = subprocess.run([venv + "/bin/python", "-c", code], capture_output=True,
                              text=True, timeout=60)
        found[package] = done.stdout.strip() or None
    except OSError:
        found[package] = None
for item in sys.argv[2:]:
    name, _, where = item.partition("=")
    address, _, port = where.rpartition(":")
    try:
        with socket.create_connection((address, int(port)), timeout=5) as conn:
            conn.settimeout(5)
            banner = conn.recv(64)
        found["reach"][name] = "ok" if banner.startswith(b"SSH-") else "no SSH banner"
    except OSError as exc:
        found["reach"][name] = str(exc) or type(exc).__name__
print(json.dumps(found))
"""

PREPARE_SCRIPT = """\
set -e
wheels=$(mktemp -d /tmp/omctl-wheels.XXXXXXXX)
trap 'rm -rf "$wheels"' EXIT
tar -x -C "$wheels"
python3 -m venv --without-pip {venv}
{venv}/bin/python "$wheels"/{pip_wheel}/pip install --quiet --no-index --find-links "$wheels" \
  {requirements}
"""


@dataclass(frozen=True)
class ExecutionNode:
    login: ssh.Jump
    key: Path | None = None
    venv: str = DEFAULT_VENV

    def __str__(self) -> str:
        return str(self.login)

    @property
    def runner(self) -> str:
        return f"{self.venv}/bin/ansible-runner"


@dataclass
class NodeCheck:
    node: str
    versions: dict[str, str | None]  # package -> version on the node (None: missing)
    wanted: dict[str, str]  # package -> the controller's version
    reach: dict[str, str] = field(default_factory=dict)  # host -> "ok" or why not

    @property
    def compatible(self) -> bool:
        return all(
            _minor(self.versions.get(name)) == _minor(wanted)
            for name, wanted in self.wanted.items()
        )

    @property
    def ok(self) -> bool:
        return self.compatible and all(state == "ok" for state in self.reach.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "versions": self.versions,
            "wanted": self.wanted,
            "compatible": self.compatible,
            "reach": self.reach,
            "ok": self.ok,
        }


def _minor(text: str | None) -> tuple[str, ...] | None:
    return tuple(text.split(".")[:2]) if text else None


def requirements() -> list[str]:
    """The node's packages pinned to the controller's versions."""
    return [f"{name}=={version(name)}" for name in NODE_PACKAGES]


def parse_node(value: Any, path: Path, line: int | None = None) -> ExecutionNode:
    """An ``execution_node:`` mapping; anything else is BadInput naming the file and line."""
    if not isinstance(value, dict) or not isinstance(value.get("ssh"), str):
        raise BadInput(
            f"{NODE_VAR} must be a mapping with ssh: USER@HOST[:PORT]", path=path, line=line
        )
    unknown = set(value) - NODE_KEYS
    if unknown:
        raise BadInput(
            f"{NODE_VAR} has unknown keys {', '.join(sorted(map(str, unknown)))} "
            f"(known: {', '.join(sorted(NODE_KEYS))})",
            path=path,
            line=line,
        )
    try:
        login = ssh.parse_jump(value["ssh"])
    except BadInput as exc:
        raise BadInput(
            exc.message.replace("--jump", f"{NODE_VAR} ssh"), path=path, line=line
        ) from None
    venv = str(value.get("venv") or DEFAULT_VENV)
    if not venv.startswith("/") or any(c.isspace() or c in "'\"$`\\;&|" for c in venv):
        raise BadInput(
            f"{NODE_VAR} venv {venv!r} is not a plain absolute path", path=path, line=line
        )
    key = Path(str(value["key"])).expanduser() if value.get("key") else None
    return ExecutionNode(login, key, venv)


def _groups(data: Any, key: yamlfile.PathKey = ()) -> Iterator[tuple[str, dict, yamlfile.PathKey]]:
    """Every group of a hosts.yml, nested ones included, with its key path."""
    if not isinstance(data, dict):
        return
    for name, group in data.items():
        if not isinstance(group, dict):
            continue
        yield str(name), group, (*key, name)
        yield from _groups(group.get("children"), (*key, name, "children"))


def nodes_by_host(inv: inventory.Inventory) -> dict[str, ExecutionNode]:
    """The execution node of each host that has one: its group's, else the client's."""
    located = yamlfile.load(inv.path)
    per_group: dict[str, ExecutionNode] = {}
    for name, group, key in _groups(located.data):
        value = (group.get("vars") or {}).get(NODE_VAR)
        if value is not None:
            line = located.line_of((*key, "vars", NODE_VAR))
            per_group[name] = parse_node(value, inv.path, line)
    found: dict[str, ExecutionNode] = {}
    client_wide = per_group.pop("all", None)
    for host in inv.hosts:
        chosen = {node for group, node in per_group.items() if host in inv.groups.get(group, [])}
        if len(chosen) > 1:
            raise BadInput(f"host {host} is in groups with different {NODE_VAR}s", path=inv.path)
        node = next(iter(chosen), client_wide)
        if node is not None:
            found[host] = node
    return found


def for_targets(inv: inventory.Inventory, targets: list[str]) -> ExecutionNode | None:
    """The one execution node the run's targets share, None for a run from the controller."""
    by_host = nodes_by_host(inv)
    chosen = {by_host.get(host) for host in targets}
    if len(chosen) > 1:
        where = ", ".join(f"{host}: {by_host.get(host) or 'controller'}" for host in targets)
        raise BadInput(
            f"the hosts of this run are worked from different places ({where}): split the run "
            "with --limit",
            path=inv.path,
        )
    return next(iter(chosen)) if chosen else None


def ssh_command(
    node: ExecutionNode, known_hosts: Path, strict: str = "yes", remote: str = ""
) -> list[str]:
    return ssh.command(
        node.login.user, node.login.address, node.login.port,
        known_hosts=known_hosts, strict=strict, key=node.key, connect_timeout=CONNECT_TIMEOUT,
        remote=[remote] if remote else [], alive_interval=KEEPALIVE_SECONDS,
    )  # fmt: skip


def worker_command(node: ExecutionNode, known_hosts: Path) -> list[str]:
    """ssh to the node running ``ansible-runner worker`` on a job folder of its own."""
    script = WORKER_SCRIPT.format(runner=shlex.quote(node.runner), keepalive=KEEPALIVE_SECONDS)
    return ssh_command(node, known_hosts, "yes", script)


def _host_addresses(inv: inventory.Inventory) -> dict[str, str]:
    """HOST:PORT of each host as hosts.yml names it (``ansible_host``, ``ansible_port``)."""
    located = yamlfile.load(inv.path)
    found: dict[str, str] = {}
    for _name, group, _key in _groups(located.data):
        for host, given in (group.get("hosts") or {}).items():
            host_vars = given if isinstance(given, dict) else {}
            address = host_vars.get("ansible_host", host)
            found[str(host)] = f"{address}:{host_vars.get('ansible_port', 22)}"
    return found


KEY_VARS = ("ansible_ssh_private_key_file", "ansible_private_key_file")


def hosts_key(inv: inventory.Inventory, targets: list[str]) -> Path | None:
    """The one SSH key hosts.yml gives the run's targets (host or group vars), for ssh-agent
    on the node; several keys are BadInput (one agent key per job)."""
    located = yamlfile.load(inv.path)
    keys: set[str] = set()
    for name, group, _key in _groups(located.data):
        group_vars = group.get("vars") or {}
        members = set(inv.groups.get(name, inv.hosts if name == "all" else []))
        if members & set(targets):
            keys.update(str(group_vars[var]) for var in KEY_VARS if var in group_vars)
        for host, given in (group.get("hosts") or {}).items():
            if host in targets and isinstance(given, dict):
                keys.update(str(given[var]) for var in KEY_VARS if var in given)
    if len(keys) > 1:
        raise BadInput(
            f"the hosts of this run use several SSH keys ({', '.join(sorted(keys))}); a job on "
            "an execution node carries one: split the run with --limit",
            path=inv.path,
        )
    return Path(next(iter(keys))).expanduser() if keys else None


def remote_worker(
    node: ExecutionNode, inv: inventory.Inventory, targets: list[str]
) -> runner.RemoteWorker:
    """How omctl.runner streams the run of ``targets`` to ``node``."""
    key = hosts_key(inv, targets)
    if key is not None and not key.is_file():
        raise BadInput(f"the hosts' SSH key {key} does not exist", path=inv.path)
    return runner.RemoteWorker(
        command=worker_command(node, inv.path.parent / "known_hosts"),
        node=str(node),
        venv_bin=f"{node.venv}/bin",
        hosts=tuple(targets),
        ssh_key=key,
    )


def _on_node(
    node: ExecutionNode, known_hosts: Path, remote: str, stdin: bytes, timeout: int
) -> subprocess.CompletedProcess[bytes]:
    # First contact pins the node's key in the client's known_hosts, as onboarding does.
    line = ssh_command(node, known_hosts, "accept-new", remote)
    try:
        done = subprocess.run(line, input=stdin, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise HostsFailed(f"execution node {node} did not answer within {timeout}s") from None
    if done.returncode == 255:
        last = (done.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise HostsFailed(f"SSH to execution node {node} failed: {last}")
    return done


def check(node: ExecutionNode, inv: inventory.Inventory, known_hosts: Path) -> NodeCheck:
    """The node's ansible-core and ansible-runner against the controller's, and whether it
    reaches the SSH port of each host it works on."""
    addresses = _host_addresses(inv)
    hosts = [host for host, used in nodes_by_host(inv).items() if used == node]
    remote = shlex.join(
        [
            "python3",
            "-",
            node.venv,
            *(f"{host}={addresses.get(host, host + ':22')}" for host in hosts),
        ]
    )
    done = _on_node(node, known_hosts, remote, CHECK_SCRIPT.encode(), CHECK_TIMEOUT)
    try:
        found = json.loads(done.stdout.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        last = (done.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise HostsFailed(f"execution node {node}: the check did not run ({last})") from None
    wanted = {name: version(name) for name in NODE_PACKAGES}
    return NodeCheck(
        str(node), {name: found.get(name) for name in NODE_PACKAGES}, wanted, found["reach"]
    )


def _wheels_archive(wheels: Path) -> tuple[bytes, str]:
    """The wheels as a tar stream, and the name of pip's wheel among them."""
    if not wheels.is_dir():
        raise BadInput(f"no wheels at {wheels}: run `make node-wheels` (or pass --wheels)")
    names = {path.name for path in wheels.glob("*.whl")}
    for requirement in requirements():
        name, _, wanted = requirement.partition("==")
        prefix = f"{name.replace('-', '_')}-{wanted}-"
        if not any(file.startswith(prefix) for file in names):
            raise BadInput(f"{wheels} has no wheel of {requirement}: run `make node-wheels`")
    pip = sorted(name for name in names if name.startswith("pip-"))
    if not pip:
        raise BadInput(f"{wheels} has no wheel of pip: run `make node-wheels`")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for path in sorted(wheels.glob("*.whl")):
            archive.add(path, arcname=path.name)
    return buffer.getvalue(), pip[-1]


def prepare(
    node: ExecutionNode, inv: inventory.Inventory, known_hosts: Path, wheels: Path
) -> NodeCheck:
    """Install ansible-core and ansible-runner (the controller's versions) into the node's venv
    from the controller's wheels (the node needs no network), then check it."""
    archive, pip_wheel = _wheels_archive(wheels)
    script = PREPARE_SCRIPT.format(
        venv=shlex.quote(node.venv),
        pip_wheel=shlex.quote(pip_wheel),
        requirements=shlex.join(requirements()),
    )
    done = _on_node(node, known_hosts, script, archive, PREPARE_TIMEOUT)
    if done.returncode != 0:
        last = (done.stderr.decode(errors="replace").strip().splitlines() or ["no output"])[-1]
        raise EnvironmentProblem(f"execution node {node}: installing failed ({last})")
    return check(node, inv, known_hosts)
