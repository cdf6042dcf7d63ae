"""Shapes shared by chats, events and users: access, properties, timestamps."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Annotated, Literal

import msgspec

Properties = dict[str, dict[str, Any]]
"""``{namespace: {name: value}}``."""

PropertyNames = dict[str, list[str]]
"""``{namespace: [name, …]}``: the delete form."""

Text = Annotated[str, msgspec.Meta(max_length=16384)]
"""LiveChat's 16 KB limit on message text."""

SortOrder = Literal["asc", "desc"]

ChatId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
"""Chat and thread ids (server-made). Length-checked only: a regex here would cost more than the rest of a frame's
validation, and an unknown id is answered by a lookup anyway."""
ThreadId = ChatId
EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
GroupId = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]


class Access(msgspec.Struct, omit_defaults=True):
    group_ids: list[GroupId] = msgspec.field(default_factory=lambda: [0])


def now_rfc3339() -> str:
    """UTC now as RFC 3339 with microseconds, the way LiveChat writes ``created_at``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc3339_to_ms(value: str) -> int:
    """Milliseconds since the epoch of an RFC 3339 timestamp; raises ValueError when it is not one."""
    dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp() * 1000)
