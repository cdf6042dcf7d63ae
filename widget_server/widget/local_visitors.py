"""This server's visitors (``visitors.Visitors`` when the server is the chat service)."""

from __future__ import annotations

import hashlib
import hmac
import time

import msgspec

from ..auth.rules import refuse_banned
from ..auth.signing import AccessToken, Signer
from ..auth.throttle import AddressThrottle
from ..auth.tokens import Keyring, customer_id_for, issue_token, known_browser, new_browser_id, sign_browser
from ..core.availability import Availability
from ..core.licenses import Licenses
from ..core.store import Store
from ..protocol.common import now_rfc3339, rfc3339_to_ms
from ..web.responses import identity_cookies
from .models import ChatSummary, SiteConfig
from .visitors import LATEST_CHATS, Arrival, Browser, VisitorView, is_unread, site_fields

_encode = msgspec.json.encode


def identity_hash(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


class LocalVisitors:
    """This server's visitors: identities derived from the signed browser identity (or a site's verified
    ``user_id``), customers and chats in the store, groups' availability (business hours and agents)."""

    online_cache_seconds = 1.0

    def __init__(self, keyring: Keyring, licenses: Licenses, store: Store, availability: Availability,
                 token_ttl: int, new_visitors: AddressThrottle | None = None) -> None:
        self._keyring = keyring
        self._new_visitors = new_visitors or AddressThrottle(0, "new visitors")
        self._licenses = licenses
        self._store = store
        self._availability = availability
        self._ttl = token_ttl

    @property
    def _signer(self) -> Signer:
        return self._keyring.signer

    async def arrive(self, browser: Browser, org: str, group: int, site: SiteConfig,
                     stored_cst: str | None, identity_site: str = "") -> Arrival:
        """From the identity cookie (or the stored ``cst``, else new), or the site's verified ``user_id``; the site's
        customer data is stored with them."""
        signer, secret = self._signer, self._keyring.secret
        identity_error = None
        browser_id = known_browser(signer, browser.cookies, stored_cst)
        if browser_id is None:  # a new visitor makes a customer record: a budget per address (``too_many_requests``)
            self._new_visitors.take(browser.client.ip)
            browser_id = new_browser_id()
        # (the same scope as the accounts endpoint's cookie grant, so the loader and the JS SDK on one page agree)
        cid = customer_id_for(secret, org, browser_id, f"*\0{identity_site}" if identity_site else "*")
        if site.user_id:
            expected = identity_hash(await self._licenses.identity_secret(org), site.user_id)
            if site.user_hash and hmac.compare_digest(expected, site.user_hash.lower()):
                cid = customer_id_for(secret, org, "user\0" + site.user_id, "*")
            else:
                identity_error = "user_hash does not match user_id: the visitor stays anonymous"
        fields = {k: v if isinstance(v, str) else _encode(v).decode() for k, v in site_fields(site).items()}
        if site.user_id and identity_error is None:
            fields["user_id"] = site.user_id
        # the record (made if new, the site's fields set), the ban and the latest chats: one call on the customer's slot
        until, chat_ids = await self._store.customer_visit(cid, org, now_rfc3339(), fields, LATEST_CHATS)
        refuse_banned(until)
        signed = sign_browser(signer, browser_id)
        return Arrival(customer_id=cid, token=issue_token(signer, org, cid, self._ttl, group), cst=signed,
                       cookies=identity_cookies(browser.secure, browser_id, signed),
                       active_chat=await self._has_active_chat(chat_ids), identity_error=identity_error)

    async def _has_active_chat(self, chat_ids: list[str]) -> bool:
        if not chat_ids:
            return False
        return any(chat.get("active_thread") for chat in await self._store.chats(chat_ids) if chat)

    def renewed(self, claims: AccessToken, group: int) -> str | None:
        if claims.exp - time.time() < self._ttl / 2:
            return issue_token(self._signer, claims.org, claims.cid, self._ttl, group)
        return None

    async def view(self, browser: Browser, org: str, claims: AccessToken, credential: str) -> VisitorView:
        rec, chat_ids = await self._store.customer_with_chat_ids(claims.cid, LATEST_CHATS)
        rec = rec or {}
        refuse_banned(int(rec.get("banned_until") or 0))
        chats = []
        for chat in await self._store.chats(chat_ids) if chat_ids else []:
            if chat:
                seen = chat.get(f"seen:{claims.cid}")
                unread = is_unread(int(chat.get("last_event_ms") or 0), rfc3339_to_ms(seen) if seen else None)
                chats.append(ChatSummary(chat["id"], bool(chat.get("active_thread")), unread))
        return VisitorView({"id": claims.cid, **{k: rec[k] for k in ("name", "email") if rec.get(k)}}, chats)

    async def group_online(self, org: str, group: int) -> bool:
        return bool(await self._availability.online_groups(org, [group]))
