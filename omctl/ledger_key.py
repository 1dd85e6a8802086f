"""The ledger's HMAC key: a secret kept outside the workspace, one file per ledger.

The key file is ``$XDG_CONFIG_HOME/omctl/ledger-<id>.key`` (``~/.config`` by default), or the
``ledger_key_file`` setting (``OMCTL_LEDGER_KEY_FILE``). It is JSON naming the ledger it belongs
to (its id and path) and the key, mode 0600 in a 0700 folder, written through a temporary file
and a rename. The key itself never leaves this module's ``LedgerKey``: it is not written to the
ledger, run artifacts or output, and not shown by ``repr``.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from omctl.errors import BadInput, LedgerBroken, LedgerKeyMissing

KEY_BYTES = 32
FILE_PREFIX = "ledger-"
FILE_SUFFIX = ".key"


@dataclass(frozen=True)
class LedgerKey:
    path: Path
    ledger_id: str
    ledger: str  # the ledger's path (or URL) when the key was made: how a replaced one is noticed
    secret: bytes = field(repr=False)


def key_dir(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(base) / "omctl"


def default_path(ledger_id: str) -> Path:
    return key_dir() / f"{FILE_PREFIX}{ledger_id}{FILE_SUFFIX}"


def check_outside(key_file: Path, workspace_root: Path) -> None:
    """A key inside the workspace would be rewritable by whoever can rewrite the ledger."""
    if key_file.expanduser().resolve().is_relative_to(workspace_root.resolve()):
        raise BadInput(
            f"ledger_key_file {key_file} is inside the workspace: keep the ledger key outside it"
        )


def read(path: Path) -> LedgerKey:
    """The key in ``path``; LedgerKeyMissing when there is none, LedgerBroken when unusable."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LedgerKeyMissing("ledger key file is missing", path=path) from None
    except OSError as exc:
        raise LedgerBroken(f"cannot read the ledger key: {exc.strerror}", path=path) from None
    if mode & 0o077:
        raise LedgerBroken(
            f"ledger key file is open to other users (mode {mode & 0o777:o}); chmod 600 it",
            path=path,
        )
    try:
        data = json.loads(text)
        secret = bytes.fromhex(data["key"])
        ledger_id, ledger = str(data["ledger_id"]), str(data["ledger"])
    except (ValueError, KeyError, TypeError):
        raise LedgerBroken("ledger key file is not an omctl ledger key", path=path) from None
    if len(secret) < KEY_BYTES:
        raise LedgerBroken("ledger key file holds a key that is too short", path=path)
    return LedgerKey(path, ledger_id, ledger, secret)


def ledger_name(ledger: Path | str) -> str:
    """How a key file names its ledger: a file's resolved path, a server's URL (without its
    password) as given."""
    return str(ledger.resolve()) if isinstance(ledger, Path) else ledger


def create(path: Path, ledger_id: str, ledger: Path | str) -> LedgerKey:
    """A new random key for ledger ``ledger_id``; never overwrites an existing key file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = LedgerKey(path, ledger_id, ledger_name(ledger), secrets.token_bytes(KEY_BYTES))
    text = json.dumps({"ledger_id": ledger_id, "ledger": key.ledger, "key": key.secret.hex()})
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)  # atomic, and fails rather than replace a key that appeared meanwhile
    except FileExistsError:
        raise LedgerBroken(
            "a ledger key file already exists here; omctl never overwrites a key", path=path
        ) from None
    except OSError as exc:
        raise LedgerBroken(f"cannot write the ledger key: {exc.strerror}", path=path) from None
    finally:
        tmp.unlink(missing_ok=True)
    return key


def claiming(ledger: Path | str, explicit: Path | None) -> LedgerKey | None:
    """A key file that was made for the ledger at ``ledger``: the explicit one, or one in the
    key folder. Unreadable files are skipped; they cannot be claims."""
    where = ledger_name(ledger)
    candidates = [explicit] if explicit is not None else _key_files()
    for candidate in candidates:
        try:
            key = read(candidate)
        except LedgerBroken:
            continue
        if key.ledger == where:
            return key
    return None


def _key_files() -> list[Path]:
    folder = key_dir()
    if not folder.is_dir():
        return []
    return sorted(folder.glob(f"{FILE_PREFIX}*{FILE_SUFFIX}"))
