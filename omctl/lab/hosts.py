"""Lab hosts: containers of the lab image that boot systemd, publish sshd and HTTP on
127.0.0.1 ports and accept one key pair kept in the workspace's state folder.

Flavours (``FLAVOURS``: bare, upstream, two-sites, apache) are other kinds of server made from
the same image at start-up by ``data/lab/flavour.sh``, with packages from the image's offline
repository. ``up`` writes ``inventories/lab/`` so that the lab is a client like any other.

Behind a bastion (``up_behind_bastion``): the hosts sit on an internal podman network of the
workspace with nothing published, and a ``bastion`` lab host, on that network too, publishes
SSH on 127.0.0.1: the controller reaches them only through it (``onboard --jump``), or has the
work run there (an execution node).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from omctl import catalog, ssh
from omctl.errors import BadInput, EnvironmentProblem
from omctl.lab.image import ensure_image
from omctl.lab.inventory import (
    check_ours,
    group_vars_file,
    hosts_file,
    is_ours,
    scope_file,
    write_inventory,
    write_scope,
)
from omctl.lab.tools import (
    DATA,
    LOOPBACK,
    Progress,
    key_path,
    known_hosts_path,
    lab_dir,
    last_line,
    lock,
    podman,
    quiet,
    require,
    run,
)
from omctl.workspace import Workspace

FLAVOUR_SCRIPT = DATA / "lab" / "flavour.sh"
LABEL_WORKSPACE = "omctl.workspace"
LABEL_HOST = "omctl.lab.host"
LABEL_FLAVOUR = "omctl.lab.flavour"
BASTION_HOSTNAME = "bastion"
MAX_HOSTS = 20
READY_TIMEOUT = 180.0
FLAVOUR_TIMEOUT = 600.0


@dataclass(frozen=True)
class Flavour:
    """A kind of client server, made from the one image at start-up by ``data/lab/flavour.sh``.

    ``http_host``: the Host header the published HTTP port is checked with (the default
    server's name when WordPress knows its site by name), None for any; ``web``: False when
    the host serves no HTTP at all, and readiness is SSH only.
    """

    name: str
    web: bool = True
    http_host: str | None = None

    @property
    def prefix(self) -> str:
        """Host names of the flavour: web1..N for the default, <flavour>1..N for the others."""
        return "web" if self.name == DEFAULT_FLAVOUR else self.name


DEFAULT_FLAVOUR = "debian"
# What each one is: flavour.sh's header and the README's lab section.
FLAVOURS: dict[str, Flavour] = {
    flavour.name: flavour
    for flavour in (
        Flavour("debian"),
        Flavour("bare", web=False),
        Flavour("upstream", http_host="shop.lab.test"),
        Flavour("two-sites", http_host="shop.lab.test"),
        Flavour("apache"),
    )
}


def flavour(name: str) -> Flavour:
    """The flavour called ``name``; an unknown name is BadInput listing the valid ones."""
    try:
        return FLAVOURS[name]
    except KeyError:
        raise BadInput(
            f"unknown lab flavour {name!r}: choose one of {', '.join(FLAVOURS)}"
        ) from None


def flavour_hostnames(name: str, hosts: int) -> list[str]:
    """The host names of ``hosts`` hosts of flavour ``name``: web1.., bare1.., apache1.., ..."""
    prefix = flavour(name).prefix
    return [f"{prefix}{index}" for index in range(1, hosts + 1)]


@dataclass(frozen=True)
class LabHost:
    name: str  # container name: omctl-<workspace ident>-<hostname>
    hostname: str  # web<i> or <flavour><i>, also the inventory host name
    ssh_port: int | None  # on 127.0.0.1
    http_port: int | None  # on 127.0.0.1
    state: str  # podman's: running, exited, created, ...
    image: str = ""
    flavour: str = DEFAULT_FLAVOUR  # a container from before flavours is a debian one
    address: str | None = None  # on the internal network, for a host behind the bastion

    @property
    def index(self) -> int:
        match = re.fullmatch(r"\D.*?(\d+)", self.hostname)
        return int(match[1]) if match else 0

    @property
    def order(self) -> tuple[int, str, int]:
        """Host order: the default flavour first, then flavours by name, each by number."""
        prefix = self.hostname[: len(self.hostname) - len(str(self.index))]
        return (0 if prefix == "web" else 1, prefix, self.index)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def container_name(ws: Workspace, hostname: str) -> str:
    return f"omctl-{ws.ident}-{hostname}"


def internal_network(ws: Workspace) -> str:
    """The workspace's podman network with no route out, behind the bastion."""
    return f"omctl-{ws.ident}-internal"


def run_options(
    name: str,
    hostname: str,
    workspace_ident: str,
    ssh_port: int | None,
    http_port: int | None,
    flavour_name: str = DEFAULT_FLAVOUR,
    networks: Sequence[str] = (),
) -> list[str]:
    """Every ``podman run`` option of a lab host, in one place.

    systemd as PID 1; NET_ADMIN for the firewall roles; never --privileged (/proc/sys stays
    read-only); sshd and HTTP published on loopback only, or not at all (ports None: a host
    behind the bastion, on ``networks`` only). ``--restart=always``: a reboot inside the host
    (``systemctl reboot``, ``ansible.builtin.reboot``) ends PID 1, and podman starts the
    container again, as a server comes back; ``podman stop``/``rm`` still stop it for good.
    """
    published = [
        f"--publish={LOOPBACK}:{port}:{inside}"
        for port, inside in ((ssh_port, 22), (http_port, 80))
        if port is not None
    ]
    return [
        "--detach",
        f"--name={name}",
        f"--hostname={hostname}",
        f"--label={LABEL_WORKSPACE}={workspace_ident}",
        f"--label={LABEL_HOST}={hostname}",
        f"--label={LABEL_FLAVOUR}={flavour_name}",
        "--systemd=always",
        "--cap-add=NET_ADMIN",
        *published,
        *(f"--network={network}" for network in networks),
        "--stop-timeout=10",
        "--restart=always",
    ]


def _host_from_ps(entry: dict[str, Any]) -> LabHost:
    labels = entry.get("Labels") or {}
    names = entry.get("Names") or [""]
    ports = {p.get("container_port"): p.get("host_port") for p in entry.get("Ports") or []}
    return LabHost(
        name=names[0],
        hostname=labels.get(LABEL_HOST, ""),
        ssh_port=ports.get(22),
        http_port=ports.get(80),
        state=entry.get("State", "unknown"),
        image=entry.get("Image", ""),
        flavour=labels.get(LABEL_FLAVOUR) or DEFAULT_FLAVOUR,
    )


def _ps(label_filter: str) -> list[LabHost]:
    out = podman("ps", "--all", "--filter", f"label={label_filter}", "--format", "json").stdout
    try:
        entries = json.loads(out or "[]")
    except json.JSONDecodeError:
        raise EnvironmentProblem("podman ps printed something that is not JSON") from None
    return sorted((_host_from_ps(e) for e in entries), key=lambda h: (h.order, h.name))


def status(ws: Workspace) -> list[LabHost]:
    """This workspace's lab hosts, running or not, in host order."""
    return _ps(f"{LABEL_WORKSPACE}={ws.ident}")


def _used_ports() -> set[int]:
    """Ports held by any omctl lab container, running or stopped (it may start again)."""
    used: set[int] = set()
    for host in _ps(LABEL_WORKSPACE):
        used.update(p for p in (host.ssh_port, host.http_port) if p)
    return used


def free_port(avoid: set[int] | None = None) -> int:
    """A free TCP port on 127.0.0.1 (the kernel's pick), not in ``avoid``."""
    avoid = avoid or set()
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((LOOPBACK, 0))
            port = int(sock.getsockname()[1])
        if port not in avoid:
            return port
    raise EnvironmentProblem("could not find a free port on 127.0.0.1")


def ensure_key(ws: Workspace) -> Path:
    """The lab's SSH key pair, generated once at .omctl/lab/id_ed25519 (mode 0600)."""
    ws.ensure_state()
    lab_dir(ws).mkdir(mode=0o700, exist_ok=True)
    key = key_path(ws)
    public = key.with_name(key.name + ".pub")
    if not key.exists():
        keygen = require("ssh-keygen", "apt-get install openssh-client")
        comment = f"omctl-lab@{ws.ident}"
        run([keygen, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)])
    elif not public.exists():
        derived = run(["ssh-keygen", "-y", "-f", str(key)], what="ssh-keygen -y").stdout
        public.write_text(derived)
    key.chmod(0o600)
    return key


def ssh_command(ws: Workspace, port: int, *remote: str) -> list[str]:
    """ssh as root to a lab host with the lab key, trusting a new host key on first use."""
    return ssh.command(
        "root",
        LOOPBACK,
        port,
        known_hosts=known_hosts_path(ws),
        strict="accept-new",
        key=key_path(ws),
        remote=remote,
    )


def _forget_host_key(ws: Workspace, port: int) -> None:
    """A new container on a reused port has new host keys: drop the old entry."""
    known = known_hosts_path(ws)
    if known.exists():
        run(["ssh-keygen", "-R", f"[{LOOPBACK}]:{port}", "-f", str(known)], check=False)
        Path(f"{known}.old").unlink(missing_ok=True)


def _authorize_key(ws: Workspace, host: LabHost) -> None:
    public = key_path(ws).with_name(key_path(ws).name + ".pub").read_text().strip()
    script = (
        "umask 077; mkdir -p /root/.ssh; touch /root/.ssh/authorized_keys; "
        'grep -qxF -- "$1" /root/.ssh/authorized_keys || '
        'printf "%s\\n" "$1" >> /root/.ssh/authorized_keys'
    )
    podman("exec", host.name, "sh", "-c", script, "sh", public)


def _create(ws: Workspace, ref: str, hostname: str, flavour_name: str, progress: Progress) -> None:
    name = container_name(ws, hostname)
    avoid = _used_ports()
    for attempt in range(3):
        ssh_port = free_port(avoid)
        http_port = free_port(avoid | {ssh_port})
        options = run_options(name, hostname, ws.ident, ssh_port, http_port, flavour_name)
        result = podman("run", *options, ref, check=False)
        if result.returncode == 0:
            _forget_host_key(ws, ssh_port)
            progress(
                f"{hostname}: started {name} ({flavour_name}; ssh {ssh_port}, http {http_port})"
            )
            return
        podman("rm", "--force", name, check=False)
        reason = last_line(result.stderr)
        if "address already in use" not in reason or attempt == 2:
            raise EnvironmentProblem(f"podman run {name} failed: {reason}")
        avoid |= {ssh_port, http_port}


def _http_ok(port: int, host_header: str | None = None) -> tuple[bool, str]:
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=5)
    try:
        conn.request("GET", "/", headers={"Host": host_header} if host_header else {})
        status_code = conn.getresponse().status
    except (OSError, http.client.HTTPException) as exc:
        return False, f"HTTP: {exc}"
    finally:
        conn.close()
    return status_code == 200, f"HTTP status {status_code}"


def _ssh_ok(ws: Workspace, port: int) -> tuple[bool, str]:
    try:
        result = subprocess.run(
            ssh_command(ws, port, "true"),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False, "SSH: timed out"
    return result.returncode == 0, f"SSH: {last_line(result.stderr) or result.returncode}"


def _container_state(name: str) -> str:
    result = podman("inspect", "--format", "{{.State.Status}}", name, check=False)
    return result.stdout.strip() if result.returncode == 0 else "missing"


def wait_ready(
    ws: Workspace,
    hosts: Sequence[LabHost],
    timeout: float = READY_TIMEOUT,
    progress: Progress = quiet,
) -> None:
    """Until SSH with the lab key works and the site answers 200, for every host (bounded).

    The site is the flavour's default server (its Host header); a flavour without a web
    server (``bare``) is ready once SSH works.
    """
    require("ssh", "apt-get install openssh-client")
    deadline = time.monotonic() + timeout
    pending = {host.name: host for host in hosts}
    reasons: dict[str, str] = {}
    ssh_done: set[str] = set()
    while True:
        for host in list(pending.values()):
            if host.ssh_port is None or host.http_port is None:
                raise EnvironmentProblem(f"{host.name} publishes no SSH or HTTP port")
            if host.name not in ssh_done:
                ok, reasons[host.name] = _ssh_ok(ws, host.ssh_port)
                if not ok:
                    continue
                ssh_done.add(host.name)
            ok, reasons[host.name] = http_ready(host)
            if ok:
                del pending[host.name]
                _report_boot(ws, host, progress)
        if not pending:
            return
        for host in pending.values():
            state = _container_state(host.name)
            if state != "running":
                raise EnvironmentProblem(
                    f"lab host {host.hostname} is {state} while booting (podman logs {host.name})"
                )
        if time.monotonic() > deadline:
            host = next(iter(pending.values()))
            raise EnvironmentProblem(
                f"lab host {host.hostname} not ready after {timeout:.0f}s "
                f"({reasons.get(host.name, 'no answer')}); see podman logs {host.name}"
            )
        time.sleep(1)


def http_ready(host: LabHost) -> tuple[bool, str]:
    """Whether the host's published HTTP port answers as its flavour should (and why not)."""
    kind = FLAVOURS.get(host.flavour, FLAVOURS[DEFAULT_FLAVOUR])
    if not kind.web:
        return True, "no web server in this flavour"
    assert host.http_port is not None
    return _http_ok(host.http_port, kind.http_host)


def set_up_flavour(host: LabHost, progress: Progress = quiet) -> None:
    """Run data/lab/flavour.sh in the container once (it keeps a marker and exits early)."""
    if host.flavour == DEFAULT_FLAVOUR:
        return
    flavour(host.flavour)  # a container labelled with an unknown flavour is not touched
    script = FLAVOUR_SCRIPT.read_text(encoding="utf-8")
    result = podman(
        "exec", host.name, "bash", "-c", script, "flavour.sh", host.flavour,
        check=False, timeout=FLAVOUR_TIMEOUT,
    )  # fmt: skip
    if result.returncode != 0:
        reason = last_line(result.stderr) or last_line(result.stdout)
        raise EnvironmentProblem(
            f"lab host {host.hostname}: setting up the {host.flavour} flavour failed "
            f"(exit {result.returncode}): {reason}"
        )
    last = last_line(result.stdout)
    if last.startswith("flavour: done"):
        progress(f"{host.hostname}: set up as {host.flavour}")


def _report_boot(ws: Workspace, host: LabHost, progress: Progress) -> None:
    """Say how systemd's boot ended; a degraded host is usable, so it is only reported."""
    assert host.ssh_port is not None
    remote = (
        "systemctl is-system-running --wait; "
        "systemctl list-units --failed --plain --no-legend | cut -d' ' -f1"
    )
    try:
        result = subprocess.run(
            ssh_command(ws, host.ssh_port, remote),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        lines = result.stdout.split()
    except subprocess.TimeoutExpired:
        lines = ["still-starting"]
    state = lines[0] if lines else "unknown"
    failed = f"; failed units: {', '.join(lines[1:])}" if lines[1:] else ""
    web = FLAVOURS.get(host.flavour, FLAVOURS[DEFAULT_FLAVOUR]).web
    http = f"http {LOOPBACK}:{host.http_port}" if web else "no web server"
    progress(
        f"{host.hostname}: ready, systemd {state}{failed} "
        f"({host.flavour}; ssh {LOOPBACK}:{host.ssh_port}, {http})"
    )


def up(
    ws: Workspace,
    hosts: int = 1,
    progress: Progress = quiet,
    timeout: float = READY_TIMEOUT,
    flavour_name: str = DEFAULT_FLAVOUR,
) -> list[LabHost]:
    """Start ``hosts`` lab hosts of a flavour (web1.. or <flavour>1..), write inventories/lab/.

    Idempotent: running hosts are kept, stopped ones started again (recreated if that fails),
    missing ones created; a new host of another flavour than ``debian`` is set up by
    data/lab/flavour.sh once. Hosts beyond ``hosts`` and hosts of other flavours are kept (and
    started) too: ``up --hosts 2`` after ``--hosts 3`` leaves three; ``down`` removes them all.
    Returns every lab host of the workspace once all are ready (SSH, and HTTP where the flavour
    serves it).
    """
    flavour(flavour_name)
    if not 1 <= hosts <= MAX_HOSTS:
        raise BadInput(f"--hosts must be between 1 and {MAX_HOSTS}, not {hosts}")
    for path in (hosts_file(ws), group_vars_file(ws)):
        check_ours(path)
    ref = ensure_image(progress)
    ensure_key(ws)
    with lock(lab_dir(ws) / "lock", progress, "another omctl lab command on this workspace"):
        existing = {host.hostname: host for host in status(ws)}
        wanted = {name: flavour_name for name in flavour_hostnames(flavour_name, hosts)}
        wanted.update({name: host.flavour for name, host in existing.items()})
        for hostname, kind in wanted.items():
            host = existing.get(hostname)
            if host is not None and host.image != ref:
                progress(f"{hostname} runs {host.image}, not {ref}: `omctl lab down` to refresh")
            if host is None:
                _create(ws, ref, hostname, kind, progress)
            elif host.state != "running":
                if podman("start", host.name, check=False).returncode == 0:
                    progress(f"{hostname}: started again ({host.name})")
                else:
                    progress(f"{hostname}: cannot start {host.name} again, recreating it")
                    podman("rm", "--force", host.name)
                    _create(ws, ref, hostname, kind, progress)
        current = status(ws)
        for host in current:
            _authorize_key(ws, host)
        for host in current:
            set_up_flavour(host, progress)
        wait_ready(ws, current, timeout, progress)
        write_inventory(ws, current)
        write_scope(ws, catalog.discover(ws), progress=progress)
        _private_files(lab_dir(ws))
    return current


def _ensure_internal_network(ws: Workspace) -> str:
    network = internal_network(ws)
    if podman("network", "exists", network, check=False).returncode != 0:
        podman("network", "create", "--internal", f"--label={LABEL_WORKSPACE}={ws.ident}", network)
    return network


def _internal_address(name: str, network: str) -> str:
    found = podman(
        "inspect", "--format", f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}',
        name,
    ).stdout.strip()  # fmt: skip
    if not found:
        raise EnvironmentProblem(f"{name} has no address on {network}")
    return found


def bastion_jump(bastion: LabHost) -> ssh.Jump:
    """How the controller goes through the lab's bastion."""
    assert bastion.ssh_port is not None
    return ssh.Jump("root", LOOPBACK, bastion.ssh_port)


def _wait_behind(ws: Workspace, bastion: LabHost, hosts: Sequence[LabHost], timeout: float) -> None:
    """Until SSH through the bastion reaches every host behind it and its boot has ended
    (bounded), as ``wait_ready`` waits for the published hosts."""
    deadline = time.monotonic() + timeout
    for host in hosts:
        assert host.address is not None
        line = ssh.command(
            "root", host.address, 22, known_hosts=known_hosts_path(ws), strict="accept-new",
            key=key_path(ws), jump=bastion_jump(bastion),
            remote=["systemctl is-system-running --wait >/dev/null; true"],
        )  # fmt: skip
        while True:
            try:
                done = subprocess.run(
                    line, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                    timeout=timeout, check=False,
                )  # fmt: skip
            except subprocess.TimeoutExpired:
                raise EnvironmentProblem(
                    f"lab host {host.hostname} still booting after {timeout:.0f}s"
                ) from None
            if done.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise EnvironmentProblem(
                    f"lab host {host.hostname} not reachable through the bastion after "
                    f"{timeout:.0f}s ({last_line(done.stderr)}); see podman logs {host.name}"
                )
            time.sleep(1)


def up_behind_bastion(
    ws: Workspace, hosts: int = 1, progress: Progress = quiet, timeout: float = READY_TIMEOUT
) -> tuple[LabHost, list[LabHost]]:
    """The bastion and ``hosts`` debian hosts (web1..) reachable only through it.

    The hosts are on the workspace's internal network only; the bastion is on it and on
    podman's default network, with SSH published on 127.0.0.1. No inventory is written: the
    hosts are onboarded like a client's (``--jump``). Returns the bastion and the hosts, each
    with its internal address.
    """
    if not 1 <= hosts <= MAX_HOSTS:
        raise BadInput(f"--hosts must be between 1 and {MAX_HOSTS}, not {hosts}")
    ref = ensure_image(progress)
    ensure_key(ws)
    with lock(lab_dir(ws) / "lock", progress, "another omctl lab command on this workspace"):
        network = _ensure_internal_network(ws)
        existing = {host.hostname for host in status(ws)}
        if BASTION_HOSTNAME not in existing:
            _create(ws, ref, BASTION_HOSTNAME, DEFAULT_FLAVOUR, progress)
            # Connected after the start: podman's port forwarding then stays on its default
            # network (created with both, the published port led to the internal address).
            podman("network", "connect", network, container_name(ws, BASTION_HOSTNAME))
        for hostname in flavour_hostnames(DEFAULT_FLAVOUR, hosts):
            if hostname not in existing:
                name = container_name(ws, hostname)
                options = run_options(name, hostname, ws.ident, None, None, networks=[network])
                podman("run", *options, ref)
                progress(f"{hostname}: started {name} on {network} only")
        current = status(ws)
        for host in current:
            podman("start", host.name, check=False)
            _authorize_key(ws, host)
        bastion = next(host for host in current if host.hostname == BASTION_HOSTNAME)
        behind = [
            replace(host, address=_internal_address(host.name, network))
            for host in current
            if host.hostname != BASTION_HOSTNAME
        ]
        wait_ready(ws, [bastion], timeout, progress)
        _wait_behind(ws, bastion, behind, timeout)
        bastion = replace(bastion, address=_internal_address(bastion.name, network))
        _private_files(lab_dir(ws))
    for host in behind:
        progress(f"{host.hostname}: {host.address} on {network}, through the bastion only")
    return bastion, behind


def _private_files(folder: Path) -> None:
    """What omctl and ssh wrote in .omctl/lab/ (key pair, known_hosts, lock) is 0600."""
    for path in folder.iterdir():
        if path.is_file() and not path.is_symlink():
            path.chmod(0o600)


def down(ws: Workspace, progress: Progress = quiet) -> list[str]:
    """Remove this workspace's lab containers and the inventory files ``up`` wrote."""
    ws.ensure_state()
    lab_dir(ws).mkdir(mode=0o700, exist_ok=True)
    with lock(lab_dir(ws) / "lock", progress, "another omctl lab command on this workspace"):
        names = [host.name for host in status(ws)]
        if names:
            podman("rm", "--force", "--time", "10", *names, timeout=120)
            progress(f"removed {', '.join(names)}")
        if podman("network", "exists", internal_network(ws), check=False).returncode == 0:
            podman("network", "rm", "--force", internal_network(ws))
            progress(f"removed network {internal_network(ws)}")
        for path in (hosts_file(ws), scope_file(ws), group_vars_file(ws)):
            if path.exists() and is_ours(path):
                path.unlink()
        all_vars = group_vars_file(ws).parent
        for folder in (all_vars, all_vars.parent, hosts_file(ws).parent):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty
        known_hosts_path(ws).unlink(missing_ok=True)
    return names
