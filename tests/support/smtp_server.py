"""A real SMTP server on loopback (aiosmtpd) that keeps what it takes, parsed by the email package.

It can require STARTTLS (a self-signed certificate for 127.0.0.1 made here with `cryptography`),
require AUTH (PLAIN/LOGIN; a wrong password gets 535 5.7.8), answer the next MAIL/RCPT/DATA
with a scripted code, or stall after the message's final "." (it keeps the message, then never
answers in time): the case where a sender cannot know whether the message went.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import socket
import ssl
from collections import deque
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """(cert.pem, key.pem) for 127.0.0.1; the certificate is its own CA (clients trust it by file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpServer:
    def __init__(self, *, user: str | None = "ana@tallybook.example", password: str = "smtp-pass-123456",
                 tls_folder: Path | None = None, stall_seconds: float = 0.0):
        self.user = user
        self.password = password
        self.stall_seconds = stall_seconds
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []  # each message as it came over the wire
        self.envelopes: list[tuple[str, list[str]]] = []
        self.auth_attempts = 0
        self.answers: dict[str, deque[str]] = {"MAIL": deque(), "RCPT": deque(), "DATA": deque()}
        self.cert_file: Path | None = None
        self._tls: ssl.SSLContext | None = None
        if tls_folder is not None:
            self.cert_file, key_file = self_signed_certificate(tls_folder)
            self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._tls.load_cert_chain(self.cert_file, key_file)
        self.port = _free_port()
        self._controller: Controller | None = None

    def answer_next(self, command: str, reply: str) -> None:
        """The next `command` (MAIL, RCPT or DATA) gets `reply`, e.g. "451 4.3.0 Try again later"."""
        self.answers[command].append(reply)

    def __enter__(self) -> SmtpServer:
        options: dict[str, Any] = {"auth_require_tls": self._tls is not None, "auth_required": self.user is not None}
        if self.user is not None:
            options["authenticator"] = self._authenticate
        if self._tls is not None:
            options |= {"tls_context": self._tls, "require_starttls": True}
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        assert self._controller is not None
        self._controller.stop()

    # -- aiosmtpd hooks ---------------------------------------------------------------------
    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        self.auth_attempts += 1
        ok = isinstance(data, LoginPassword) and data.login.decode() == self.user and \
            data.password.decode() == self.password
        return AuthResult(success=ok, handled=False)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if self.answers["MAIL"]:
            return self.answers["MAIL"].popleft()
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if self.answers["RCPT"]:
            return self.answers["RCPT"].popleft()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.answers["DATA"]:
            return self.answers["DATA"].popleft()
        raw = envelope.original_content or envelope.content
        self.raw.append(raw)
        parsed = message_from_bytes(raw, policy=default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        if self.stall_seconds:
            await asyncio.sleep(self.stall_seconds)  # taken, but the answer comes too late
        return "250 2.0.0 Message accepted for delivery"
