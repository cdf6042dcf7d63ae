"""The visitor side of the widget: who a page's visitor is (identity, access token, identity cookies), what the frame
shows of them (their record and latest chats), and whether a group has agents. Behind one interface, ``Visitors``,
with two implementations: ``local_visitors.LocalVisitors`` (this server's identities, customers and agents) and
``upstream.visitors.UpstreamVisitors`` (proxy mode: the upstream's). ``Services`` picks one; the widget's domain
(``service.py``) never asks which."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from litestar.datastructures import Cookie

from ..auth.signing import AccessToken
from ..tracking.models import ClientInfo
from ..web.client import client_of
from ..web.request import all_cookies, base_url, is_secure
from .models import ChatSummary, SiteConfig

LATEST_CHATS = 20
"""How many of a customer's latest chats the widget looks at (an active one opens the widget; unread ones badge it)."""

class Browser:
    """What the visitor side reads of the browser's request, each part read when first asked: a visitor's page view
    and this server's frame configuration read none of it but the origin, and the frame configuration is asked for
    on every open chat."""

    __slots__ = ("_request", "_trusted_proxy_headers", "_public_url", "_cookies", "_client")

    def __init__(self, request: Any, trusted_proxy_headers: bool, public_url: str) -> None:
        self._request = request
        self._trusted_proxy_headers = trusted_proxy_headers
        self._public_url = public_url
        self._cookies: dict[str, str] | None = None
        self._client: ClientInfo | None = None

    @property
    def cookies(self) -> dict[str, str]:
        if self._cookies is None:
            self._cookies = all_cookies(self._request)
        return self._cookies

    @property
    def origin(self) -> str | None:
        return self._request.headers.get("origin")

    @property
    def own_hosts(self) -> set[str]:
        """The host names this server answers as (the request's ``Host``, the public URL's)."""
        hosts = {self._request.headers.get("host", "")}
        if self._public_url:
            hosts.add(urlsplit(self._public_url).netloc)
        return hosts - {""}

    @property
    def client(self) -> ClientInfo:
        if self._client is None:
            self._client = client_of(self._request, self._trusted_proxy_headers)
        return self._client

    @property
    def base_url(self) -> str:
        return base_url(self._request, self._public_url)

    @property
    def secure(self) -> bool:
        """Reached over TLS (the identity cookies are then ``SameSite=None; Secure``)."""
        return is_secure(self._request)


@dataclass(slots=True)
class Arrival:
    """A page load's visitor: their customer id, access token, the signed identity the loader keeps (``cst``), the
    cookies to set, whether they have an active chat, and why a site's ``user_id`` was not taken."""

    customer_id: str
    token: str
    cst: str
    cookies: list[Cookie] = field(default_factory=list)
    active_chat: bool = False
    identity_error: str | None = None


@dataclass(slots=True)
class VisitorView:
    """What the chat frame shows of a visitor: their id, name and e-mail, and their latest chats."""

    customer: dict[str, str]
    chats: list[ChatSummary]


def is_unread(last_event_ms: int, seen_ms: int | None) -> bool:
    """A chat is unread by a user while its last event is later than what they have seen (nothing seen: any event)."""
    return last_event_ms > 0 and (seen_ms is None or seen_ms < last_event_ms)


def site_fields(site: SiteConfig) -> dict[str, object]:
    """The customer data a site gives in ``window.__ws`` (``customer`` and ``session_variables``), or in LiveChat's
    ``window.__lc`` (``visitor`` and ``params``; ours win where both are given)."""
    fields: dict[str, object] = {}
    customer = site.customer or site.visitor
    if customer and customer.name is not None:
        fields["name"] = customer.name
    if customer and customer.email is not None:
        fields["email"] = customer.email
    if site.session_variables is not None:
        fields["session_fields"] = [{k: v} for k, v in site.session_variables.items()]
    elif site.params is not None:
        fields["session_fields"] = [{p.name: _param_text(p.value)} for p in site.params]
    return fields


def _param_text(value: object) -> str:
    """A LiveChat session variable's value as the text a session field holds (a page may pass a number)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Visitors(Protocol):
    online_cache_seconds: float
    """How long a worker may reuse ``group_online``'s answer (every page view and heartbeat asks)."""

    async def arrive(self, browser: Browser, org: str, group: int, site: SiteConfig,
                     stored_cst: str | None, identity_site: str = "") -> Arrival:
        """A page load: the visitor's identity and token; ``customer_banned`` for a banned visitor. ``identity_site``
        is the site the browser's identity is kept for (``auth.rules.identity_site``; ``""``: the whole license)."""
        ...

    def renewed(self, claims: AccessToken, group: int) -> str | None:
        """A new token for a visitor whose token is past half its life, or None (kept as it is)."""
        ...

    async def view(self, browser: Browser, org: str, claims: AccessToken, credential: str) -> VisitorView:
        """The visitor as the frame shows them; ``customer_banned`` for a banned visitor."""
        ...

    async def group_online(self, org: str, group: int) -> bool:
        ...
