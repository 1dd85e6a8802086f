"""Onboarding a client server: prove SSH, Python and root (directly or through sudo), write the
inventory, take a baseline.

Nothing is written until the probe has passed, so a failed onboarding leaves no trace but its
error message. A login that is not root must prove that ``sudo`` makes it root the way Ansible
will use it (``sudo -u root /bin/sh``): without a password, or with the one of
``--become-password-file``, which reaches the inventory only encrypted with the workspace's
vault password (``host_vars/<host>/become.yml``).
"""

from __future__ import annotations

import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from omctl import files, inventory, inventory_edit, scope, ssh
from omctl.errors import BadInput, EnvironmentProblem, HostsFailed
from omctl.workspace import Workspace, check_client_name

BASELINE_TASK = "baseline"
PROBE_TIMEOUT = 20
HOST_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-_.")
BECOME_VARS_FILE = "become.yml"  # under host_vars/<host>/: the vaulted sudo password
# The groups Debian, Ubuntu and RHEL-like systems give sudo rights to.
SUDO_GROUPS = ("sudo", "admin", "wheel")

# Run by /bin/sh on the host, read from stdin (so the login shell's syntax does not matter).
# Prints key=value lines; sudo is tried exactly as Ansible's become will use it.
PROBE_SCRIPT = """\
python=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) \\
  || { echo python=missing; exit 0; }
echo "python=$python"
uid=$(id -u)
echo "uid=$uid"
[ "$uid" = 0 ] && exit 0
echo "groups=$(id -Gn)"
command -v sudo >/dev/null 2>&1 || { echo sudo=missing; exit 0; }
out=$(LC_ALL=C sudo -n -u root /bin/sh -c 'id -u' 2>&1 </dev/null)
echo "sudo_rc=$?"
printf '%s\\n' "$out" | sed 's/^/sudo_out=/'
"""
# The password comes on stdin; -k ignores cached credentials, so the password is what is proved.
SUDO_PASSWORD_COMMAND = "env LC_ALL=C sudo -S -k -p '' -u root /bin/sh -c 'id -u'"


@dataclass(frozen=True)
class Target:
    client: str
    host: str
    address: str
    port: int = 22
    user: str = "root"
    key: Path | None = None
    become_password_file: Path | None = None
    jump: ssh.Jump | None = None  # the bastion the host is reached through

    @property
    def login(self) -> str:
        return f"{self.user}@{self.address}"


@dataclass(frozen=True)
class Login:
    """How the login is root: None as root already; "nopasswd" through sudo without a
    password; "password" through sudo with the one of --become-password-file."""

    sudo: str | None = None

    @property
    def become(self) -> bool:
        return self.sudo is not None


def ssh_command(target: Target, known_hosts: Path, strict: str) -> list[str]:
    return ssh.command(
        target.user,
        target.address,
        target.port,
        known_hosts=known_hosts,
        strict=strict,
        key=target.key,
        connect_timeout=PROBE_TIMEOUT // 2,
        jump=target.jump,
    )


def _explain_ssh_failure(target: Target, stderr: str) -> str:
    where = f"{target.user}@{target.address}:{target.port}"
    if target.jump is not None:
        where += f" through {target.jump}"
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


def _ssh(
    target: Target, known_hosts: Path, strict: str, remote: str, stdin: str
) -> subprocess.CompletedProcess[str]:
    """Run ``remote`` over SSH with ``stdin``; a timeout or a failed login is HostsFailed."""
    try:
        done = subprocess.run(
            [*ssh_command(target, known_hosts, strict), remote],
            input=stdin, capture_output=True, text=True, timeout=PROBE_TIMEOUT, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise HostsFailed(
            f"SSH to {target.user}@{target.address}:{target.port} did not answer "
            f"within {PROBE_TIMEOUT}s"
        ) from None
    if done.returncode == 255:
        raise HostsFailed(_explain_ssh_failure(target, done.stderr))
    return done


def parse_probe(output: str) -> dict[str, list[str]]:
    """The probe script's ``key=value`` lines; a key may repeat (``sudo_out``)."""
    fields: dict[str, list[str]] = {}
    for line in output.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.isidentifier():
            fields.setdefault(key, []).append(value)
    return fields


def classify_sudo(
    rc: int | None, output: str, with_password: bool = False, groups: list[str] | None = None
) -> str:
    """What ``sudo -u root /bin/sh -c 'id -u'`` answered: ``ok`` or the reason it failed.

    ``rc`` and ``output`` are its exit code and output (stdout and stderr), ``rc`` None when
    sudo is not installed; ``with_password``: a password was given on stdin (else ``sudo -n``).
    ``sudo -n`` says "a password is required" to a user sudoers does not name as well (it
    authenticates before it looks): ``groups``, the user's groups, tell the likely case apart.
    """
    if rc is None:
        return "missing"
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if rc == 0 and lines and lines[-1] == "0":
        return "ok"
    text = " ".join(lines).lower()
    if "not in the sudoers file" in text:
        return "not_in_sudoers"
    if "may not run sudo" in text:
        return "no_rule_here"
    if "is not allowed to execute" in text or "not allowed to run" in text:
        return "command_denied"
    if "tty" in text:
        return "needs_tty"
    if not with_password and "password is required" in text:
        in_group = groups is None or bool(set(groups) & set(SUDO_GROUPS))
        return "password_required" if in_group else "password_required_no_group"
    if with_password and any(
        words in text for words in ("incorrect password", "try again", "no password was provided")
    ):
        return "password_rejected"
    return "failed"


def sudo_refusal(target: Target, verdict: str, output: str = "") -> str:
    """The one line naming what is missing for ``target.user`` to become root with sudo."""
    user = target.user
    reasons = {
        "missing": "sudo is not installed; install it or onboard as root",
        "not_in_sudoers": f"{user} is not in sudoers",
        "no_rule_here": f"sudoers gives {user} no rule on this host",
        "command_denied": f"sudoers does not let {user} run /bin/sh as root, which Ansible needs",
        "needs_tty": f"sudo wants a terminal (requiretty) for {user}; Ansible has none",
        "password_required": "sudo asks for a password; pass --become-password-file or "
        "configure NOPASSWD",
        "password_required_no_group": f"{user} is in no sudo group ({', '.join(SUDO_GROUPS)}) and "
        "sudo asks for a password: not in sudoers? add it with NOPASSWD, or pass "
        "--become-password-file",
        "password_rejected": "sudo rejects the password in --become-password-file "
        f"{target.become_password_file}",
    }
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    last = lines[-1] if lines else "no output"
    reason = reasons.get(verdict, f"sudo -u root /bin/sh does not make {user} root ({last})")
    return f"{target.login}: {reason}"


def read_become_password(path: Path) -> str:
    """The first line of ``--become-password-file``; refused unless only its owner can read it."""
    try:
        info = path.stat()
    except OSError:
        raise BadInput(f"--become-password-file {path} does not exist") from None
    if not stat.S_ISREG(info.st_mode):
        raise BadInput(f"--become-password-file {path} is not a file")
    if info.st_mode & 0o077:
        raise BadInput(
            f"--become-password-file {path} is readable by others "
            f"(mode {stat.S_IMODE(info.st_mode):04o}): chmod 600 it"
        )
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or not lines[0]:
        raise BadInput(f"--become-password-file {path} is empty: the password is its first line")
    return lines[0]


def probe(target: Target, known_hosts: Path, become_password: str | None = None) -> Login:
    """Log in, run Python, and unless the login is root prove that sudo makes it root.

    An unreachable host or a failed login is HostsFailed (exit 1, like any unreachable host);
    no Python is HostsFailed too; a login that cannot become root is BadInput (exit 2: the
    --user or --become-password-file given cannot do the work).
    """
    if shutil.which("ssh") is None:
        raise EnvironmentProblem("the ssh client is not installed (apt-get install openssh-client)")
    done = _ssh(target, known_hosts, "accept-new", "env LC_ALL=C /bin/sh -s", PROBE_SCRIPT)
    fields = parse_probe(done.stdout)
    python = fields.get("python", [""])[0]
    uid = fields.get("uid", [""])[0]
    if done.returncode != 0 or not uid.isdigit() or not python or python == "missing":
        raise HostsFailed(
            f"SSH works on {target.address} but python3 does not "
            f"({'not found' if python == 'missing' else f'exit {done.returncode}'}); "
            f"install python3 on the host first"
        )
    if int(uid) == 0:
        return Login()
    output = "\n".join(fields.get("sudo_out", []))
    missing = "sudo" in fields  # sudo=missing
    rc = fields.get("sudo_rc", ["1"])[0]
    groups = fields.get("groups", [""])[0].split()
    verdict = classify_sudo(
        None if missing else int(rc) if rc.isdigit() else 1, output, False, groups
    )
    if verdict == "ok":
        return Login("nopasswd")
    if not verdict.startswith("password_required") or become_password is None:
        raise BadInput(sudo_refusal(target, verdict, output))
    # The password on stdin, never on a command line; sudo's output never echoes it.
    checked = _ssh(target, known_hosts, "yes", SUDO_PASSWORD_COMMAND, become_password + "\n")
    output = checked.stdout + "\n" + checked.stderr
    verdict = classify_sudo(checked.returncode, output, with_password=True)
    if verdict != "ok":
        raise BadInput(sudo_refusal(target, verdict, output))
    return Login("password")


def vault_encrypt(vault_password_file: Path, name: str, secret: str) -> str:
    """``name: !vault |`` and ``secret`` encrypted with the workspace's vault password, as
    ``ansible-vault encrypt_string`` writes it."""
    from ansible.errors import AnsibleError
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.vault import VaultLib, get_file_vault_secret

    try:
        secret_source = get_file_vault_secret(
            filename=str(vault_password_file), loader=DataLoader()
        )
        secret_source.load()
        encrypted = VaultLib().encrypt(secret, secret=secret_source).decode()
    except AnsibleError as exc:
        raise BadInput(f"vault password file {vault_password_file}: {exc.message}") from None
    body = "".join(f"  {line}\n" for line in encrypted.splitlines())
    return f"{name}: !vault |\n{body}"


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


INVENTORY_KNOWN_HOSTS = "{{ inventory_dir }}/known_hosts"
SSH_COMMON_ARGS = f"-o UserKnownHostsFile={INVENTORY_KNOWN_HOSTS} -o StrictHostKeyChecking=yes"
SSH_VARS = f"""\
# SSH settings of this client. The known_hosts file beside the inventory holds the host keys
# recorded at onboarding; a changed key stops every run.
ansible_ssh_common_args: >-
  {SSH_COMMON_ARGS}
"""


def jump_ssh_args(jump: ssh.Jump, key: Path | None) -> str:
    """The host's ``ansible_ssh_common_args`` through ``jump``: the client's, and the
    ProxyCommand checking the bastion against the same known_hosts."""
    proxy = ssh.proxy_command(jump, known_hosts=INVENTORY_KNOWN_HOSTS, strict="yes", key=key)
    if any(char in proxy for char in '"\\$`'):
        raise BadInput(f"--key {key} has a character the SSH arguments cannot quote")
    return f'{SSH_COMMON_ARGS} -o "ProxyCommand={proxy}"'


def _host_vars(target: Target, login: Login) -> dict[str, object]:
    host_vars: dict[str, object] = {"ansible_host": target.address}
    if target.port != 22:
        host_vars["ansible_port"] = target.port
    host_vars["ansible_user"] = target.user
    if login.become:
        host_vars["ansible_become"] = True
    if target.key is not None:
        host_vars["ansible_ssh_private_key_file"] = str(target.key)
    if target.jump is not None:
        host_vars["ansible_ssh_common_args"] = jump_ssh_args(target.jump, target.key)
    return host_vars


def validate_target(target: Target) -> None:
    check_client_name(target.client)
    if not target.host or not set(target.host.lower()) <= HOST_NAME_CHARS:
        raise BadInput(f"invalid host name {target.host!r}")
    if not 0 < target.port < 65536:
        raise BadInput(f"--port {target.port} is not a TCP port")
    if target.key is not None and not target.key.is_file():
        raise BadInput(f"--key {target.key} does not exist")


def become_vars_file(ws: Workspace, target: Target) -> Path:
    return ws.client_dir(target.client) / "host_vars" / target.host / BECOME_VARS_FILE


def write_inventory(
    ws: Workspace,
    target: Target,
    known_hosts_lines: str,
    today: date,
    login: Login | None = None,
    become_vars: str | None = None,
) -> bool:
    """Add the host to the client's inventory; creates the client when new. Returns new?

    ``become_vars`` (the vaulted sudo password) goes to host_vars/<host>/become.yml.
    """
    login = login or Login()
    client_dir = ws.client_dir(target.client)
    hosts_file = client_dir / inventory.HOSTS_FILE
    is_new = not hosts_file.exists()
    if not is_new and target.host in inventory.load(hosts_file).hosts:
        raise BadInput(f"host {target.host!r} is already in the inventory", path=hosts_file)
    header = f"# Hosts of client {target.client}; `omctl onboard` adds to this file.\n"
    current = None if is_new else hosts_file.read_text()
    text = inventory_edit.with_host(current, target.host, _host_vars(target, login), header)
    client_dir.mkdir(parents=True, exist_ok=True)
    (client_dir / "group_vars" / "all").mkdir(parents=True, exist_ok=True)
    if become_vars is not None:
        become_file = become_vars_file(ws, target)
        become_file.parent.mkdir(parents=True, exist_ok=True)
        note = f"# The sudo password of {target.login}, encrypted with the workspace's vault.\n"
        files.write_atomic(become_file, note + become_vars, 0o600)
    files.write_atomic(hosts_file, text, 0o644)
    if is_new:
        files.write_atomic(
            client_dir / scope.SCOPE_FILE, scope_template(target.client, today), 0o644
        )
        files.write_atomic(client_dir / "group_vars" / "all" / "ssh.yml", SSH_VARS, 0o644)
    known_hosts = client_dir / "known_hosts"
    existing = known_hosts.read_text() if known_hosts.exists() else ""
    files.write_atomic(known_hosts, existing + known_hosts_lines, 0o644)
    return is_new


def pinned_bastion(known_hosts: Path, jump: ssh.Jump | None) -> str:
    """The lines of ``known_hosts`` recording the bastion's keys ("" for none)."""
    if jump is None or not known_hosts.exists():
        return ""
    found = subprocess.run(
        ["ssh-keygen", "-F", jump.known_hosts_name, "-f", str(known_hosts)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return "".join(
        line + "\n" for line in found.stdout.splitlines() if line and not line.startswith("#")
    )


def prepare_host(
    ws: Workspace, target: Target, today: date, vault_password_file: Path | None = None
) -> tuple[bool, Login]:
    """Probe the host, then write it into the inventory. Returns whether the client is new and
    what the probe proved.

    With ``target.become_password_file`` the password is checked and encrypted with
    ``vault_password_file`` before the host is contacted; it is stored only when sudo needs it.
    """
    validate_target(target)
    hosts_file = ws.client_dir(target.client) / inventory.HOSTS_FILE
    if hosts_file.exists() and target.host in inventory.load(hosts_file).hosts:
        raise BadInput(f"host {target.host!r} is already in the inventory", path=hosts_file)
    password = encrypted = None
    if target.become_password_file is not None:
        password = read_become_password(target.become_password_file)
        if vault_password_file is None:
            raise BadInput(
                "--become-password-file needs the workspace's vault password (--vault-password-"
                "file, OMCTL_VAULT_PASSWORD_FILE or vault_password_file in omctl.toml): the sudo "
                "password is stored only encrypted with it"
            )
        existing = become_vars_file(ws, target)
        if existing.exists():
            raise BadInput(f"{existing} exists already: move it away", path=existing)
        encrypted = vault_encrypt(vault_password_file, "ansible_become_password", password)
    if target.jump is not None:
        jump_ssh_args(target.jump, target.key)  # refused before the host is contacted
    client_known_hosts = ws.client_dir(target.client) / "known_hosts"
    with tempfile.TemporaryDirectory(prefix="omctl-onboard-") as scratch:
        known_hosts = Path(scratch) / "known_hosts"
        # A bastion pinned already for this client must show the same key again.
        pinned = pinned_bastion(client_known_hosts, target.jump)
        known_hosts.write_text(pinned)
        login = probe(target, known_hosts, password)
        lines = known_hosts.read_text().removeprefix(pinned)
    become_vars = encrypted if login.sudo == "password" else None
    return write_inventory(ws, target, lines, today, login, become_vars), login
