"""Sending one message over SMTP with aiosmtplib, and what a failure means: try again later, or never.

Temporary: the server cannot be reached, times out, disconnects, answers 4xx, or refuses our credentials or TLS (a
configuration the operator can fix: the messages wait for it). Permanent: the server answers 5xx about the message
itself (its sender, its recipients, its data); sending it again would get the same answer."""

from __future__ import annotations

import asyncio
import ssl
from email.message import EmailMessage

import aiosmtplib

from .config import SmtpTarget


class Permanent(Exception):
    """The server refused this message for good (a 5xx about the message)."""


class Temporary(Exception):
    """This attempt failed; a later one may not."""


def _reply(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {exc.message}"[:300]


async def send(target: SmtpTarget, message: EmailMessage, timeout: float,
               tls_context: ssl.SSLContext | None = None) -> dict[str, str]:
    """Deliver ``message`` to ``target``; raises Permanent or Temporary (with the server's reply) when it is not.
    Returns the recipients the server refused while it took the message for the others (address -> reply)."""
    try:
        # The whole transaction is bounded too: aiosmtplib's timeout is per command.
        async with asyncio.timeout(timeout * 3):
            refused, _ = await aiosmtplib.send(
                message, hostname=target.host, port=target.port, username=target.username,
                password=target.password, use_tls=target.implicit_tls,
                # Exactly what the URL says: with ?starttls=1 a server that cannot upgrade is an error, never a message
                # sent in the clear; without it no upgrade is tried (aiosmtplib's default would try one whenever the
                # server offers it, and then refuse a local relay's self-signed certificate, so nothing would go).
                start_tls=target.starttls,
                timeout=timeout, tls_context=tls_context)
    except aiosmtplib.SMTPRecipientsRefused as exc:  # every recipient refused
        if all(500 <= r.code < 600 for r in exc.recipients):
            raise Permanent("; ".join(_reply(r) for r in exc.recipients)[:500]) from None
        raise Temporary("; ".join(_reply(r) for r in exc.recipients)[:500]) from None
    except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPDataError, aiosmtplib.SMTPRecipientRefused) as exc:
        if 500 <= exc.code < 600:
            raise Permanent(_reply(exc)) from None
        raise Temporary(_reply(exc)) from None
    except aiosmtplib.SMTPResponseException as exc:  # greeting, EHLO, AUTH, STARTTLS answers
        raise Temporary(_reply(exc)) from None
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:  # refused, unreachable, TLS, timeouts
        raise Temporary(f"{type(exc).__name__}: {exc}"[:300]) from None
    return {address: f"{reply.code} {reply.message}"[:300] for address, reply in refused.items()}
