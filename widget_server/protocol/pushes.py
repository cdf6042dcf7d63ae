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
