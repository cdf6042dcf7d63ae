"""The widget's visitors in proxy mode (``widget.visitors.Visitors``): identities, tokens and chats are the
upstream's. A page load runs the cookie grant on the upstream with the browser's identity cookies (or the ones the
loader kept), writes the site's customer data to the upstream's customer, and asks for the customer's chats; the
frame's view asks the upstream for the customer and their chats; a group is online when the upstream's dynamic
configuration says so."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import msgspec

from ..auth.signing import AccessToken, Signer
from ..core.interface import Caller
from ..protocol import config as cfg
from ..protocol import customer as c
from ..protocol.accounts import TokenRequest
from ..protocol.common import rfc3339_to_ms
from ..protocol.errors import ApiError
from ..widget.models import ChatSummary, SiteConfig
from ..widget.visitors import LATEST_CHATS, Arrival, Browser, VisitorView, is_unread, site_fields
from .accounts import (
    IDENTITY_COOKIE_PREFIX,
    UpstreamAccounts,
    client_headers,
    cookie_header,
    identity_cookies_in,
    relayed_cookies,
    token_refused,
)
from .client import Upstream

log = logging.getLogger("widget_server.edge")

MAX_CST = 512
"""The longest signed cookie jar handed to the loader (the visit request's ``cst`` is bounded to it)."""


class _SeenBy(msgspec.Struct):
    id: str
    events_seen_up_to: str | None = None


class _LastEvent(msgspec.Struct):
    created_at: str | None = None


class _LastOfType(msgspec.Struct):
    event: _LastEvent


class _Summary(msgspec.Struct):
    id: str
    active: bool = False
    users: list[_SeenBy] = []
    last_event_per_type: dict[str, _LastOfType] = {}


class _Chats(msgspec.Struct):
    chats_summary: list[_Summary]


class _Customer(msgspec.Struct):
    id: str
    name: str | None = None
    email: str | None = None


class _Dynamic(msgspec.Struct):
    online_group_ids: list[int] = []


class _Dynamic36(msgspec.Struct):
    livechat: _Dynamic


_chats_decoder = msgspec.json.Decoder(_Chats)
_customer_decoder = msgspec.json.Decoder(_Customer)
_dynamic_decoder = msgspec.json.Decoder(_Dynamic36)


class UpstreamVisitors:
    online_cache_seconds = 5.0

    def __init__(self, upstream: Upstream, accounts: UpstreamAccounts, signer: Signer,
                 refuse_banned: Callable[[str], Awaitable[None]]) -> None:
        self._upstream = upstream
        self._accounts = accounts
        self._signer = signer
        self._refuse_banned = refuse_banned
        """The edge's own ban check (a ban set on the edge's license holds for its widget too)."""

    @staticmethod
    def _caller(browser: Browser, org: str, token: str, customer_id: str = "") -> Caller:
        """A Web caller with the customer's upstream token, for the edge's own calls on the customer's behalf."""
        return Caller(org=org, customer_id=customer_id, version="3.6", transport="web", base_url=browser.base_url,
                      client=browser.client, credential=f"Bearer {token}", origin=browser.origin)

    async def arrive(self, browser: Browser, org: str, group: int, site: SiteConfig,
                     stored_cst: str | None, identity_site: str = "") -> Arrival:
        # (identity_site is not used: the upstream's accounts service keys identities, and gets the page's Origin)
        cookies = identity_cookies_in(browser.cookies)
        if not cookies and stored_cst:
            cookies = self._signer.unsign("ucst", stored_cst, dict[str, str]) or {}
        headers = client_headers(browser.client, browser.origin)
        if cookies:
            headers["cookie"] = cookie_header(cookies)
        grant = TokenRequest(grant_type="cookie", response_type="token", client_id="widget_server",
                             organization_id=org)
        r = await self._accounts.request("/v2/customer/token", grant, headers)
        token = await self._accounts.remember(r, org)
        if token is None:
            raise token_refused(r)
        set_cookies = relayed_cookies(r)
        cookies.update({k.key: k.value or "" for k in set_cookies if k.key.startswith(IDENTITY_COOKIE_PREFIX)})
        cst = self._signer.sign("ucst", cookies) if cookies else ""
        caller = self._caller(browser, org, token.access_token, token.entity_id)
        if fields := site_fields(site):
            try:
                await self._upstream.action("update_customer", caller,
                                            msgspec.convert(fields, c.UpdateCustomerRequest))
            except (ApiError, msgspec.ValidationError) as exc:  # the visit goes on without them
                log.info("the site's customer data was not accepted: %s", exc)
        chats = await self._chats(caller)
        return Arrival(
            customer_id=token.entity_id, token=token.access_token, cst=cst if len(cst) <= MAX_CST else "",
            cookies=set_cookies, active_chat=any(chat.active for chat in chats),
            identity_error="user_id: identity verification is not available in upstream proxy mode"
            if site.user_id else None)

    def renewed(self, claims: AccessToken, group: int) -> str | None:
        return None  # the edge cannot renew the upstream's tokens

    async def view(self, browser: Browser, org: str, claims: AccessToken, credential: str) -> VisitorView:
        await self._refuse_banned(claims.cid)
        caller = self._caller(browser, org, credential.removeprefix("Bearer ").strip(), claims.cid)
        customer, chats = await asyncio.gather(self._customer(caller), self._chats(caller))
        return VisitorView(customer, chats)

    async def _chats(self, caller: Caller) -> list[ChatSummary]:
        """The customer's latest chats on the upstream (``list_chats``): active, and unread by the customer."""
        raw = await self._upstream.action("list_chats", caller, c.ListChatsRequest(limit=LATEST_CHATS))
        try:
            summaries = _chats_decoder.decode(raw).chats_summary
        except msgspec.DecodeError:
            log.warning("unexpected list_chats answer from the upstream: %.200r", bytes(raw))
            return []
        chats = []
        for summary in summaries:
            seen = next((u.events_seen_up_to for u in summary.users if u.id == caller.customer_id), None)
            last = max((e.event.created_at or "" for e in summary.last_event_per_type.values()), default="")
            unread = False
            with contextlib.suppress(ValueError):
                unread = bool(last) and is_unread(rfc3339_to_ms(last), rfc3339_to_ms(seen) if seen else None)
            chats.append(ChatSummary(summary.id, summary.active, unread))
        return chats

    async def _customer(self, caller: Caller) -> dict[str, str]:
        """The customer's id, name and e-mail on the upstream (``get_customer``)."""
        raw = await self._upstream.action("get_customer", caller, c.Empty())
        try:
            customer = _customer_decoder.decode(raw)
        except msgspec.DecodeError:
            log.warning("unexpected get_customer answer from the upstream: %.200r", bytes(raw))
            return {"id": caller.customer_id}
        return {"id": customer.id, **{k: v for k, v in (("name", customer.name), ("email", customer.email)) if v}}

    async def group_online(self, org: str, group: int) -> bool:
        """Whether the upstream has agents for the group (its dynamic configuration); an upstream that cannot say
        counts as offline."""
        caller = Caller(org=org, customer_id="", version="3.6", transport="web", base_url="")
        try:
            raw = await self._upstream.action("get_dynamic_configuration", caller,
                                              cfg.DynamicConfigRequest(organization_id=org, group_id=group))
            return group in _dynamic_decoder.decode(raw).livechat.online_group_ids
        except (ApiError, msgspec.DecodeError):
            return False
