"""Chats, threads and the summaries ``list_chats`` returns."""

from __future__ import annotations

from typing import Any

import msgspec

from .common import Access, Properties
from .events import Event
from .users import ChatUser


class Queue(msgspec.Struct, omit_defaults=True):
    position: int
    wait_time: int
    queued_at: str | None = None


class Thread(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    created_at: str
    active: bool
    user_ids: list[str]
    events: list[Event]
    properties: Properties
    access: Access
    queue: Queue | None = None
    previous_thread_id: str | None = None
    next_thread_id: str | None = None
    summary: dict[str, Any] | None = None
    """Agents only: the thread's summary (``request_thread_summary``: ``{status, text, updated_at}``), once made."""
    tags: list[str] | None = None
    """The thread's tags (``tag_thread``); agents' views only, as in LiveChat, and left out when there are none."""


class Chat(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``get_chat``'s response and ``incoming_chat``'s ``chat``."""

    id: str
    thread: Thread | None = None
    users: list[ChatUser]
    access: Access
    properties: Properties


class LastEvent(msgspec.Struct):
    thread_id: str
    thread_created_at: str
    event: Event


class ChatSummary(msgspec.Struct, kw_only=True, omit_defaults=True):
    id: str
    last_thread_id: str | None = None
    last_thread_created_at: str | None = None
    last_event_per_type: dict[str, LastEvent]
    users: list[ChatUser]
    access: Access
    properties: Properties
    active: bool
