"""Events: one tagged union (``type``) over message, system_message, filled_form, file, rich_message and custom.

The same Structs carry an event in a request (the client leaves ``id``, ``created_at`` and ``author_id`` out; the
server sets them) and in responses and pushes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from .common import Properties, Text

Recipients = Literal["all", "agents"]
Visibility = Literal["all", "agents"]


class _EventBase(msgspec.Struct, kw_only=True, omit_defaults=True, tag_field="type"):
    id: str | None = None
    custom_id: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    created_at: str | None = None
    author_id: str | None = None
    recipients: Recipients | None = None
    visibility: Visibility | None = None
    properties: Properties | None = None
    deleted: bool | None = None
    """Set by ``delete_event`` (3.6): customers never get the event again, agents of the ``normal`` role get a
    placeholder (``DeletedEvent``), administrators the event with this flag. Never taken from a client."""


class DeletedEvent(msgspec.Struct, kw_only=True, omit_defaults=True):
    """What an agent of the ``normal`` role gets in place of a deleted event (LiveChat's Deleted Event): the original's
    ``type`` with none of its content."""

    id: str | None = None
    custom_id: str | None = None
    type: str
    deleted: bool  # (no default: omit_defaults would leave it out)
    author_id: str | None = None
    created_at: str | None = None
    visibility: str | None = None


class Postback(msgspec.Struct, omit_defaults=True):
    id: str
    thread_id: str | None = None
    event_id: str | None = None
    type: str | None = None
    value: str | None = None


class Image(msgspec.Struct, omit_defaults=True):
    """An image of a message or of a rich message element (the same object in both)."""

    url: str
    name: str | None = None
    content_type: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None
    alternative_text: str | None = None


class Message(_EventBase, tag="message"):
    text: Text
    postback: Postback | None = None
    image: Image | None = None


class SystemMessage(_EventBase, tag="system_message"):
    text: Text
    system_message_type: str
    text_vars: dict[str, str] | None = None


class FormField(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A filled field; ``answer`` is a string (name, email, question) or an ``{id, label}`` choice, ``answers`` a list."""

    type: str
    id: str
    label: Annotated[str, msgspec.Meta(max_length=2048)] = ""
    answer: Any = None
    answers: list[Any] | None = None


class FilledForm(_EventBase, tag="filled_form"):
    form_id: Annotated[str, msgspec.Meta(max_length=256)]
    fields: Annotated[list[FormField], msgspec.Meta(max_length=100)]
    form_type: Literal["prechat", "postchat", "ticket"] | None = None


class File(_EventBase, tag="file"):
    url: Annotated[str, msgspec.Meta(max_length=2048)]
    name: str | None = None
    content_type: str | None = None
    size: int | None = None
    width: int | None = None
    height: int | None = None
    thumbnail_url: str | None = None
    thumbnail2x_url: str | None = None
    alternative_text: str | None = None


class RichButton(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A button of a rich message element; ``user_ids`` are who toggled it (``send_rich_message_postback``)."""

    text: Annotated[str, msgspec.Meta(max_length=1024)]
    type: Literal["webview", "message", "url", "phone", "cancel"] | None = None
    value: str | None = None
    postback_id: str | None = None
    user_ids: list[str] | None = None
    webview_height: Literal["compact", "full", "tall"] | None = None
    target: Literal["new", "current"] | None = None


class RichElement(msgspec.Struct, kw_only=True, omit_defaults=True):
    title: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    subtitle: Annotated[str, msgspec.Meta(max_length=2048)] | None = None
    image: Image | None = None
    buttons: Annotated[list[RichButton], msgspec.Meta(max_length=50)] | None = None
    ecommerce: dict[str, Any] | None = None


class RichMessage(_EventBase, tag="rich_message"):
    template_id: Literal["cards", "sticker", "quick_replies", "list"]
    elements: Annotated[list[RichElement], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)


class Custom(_EventBase, tag="custom"):
    content: Any = None


Event = Message | SystemMessage | FilledForm | File | RichMessage | Custom
"""Any event, discriminated by its ``type``."""

ClientEvent = Message | FilledForm | File | RichMessage | Custom
"""What a customer may send: every event type except the read-only system_message."""
