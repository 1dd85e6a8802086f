"""The one way omctl builds an ``ssh`` command line (onboarding probes, lab hosts, execution
nodes), with an optional jump through a bastion."""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from omctl.errors import BadInput

# USER@HOST[:PORT]; HOST a name or an IPv4 address (no shell or ssh option syntax gets through).
JUMP_PATTERN = re.compile(
    r"(?P<user>[A-Za-z0-9_][A-Za-z0-9_.-]*)@(?P<host>[A-Za-z0-9][A-Za-z0-9.-]*)(?::(?P<port>[0-9]+))?"
)


@dataclass(frozen=True)
class Jump:
    """A bastion the connection goes through (``ssh -W``, what ProxyJump does)."""

    user: str
    address: str
    port: int = 22

    def __str__(self) -> str:
        return f"{self.user}@{self.address}:{self.port}"

    @property
    def known_hosts_name(self) -> str:
        """How ssh names the bastion in known_hosts."""
        return self.address if self.port == 22 else f"[{self.address}]:{self.port}"


def parse_jump(value: str) -> Jump:
    """``USER@BASTION[:PORT]`` as a Jump; anything else is BadInput."""
    match = JUMP_PATTERN.fullmatch(value.strip())
    port = int(match["port"]) if match and match["port"] else 22
    if match is None or not 0 < port < 65536:
        raise BadInput(f"--jump {value!r} is not USER@BASTION[:PORT]")
    return Jump(match["user"], match["host"], port)


def _options(
    port: int, known_hosts: Path | str, strict: str, key: Path | None, connect_timeout: int
) -> list[str]:
    line = [
        "-o", "BatchMode=yes",
        "-o", f"ConnectTimeout={connect_timeout}",
        "-o", f"StrictHostKeyChecking={strict}",
        "-o", f"UserKnownHostsFile={known_hosts}",
        "-o", "LogLevel=ERROR",
        "-p", str(port),
    ]  # fmt: skip
    if key is not None:
        line += ["-i", str(key), "-o", "IdentitiesOnly=yes"]
    return line


def proxy_command(
    jump: Jump,
    *,
    known_hosts: Path | str,
    strict: str,
    key: Path | None = None,
    connect_timeout: int = 5,
) -> str:
    """The ProxyCommand through ``jump``, with the bastion's host key pinned like any other.

    ProxyCommand rather than ``-J``: options on ssh's command line do not reach the jump
    connection, so ``-J`` would check the bastion against ~/.ssh/known_hosts.
    """
    options = _options(jump.port, known_hosts, strict, key, connect_timeout)
    return shlex.join(["ssh", *options, "-W", "%h:%p", f"{jump.user}@{jump.address}"])


def command(
    user: str,
    address: str,
    port: int,
    *,
    known_hosts: Path,
    strict: str,
    key: Path | None = None,
    connect_timeout: int = 5,
    remote: Sequence[str] = (),
    jump: Jump | None = None,
    alive_interval: int | None = None,
) -> list[str]:
    """Non-interactive ssh: no prompts, host keys pinned to ``known_hosts``, ``key`` only.

    ``strict`` is StrictHostKeyChecking's value: ``accept-new`` trusts a host on first use,
    ``yes`` only a recorded key. LogLevel=ERROR keeps "Permanently added ..." out of the
    output while failures (refused login, changed host key) are still printed. With ``jump``
    the bastion is checked against the same ``known_hosts``, logged into with the same key.
    ``alive_interval``: seconds between keepalives, three unanswered ones end the connection
    (a long-lived stream notices a dead link).
    """
    line = ["ssh", *_options(port, known_hosts, strict, key, connect_timeout)]
    if alive_interval is not None:
        line += ["-o", f"ServerAliveInterval={alive_interval}", "-o", "ServerAliveCountMax=3"]
    if jump is not None:
        proxy = proxy_command(
            jump, known_hosts=known_hosts, strict=strict, key=key, connect_timeout=connect_timeout
        )
        line += ["-o", f"ProxyCommand={proxy}"]
    return [*line, f"{user}@{address}", *remote]
