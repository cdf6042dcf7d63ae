"""The widget's own wire types: the loader's calls (``POST /v1/widget/visit``) and the frame's configuration
(``GET /v1/widget/config``). Not LiveChat's API: ``protocol/`` holds that."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from ..protocol import customer as c
from ..protocol.config import GreetingRichMessage


class VisitCustomer(msgspec.Struct, omit_defaults=True):
    name: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    email: Annotated[str, msgspec.Meta(max_length=256)] | None = None


class SessionParam(msgspec.Struct):
    """One of LiveChat's ``window.__lc.params`` (``{name, value}``): a session variable."""

    name: Annotated[str, msgspec.Meta(max_length=256)]
    value: Annotated[str, msgspec.Meta(max_length=1024)] | int | float | bool | None = None


class SiteConfig(msgspec.Struct, omit_defaults=True):
    """``window.__ws`` from the snippet, as the loader sends it. Loaded as ``/tracking.js`` (LiveChat's snippet and
    adapters), the loader sends LiveChat's ``window.__lc``: its names (``organizationId`` or the numeric ``license``,
    ``visitor``, ``params``) are read beside ours (``license_name``, ``site_fields``), its other settings are
    ignored."""

    organization_id: Annotated[str, msgspec.Meta(max_length=64)] = ""
    lc_organization_id: Annotated[str, msgspec.Meta(max_length=64)] | None = msgspec.field(
        default=None, name="organizationId")
    """LiveChat's ``window.__lc.organizationId``."""
    license: Annotated[int, msgspec.Meta(ge=0)] | Annotated[str, msgspec.Meta(max_length=20)] | None = None
    """LiveChat's ``window.__lc.license``: the license's numeric id (a number, or its digits)."""
    group: Annotated[int, msgspec.Meta(ge=0)] = 0
    customer: VisitCustomer | None = None
    session_variables: Annotated[dict[str, Annotated[str, msgspec.Meta(max_length=1024)]],
                                 msgspec.Meta(max_length=50)] | None = None
    user_id: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    user_hash: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    preview: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    """Set by the wizard's preview page only: show the owner's unsaved draft (``widget/drafts.py``)."""
    visitor: VisitCustomer | None = None
    """LiveChat's ``window.__lc.visitor`` (``{name, email}``): ``customer`` by LiveChat's name."""
    params: Annotated[list[SessionParam], msgspec.Meta(max_length=50)] | None = None
    """LiveChat's ``window.__lc.params``: ``session_variables`` by LiveChat's name."""
    chat_between_groups: bool | None = None
    """LiveChat's: whether a visitor is one customer across groups. Accepted; a visitor is always one customer of
    the license here (LiveChat's default)."""
    integration_name: Annotated[str, msgspec.Meta(max_length=128)] | None = None
    """Which LiveChat adapter loaded the widget (``@livechat/widget-core`` …); accepted, not stored."""

    def license_name(self) -> str:
        """The license as the page names it: our ``organization_id``, else LiveChat's ``organizationId`` or numeric
        ``license`` (``auth.access.Access.license`` resolves a number); empty when none is given."""
        if self.organization_id or self.lc_organization_id:
            return self.organization_id or self.lc_organization_id or ""
        return "" if self.license is None else str(self.license)


class VisitRequest(msgspec.Struct, omit_defaults=True):
    type: Literal["visit", "page_view", "heartbeat"]
    cfg: SiteConfig
    url: Annotated[str, msgspec.Meta(max_length=4096)]
    title: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    referrer: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    token: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    """The access token of the previous answer (page views and heartbeats)."""
    cst: Annotated[str, msgspec.Meta(max_length=512)] | None = None
    """The signed browser identity of a previous answer, kept by the loader in the host page's storage."""
    seen: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    """Greetings the page showed lately (``<template id>.<unix seconds shown>``, comma-separated, kept by host.js in
    the page's storage): one shown since the visit began is not shown again in it. Read leniently (entries that are
    not two numbers are skipped): a page's storage must never stop its widget from loading."""

    def seen_since(self, visit_started: int) -> set[int]:
        """The greetings shown at or after ``visit_started`` (the first 50 entries are read)."""
        out = set()
        for entry in (self.seen or "").split(",")[:50]:
            gid, _, at = entry.partition(".")
            if gid.isascii() and at.isascii() and gid.isdigit() and at.isdigit() and len(gid) <= 10 and len(at) <= 12 and int(at) >= visit_started:
                out.add(int(gid))
        return out


class Launcher(msgspec.Struct):
    css: str
    vars: dict[str, str]
    cls: str
    icon: str
    text: str
    label: str
    frame: str
    host: str


class Greeting(msgspec.Struct, omit_defaults=True):
    text: str
    delay: int
    close: str
    id: int | None = None
    """An automatic greeting's template id (none: the appearance's simple greeting)."""
    unique_id: str | None = None
    """This showing's signed id, for ``accept_greeting`` / ``cancel_greeting``."""
    agent_name: str | None = None
    agent_avatar: str | None = None
    rich_message: GreetingRichMessage | None = None
    """An automatic greeting's rich message (cards, quick replies, a sticker), shown in the bubble with its text."""


class VisitResponse(msgspec.Struct, omit_defaults=True):
    token: str
    customer_id: str
    cst: str
    availability: Literal["online", "offline"]
    launcher: Launcher | None = None
    active_chat: bool | None = None
    heartbeat: int | None = None
    greeting: Greeting | None = None
    identity_error: str | None = None
    returning: bool | None = None
    """True for a visitor on a later visit than their first (LiveChat's ``customer_data.isReturning``)."""


class ThemeConfig(msgspec.Struct, omit_defaults=True):
    name: str
    variables: dict[str, str]
    css: str
    dark_variables: dict[str, str] | None = None
    """A theme with a dark palette (``auto``): the variables the frame uses when the visitor prefers dark."""


class StaticConfig(msgspec.Struct, omit_defaults=True):
    """The part of the configuration that is the same for every visitor of a license, group and language."""

    organization_id: str
    group: dict[str, Any]
    language: str
    texts: dict[str, str]
    theme: ThemeConfig
    title: str
    agent_name: str
    agent_avatar: str
    position: str
    width: int
    height: int
    rating: bool
    offline_title: str
    offline_text: str
    upload_max_bytes: int
    ticket_form: c.Form
    prechat_form: c.Form | None = None
    postchat_form: c.Form | None = None
    direction: str = "ltr"
    """The document's ``dir``: ``rtl`` for a right-to-left language (sent only then)."""


class ChatSummary(msgspec.Struct):
    id: str
    active: bool
    unread: bool


class VisitorConfig(msgspec.Struct, omit_defaults=True):
    online: bool
    chats: list[ChatSummary]
    customer: dict[str, str] | None = None

