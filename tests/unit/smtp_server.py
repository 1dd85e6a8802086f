"""A real SMTP server on loopback (aiosmtpd) for the report delivery tests: plain, STARTTLS or
implicit TLS with a certificate for 127.0.0.1 from a test CA (tests/sites.py), and AUTH; and
pdftotext to read the PDFs it received."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests import sites

HOST = "127.0.0.1"
USER, PASSWORD = "reports", "s3cret-smtp-pa55"
# aiosmtpd warns of AUTH without STARTTLS, which implicit TLS does not need (a test module
# using the tls mode sets this as its pytestmark).
IMPLICIT_TLS_WARNING = "ignore:Requiring AUTH while not requiring TLS:UserWarning"
REFUSED_PREFIX = "nobody"  # recipients whose local part starts so are refused (550)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage
    login: str | None

    def pdf(self) -> bytes:
        (part,) = [p for p in self.message.iter_attachments()
                   if p.get_content_type() == "application/pdf"]  # fmt: skip
        return part.get_content()


@dataclass
class Handler:
    mails: list[Mail] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, options) -> str:  # noqa: N802
        if address.startswith(REFUSED_PREFIX):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        login = session.auth_data.login.decode() if session.auth_data else None
        self.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), parsed, login))
        return "250 OK queued"


def _authenticate(server, session, envelope, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(),
        auth_data.password.decode(),
    ) == (USER, PASSWORD)
    return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


class SmtpServer:
    """``security``: none, starttls (required, with AUTH) or tls (implicit, with AUTH)."""

    def __init__(self, folder: Path, security: str = "starttls"):
        self.handler = Handler()
        self.port = free_port()
        self.security = security
        # A test CA and a certificate for 127.0.0.1 it signed: the client trusts the CA file.
        certs = sites.make_certificates(folder, dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
        self.ca_file, context = certs.ca_file, certs.server
        options: dict[str, Any] = {}
        if security == "starttls":
            options = {"tls_context": context, "require_starttls": True,
                       "authenticator": _authenticate, "auth_required": True}  # fmt: skip
        elif security == "tls":
            # The whole connection is TLS, which aiosmtpd does not count as STARTTLS done.
            options = {"ssl_context": context, "authenticator": _authenticate,
                       "auth_required": True, "auth_require_tls": False}  # fmt: skip
        self.controller = Controller(self.handler, hostname=HOST, port=self.port, **options)
        self.controller.start()

    @property
    def mails(self) -> list[Mail]:
        return self.handler.mails

    def stop(self) -> None:
        self.controller.stop()

    def settings(self, folder: Path) -> dict[str, Any]:
        """The smtp_* settings that reach this server (the password in a 0600 file)."""
        values: dict[str, Any] = {
            "smtp_host": HOST,
            "smtp_port": self.port,
            "smtp_from": "reports@provider.example",
            "smtp_security": self.security,
            "smtp_ca_file": self.ca_file,
        }
        if self.security != "none":
            secret = folder / "smtp-password"
            secret.write_text(PASSWORD + "\n")
            secret.chmod(0o600)
            values |= {"smtp_user": USER, "smtp_password_file": secret}
        return values


def pdf_text(data: bytes, folder: Path) -> str:
    """What pdftotext (poppler-utils) reads in the PDF ``data``."""
    path = folder / "read.pdf"
    path.write_bytes(data)
    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True, timeout=60)  # fmt: skip
    return done.stdout
