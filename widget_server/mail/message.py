"""An outgoing e-mail as data (``OutgoingMail``), the checks every one passes before it is queued, and the
``email.message.EmailMessage`` it becomes when it is sent.

Everything here may come from a visitor (an address typed into a form, a name, a subject made from a message), so
``check`` refuses what could change a message's meaning: a CR or LF (or any control character) in anything that
becomes a header, a malformed address, a header this server sets itself, sizes beyond the bounds below. The standard
library's ``EmailMessage`` (policy ``SMTP``) does the encoding and folding."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

import msgspec

MAX_RECIPIENTS = 20
MAX_ADDRESS_CHARS = 254
"""RFC 5321's limit on a path, which an address must fit."""
MAX_SUBJECT_CHARS = 500
MAX_BODY_BYTES = 128 * 1024
"""Text and HTML parts together (a long chat's transcript fits many times over); bounds what a queue can hold."""
MAX_HEADER_CHARS = 998
"""RFC 5322's line length limit, for each extra header's value."""
MAX_EXTRA_HEADERS = 10

EXTRA_HEADERS = frozenset({"auto-submitted", "list-id", "list-unsubscribe", "list-unsubscribe-post", "precedence"})
"""Headers besides ``X-…`` ones a caller may add; every other header is this module's to write."""

_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HEADER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,63}")
_NAMED = re.compile(r"(?s)(.*?)\s*<([^<>]*)>")
_MESSAGE_ID = re.compile(r"<[!-;=?-~]{1,250}@[!-;=?-~]{1,250}>")
"""``<left@right>`` of printable ASCII without ``<``, ``>`` or spaces (RFC 5322's msg-id, loosely)."""


class MailError(ValueError):
    """An outgoing message that is refused before it is queued (the caller answers a ``validation`` error)."""


class OutgoingMail(msgspec.Struct, kw_only=True, frozen=True):
    """One e-mail to send: what a caller gives ``Mailer.enqueue``, stored as it is until it is delivered."""

    to: list[str]
    """Recipients: ``a@example.com`` or ``Name <a@example.com>``."""
    subject: str
    text: str
    """The plain-text part (always sent)."""
    html: str | None = None
    """The HTML part; with it the message is multipart/alternative (text first, as RFC 2046 orders them)."""
    id: str = ""
    """Stable id of this message in the outbox (``Mailer.enqueue`` makes one when empty). Enqueuing the same id twice
    queues it once, so a caller that retries after an error never doubles a message."""
    lang: str = "en"
    """Content-Language."""
    reply_to: str | None = None
    message_id: str | None = None
    """``<…@…>``; when empty one is made from ``id`` and the sender's domain, the same on every attempt."""
    in_reply_to: str | None = None
    references: list[str] = []
    headers: dict[str, str] = {}
    """Extra headers: ``X-…`` or one of ``EXTRA_HEADERS``."""
    created_at: str = ""
    """RFC 2822 date of enqueueing (the Date header, the same on every attempt); set by ``Mailer.enqueue``."""


def parse_address(value: str) -> Address:
    """``a@b`` or ``Name <a@b>`` as an Address; MailError when it is not exactly one well-formed address."""
    if not isinstance(value, str) or not value or len(value) > MAX_ADDRESS_CHARS + 200 or _CONTROL.search(value):
        raise MailError("an e-mail address is empty, too long or holds a control character")
    named = _NAMED.fullmatch(value.strip())
    name, spec = (named[1].strip().strip('"'), named[2].strip()) if named else ("", value.strip())
    if len(spec) > MAX_ADDRESS_CHARS or spec.count("@") != 1 or any(c in spec for c in " ,;<>()[]\\\""):
        raise MailError(f"not an e-mail address: {spec[:80]!r}")
    local, domain = spec.split("@")
    if not local or not domain or domain.startswith(".") or domain.endswith(".") or ".." in domain:
        raise MailError(f"not an e-mail address: {spec[:80]!r}")
    try:
        return Address(display_name=name, addr_spec=spec)
    except (ValueError, IndexError) as exc:  # the email package's header defects are ValueErrors
        raise MailError(f"not an e-mail address: {spec[:80]!r}") from exc


def _one_line(name: str, value: str, limit: int) -> str:
    if _CONTROL.search(value):
        raise MailError(f"{name} holds a line break or control character")
    if len(value) > limit:
        raise MailError(f"{name} is longer than {limit} characters")
    return value


def _message_id(name: str, value: str) -> str:
    if not _MESSAGE_ID.fullmatch(value):
        raise MailError(f"{name} is not a message id of the form <left@right>")
    return value


def check(mail: OutgoingMail) -> None:
    """Raise MailError unless ``mail`` can be sent as it is, whatever a visitor put into it."""
    if mail.id and not _ID.fullmatch(mail.id):
        raise MailError("an id is 1 to 100 letters, digits, '.', '_' or '-'")
    if not mail.to or len(mail.to) > MAX_RECIPIENTS:
        raise MailError(f"a message has 1 to {MAX_RECIPIENTS} recipients")
    for address in mail.to:
        parse_address(address)
    if mail.reply_to is not None:
        parse_address(mail.reply_to)
    _one_line("the subject", mail.subject, MAX_SUBJECT_CHARS)
    _one_line("the language", mail.lang, 35)
    _one_line("created_at", mail.created_at, 100)
    if len(mail.text.encode()) + len((mail.html or "").encode()) > MAX_BODY_BYTES:
        raise MailError(f"the text and HTML parts are more than {MAX_BODY_BYTES} bytes together")
    if "\0" in mail.text or "\0" in (mail.html or ""):
        raise MailError("a part holds a NUL character")
    for name, value in (("message_id", mail.message_id), ("in_reply_to", mail.in_reply_to)):
        if value is not None:
            _message_id(name, value)
    if len(mail.references) > 50:
        raise MailError("more than 50 references")
    for value in mail.references:
        _message_id("a reference", value)
    if len(mail.headers) > MAX_EXTRA_HEADERS:
        raise MailError(f"more than {MAX_EXTRA_HEADERS} extra headers")
    for name, value in mail.headers.items():
        lowered = name.lower()
        if not _HEADER_NAME.fullmatch(name) or not (lowered.startswith("x-") or lowered in EXTRA_HEADERS):
            raise MailError(f"header {name[:80]!r} may not be set (X-… or {', '.join(sorted(EXTRA_HEADERS))})")
        _one_line(f"header {name}", value, MAX_HEADER_CHARS)


def rfc2822_now() -> str:
    return format_datetime(datetime.now(UTC))


def to_email(mail: OutgoingMail, sender: str) -> EmailMessage:
    """The message as sent: From ``sender``, a Message-ID stable across attempts, text (and HTML) parts."""
    check(mail)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = parse_address(sender)
    msg["To"] = [parse_address(a) for a in mail.to]
    msg["Subject"] = mail.subject
    msg["Date"] = mail.created_at or rfc2822_now()
    domain = parse_address(sender).domain
    msg["Message-ID"] = mail.message_id or f"<{mail.id}@{domain}>"
    if mail.reply_to:
        msg["Reply-To"] = parse_address(mail.reply_to)
    if mail.in_reply_to:
        msg["In-Reply-To"] = mail.in_reply_to
    if mail.references:
        msg["References"] = " ".join(mail.references)
    for name, value in mail.headers.items():
        msg[name] = value
    msg.set_content(mail.text, cte="quoted-printable")
    if mail.html is not None:
        msg.add_alternative(mail.html, subtype="html", cte="quoted-printable")
    msg["Content-Language"] = mail.lang  # after the parts: setting content clears the Content-* headers
    return msg
