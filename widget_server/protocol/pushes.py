"""Push payloads (RTM ``type: "push"`` frames; the same payloads go to webhooks)."""

from __future__ import annotations

from typing import Any

import msgspec

from .chats import Chat, Queue
from .common import Properties, PropertyNames
from .events import Event


class IncomingChat(msgspec.Struct, omit_defaults=True):
    chat: Chat
    requester_id: str | None = None
    transferred_from: dict[str, Any] | None = None


class ChatDeactivated(msgspec.Struct, omit_defaults=True):
    chat_id: str
    thread_id: str
    user_id: str | None = None


class IncomingEvent(msgspec.Struct):
    chat_id: str
    thread_id: str
    event: Event


EventUpdated = IncomingEvent


class EventDeleted(msgspec.Struct):
    """``event_deleted`` (3.6): to the chat's customer and agents, and the license's webhooks."""

    chat_id: str
    thread_id: str
    event_id: str


class IncomingRichMessagePostback(msgspec.Struct, omit_defaults=True):
    user_id: str
    chat_id: str
    thread_id: str
    event_id: str
    postback: dict[str, Any]


class ChatPropertiesUpdated(msgspec.Struct):
    chat_id: str
    properties: Properties


class ChatPropertiesDeleted(msgspec.Struct):
    chat_id: str
    properties: PropertyNames


class ThreadPropertiesUpdated(msgspec.Struct):
    chat_id: str
    thread_id: str
    properties: Properties


class ThreadPropertiesDeleted(msgspec.Struct):
    chat_id: str
    thread_id: str
    properties: PropertyNames


class EventPropertiesUpdated(msgspec.Struct):
    chat_id: str
    thread_id: str
    event_id: str
    properties: Properties


class EventPropertiesDeleted(msgspec.Struct):
    chat_id: str
    thread_id: str
    event_id: str
    properties: PropertyNames


class EventsMarkedAsSeen(msgspec.Struct):
    user_id: str
    chat_id: str
    seen_up_to: str


class SneakPeek(msgspec.Struct):
    author_id: str
    text: str
    timestamp: int


class IncomingSneakPeek(msgspec.Struct):
    """Agent-side only: what the customer is typing."""

    chat_id: str
    thread_id: str
    sneak_peek: SneakPeek


class CustomerDisconnected(msgspec.Struct, omit_defaults=True):
    reason: str
    data: dict[str, Any] | None = None


class QueuePositionUpdated(msgspec.Struct):
    chat_id: str
    thread_id: str
    queue: Queue


PUSHES_NEW_IN_36 = frozenset(
    {"event_deleted", "incoming_event_preview", "incoming_thinking_indicator", "incoming_welcome_message"}
)
"""Pushes a 3.5 connection gets only when it subscribed to them under ``"3.6"`` in ``login.pushes``."""


class GroupStatus(msgspec.Struct):
    id: int
    status: str
    """``online`` or ``offline`` (LiveChat also knows ``online_for_queue``; this server calls a full group online)."""


class GroupsStatusUpdated(msgspec.Struct):
    """``groups_status_updated`` (3.5+): groups whose availability changed, for every customer of the license."""

    groups: list[GroupStatus]


class GreetingAgent(msgspec.Struct, kw_only=True):
    id: str
    name: str
    avatar: str
    job_title: str = ""
    is_bot: bool = False


class IncomingGreeting(msgspec.Struct, kw_only=True):
    """``incoming_greeting``: LiveChat's shape (the greeting's template ``id``, this showing's ``unique_id``, its
    message and the agent it is sent as)."""

    id: int
    unique_id: str
    displayed_first_time: bool
    accepted: bool
    subtype: str
    is_exit_intent: bool
    event: dict[str, Any]
    agent: GreetingAgent


class GreetingUnique(msgspec.Struct):
    """``greeting_accepted`` / ``greeting_canceled`` (to the greeting's agent or the group's agents)."""

    unique_id: str
    customer_id: str | None = None


class WelcomeAgent(msgspec.Struct):
    id: str
    name: str
    avatar: str


class IncomingWelcomeMessage(msgspec.Struct, kw_only=True):
    """``incoming_welcome_message`` (3.6): ``{id, event}`` as LiveChat sends it; ``agents`` (online agents' names and
    avatars) and ``typical_reply_seconds`` (the group's recent median first response) are our additions."""

    id: str
    event: dict[str, Any]
    agents: list[WelcomeAgent] = msgspec.field(default_factory=list)
    typical_reply_seconds: int | None = None


class CustomerSideStorageUpdated(msgspec.Struct):
    """``customer_side_storage_updated``: the map the client keeps (local storage) and sends back in ``login``."""

    customer_side_storage: dict[str, str]
