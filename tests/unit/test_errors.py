from pathlib import Path

import pytest

from omctl import errors
from omctl.errors import ExitCode


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.BadInput, ExitCode.BAD_INPUT),
        (errors.ScopeInvalid, ExitCode.BAD_INPUT),
        (errors.InventoryInvalid, ExitCode.BAD_INPUT),
        (errors.UnknownClient, ExitCode.BAD_INPUT),
        (errors.UnknownTask, ExitCode.BAD_INPUT),
        (errors.HostsFailed, ExitCode.HOST_FAILED),
        (errors.ScopeRefused, ExitCode.REFUSED),
        (errors.ClientLocked, ExitCode.LOCKED),
        (errors.LedgerBroken, ExitCode.LEDGER_BROKEN),
        (errors.EnvironmentProblem, ExitCode.ENVIRONMENT),
        (errors.NotGranted, ExitCode.NOT_GRANTED),
    ],
)
def test_each_error_has_its_documented_exit_code(error: type, code: ExitCode) -> None:
    assert error("x").exit_code == code


def test_documented_codes_are_the_issue_s() -> None:
    assert [int(c) for c in ExitCode][:5] == [0, 1, 2, 3, 4]


def test_message_names_file_and_line() -> None:
    error = errors.ScopeInvalid("unknown key 'x'", path=Path("inventories/a/scope.yml"), line=7)
    assert str(error) == "inventories/a/scope.yml:7: unknown key 'x'"
    assert str(errors.BadInput("plain")) == "plain"
