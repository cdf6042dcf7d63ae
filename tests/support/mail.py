"""A real SMTP server for the mail tests: aiosmtpd on 127.0.0.1 (in its own thread and event loop, as aiosmtpd's
Controller runs it), keeping every message it accepts; optionally with STARTTLS or TLS from the first byte (a
self-signed certificate made with the openssl CLI), a user and password, and scripted refusals."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import time
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from .ports import free_port


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for IP 127.0.0.1 and its key (``openssl req -x509``), valid for a day."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


class SmtpInbox:
    """An aiosmtpd server that keeps what it accepts (``messages``, parsed; ``envelopes``: sender and recipients).

    ``data_answers``: replies to the next DATA commands instead of accepting (``"451 4.3.0 try later"``), one each.
    Recipients whose local part starts with ``bounce`` are refused with 550. ``tls``: None, ``"starttls"`` (required
    before anything else) or ``"implicit"``; ``login``: (user, password) the server requires."""

    def __init__(self, port: int | None = None, *, tls: str | None = None, certificate: tuple[Path, Path] | None = None,
                 login: tuple[str, str] | None = None, data_answers: list[str] | None = None) -> None:
        self.port = port or free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.data_answers = list(data_answers or ())
        self.refused_data = 0
        self.logins: list[str] = []
        kwargs: dict[str, Any] = {}
        if tls is not None:
            assert certificate is not None
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(certificate[0]), str(certificate[1]))
            if tls == "starttls":
                kwargs.update(tls_context=context, require_starttls=True)
            else:
                kwargs.update(ssl_context=context)
        if login is not None:
            kwargs.update(authenticator=self._authenticator(login), auth_required=True,
                          auth_require_tls=tls is not None)
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **kwargs)

    def _authenticator(self, login: tuple[str, str]) -> Any:
        def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            ok = isinstance(data, LoginPassword) and (data.login.decode(), data.password.decode()) == login
            if ok:
                self.logins.append(data.login.decode())
            return AuthResult(success=ok)
        return check

    # aiosmtpd's handler hooks (its naming)
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if address.split("@")[0].startswith("bounce"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_answers:
            self.refused_data += 1
            return self.data_answers.pop(0)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.original_content, policy=default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def __enter__(self) -> Self:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    async def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        """The messages once at least ``count`` arrived (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} messages, got {len(self.messages)}")
            await asyncio.sleep(0.05)
        return self.messages
