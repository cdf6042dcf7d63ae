"""The inbound SMTP listener (``WIDGET_SMTP_INBOUND``, ``host:port``): visitors' e-mail replies to tickets come back
here, addressed to a ticket's signed reply address (``auth/reply_address.py``).

aiosmtpd speaks SMTP; its ``SMTP`` protocol runs on the worker's own event loop (``loop.create_server``, what
aiosmtpd's ``Controller`` does on a thread of its own; on our loop the handler uses the worker's Valkey client
directly). Refusals happen in the SMTP conversation, so the sending server bounces to the visitor: a recipient
without a valid signed token is 550 at RCPT (nothing unsigned is ever read), a message over
``WIDGET_SMTP_INBOUND_MAX_BYTES`` is 552 (aiosmtpd's SIZE limit), a ticket's thread full or replying too often 452.

One listener per host: granian runs several worker processes, each with this app's lifespan. Every worker tries to
bind the address *without* SO_REUSEPORT; the kernel lets exactly one listen, the others get EADDRINUSE and try again
every ``RETRY_SECONDS``. The port is the lock: when the worker holding it dies the kernel frees it with the process,
and a sibling binds it on its next try, with no lease in Valkey to run out first. (SO_REUSEPORT would let every
worker listen, and also any other process of the same user that asked for it.)"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import html
import logging
import re
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from html.parser import HTMLParser
from typing import Any

from aiosmtpd.smtp import SMTP

from ..auth.reply_address import ticket_of
from ..auth.signing import Signer
from ..protocol.errors import ApiError

log = logging.getLogger("widget_server.mail.inbound")

RETRY_SECONDS = 2.0
"""How often a worker that does not hold the listener tries to bind it."""
MAX_RECIPIENTS = 5
COMMAND_TIMEOUT = 60.0
"""Seconds a client may stay silent in the SMTP conversation (aiosmtpd's default is 5 minutes)."""
MAX_TEXT = 16384

_QUOTE_HEADER = re.compile(
    r"^\s*(On\s.{0,300}\swrote:|Am\s.{0,300}\sschrieb.{0,60}:|Le\s.{0,300}\sa\sécrit\s?:|El\s.{0,300}\sescribió:"
    r"|W\sdniu\s.{0,300}\spisze:|-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine)\s*-{2,}"
    r"|_{20,}|From:\s.+|Von:\s.+|De\s?:\s.+@.+)\s*$",
    re.IGNORECASE)
"""A line that starts the quoted history most mail programs put under a reply (English, German, French, Spanish,
Polish, Outlook's rule and header block)."""


class _HtmlText(HTMLParser):
    """The text of an HTML part, without quoted history (``blockquote``, Gmail's and others' quote containers),
    styles and scripts."""

    SKIP = frozenset({"blockquote", "style", "script", "head", "title"})
    QUOTE_CLASSES = ("gmail_quote", "moz-cite-prefix", "yahoo_quoted", "OutlookMessageHeader")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.stack: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = " ".join(v or "" for k, v in attrs if k in ("class", "id"))
        quoted = tag in self.SKIP or any(c in classes for c in self.QUOTE_CLASSES)
        if tag not in ("br", "img", "hr", "meta", "link", "input"):
            self.stack.append(quoted)
            self.skip += quoted
        if tag in ("br", "p", "div", "tr", "li") and not self.skip:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag not in ("br", "img", "hr", "meta", "link", "input") and self.stack:
            self.skip -= self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def strip_quoted(text: str) -> str:
    """The new words of a reply: up to the quoted history's header line, without ``>`` lines and the signature."""
    lines = text.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    for i, line in enumerate(lines):
        joined = line + " " + (lines[i + 1] if i + 1 < len(lines) else "")  # "On …, X" / "<x@y> wrote:" wrapped
        if _QUOTE_HEADER.match(line) or (line.strip().startswith("On ") and _QUOTE_HEADER.match(joined)):
            break
        if line.rstrip() == "--":  # the signature separator ("-- ")
            break
        if line.lstrip().startswith(">"):
            continue
        out.append(line.rstrip())
    return "\n".join(out).strip()[:MAX_TEXT]


def reply_text(message: EmailMessage) -> str:
    """The visitor's words in an inbound message: its text part (else its HTML part as text), quotes removed."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset or a broken encoding
        content = part.get_payload(decode=True).decode("utf-8", "replace") if part.get_payload() else ""
    if not isinstance(content, str):
        return ""
    if part.get_content_subtype() == "html":
        parser = _HtmlText()
        parser.feed(content)
        content = html.unescape("".join(parser.parts))
    content = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", content)
    return strip_quoted(content)


class InboundHandler:
    """aiosmtpd's handler hooks (its naming): recipients are checked at RCPT, the message taken at DATA."""

    def __init__(self, signer: Signer, tickets: Any) -> None:
        self.signer = signer
        self.tickets = tickets
        self.taken = 0

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        ticket_id = ticket_of(self.signer, address)
        if ticket_id is None:
            return "550 5.7.1 Not a signed reply address of this server"
        try:
            if not await self.tickets.exists(ticket_id):
                return "550 5.1.1 No such ticket (deleted or expired)"
        except Exception:  # noqa: BLE001 (Valkey down: the sender tries again later, as SMTP does)
            log.warning("inbound mail: the ticket store is not reachable")
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content or envelope.content or b"", policy=default)
        text = reply_text(message)  # type: ignore[arg-type]
        if not text:
            return "550 5.6.0 The message holds no text"
        sender = str(message.get("From") or envelope.mail_from or "")
        address = ""
        with contextlib.suppress(Exception):
            address = message["From"].addresses[0].addr_spec if message.get("From") else envelope.mail_from or ""
        tickets = dict.fromkeys(t for t in (ticket_of(self.signer, r) for r in envelope.rcpt_tos) if t)
        try:
            for ticket_id in tickets:
                await self.tickets.take_email_reply(ticket_id, address or sender, text)
        except ApiError as exc:
            if exc.type == "not_found":
                return "550 5.1.1 No such ticket (deleted or expired)"
            return f"452 4.5.3 {'Too many replies to this ticket' if exc.type == 'too_many_requests' else 'Ticket full'}"
        except Exception:
            log.exception("inbound mail: a reply could not be stored")
            return "451 4.3.0 Try again later"
        self.taken += 1
        return "250 OK: taken into the ticket"


class InboundListener:
    """This worker's attempt to hold the host's inbound SMTP listener (see the module's docstring)."""

    def __init__(self, address: str, handler: InboundHandler, max_bytes: int) -> None:
        host, _, port = address.rpartition(":")
        self.host, self.port = host.strip("[]"), int(port)
        self.handler = handler
        self.max_bytes = max_bytes
        self.server: asyncio.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def _protocol(self) -> SMTP:
        return SMTP(self.handler, data_size_limit=self.max_bytes, hostname=None, ident="widget_server",
                    timeout=COMMAND_TIMEOUT, enable_SMTPUTF8=True)

    async def _bind(self) -> None:
        loop = asyncio.get_running_loop()
        while self.server is None:
            try:
                self.server = await loop.create_server(self._protocol, self.host, self.port, reuse_port=False)
                log.info("inbound mail: this worker listens on %s:%d", self.host, self.port)
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    log.warning("inbound mail: cannot listen on %s:%d: %s", self.host, self.port, exc)
                await asyncio.sleep(RETRY_SECONDS)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._bind(), name="smtp-inbound")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)
            self.server = None
