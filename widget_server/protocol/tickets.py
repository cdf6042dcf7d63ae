"""Tickets (this server's extension of the Agent Chat API, and the license's ticket settings of the Configuration
API): an offline message or a missed chat kept for an agent to answer by e-mail."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

TicketId = Annotated[str, msgspec.Meta(pattern=r"^[0-9A-Za-z]{10}$")]
TicketStatus = Literal["open", "solved"]
Email = Annotated[str, msgspec.Meta(max_length=254)]


class TicketMessage(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One message of a ticket's thread."""

    id: str
    """``<ticket id>_<n>``, in the order the messages came."""
    author_id: str
    """The customer's id, or the agent's."""
    author_type: Literal["customer", "agent"]
    via: Literal["form", "chat", "email", "agent"]
    """How it came: the offline form, the chat (a missed chat's messages), an e-mail reply, or an agent's reply (which
    is e-mailed to the visitor)."""
    text: str
    created_at: str


class Ticket(msgspec.Struct, kw_only=True):
    id: str
    """The id of the thread it was made from (one thread makes at most one ticket)."""
    status: TicketStatus
    source: Literal["offline_message", "missed_chat"]
    chat_id: str
    thread_id: str
    customer_id: str
    group_id: int
    email: str
    """The visitor's e-mail address, "" while unknown (an agent's reply is then stored but not e-mailed)."""
    name: str
    subject: str
    lang: str
    """The language replies to the visitor are written in (the group's widget language)."""
    created_at: str
    updated_at: str
    messages: list[TicketMessage] | None = None
    """In ``get_ticket`` only."""


class ListTicketsRequest(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    status: TicketStatus = "open"
    limit: Annotated[int, msgspec.Meta(ge=1, le=100)] = 25
    page_id: Annotated[str, msgspec.Meta(max_length=2048)] | None = None


class ListTicketsResponse(msgspec.Struct, kw_only=True, omit_defaults=True):
    tickets: list[Ticket]
    found_tickets: int
    next_page_id: str | None = None


class TicketIdRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: TicketId


class ReplyTicketRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    id: TicketId
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=16384)]
    solve: bool = False
    """Mark the ticket solved with the reply."""


class ReplyTicketResponse(msgspec.Struct, kw_only=True):
    message_id: str
    emailed: bool
    """Whether the reply was queued to the visitor's e-mail (false: no address known yet, or mail is off)."""


class TicketSettings(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """A license's ticket settings (``update_ticket_settings``, the wizard's Tickets page)."""

    notification_email: Email = ""
    """Where new tickets and visitors' e-mail replies are announced; "" means the license owner's address."""
    queue_timeout_seconds: Annotated[int, msgspec.Meta(ge=0, le=86400)] | None = None
    """Seconds a queued chat waits before it is missed (a ticket); None: ``WIDGET_QUEUE_TIMEOUT_SECONDS``, 0: never."""


class UpdateTicketSettingsRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    settings: TicketSettings


class SendTranscriptRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    chat_id: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


