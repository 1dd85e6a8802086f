"""Operators: who wrote each ledger entry (an Ed25519 signature).

An operator's private key is ``$XDG_CONFIG_HOME/omctl/operator-<name>.key`` (``~/.config`` by
default; PKCS#8 PEM, mode 0600, never overwritten); the public key is ``operators/<name>.pub``
in the workspace (OpenSSH format, committed with it). A revoked key is moved to
``operators/revoked/<name>.pub`` (``omctl operator revoke`` also records when, so the entries it
signed before stay valid). Once a workspace has operators, every entry its omctl appends is
signed: the signature covers the entry's hash, which binds the entry and the whole chain before
it. ``omctl tick`` signs as the operator ``scheduler``.

``verify_signatures`` checks the signatures after the last check it sealed (seq, hash and the
workspace's set of keys, under an HMAC of the ledger key); ``--full`` checks them all again.
An Ed25519 verify costs about 0.1 ms, so a full check of a million entries takes minutes while
the chain itself verifies in seconds: the daily check is incremental.

What each operator may run (``operators.yml``) is omctl.grants.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omctl import ledger_key, yamlfile
from omctl.errors import BadInput

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    from omctl.ledger import Ledger, SqlLedger, VerifyResult
    from omctl.settings import Settings
    from omctl.workspace import Workspace

OPERATORS_DIR = "operators"
REVOKED_DIR = "revoked"
SCHEDULER = "scheduler"  # the operator `omctl tick` signs as
REVOKED = "operator.revoked"  # a ledger entry: the operator's key is revoked from here on
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
KEY_PREFIX = "operator-"
SIGNED_CONTEXT = b"omctl-ledger-entry\x1f"  # what a signature signs: this and the entry's hash


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise BadInput(
            f"operator name {name!r}: use letters, digits, '.', '_' or '-' (up to 64), "
            f"starting with a letter or digit"
        )
    return name


def private_key_path(name: str) -> Path:
    return ledger_key.key_dir() / f"{KEY_PREFIX}{name}.key"


def fingerprint(public: Ed25519PublicKey) -> str:
    """As ``ssh-keygen -l`` shows it: SHA256 of the key's OpenSSH blob, base64 unpadded."""
    from cryptography.hazmat.primitives import serialization

    line = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    blob = base64.b64decode(line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def _message(digest: str) -> bytes:
    return SIGNED_CONTEXT + digest.encode()


# --- keys -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operator:
    name: str
    public: Ed25519PublicKey
    path: Path
    revoked: bool

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public)


def _read_public(path: Path) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_ssh_public_key(yamlfile.read_bounded(path, limit=4096).encode())
    except (ValueError, UnicodeError):
        raise BadInput("not an OpenSSH public key", path=path, line=1) from None
    if not isinstance(key, Ed25519PublicKey):
        raise BadInput("not an Ed25519 key (ssh-ed25519)", path=path, line=1)
    return key


def keyring(ws: Workspace) -> dict[str, Operator]:
    """The workspace's operators by name: ``operators/*.pub`` and the revoked ones."""
    found: dict[str, Operator] = {}
    folder = ws.root / OPERATORS_DIR
    for revoked, where in ((False, folder), (True, folder / REVOKED_DIR)):
        for path in sorted(where.glob("*.pub")) if where.is_dir() else []:
            name = path.name.removesuffix(".pub")
            if not NAME_RE.match(name):
                raise BadInput("not an operator name (letters, digits, . _ -)", path=path)
            if name in found:
                raise BadInput(
                    f"operator {name} is both active and revoked: remove {found[name].path}",
                    path=path,
                )
            found[name] = Operator(name, _read_public(path), path, revoked)
    return found


def keyring_digest(keys: dict[str, Operator]) -> str:
    """What a sealed signature check holds the keys to: another set of keys checks again."""
    listed = [(op.name, op.revoked, op.fingerprint) for op in sorted(keys.values(), key=_name)]
    return hashlib.sha256(json.dumps(listed).encode()).hexdigest()


def _name(op: Operator) -> str:
    return op.name


def init(ws: Workspace, name: str) -> Operator:
    """A new key pair for ``name``: the private key outside the workspace, the public key in
    ``operators/``. Refuses to overwrite either."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    check_name(name)
    private_path = private_key_path(name)
    public_path = ws.root / OPERATORS_DIR / f"{name}.pub"
    for path in (
        private_path,
        public_path,
        ws.root / OPERATORS_DIR / REVOKED_DIR / public_path.name,
    ):
        if path.exists():
            raise BadInput(
                f"operator {name} has a key already; omctl never overwrites one", path=path
            )
    key = Ed25519PrivateKey.generate()
    private_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public = key.public_key()
    line = public.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    public_path.parent.mkdir(exist_ok=True)
    public_path.write_text(f"{line.decode()} omctl-operator:{name}\n")
    return Operator(name, public, public_path, revoked=False)


def _read_private(path: Path) -> Ed25519PrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    try:
        if path.stat().st_mode & 0o077:
            raise BadInput("operator key file is open to other users; chmod 600 it", path=path)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise BadInput(f"cannot read the operator key: {exc.strerror}", path=path) from None
    except (ValueError, TypeError):
        raise BadInput("not an operator key (PKCS#8 PEM, unencrypted)", path=path) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BadInput("not an Ed25519 operator key", path=path)
    return key


class Signer:
    """Signs entries as this machine's operator of the workspace: ``name`` (the scheduler),
    the ``operator`` setting when it names a key, else the one operator whose private key is
    here. Resolved on first use, so that reading needs no key; BadInput when none fits."""

    def __init__(self, ws: Workspace, setting: str, name: str | None = None) -> None:
        self._ws, self._setting, self._wanted = ws, setting, name

    @cached_property
    def _resolved(self) -> tuple[str, Ed25519PrivateKey]:
        from cryptography.hazmat.primitives import serialization

        everyone = keyring(self._ws)
        name = self._wanted
        if name is None:
            active = [n for n, op in everyone.items() if not op.revoked]
            mine = [n for n in active if private_key_path(n).exists()]
            if self._setting in everyone:
                name = self._setting
            elif len(mine) == 1:
                name = mine[0]
            else:
                here = f"keys of {', '.join(mine)}" if mine else "no operator key"
                raise BadInput(
                    f"which operator signs? the workspace has operators "
                    f"({', '.join(active) or 'all revoked'}) and this machine has {here}: set "
                    f"operator = NAME (omctl.toml, OMCTL_OPERATOR, --operator) or run "
                    f"`omctl operator init`"
                )
        operator = everyone.get(name)
        if operator is None:
            raise BadInput(f"no operator {name}: there is no {OPERATORS_DIR}/{name}.pub")
        if operator.revoked:
            raise BadInput(f"operator {name}'s key is revoked ({operator.path})")
        path = private_key_path(name)
        if not path.exists():
            raise BadInput(
                f"operator {name}'s private key is not on this machine ({path}): "
                f"`omctl operator init --name {name}` makes one"
            )
        key = _read_private(path)
        raw = serialization.Encoding.Raw, serialization.PublicFormat.Raw
        if key.public_key().public_bytes(*raw) != operator.public.public_bytes(*raw):
            raise BadInput(f"this key does not match {operator.path}", path=path)
        return name, key

    @property
    def name(self) -> str:
        return self._resolved[0]

    def unavailable(self) -> str | None:
        """Why this machine cannot sign as the workspace's operator; None when it can."""
        try:
            self._resolved  # noqa: B018 (resolving the key is the check)
        except BadInput as exc:
            return str(exc)
        return None

    def sign(self, digest: str) -> str:
        return self._resolved[1].sign(_message(digest)).hex()


def signer_for(settings: Settings, name: str | None = None) -> Signer | None:
    """The signer of this omctl's entries; None when the workspace has no operators."""
    folder = settings.workspace.root / OPERATORS_DIR
    if not any(folder.glob("*.pub")) and not any(folder.glob(f"{REVOKED_DIR}/*.pub")):
        return None
    return Signer(settings.workspace, settings.operator, name)


# --- verification -----------------------------------------------------------------------------

SEAL_RECORD = "signed"


@dataclass(frozen=True)
class SignatureResult:
    ok: bool
    signed: int  # entries signed, up to the head checked
    unsigned: int  # entries written before the workspace had operators
    checked: int  # signatures verified now
    since: int = 0  # the seq a sealed earlier check covered (0: all were checked)
    bad_seq: int | None = None
    problem: str | None = None


def _seal_mac(secret: bytes, record: dict[str, Any]) -> str:
    fields = ("seq", "hash", "keys", "signed", "unsigned", "first_signed", "at")
    material = "\x1f".join(["omctl-signatures-verified", *(str(record[f]) for f in fields)])
    return hmac.digest(secret, material.encode(), "sha256").hex()


def _sealed(book: SqlLedger, secret: bytes, keys: str) -> dict[str, Any] | None:
    try:
        record = json.loads(book._load_record(SEAL_RECORD) or "")
        sealed = hmac.compare_digest(str(record["mac"]), _seal_mac(secret, record))
    except (ValueError, KeyError, TypeError):
        return None
    if not sealed or record["keys"] != keys:
        return None
    row = book._db.execute("SELECT hash FROM entries WHERE seq = ?", (record["seq"],)).fetchone()
    return record if row is not None and row[0] == record["hash"] else None


def verify_signatures(
    book: SqlLedger, keys: dict[str, Operator], head_seq: int, full: bool = False
) -> SignatureResult:
    """Check each entry's signature up to ``head_seq`` (a head the chain verified to) against
    ``keys``: a known signer, not revoked when it signed, a signature that verifies, and no
    unsigned entry after the first signed one. Starts after the sealed last check unless
    ``full``; seals this one when it passes."""
    keyed = book._keying()
    secret = book._key_for(keyed[1]).secret if keyed is not None else None
    digest = keyring_digest(keys)
    seal = None if full or secret is None else _sealed(book, secret, digest)
    start = int(seal["seq"]) if seal else 0
    signed = int(seal["signed"]) if seal else 0
    unsigned = int(seal["unsigned"]) if seal else 0
    first_signed: int | None = seal["first_signed"] if seal else None
    revoked_at = _revocations(book, head_seq)
    checked = 0

    def failed(seq: int, problem: str) -> SignatureResult:
        return SignatureResult(False, signed, unsigned, checked, start, seq, problem)

    rows = book._db.execute(
        "SELECT seq, hash, signer, signature FROM entries WHERE seq > ? AND seq <= ? ORDER BY seq",
        (start, head_seq),
    )
    for seq, entry_hash, name, signature in rows:
        if signature is None:
            if first_signed is not None:
                return failed(seq, _unsigned_problem(seq, first_signed))
            unsigned += 1
            continue
        problem = _signature_problem(keys, revoked_at, seq, entry_hash, name, signature)
        if problem is not None:
            return failed(seq, problem)
        checked += 1
        signed += 1
        if first_signed is None:
            first_signed = seq
    result = SignatureResult(True, signed, unsigned, checked, start)
    if secret is not None and head_seq > 0:
        row = book._db.execute("SELECT hash FROM entries WHERE seq = ?", (head_seq,)).fetchone()
        from omctl.ledger import canonical, utcnow

        record: dict[str, Any] = {"seq": head_seq, "hash": row[0], "keys": digest,
                                  "signed": signed, "unsigned": unsigned,
                                  "first_signed": first_signed, "at": utcnow()}  # fmt: skip
        record["mac"] = _seal_mac(secret, record)
        book._store_record(SEAL_RECORD, canonical(record))
    return result


def _revocations(book: SqlLedger, head_seq: int | None = None) -> dict[str, int]:
    """Each revoked operator's revocation entry, up to ``head_seq`` (all without): its
    signatures from there on are invalid."""
    revoked_at: dict[str, int] = {}
    bound = "" if head_seq is None else "AND seq <= ?"
    for seq, payload in book._db.execute(
        f"SELECT seq, payload FROM entries WHERE kind = ? {bound} ORDER BY seq",
        (REVOKED,) if head_seq is None else (REVOKED, head_seq),
    ):
        revoked_at.setdefault(str(json.loads(payload).get("name")), seq)
    return revoked_at


def _unsigned_problem(seq: int, first_signed: int) -> str:
    return (
        f"row {seq} is unsigned, but the entries from row {first_signed} on are signed: its "
        f"signature was removed, or an omctl without operator keys wrote it"
    )


def _signature_problem(
    keys: dict[str, Operator],
    revoked_at: dict[str, int],
    seq: int,
    entry_hash: str,
    name: str,
    signature: str,
) -> str | None:
    """What is wrong with the signature of entry ``seq``; None when it is valid."""
    from cryptography.exceptions import InvalidSignature

    operator = keys.get(name)
    if operator is None:
        return f"row {seq} is signed by {name}, an unknown operator (no {OPERATORS_DIR}/{name}.pub)"
    if operator.revoked and seq >= revoked_at.get(name, 0):
        return f"row {seq} is signed by {name}, whose key is revoked ({operator.path})"
    try:
        operator.public.verify(bytes.fromhex(signature), _message(entry_hash))
    except (InvalidSignature, ValueError):
        return (
            f"row {seq}: its signature by {name} does not verify (forged, or the entry was "
            f"re-signed)"
        )
    return None


def verify_runs_signatures(
    book: SqlLedger, keys: dict[str, Operator], run_ids: Iterable[str]
) -> tuple[int, str | None]:
    """Check the signature of every entry of the runs ``run_ids``, whatever an earlier check
    sealed: a report checks the runs it is built from and whose signers it names, in proportion
    to the report, not to the ledger. The number of signed runs, and the first problem."""
    wanted = sorted(set(run_ids))
    first = book._db.execute(
        "SELECT seq FROM entries WHERE signature IS NOT NULL ORDER BY seq LIMIT 1"
    ).fetchone()
    first_signed = int(first[0]) if first else None
    revoked_at: dict[str, int] | None = None
    signed_runs: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = book._db.execute(
            "SELECT seq, run_id, hash, signer, signature FROM entries "
            f"WHERE run_id IN ({marks}) ORDER BY seq",
            chunk,
        )
        for seq, run_id, entry_hash, name, signature in rows:
            if signature is None:
                if first_signed is not None and seq > first_signed:
                    return len(signed_runs), _unsigned_problem(seq, first_signed)
                continue
            if revoked_at is None:
                revoked_at = _revocations(book)
            problem = _signature_problem(keys, revoked_at, seq, entry_hash, name, signature)
            if problem is not None:
                return len(signed_runs), problem
            signed_runs.add(run_id)
    return len(signed_runs), None


def verify_ledger(
    book: Ledger, ws: Workspace, checkpoints: Iterable[tuple[int, str]] = (), full: bool = False
) -> tuple[VerifyResult, SignatureResult | None, str | None]:
    """``ledger verify``: the chain (``Ledger.verify``), then the signatures up to the head it
    verified; the verified head is recorded (for reports) when both pass. The results and the
    problem, if any."""
    from omctl.ledger import SqlLedger

    result = book.verify(checkpoints)
    if not result.ok:
        return result, None, result.problem
    signed = None
    if result.head_seq is not None and isinstance(book, SqlLedger):
        signed = verify_signatures(book, keyring(ws), result.head_seq, full)
        if not signed.ok:
            return result, signed, signed.problem
    book.record_verified(result)
    return result, signed, None
