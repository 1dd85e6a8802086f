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

from omctl import yamlfile
from omctl.errors import BadInput
from omctl.workspace import Workspace

SETTINGS_FILE = "omctl.toml"
MAX_SETTINGS_BYTES = 64 * 1024  # a few settings: anything larger is not an omctl.toml
TOML_AT_RE = re.compile(r" \(at line (?P<line>\d+), column \d+\)$")
ENV_PREFIX = "OMCTL_"


def default_operator() -> str:
    return f"{getpass.getuser()}@{socket.gethostname()}"


@dataclass(frozen=True)
class Settings:
    workspace: Workspace
    artifacts_keep: int = 20
    tick_parallel_clients: int = 2  # clients `omctl tick` runs at the same time
    vault_password_file: Path | None = None
    operator: str = ""
    ledger_path: Path | None = None
    ledger_key_file: Path | None = None  # default: ~/.config/omctl/ledger-<id>.key
    # A shared PostgreSQL ledger (omctl.ledger_pg) instead of the SQLite file; its password
    # comes from ledger_password_file (or libpq's PGPASSFILE / PGPASSWORD), never the URL.
    ledger_url: str | None = None
    ledger_password_file: Path | None = None
    # Environment variables (names or NAME_* patterns) handed to ansible-playbook besides the
    # allow-list of omctl.runner; everything else in omctl's environment stays behind.
    pass_env: tuple[str, ...] = ()
    # Variables whose values are secret wherever they are set (inventory, -e): scrubbed from
    # everything omctl writes.
    secret_vars: tuple[str, ...] = ()
    # apprise URLs alerts go to (they hold tokens: never printed), and when an alert that is
    # still true is sent again.
    notify: tuple[str, ...] = ()
    remind_hours: int = 24
    # Site monitoring (omctl.monitor): probes in flight at once, days raw probes are kept,
    # and a CA file trusted besides the system's (a private CA's sites stay verified).
    monitor_concurrency: int = 50
    monitor_keep_days: int = 35
    monitor_ca_file: Path | None = None
    # SMTP the tick's monthly report delivery sends through (omctl.delivery); the password is
    # read from smtp_password_file when sending, so it is in no setting and never printed.
    smtp_host: str | None = None
    smtp_port: int | None = None  # default: 25, 587 (starttls) or 465 (tls)
    smtp_from: str | None = None
    smtp_user: str | None = None
    smtp_password_file: Path | None = None
    smtp_security: str = "starttls"  # none | starttls | tls
    smtp_ca_file: Path | None = None  # a private CA to trust (default: the system's)
    # Vulnerability data (omctl.vulns): the Wordfence Intelligence v3 feed file and the Debian
    # security tracker's JSON, both fetched by the provider; findings scored at or above
    # vulnerability_alert_score (CVSS; by severity band when a finding has no score) alert.
    wordpress_vulnerability_feed: Path | None = None
    debian_security_tracker: Path | None = None
    vulnerability_alert_score: float = 7.0

    @property
    def ledger(self) -> Path:
        return self.ledger_path or self.workspace.state / "ledger.sqlite3"


# name -> converter; every key is settable as OMCTL_<NAME> and in omctl.toml.
MAX_ARTIFACTS_KEEP = 10_000


def _positive_int(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 6:
        value = int(value.strip())  # from the environment
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("must be a whole number")
    if not 1 <= value <= MAX_ARTIFACTS_KEEP:
        raise ValueError(f"must be between 1 and {MAX_ARTIFACTS_KEEP}")
    return value


def _path(value: Any) -> Path:
    if not isinstance(value, str) or not value:
        raise ValueError("must be a path")
    return Path(value).expanduser()


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value.strip()


def _ledger_url(value: Any) -> str:
    """A postgresql:// URL without a password (never echoed: it names a server and user)."""
    from urllib.parse import parse_qsl, urlsplit

    if not isinstance(value, str):
        raise ValueError("must be a postgresql:// URL")
    try:
        parts = urlsplit(value.strip())
        password = parts.password or dict(parse_qsl(parts.query)).get("password")
    except ValueError:
        raise ValueError("is not a URL (postgresql://user@host:port/database)") from None
    if parts.scheme not in ("postgresql", "postgres") or not (parts.netloc or parts.query):
        raise ValueError("must be a postgresql:// URL (postgresql://user@host:port/database)")
    if password is not None:
        raise ValueError("holds a password: put it in ledger_password_file (or PGPASSFILE) instead")
    return value.strip()


SMTP_SECURITY = ("none", "starttls", "tls")


def _port(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 5:
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValueError("must be a port number, 1 to 65535")
    return value


def _score(value: Any) -> float:
    """A CVSS score, 0 to 10: a TOML number, or a number in the environment."""
    if isinstance(value, str) and len(value.strip()) <= 8:
        try:
            value = float(value.strip())
        except ValueError:
            raise ValueError("must be a score from 0 to 10") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 10:
        raise ValueError("must be a score from 0 to 10")
    return float(value)


def _security(value: Any) -> str:
    if value not in SMTP_SECURITY:
        raise ValueError(f"must be one of {', '.join(SMTP_SECURITY)}")
    return str(value)


def _address(value: Any) -> str:
    from email_validator import EmailNotValidError, validate_email

    if not isinstance(value, str):
        raise ValueError("must be an e-mail address")
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"is not an e-mail address: {exc}") from None


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


def _urls(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("must be a list of notification URLs")
    bad = [index for index, item in enumerate(value, start=1) if "://" not in item]
    if bad:
        raise ValueError(f"entry {bad[0]} is not a URL (scheme://...)")  # never echo a URL
    return tuple(dict.fromkeys(value))


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "artifacts_keep": _positive_int,
    "tick_parallel_clients": _positive_int,
    "vault_password_file": _path,
    "operator": _text,
    "ledger_path": _path,
    "ledger_key_file": _path,
    "ledger_url": _ledger_url,
    "ledger_password_file": _path,
    "pass_env": _names(ENV_NAME, "environment variable names (NAME or NAME_*)"),
    "secret_vars": _names(VAR_NAME, "variable names"),
    "notify": _urls,
    "remind_hours": _positive_int,
    "monitor_concurrency": _positive_int,
    "monitor_keep_days": _positive_int,
    "monitor_ca_file": _path,
    "smtp_host": _text,
    "smtp_port": _port,
    "smtp_from": _address,
    "smtp_user": _text,
    "smtp_password_file": _path,
    "smtp_security": _security,
    "smtp_ca_file": _path,
    "wordpress_vulnerability_feed": _path,
    "debian_security_tracker": _path,
    "vulnerability_alert_score": _score,
}
LIST_SETTINGS = {"pass_env", "secret_vars"}
SPACED_SETTINGS = {"notify"}  # URLs may hold commas: the environment separates them by spaces


def _file_line(text: str, key: str) -> int | None:
    """The line that sets ``key``: ``key =``, ``"key" =``, ``key.sub =`` or a ``[key]`` table."""
    name = rf"\[*\s*[\"']?{re.escape(key)}[\"']?\s*[=.\]]"
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"\s*{name}", line):
            return number
    return None


def _deepest_line(text: str) -> int:
    """The line where brackets nest deepest (roughly: strings are not told apart)."""
    depth = deepest = 0
    line = where = 1
    for char in text:
        if char == "\n":
            line += 1
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest, where = depth, line
        elif char in "]}":
            depth -= 1
    return where


def _parse_toml(path: Path, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11's error has no line attribute; its message ends "(at line L, column C)".
        message = str(exc)
        found = TOML_AT_RE.search(message)
        line = int(found["line"]) if found else None
        if found is None and message.endswith("(at end of document)"):
            line = max(text.count("\n"), 1)
        message = TOML_AT_RE.sub("", message).removesuffix(" (at end of document)")
        raise BadInput(f"invalid TOML: {message}", path=path, line=line) from None
    except RecursionError:
        raise BadInput(
            "invalid TOML: nested too deeply", path=path, line=_deepest_line(text)
        ) from None
    except ValueError as exc:  # an integer of thousands of digits
        detail = str(exc).split(":")[0]
        digits = re.search(r"\d{1000}", text)
        line = text.count("\n", 0, digits.start()) + 1 if digits else None
        raise BadInput(f"invalid TOML: {detail}", path=path, line=line) from None


def _from_file(path: Path) -> dict[str, Any]:
    if not path.exists() and not path.is_symlink():
        return {}
    text = yamlfile.read_bounded(path, limit=MAX_SETTINGS_BYTES)
    data = _parse_toml(path, text)
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
            if key in SPACED_SETTINGS:
                raw = raw.split()
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
