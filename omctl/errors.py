"""The one error family of omctl, and the exit codes it maps to.

Core code raises these; only the CLI layer turns them into a message and an exit code.
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """Documented process exit codes (README, ``omctl --help``)."""

    OK = 0
    HOST_FAILED = 1  # a host failed or was unreachable
    BAD_INPUT = 2  # malformed scope/inventory, unknown client/task, wrong option
    REFUSED = 3  # refused by the client's contract scope
    LOCKED = 4  # another run holds the client's lock
    OVERDUE = 5  # `omctl status`: a contracted task is overdue
    LEDGER_BROKEN = 6  # the ledger does not verify, or its key is missing
    ENVIRONMENT = 7  # a required tool (podman, ssh, ...) is missing or failed
    NOT_GRANTED = 8  # operators.yml does not grant the operator this client or task


class OmctlError(Exception):
    """Base of every error omctl reports to an operator."""

    exit_code: ExitCode = ExitCode.BAD_INPUT

    def __init__(self, message: str, *, path: Path | str | None = None, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line

    def location(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line else str(self.path)

    def __str__(self) -> str:
        where = self.location()
        return f"{where}: {self.message}" if where else self.message


class BadInput(OmctlError):
    """Input the operator can fix: files, names, options."""

    exit_code = ExitCode.BAD_INPUT


class ScopeInvalid(BadInput):
    """scope.yml does not validate."""


class InventoryInvalid(BadInput):
    """hosts.yml cannot be read or names no hosts."""


class UnknownClient(BadInput):
    """No inventories/<client>/ folder."""


class UnknownTask(BadInput):
    """No playbooks/<category>/<task>.yml."""


class ScopeRefused(OmctlError):
    """The contract does not cover the requested work."""

    exit_code = ExitCode.REFUSED


class ClientLocked(OmctlError):
    """Another run on the same client is in progress."""

    exit_code = ExitCode.LOCKED


class NotGranted(OmctlError):
    """operators.yml does not let the operator run this task for this client."""

    exit_code = ExitCode.NOT_GRANTED


class HostsFailed(OmctlError):
    """The run completed but at least one host failed or was unreachable."""

    exit_code = ExitCode.HOST_FAILED


class LedgerBroken(OmctlError):
    """The ledger's hash chain does not verify."""

    exit_code = ExitCode.LEDGER_BROKEN


class LedgerKeyMissing(LedgerBroken):
    """The ledger is keyed but its key file is gone: omctl never makes a new one for it."""


class EnvironmentProblem(OmctlError):
    """A tool omctl drives is missing or failed (podman, ssh, debootstrap)."""

    exit_code = ExitCode.ENVIRONMENT
