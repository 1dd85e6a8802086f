"""A real PostgreSQL for tests: Debian's server binaries, a cluster made by ``initdb`` in a
temporary folder, listening on a free loopback port with password (SCRAM) authentication,
stopped and removed at the end.

The server refuses to run as root: under root the cluster belongs to, and runs as, ``nobody``
(``runuser``); no user is created.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "omctl"


def binaries() -> Path | None:
    """The newest installed server's bin folder (initdb, pg_ctl, postgres), if any."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: p.parent)
    for pg_ctl in reversed(found):
        if (pg_ctl.parent / "initdb").exists() and (pg_ctl.parent / "postgres").exists():
            return pg_ctl.parent
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    root: Path
    bin: Path
    port: int
    password: str
    password_file: Path  # the client's copy, mode 0600
    as_user: list[str]

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; its URL (without the password)."""
        import psycopg

        name = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(self.url(), password=self.password, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "-m",
             "immediate", "-w", "stop"],
            check=False, capture_output=True, timeout=60,
        )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


def start(bin_dir: Path) -> Server:
    root = Path(tempfile.mkdtemp(prefix="omctl-test-pg-"))
    password = secrets.token_urlsafe(18)
    server_pw = root / "server-password"
    server_pw.write_text(password + "\n")
    client_pw = root / "client" / "password"
    client_pw.parent.mkdir(mode=0o700)
    client_pw.write_text(password + "\n")
    client_pw.chmod(0o600)
    as_user: list[str] = []
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(root, nobody.pw_uid, nobody.pw_gid)
        os.chown(server_pw, nobody.pw_uid, nobody.pw_gid)
        root.chmod(0o711)  # the client folder stays root's
        as_user = ["runuser", "-u", "nobody", "--"]
    data = root / "data"
    port = _free_port()
    try:
        subprocess.run(
            [*as_user, str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER,
             "--pwfile", str(server_pw), "--auth-host=scram-sha-256", "--auth-local=trust",
             "-E", "UTF8", "--no-sync", "--no-instructions"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        options = f"-h 127.0.0.1 -p {port} -k {data} -c fsync=off -c max_connections=60"
        subprocess.run(
            [*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w",
             "-t", "60", "-o", options, "start"],
            check=True, capture_output=True, timeout=90,
        )  # fmt: skip
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        output = getattr(exc, "stderr", b"") or b""
        raise RuntimeError(f"PostgreSQL did not start: {output.decode()[-2000:]}{log}") from exc
    return Server(root, bin_dir, port, password, client_pw, as_user)
