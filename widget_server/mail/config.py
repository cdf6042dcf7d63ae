"""Where outbound mail goes: ``WIDGET_SMTP_URL`` read into an ``SmtpTarget``, and the sender address.

``smtp://[user:pass@]host[:port]`` (port 25 by default; plain unless ``?starttls=1``, which upgrades the connection
before anything else is said and refuses a server that cannot), ``smtps://`` for TLS from the first byte (port 465).
Certificates are checked against the system's trust store. User and password are
URL-decoded, so a password with ``@`` or ``:`` is written ``%40`` / ``%3A``. Pure: no I/O, imported by ``settings``
to refuse a bad URL at start-up."""

from __future__ import annotations

import socket
from typing import NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

from .message import parse_address


class SmtpTarget(NamedTuple):
    host: str
    port: int
    implicit_tls: bool
    """``smtps://``: TLS from the first byte."""
    starttls: bool
    """``?starttls=1``: STARTTLS is required (a server that does not offer it is an error, never plain text)."""
    username: str | None
    password: str | None

    def describe(self) -> str:
        """For the start-up output and logs: the URL without the password."""
        scheme = "smtps" if self.implicit_tls else "smtp"
        user = f"{self.username}@" if self.username else ""
        tls = " (TLS)" if self.implicit_tls else " (STARTTLS)" if self.starttls else ""
        return f"{scheme}://{user}{self.host}:{self.port}{tls}"


def parse_smtp_url(url: str) -> SmtpTarget:
    """``url`` as an SmtpTarget; ValueError with a reason that never repeats the password otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError("not a URL of the form smtp://[user:pass@]host:port") from None
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError("the scheme must be smtp:// or smtps://")
    if not parts.hostname:
        raise ValueError("no host")
    if parts.path not in ("", "/") or parts.fragment:
        raise ValueError("no path or fragment is allowed")
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    if set(query) - {"starttls"}:
        raise ValueError("the only query parameter is starttls=1")
    starttls_values = query.get("starttls", ["0"])
    if len(starttls_values) != 1 or starttls_values[0] not in ("0", "1", "true", "false"):
        raise ValueError("starttls is 1 or 0")
    starttls = starttls_values[0] in ("1", "true")
    implicit = parts.scheme == "smtps"
    if implicit and starttls:
        raise ValueError("smtps:// is TLS already; starttls=1 goes with smtp://")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if password is not None and not username:
        raise ValueError("a password without a user")
    return SmtpTarget(parts.hostname, port or (465 if implicit else 25), implicit, starttls, username, password)


def default_sender() -> str:
    """``widget_server@<this host's name>``: what ``WIDGET_MAIL_FROM`` is when unset."""
    sender = f"widget_server@{socket.gethostname()}"  # (not getfqdn: a DNS lookup at every worker's start)
    try:
        parse_address(sender)
    except ValueError:  # a host name no address can carry: mail still works, from localhost
        return "widget_server@localhost"
    return sender


def check_sender(sender: str) -> str:
    """``sender`` (``a@b`` or ``Name <a@b>``) if it is one well-formed address, else ValueError."""
    parse_address(sender)
    return sender


def describe(smtp_url: str, mail_from: str) -> str:
    """Where mail goes (``WIDGET_SMTP_URL`` without its password, and the sender), or that it is off: the start-up
    output's line."""
    if not smtp_url:
        return "off (set WIDGET_SMTP_URL to send e-mail)"
    return f"{parse_smtp_url(smtp_url).describe()} from {check_sender(mail_from or default_sender())}"
