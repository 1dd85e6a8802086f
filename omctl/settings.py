"""Settings, in order of precedence: command line > environment (OMCTL_*) > workspace file.

The workspace file is ``omctl.toml`` at the workspace root. The workspace itself comes from
``--workspace``, ``OMCTL_WORKSPACE`` or the current directory.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omctl.errors import BadInput
from omctl.workspace import Workspace

SETTINGS_FILE = "omctl.toml"
ENV_PREFIX = "OMCTL_"


def default_operator() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


@dataclass(frozen=True)
class Settings:
    workspace: Workspace
    artifacts_keep: int = 20
    vault_password_file: Path | None = None
    operator: str = ""
    ledger_path: Path | None = None
    # Environment variables (names or NAME_* patterns) handed to ansible-playbook besides the
    # allow-list of omctl.runner; everything else in omctl's environment stays behind.
    pass_env: tuple[str, ...] = ()
    # Variables whose values are secret wherever they are set (inventory, -e): scrubbed from
    # everything omctl writes.
    secret_vars: tuple[str, ...] = ()

    @property
    def ledger(self) -> Path:
        return self.ledger_path or self.workspace.state / "ledger.sqlite3"


# name -> converter; every key is settable as OMCTL_<NAME> and in omctl.toml.
def _positive_int(value: Any) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be at least 1")
    return number


def _path(value: Any) -> Path:
    if not isinstance(value, str) or not value:
        raise ValueError("must be a path")
    return Path(value).expanduser()


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value.strip()


ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\*?$")
VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _names(pattern: re.Pattern[str], what: str) -> Callable[[Any], tuple[str, ...]]:
    """A list of names: a TOML array of strings (comma-separated in the environment)."""

    def convert(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValueError(f"must be a list of {what}")
        bad = [item for item in value if not pattern.match(item)]
        if bad:
            raise ValueError(f"must be a list of {what}, not {bad[0]!r}")
        return tuple(dict.fromkeys(value))

    return convert


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "artifacts_keep": _positive_int,
    "vault_password_file": _path,
    "operator": _text,
    "ledger_path": _path,
    "pass_env": _names(ENV_NAME, "environment variable names (NAME or NAME_*)"),
    "secret_vars": _names(VAR_NAME, "variable names"),
}
LIST_SETTINGS = {"pass_env", "secret_vars"}


def _file_line(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"\s*{re.escape(key)}\s*=", line):
            return number
    return None


def _from_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        raise BadInput(f"invalid TOML: {exc}", path=path, line=line) from None
    values: dict[str, Any] = {}
    for key, raw in data.items():
        convert = CONVERTERS.get(key)
        if convert is None:
            known = ", ".join(sorted(CONVERTERS))
            raise BadInput(
                f"unknown setting {key!r} (known: {known})", path=path, line=_file_line(text, key)
            )
        try:
            value = convert(raw)
        except (TypeError, ValueError) as exc:
            raise BadInput(f"{key}: {exc}", path=path, line=_file_line(text, key)) from None
        if isinstance(value, Path) and not value.is_absolute():
            value = path.parent / value
        values[key] = value
    return values


def _from_env(environ: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, convert in CONVERTERS.items():
        raw = environ.get(ENV_PREFIX + key.upper())
        if raw is None:
            continue
        try:
            if key in LIST_SETTINGS:
                raw = [part.strip() for part in raw.split(",") if part.strip()]
            values[key] = convert(raw)
        except (TypeError, ValueError) as exc:
            raise BadInput(f"environment {ENV_PREFIX}{key.upper()}: {exc}") from None
    return values


def load(
    workspace: Path | None = None,
    cli: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    environ = dict(os.environ) if environ is None else environ
    root = workspace or (
        Path(environ["OMCTL_WORKSPACE"]) if environ.get("OMCTL_WORKSPACE") else Path.cwd()
    )
    root = root.expanduser().resolve()
    if not root.is_dir():
        raise BadInput(f"workspace {root} is not a directory")
    values = _from_file(root / SETTINGS_FILE)
    values.update(_from_env(environ))
    values.update({k: v for k, v in (cli or {}).items() if v is not None})
    values.setdefault("operator", default_operator())
    return Settings(workspace=Workspace(root), **values)
