"""The one way omctl builds an ``ssh`` command line (onboarding probes, lab hosts)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


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
) -> list[str]:
    """Non-interactive ssh: no prompts, host keys pinned to ``known_hosts``, ``key`` only.

    ``strict`` is StrictHostKeyChecking's value: ``accept-new`` trusts a host on first use,
    ``yes`` only a recorded key. LogLevel=ERROR keeps "Permanently added ..." out of the
    output while failures (refused login, changed host key) are still printed.
    """
    line = [
        "ssh",
        "-o", "BatchMode=yes",
        "-o", f"ConnectTimeout={connect_timeout}",
        "-o", f"StrictHostKeyChecking={strict}",
        "-o", f"UserKnownHostsFile={known_hosts}",
        "-o", "LogLevel=ERROR",
        "-p", str(port),
    ]  # fmt: skip
    if key is not None:
        line += ["-i", str(key), "-o", "IdentitiesOnly=yes"]
    return [*line, f"{user}@{address}", *remote]
