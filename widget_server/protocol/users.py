"""Users of a chat: customers, agents and bots, and the customer's own record."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

SessionFields = Annotated[list[dict[str, Annotated[str, msgspec.Meta(max_length=4096)]]], msgspec.Meta(max_length=100)]
"""Ordered single-pair objects ``[{"plan": "pro"}, …]`` (≤ 100)."""

Name = Annotated[str, msgspec.Meta(max_length=256)]
Email = Annotated[str, msgspec.Meta(max_length=254)]
Url = Annotated[str, msgspec.Meta(max_length=4096)]


class Address(msgspec.Struct, omit_defaults=True):
    address: str | None = None
    city: str | None = None
    country: str | None = None
    state: str | None = None
    postal_code: str | None = None


class Statistics(msgspec.Struct):
    chats_count: int = 0
    threads_count: int = 0
    visits_count: int = 0
    page_views_count: int = 0
    greetings_shown_count: int = 0
    greetings_accepted_count: int = 0


class VisitedPage(msgspec.Struct):
    opened_at: str
    url: str
    title: str


class VisitGeolocation(msgspec.Struct, omit_defaults=True):
    """Where a visit comes from (LiveChat's ``visit.geolocation``), when a trusted proxy said so."""

    country: str | None = None
    country_code: str | None = None
    region: str | None = None
    city: str | None = None
    timezone: str | None = None


class CustomerVisit(msgspec.Struct, omit_defaults=True):
    """The customer's current visit as agents see it (LiveChat 3.6 ``visit``; ``last_visit`` before 3.6)."""

    started_at: str
    last_pages: list[VisitedPage]
    referrer: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    geolocation: VisitGeolocation | None = None
    ended_at: str | None = None
    """Set once the visitor has left (is not online any more)."""


class Customer(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The customer as ``get_customer`` and ``login`` return it."""

    id: str
    type: Literal["customer"]
    """Always sent (3.6 ``get_customer`` and every Customer object carry it): no default, so ``omit_defaults`` cannot
    drop it."""
    name: str | None = None
    email: str | None = None
    avatar: str | None = None
    phone_number: str | None = None
    email_verified: bool | None = None
    session_fields: list[dict[str, str]] = msgspec.field(default_factory=list)
    address: Address | None = None
    statistics: Statistics | None = None
    visit: CustomerVisit | None = None
    online: bool | None = None
    created_at: str | None = None
    state: Literal["browsing", "chatting", "queued", "invited"] | None = None
    """Agents only: what the visitor does now (LiveChat's customer state)."""
    chat_ids: list[str] | None = None
    """Agents only: the customer's latest chats, newest first."""


class ChatUser(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A user as listed in ``chat.users``: a customer or an agent (``type``), with presence and read state."""

    id: str
    type: Literal["customer", "agent"]
    name: str | None = None
    email: str | None = None
    avatar: str | None = None
    job_title: str | None = None
    present: bool
    events_seen_up_to: str | None = None
    visibility: Literal["all", "agents"] | None = None
    session_fields: list[dict[str, str]] | None = None
    created_at: str | None = None
