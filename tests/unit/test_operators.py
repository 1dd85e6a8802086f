"""Operators: their keys, the signature on every entry and ``ledger verify``'s check of them."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from omctl import ledger, ledger_pg, operators, settings
from omctl.cli.main import app
from omctl.errors import BadInput
from omctl.workspace import Workspace
from tests import pg

ROOT = Path(__file__).resolve().parents[2]
STARTED = {"client": "acme", "task": "healthcheck", "category": "maintenance", "in_scope": True}


@pytest.fixture(autouse=True)
def keys_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's own key folder: operator names are the same across tests."""
    folder = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder))
    monkeypatch.delenv("OMCTL_OPERATOR", raising=False)
    return folder / "omctl"


def _omctl(ws: Workspace, *args: str):
    return CliRunner().invoke(app, ["--workspace", str(ws.root), *args])


def _book(ws: Workspace, operator: str | None = None) -> ledger.SqliteLedger:
    ws.ensure_state()
    book = ledger.SqliteLedger(ws.state / "ledger.sqlite3")
    book.signer = operators.signer_for(settings.load(ws.root, environ={}), operator)
    return book


def _tamper(ws: Workspace, sql: str) -> None:
    raw = sqlite3.connect(ws.state / "ledger.sqlite3")
    raw.execute("DROP TRIGGER IF EXISTS entries_no_update")
    raw.execute(sql)
    raw.commit()
    raw.close()


def test_operator_init_makes_a_private_key_and_a_public_key_and_never_overwrites(
    ws, keys_here
) -> None:
    made = _omctl(ws, "operator", "init", "--name", "alice")
    assert made.exit_code == 0, made.stderr
    private = keys_here / "operator-alice.key"
    assert private.stat().st_mode & 0o777 == 0o600
    public = ws.root / "operators" / "alice.pub"
    assert public.read_text().startswith("ssh-ed25519 ")
    fingerprint = operators.keyring(ws)["alice"].fingerprint
    assert made.stdout == f"alice {fingerprint} operators/alice.pub\n"
    before = private.read_bytes()
    again = _omctl(ws, "operator", "init", "--name", "alice")
    assert again.exit_code == 2 and "never overwrites" in again.stderr
    assert private.read_bytes() == before
    assert _omctl(ws, "operator", "init", "--name", "../x").exit_code == 2
    listed = _omctl(ws, "operator", "list")
    assert listed.stdout == f"alice {fingerprint} active (key on this machine)\n"


def test_the_fingerprint_is_the_one_ssh_keygen_shows(ws) -> None:
    operators.init(ws, "alice")
    shown = subprocess.run(
        ["ssh-keygen", "-lf", str(ws.root / "operators" / "alice.pub")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if shown.returncode != 0:
        pytest.skip("no ssh-keygen")
    assert shown.stdout.split()[1] == operators.keyring(ws)["alice"].fingerprint


def test_without_operators_entries_stay_unsigned_and_then_every_entry_is_signed(ws) -> None:
    book = _book(ws)
    assert book.signer is None
    book.append("r1", ledger.STARTED, STARTED)
    book.close()
    operators.init(ws, "alice")
    book = _book(ws)
    book.append_many([("r1", ledger.FINISHED, {"status": "successful"}),
                      ("r2", ledger.STARTED, STARTED)])  # fmt: skip
    signers = book.signers([1, 2, 3, 4])
    assert signers == {1: None, 2: None, 3: "alice", 4: "alice"}  # 1: the keying entry
    book.close()
    verified = _omctl(ws, "ledger", "verify")
    assert verified.exit_code == 0, verified.stderr
    assert "2 signed (2 signatures checked now), 2 unsigned" in verified.stdout
    shown = _omctl(ws, "show", "r2", "--json")
    assert '"signed_by": "alice"' in shown.stdout
    assert "signed_by:" not in _omctl(ws, "show", "r1").stdout  # started before operators


def test_which_operator_signs(ws) -> None:
    operators.init(ws, "alice")
    operators.init(ws, "bob")
    current = settings.load(ws.root, environ={"OMCTL_OPERATOR": "bob"})
    signer = operators.signer_for(current)
    assert signer is not None and signer.name == "bob"
    ambiguous = operators.signer_for(settings.load(ws.root, environ={}))
    assert ambiguous is not None
    with pytest.raises(BadInput, match="which operator signs"):
        ambiguous.name  # noqa: B018
    (ws.root / "operators" / "carol.pub").write_text(
        (ws.root / "operators" / "bob.pub").read_text()
    )  # carol's public key, but no private key of hers here
    with pytest.raises(BadInput, match="private key is not on this machine"):
        operators.signer_for(settings.load(ws.root, environ={}), "carol").name  # noqa: B018


def test_a_machine_without_a_key_reads_and_leaves_dead_runs_to_one_that_can_sign(
    ws, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    operators.init(ws, "alice")
    book = _book(ws)
    book.append("r1", ledger.STARTED, STARTED)  # its omctl died: no lock is held
    book.close()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "auditor"))  # no operator key here
    listed = _omctl(ws, "history", "acme", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert "not checked for interruption here: which operator signs?" in listed.stderr
    assert [r["status"] for r in json.loads(listed.stdout)] == ["running"]
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # alice's machine
    listed = _omctl(ws, "history", "acme", "--json")
    assert [r["status"] for r in json.loads(listed.stdout)] == [ledger.STATUS_INTERRUPTED]
    assert "not checked" not in listed.stderr


def test_a_forged_signature_fails_verify_and_names_the_row(ws) -> None:
    operators.init(ws, "alice")
    book = _book(ws)
    book.append("r1", ledger.STARTED, STARTED)
    book.append("r1", ledger.FINISHED, {"status": "successful"})
    book.close()
    _tamper(ws, f"UPDATE entries SET signature = '{'ab' * 64}' WHERE seq = 3")
    failed = _omctl(ws, "ledger", "verify")
    assert failed.exit_code == 6
    assert "row 3: its signature by alice does not verify" in failed.stderr


def test_a_report_checks_the_signatures_of_what_it_names(ws) -> None:
    operators.init(ws, "alice")
    book = _book(ws)
    book.append("r1", ledger.STARTED, STARTED)
    book.append("r1", ledger.FINISHED, {"status": "successful"})
    book.close()
    month = datetime.now(UTC).strftime("%Y-%m")
    good = _omctl(ws, "report", "acme", "--period", month, "--format", "md")
    assert good.exit_code == 0, good.stderr
    assert "The operator signatures of its 1 signed runs are valid." in good.stdout
    _tamper(ws, f"UPDATE entries SET signature = '{'ab' * 64}' WHERE seq = 3")
    forged = _omctl(ws, "report", "acme", "--period", month, "--format", "md")
    assert "ledger verify: FAILED - row 3: its signature by alice does not verify" in forged.stdout


def test_an_entry_signed_by_an_unknown_key_fails_verify(ws) -> None:
    operators.init(ws, "alice")
    operators.init(ws, "mallory")
    book = _book(ws, "alice")
    book.append("r1", ledger.STARTED, STARTED)
    book.signer = operators.signer_for(settings.load(ws.root, environ={}), "mallory")
    book.append("r1", ledger.FINISHED, {"status": "successful"})
    book.close()
    (ws.root / "operators" / "mallory.pub").unlink()  # a key the workspace does not know
    failed = _omctl(ws, "ledger", "verify")
    assert failed.exit_code == 6
    assert "row 3 is signed by mallory, an unknown operator" in failed.stderr


def test_a_removed_signature_fails_verify(ws) -> None:
    operators.init(ws, "alice")
    book = _book(ws)
    book.append("r1", ledger.STARTED, STARTED)
    book.append("r1", ledger.FINISHED, {"status": "successful"})
    book.close()
    _tamper(ws, "UPDATE entries SET signer = NULL, signature = NULL WHERE seq = 3")
    failed = _omctl(ws, "ledger", "verify")
    assert failed.exit_code == 6 and "row 3 is unsigned" in failed.stderr


def test_a_revoked_key_is_named_for_what_it_signs_after_its_revocation(ws) -> None:
    operators.init(ws, "alice")
    operators.init(ws, "bob")
    book = _book(ws, "bob")
    book.append("r1", ledger.STARTED, STARTED)  # row 2, before the revocation: stays valid
    book.close()
    revoked = _omctl(ws, "--operator", "alice", "operator", "revoke", "bob")
    assert revoked.exit_code == 0, revoked.stderr
    assert (ws.root / "operators" / "revoked" / "bob.pub").exists()
    assert "revoked" in _omctl(ws, "operator", "list").stdout
    assert _omctl(ws, "ledger", "verify").exit_code == 0
    with pytest.raises(BadInput, match="revoked"):
        operators.signer_for(settings.load(ws.root, environ={}), "bob").name  # noqa: B018
    # A bob who kept his key and an old omctl signs on: verify names him.
    book = ledger.SqliteLedger(ws.state / "ledger.sqlite3")
    (ws.root / "operators" / "revoked" / "bob.pub").rename(ws.root / "operators" / "bob.pub")
    book.signer = operators.signer_for(settings.load(ws.root, environ={}), "bob")
    book.append("r1", ledger.FINISHED, {"status": "successful"})
    book.close()
    (ws.root / "operators" / "bob.pub").rename(ws.root / "operators" / "revoked" / "bob.pub")
    failed = _omctl(ws, "ledger", "verify")
    assert failed.exit_code == 6
    assert "row 4 is signed by bob, whose key is revoked" in failed.stderr


def test_verify_checks_only_new_signatures_after_a_sealed_check_and_full_checks_all(ws) -> None:
    operators.init(ws, "alice")
    book = _book(ws)
    for number in range(3):
        book.append(f"r{number}", ledger.STARTED, STARTED)
    book.close()
    first = _omctl(ws, "ledger", "verify")
    assert "4 signed (4 signatures checked now)" in first.stdout  # with the keying entry
    book = _book(ws)
    book.append("r9", ledger.STARTED, STARTED)
    book.close()
    second = _omctl(ws, "ledger", "verify")
    assert "5 signed (1 signature checked now, the older ones sealed by a check up to row 4)" in (
        second.stdout
    )
    # An old signature altered after the sealed check: only --full looks at it again.
    _tamper(ws, f"UPDATE entries SET signature = '{'cd' * 64}' WHERE seq = 2")
    assert _omctl(ws, "ledger", "verify").exit_code == 0
    full = _omctl(ws, "ledger", "verify", "--full")
    assert full.exit_code == 6 and "row 2: its signature by alice does not verify" in full.stderr
    # A forged seal is no shortcut: everything is checked again.
    seal = ws.state / "ledger.sqlite3.signed"
    seal.write_text(seal.read_text().replace('"seq":5', '"seq":6'))
    assert _omctl(ws, "ledger", "verify").exit_code == 6


def test_an_older_sqlite_ledger_gains_the_signature_columns(ws) -> None:
    book = _book(ws)
    book.append("r1", ledger.STARTED, STARTED)
    book.close()
    raw = sqlite3.connect(ws.state / "ledger.sqlite3")
    raw.execute("ALTER TABLE entries DROP COLUMN signer")
    raw.execute("ALTER TABLE entries DROP COLUMN signature")
    raw.execute("PRAGMA user_version=4")
    raw.commit()
    raw.close()
    operators.init(ws, "alice")
    book = _book(ws)
    book.append("r1", ledger.FINISHED, {"status": "successful"})
    assert book.signers([2, 3]) == {2: None, 3: "alice"}
    book.close()
    assert _omctl(ws, "ledger", "verify").exit_code == 0


# --- two laptops on one PostgreSQL ledger -----------------------------------------------------

LAPTOP = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from omctl import ledger_pg, operators, settings
    url, key_file, password_file, root, count = sys.argv[1:6]
    name = Path(root).name
    book = ledger_pg.PostgresLedger(url, Path(key_file), Path(password_file))
    book.signer = operators.signer_for(settings.load(Path(root), environ={}))
    for number in range(int(count)):
        run = f"{name}-{number}"
        book.append_many([
            (run, "run.started", {"client": name, "task": "healthcheck",
                                  "category": "maintenance", "in_scope": True}),
            (run, "run.finished", {"status": "successful"}),
        ])
    book.close()
    """
)


def test_two_laptops_append_1000_signed_runs_to_one_shared_chain(
    tmp_path, pg_server: pg.Server, monkeypatch
) -> None:
    url = pg_server.create_database()
    laptops = []
    for name in ("alice", "bob"):
        laptop = Workspace(tmp_path / name)
        laptop.root.mkdir()
        monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / f"config-{name}"))
        operators.init(laptop, name)
        laptops.append(laptop)
    for laptop, other in zip(laptops, reversed(laptops), strict=True):  # the committed keys
        for pub in (other.root / "operators").glob("*.pub"):
            (laptop.root / "operators" / pub.name).write_text(pub.read_text())
    key_file = tmp_path / "ledger.key"  # the shared ledger's key, a copy on each laptop
    shared = ledger_pg.PostgresLedger(url, key_file, pg_server.password_file)
    shared.ensure_keyed()  # `omctl init`, before both laptops write
    writers = []
    for laptop in laptops:
        env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / f"config-{laptop.root.name}")}
        argv = [url, str(key_file), str(pg_server.password_file), str(laptop.root), "500"]
        writers.append(subprocess.Popen([sys.executable, "-c", LAPTOP, *argv], cwd=ROOT, env=env))
    assert [writer.wait(timeout=240) for writer in writers] == [0, 0]
    result = shared.verify()
    assert result.ok and result.entries == 1 + 2 * 1000
    signed = operators.verify_signatures(shared, operators.keyring(laptops[0]), result.head_seq)
    assert signed.ok and (signed.signed, signed.unsigned) == (2000, 1)
    signers = shared.signers(range(2, 2002))
    assert {name: list(signers.values()).count(name) for name in ("alice", "bob")} == {
        "alice": 1000, "bob": 1000}  # fmt: skip
    # A signature forged in the shared ledger is named.
    with psycopg.connect(url, password=pg_server.password, autocommit=True) as conn:
        conn.execute("ALTER TABLE entries DISABLE TRIGGER USER")
        conn.execute(f"UPDATE entries SET signature = '{'ef' * 64}' WHERE seq = 1500")
        conn.execute("ALTER TABLE entries ENABLE TRIGGER USER")
    forged = operators.verify_signatures(
        shared, operators.keyring(laptops[0]), result.head_seq, full=True
    )
    assert not forged.ok and forged.bad_seq == 1500
    shared.close()


def test_a_version_1_postgresql_ledger_gains_the_signature_columns(pg_server: pg.Server) -> None:
    url = pg_server.create_database()
    book = ledger_pg.PostgresLedger(url, None, pg_server.password_file)
    book.append("r1", ledger.STARTED, STARTED)
    book.close()
    with psycopg.connect(url, password=pg_server.password, autocommit=True) as conn:
        conn.execute("ALTER TABLE entries DROP COLUMN signer, DROP COLUMN signature")
        conn.execute("DROP TABLE ledger_records")
        conn.execute("UPDATE ledger_meta SET value = '1' WHERE name = 'schema_version'")
    book = ledger_pg.PostgresLedger(url, None, pg_server.password_file)
    book.append("r1", ledger.FINISHED, {"status": "successful"})
    assert book.signers([2, 3]) == {2: None, 3: None}
    assert book.verify().ok
    book._store_record("signed", "{}")
    assert book._load_record("signed") == "{}"
    book.close()


def test_ledger_migrate_keeps_the_signatures(ws, pg_server: pg.Server) -> None:
    operators.init(ws, "alice")
    book = _book(ws)
    book.append("r1", ledger.STARTED, STARTED)
    book.append("r1", ledger.FINISHED, {"status": "successful"})
    target = ledger_pg.PostgresLedger(pg_server.create_database(), None, pg_server.password_file)
    assert ledger_pg.migrate(book, target) == (3, 3)
    assert target.signers([1, 2, 3]) == {1: "alice", 2: "alice", 3: "alice"}
    signed = operators.verify_signatures(target, operators.keyring(ws), 3)
    assert signed.ok and signed.signed == 3
    assert operators.verify_runs_signatures(target, operators.keyring(ws), ["r1"]) == (1, None)
    assert ledger_pg.migrate(book, target) == (0, 3)  # the same history, signatures and all
    target.close()
    book.close()
