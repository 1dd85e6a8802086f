"""Secrets: which values are secret, and the one helper that scrubs them from what omctl writes.

A run's secret values are

- the plaintext of every Ansible Vault value of the client's inventory (inline ``!vault``
  scalars and whole vault-encrypted files) and of vault-encrypted files under ``playbooks/``
  and ``roles/``, decrypted on the controller with the configured vault password (and that
  password itself);
- the values of the variables named in ``omctl.toml`` ``secret_vars``, wherever the client's
  inventory or ``-e`` sets them;
- ``-e`` values and passed environment variables whose name looks secret (:func:`secret_name`).

:class:`Redactor` replaces each of them by ``<redacted>`` in text and in data (ledger payloads,
evidence, progress lines and diffs, run artifacts, reports). Values shorter than
``MIN_SECRET_LENGTH`` characters are not scrubbed from text: a one- or three-character value
would match everywhere and prove nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from omctl.errors import BadInput

REDACTED = "<redacted>"
MIN_SECRET_LENGTH = 6
SECRET_NAME_RE = re.compile(r"pass|secret|token|key|credential", re.IGNORECASE)
# Names that say where a secret is kept, not the secret: ``*_key_path``, ``*_password_file``.
LOCATION_SUFFIXES = ("_path", "_file", "_dir")
VAULT_HEADER = "$ANSIBLE_VAULT;"
VARS_SUFFIXES = ("", ".yml", ".yaml", ".json")


def secret_name(name: str) -> bool:
    """Whether a variable's name says its value is secret (``db_password``, ``api_token``)."""
    lowered = name.lower()
    return bool(SECRET_NAME_RE.search(lowered)) and not lowered.endswith(LOCATION_SUFFIXES)


def _forms(value: str) -> Iterator[str]:
    """The spellings of a value that can turn up in output: as is, each line, JSON-escaped."""
    for line in (value, *value.splitlines()):
        form = line.strip()
        yield form
        yield json.dumps(form)[1:-1]
        yield json.dumps(form, ensure_ascii=False)[1:-1]


class Redactor:
    """Replaces known secret values by ``<redacted>``; the one helper for everything written."""

    def __init__(self, values: Iterable[str] = ()) -> None:
        needles: set[str] = set()
        self.too_short = 0  # secret values not scrubbed from text for being short
        for value in values:
            if len(value.strip()) < MIN_SECRET_LENGTH:
                self.too_short += bool(value.strip())
                continue
            needles.update(form for form in _forms(value) if len(form) >= MIN_SECRET_LENGTH)
        self.needles = sorted(needles, key=lambda n: (-len(n), n))  # longest first
        self._pattern = re.compile("|".join(map(re.escape, self.needles))) if needles else None

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(REDACTED, text)

    def data(self, value: Any) -> Any:
        """A copy of JSON-like data with every string (keys included) scrubbed."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.data(k): self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(item) for item in value]
        return value

    def in_place(self, event: dict[str, Any]) -> None:
        """Scrub a dict that someone else writes later (ansible-runner's job events)."""
        if self._pattern is not None:
            scrubbed = self.data(event)
            event.clear()
            event.update(scrubbed)


# --- finding the secret values -----------------------------------------------------------------


class _Vaulted(str):
    """An inline ``!vault`` scalar: the vault text, still encrypted."""


class _VarsLoader(yaml.SafeLoader):
    """Reads Ansible vars files: ``!vault`` kept as such, other tags (``!unsafe``) as plain."""


def _vault(loader: yaml.SafeLoader, node: yaml.Node) -> _Vaulted:
    return _Vaulted(loader.construct_scalar(node))  # type: ignore[arg-type]


def _any_tag(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_VarsLoader.add_constructor("!vault", _vault)
_VarsLoader.add_multi_constructor("!", _any_tag)


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _scalar_text(value: Any) -> str | None:
    if value is None or isinstance(value, bool | _Vaulted):
        return None
    return str(value)


class _Vault:
    """Decrypts vault text with the configured password (ansible's VaultLib, loaded lazily)."""

    def __init__(self, password_file: Path) -> None:
        from ansible.errors import AnsibleError
        from ansible.parsing.dataloader import DataLoader
        from ansible.parsing.vault import VaultLib, get_file_vault_secret

        try:
            secret = get_file_vault_secret(filename=str(password_file), loader=DataLoader())
            secret.load()
        except AnsibleError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
            raise BadInput(
                f"the vault password cannot be read: {first}", path=password_file
            ) from None
        self.password = secret.bytes.decode("utf-8", errors="replace")
        self._lib = VaultLib([("default", secret)])

    def decrypt(self, text: str) -> str | None:
        try:
            return self._lib.decrypt(text.strip().encode()).decode("utf-8", errors="replace")
        except Exception:  # not ours to decrypt: ansible-playbook says so
            return None


@dataclass
class _Finder:
    secret_vars: frozenset[str]
    vault: _Vault | None
    found: list[str] = field(default_factory=list)

    def load(self, path: Path) -> Any:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        if text.lstrip().startswith(VAULT_HEADER):
            if self.vault is None:
                return None
            plain = self.vault.decrypt(text)
            if plain is None:
                return None
            try:
                data = yaml.load(plain, Loader=_VarsLoader)  # a SafeLoader
            except yaml.YAMLError:
                self.found.append(plain)
                return None
            # A whole encrypted file: every value in it is secret.
            self.found.extend(t for t in map(_scalar_text, _leaves(data)) if t is not None)
            return data
        if not self.secret_vars and VAULT_HEADER not in text:
            return None
        try:
            return yaml.load(text, Loader=_VarsLoader)  # a SafeLoader
        except yaml.YAMLError:
            return None  # not ours to report: ansible-playbook and the inventory check do

    def walk(self, value: Any, secret: bool = False) -> None:
        if isinstance(value, _Vaulted):
            plain = self.vault.decrypt(value) if self.vault is not None else None
            if plain is not None:
                self.found.append(plain)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                self.walk(item, secret or key in self.secret_vars)
        elif isinstance(value, list | tuple):
            for item in value:
                self.walk(item, secret)
        elif secret and (text := _scalar_text(value)) is not None:
            self.found.append(text)


def _vars_files(folder: Path) -> Iterator[Path]:
    if not folder.is_dir():
        return
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in VARS_SUFFIXES and not path.name.startswith("."):
            yield path


def collect(
    *,
    inventory_dir: Path | None,
    vault_dirs: Iterable[Path] = (),
    vault_password_file: Path | None = None,
    secret_vars: Iterable[str] = (),
    extravars: Mapping[str, Any] | None = None,
    environment: Mapping[str, str] | None = None,
) -> list[str]:
    """The secret values of a run (see the module's docstring)."""
    wanted = frozenset(secret_vars)
    vault = _Vault(vault_password_file) if vault_password_file is not None else None
    finder = _Finder(wanted, vault)
    if vault is not None:
        finder.found.append(vault.password.strip())
    if inventory_dir is not None and (wanted or vault is not None):
        for path in _vars_files(inventory_dir):
            finder.walk(finder.load(path))
    if vault is not None:
        for folder in vault_dirs:
            for path in _vars_files(folder):
                finder.walk(finder.load(path))
    for name, value in (extravars or {}).items():
        if secret_name(name) or name in wanted:
            finder.walk(value, secret=True)
    for name, value in (environment or {}).items():
        if secret_name(name):
            finder.found.append(value)
    return finder.found
