"""Proxy mode's transports (``WIDGET_UPSTREAM_URL``; the core is ``upstream.UpstreamCore``): the customer token
endpoint forwarded to the upstream's accounts API, and the customer RTM socket, whose login opens this connection's
own websocket to the upstream. ``create_app`` routes these instead of ``auth.customer_token`` and
``customer_rtm.customer_rtm``; the Web actions go through ``customer_web`` unchanged.

Customer identity is the upstream's: its tokens, its ``__lc_*`` identity cookies (relayed to the browser as they come,
and sent back with the next grant), its customer ids. The edge keeps what it needs for its own visitor tracking: which
customer a token is (``upstream/tokens.py``), learned from the token and login answers it relays.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.cookies import CookieError, SimpleCookie
from typing import Any
from urllib.parse import quote

import httpx
import msgspec
from litestar import Request, Response, WebSocket, post
from litestar.datastructures import Cookie
from litestar.params import FromPath

from ..core.interface import Caller
from ..protocol import config as cfg
from ..protocol import customer as c
from ..protocol.accounts import TokenError, TokenRequest, TokenResponse
from ..protocol.common import rfc3339_to_ms
from ..protocol.errors import ApiError
from ..protocol.frames import RequestId
from ..services import Injected, Services
from ..settings import Settings
from ..web.client import client_of
from ..web.request import all_cookies, base_url
from .accounts import OAuthError, parse_token_body
from .customer_rtm import CustomerConnection

log = logging.getLogger("widget_server.edge")

IDENTITY_COOKIE_PREFIX = "__lc"
"""The upstream's identity cookies (LiveChat's ``__lc_cid`` / ``__lc_cst``, and ours): the only cookies of this host
sent on to the upstream, so the edge's own (wizard sessions) never leave it."""

_encode = msgspec.json.encode
_token_response = msgspec.json.Decoder(TokenResponse)
_json = msgspec.json.Decoder(msgspec.Raw)


# --- cookies and headers -----------------------------------------------------------------------------------------


def identity_cookies(request: Request[Any, Any, Any]) -> dict[str, str]:
    return {k: v for k, v in all_cookies(request).items() if k.startswith(IDENTITY_COOKIE_PREFIX)}


def cookie_header(cookies: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def relayed_cookies(response: httpx.Response) -> list[Cookie]:
    """The upstream's ``Set-Cookie`` headers as this host's cookies (any ``Domain`` dropped: the browser talks to the
    edge, and sends them back here)."""
    cookies = []
    for header in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(header)
        except CookieError:
            continue
        for name, morsel in jar.items():
            max_age = None
            with contextlib.suppress(ValueError, TypeError):
                if morsel["max-age"]:
                    max_age = int(morsel["max-age"])
                elif morsel["expires"]:
                    max_age = max(0, int(parsedate_to_datetime(morsel["expires"]).timestamp() - time.time()))
            same_site = (morsel["samesite"] or "lax").lower()
            cookies.append(Cookie(key=name, value=morsel.value, path=morsel["path"] or "/", max_age=max_age,
                                  secure=bool(morsel["secure"]), httponly=bool(morsel["httponly"]),
                                  samesite=same_site if same_site in ("lax", "strict", "none") else "lax"))
    return cookies


def client_headers(request: Request[Any, Any, Any] | WebSocket[Any, Any, Any], settings: Settings) -> dict[str, str]:
    """The browser's origin, user agent and address, for the upstream's own checks."""
    client = client_of(request, settings.trusted_proxy_headers)
    headers = {"x-forwarded-for": client.ip} if client.ip else {}
    if client.user_agent:
        headers["user-agent"] = client.user_agent
    if origin := request.headers.get("origin"):
        headers["origin"] = origin
    return headers


# --- the token endpoint ------------------------------------------------------------------------------------------


async def request_token(state: Services, path: str, grant: Any, headers: dict[str, str]) -> httpx.Response:
    """POST a grant to the upstream's token endpoint; ``ApiError('service_unavailable')`` when it cannot be reached."""
    headers = {**headers, "content-type": "application/json"}
    return await state.upstream.send("POST", state.upstream.accounts_url + path, content=_encode(grant),
                                     headers=headers)


async def remember_token(state: Services, response: httpx.Response, org: str | None) -> TokenResponse | None:
    """The token answer's token and customer, remembered for tracking; None when it is not one."""
    if not response.is_success:
        return None
    try:
        body = _token_response.decode(response.content)
    except msgspec.DecodeError:
        return None
    org = body.organization_id or org
    if org:
        await state.token_directory.remember(body.access_token, org, body.entity_id, body.expires_in)
    return body


_token_error = msgspec.json.Decoder(TokenError)


def token_refused(response: httpx.Response) -> ApiError:
    """The LiveChat error of a grant the upstream refused (the visit's answer, where the loader expects one)."""
    try:
        error = _token_error.decode(response.content)
    except msgspec.DecodeError:
        error = TokenError()
    if error.identity_exception == "customer_banned":
        return ApiError("customer_banned", "Customer is banned")
    details = error.exception_details or error.oauth_exception or error.identity_exception or "no details"
    if response.status_code >= 500 or error.oauth_exception in ("server_error", "temporarily_unavailable"):
        return ApiError("service_unavailable", f"The accounts service is unavailable: {details}")
    kind = {403: "authorization", 404: "license_not_found"}.get(response.status_code, "authentication")
    return ApiError(kind, f"The accounts service refused a token: {details}")  # type: ignore[arg-type]


@post(["/v2/customer/token", "/v2/customer/{scope_org:str}/{scope_group:int}/token"], status_code=200,
      summary="Customer access token (forwarded to the upstream's accounts API)")
async def forward_customer_token(request: Request[Any, Any, Any], services: Injected[Services],
                                 scope_org: FromPath[str | None] = None,
                                 scope_group: FromPath[int | None] = None) -> Response[bytes]:
    """The grant is validated here, re-encoded and sent on with the browser's identity cookies (and an agent's
    ``Authorization`` for the agent-token grant); the answer comes back as it is, cookies included."""
    state = services
    try:
        grant = parse_token_body(await request.body(), request.headers.get("content-type", ""))
    except OAuthError as exc:
        return exc.response()
    path = "/v2/customer/token"
    if scope_org is not None:
        path = f"/v2/customer/{quote(scope_org, safe='')}/{scope_group}/token"
    headers = client_headers(request, state.settings)
    if cookies := identity_cookies(request):
        headers["cookie"] = cookie_header(cookies)
    if authorization := request.headers.get("authorization"):
        headers["authorization"] = authorization
    try:
        r = await request_token(state, path, grant, headers)
        _json.decode(r.content)  # a gateway's error page is not an answer to relay
    except (ApiError, msgspec.DecodeError):
        # the JS customer SDK retries on this code
        return OAuthError("temporarily_unavailable", "The accounts service is unavailable; try again", 503).response()
    org = scope_org or grant.organization_id or (str(grant.license_id) if grant.license_id is not None else None)
    await remember_token(state, r, org)
    return Response(r.content, status_code=r.status_code, media_type="application/json",
                    cookies=relayed_cookies(r), headers={"Cache-Control": "no-store"})


# --- the widget's visitor (api/widget.py) -------------------------------------------------------------------------


@dataclass
class UpstreamVisitor:
    """A page's visitor as the upstream knows them: what ``/v1/widget/visit`` answers with in proxy mode."""

    customer_id: str
    token: str
    cst: str
    """The identity cookies, signed by the edge, for the loader to keep in the host page's storage: they stand in
    for the cookies when a browser blocks them in a third-party frame."""
    cookies: list[Cookie]
    active_chat: bool
    identity_error: str | None = None


def credential_caller(request: Request[Any, Any, Any], state: Services, org: str, token: str,
                      customer_id: str = "") -> Caller:
    """A Web caller with the customer's upstream token, for the edge's own calls on the customer's behalf."""
    return Caller(org=org, customer_id=customer_id, version="3.6", transport="web",
                  base_url=base_url(request, state.settings.public_url),
                  client=client_of(request, state.settings.trusted_proxy_headers),
                  credential=f"Bearer {token}", origin=request.headers.get("origin"))


async def upstream_visitor(request: Request[Any, Any, Any], state: Services, org: str, site: Any,
                           stored_cst: str | None) -> UpstreamVisitor:
    """The cookie grant on the upstream with the browser's identity cookies (or the ones the loader kept), the site's
    customer data (``window.__ws.customer`` and session variables) written to the upstream's customer, and whether
    the customer has an active chat there."""
    cookies = identity_cookies(request)
    if not cookies and stored_cst:
        cookies = state.signer.unsign("ucst", stored_cst, dict[str, str]) or {}
    headers = client_headers(request, state.settings)
    if cookies:
        headers["cookie"] = cookie_header(cookies)
    grant = TokenRequest(grant_type="cookie", response_type="token", client_id="widget_server", organization_id=org)
    r = await request_token(state, "/v2/customer/token", grant, headers)
    token = await remember_token(state, r, org)
    if token is None:
        raise token_refused(r)
    set_cookies = relayed_cookies(r)
    cookies.update({k.key: k.value or "" for k in set_cookies if k.key.startswith(IDENTITY_COOKIE_PREFIX)})
    cst = state.signer.sign("ucst", cookies) if cookies else ""
    caller = credential_caller(request, state, org, token.access_token, token.entity_id)
    fields: dict[str, Any] = {}
    if site.customer is not None:
        fields.update({k: v for k, v in (("name", site.customer.name), ("email", site.customer.email)) if v is not None})
    if site.session_variables is not None:
        fields["session_fields"] = [{k: v} for k, v in site.session_variables.items()]
    if fields:
        try:
            await state.upstream.action("update_customer", caller, msgspec.convert(fields, c.UpdateCustomerRequest))
        except (ApiError, msgspec.ValidationError) as exc:  # the visit goes on without them
            log.info("the site's customer data was not accepted: %s", exc)
    chats = await upstream_chats(state, caller)
    return UpstreamVisitor(
        customer_id=token.entity_id, token=token.access_token, cst=cst if len(cst) <= 512 else "",
        cookies=set_cookies, active_chat=any(chat.active for chat in chats),
        identity_error="user_id: identity verification is not available in upstream proxy mode"
        if site.user_id else None)


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


_chats_decoder = msgspec.json.Decoder(_Chats)


@dataclass
class UpstreamChat:
    id: str
    active: bool
    unread: bool


async def upstream_chats(state: Services, caller: Caller) -> list[UpstreamChat]:
    """The customer's latest chats on the upstream (``list_chats``): active, and unread by the customer."""
    raw = await state.upstream.action("list_chats", caller, c.ListChatsRequest(limit=20))
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
            unread = bool(last) and (not seen or rfc3339_to_ms(seen) < rfc3339_to_ms(last))
        chats.append(UpstreamChat(summary.id, summary.active, unread))
    return chats


async def upstream_customer(state: Services, caller: Caller) -> dict[str, str]:
    """The customer's id, name and e-mail on the upstream (``get_customer``)."""
    raw = await state.upstream.action("get_customer", caller, c.Empty())
    try:
        customer = _customer_decoder.decode(raw)
    except msgspec.DecodeError:
        log.warning("unexpected get_customer answer from the upstream: %.200r", bytes(raw))
        return {"id": caller.customer_id}
    return {"id": customer.id, **{k: v for k, v in (("name", customer.name), ("email", customer.email)) if v}}


class _Customer(msgspec.Struct):
    id: str
    name: str | None = None
    email: str | None = None


_customer_decoder = msgspec.json.Decoder(_Customer)
ONLINE_SECONDS = 5.0
"""How long a worker reuses the upstream's answer to "is this group online?" (every visit and heartbeat asks)."""
_online: dict[tuple[str, int], tuple[float, bool]] = {}


class _Dynamic(msgspec.Struct):
    online_group_ids: list[int] = []


class _Dynamic36(msgspec.Struct):
    livechat: _Dynamic


_dynamic_decoder = msgspec.json.Decoder(_Dynamic36)


async def group_online(state: Services, org: str, group: int) -> bool:
    """Whether the upstream has agents for the group (its dynamic configuration), remembered for a few seconds; an
    upstream that cannot say counts as offline."""
    now = time.monotonic()
    known = _online.get((org, group))
    if known is not None and now - known[0] < ONLINE_SECONDS:
        return known[1]
    caller = Caller(org=org, customer_id="", version="3.6", transport="web", base_url="")
    try:
        raw = await state.upstream.action("get_dynamic_configuration", caller,
                                          cfg.DynamicConfigRequest(organization_id=org, group_id=group))
        online = group in _dynamic_decoder.decode(raw).livechat.online_group_ids
    except (ApiError, msgspec.DecodeError):
        online = False
    if len(_online) > 10_000:
        _online.clear()
    _online[(org, group)] = (now, online)
    return online


# --- the RTM socket ----------------------------------------------------------------------------------------------


class _LoginCustomer(msgspec.Struct):
    id: str


class _Login(msgspec.Struct):
    customer: _LoginCustomer


_login_decoder = msgspec.json.Decoder(_Login)


class _Goodbye(msgspec.Struct):
    reason: str = ""


_goodbye_decoder = msgspec.json.Decoder(_Goodbye)


class UpstreamConnection(CustomerConnection):
    """A customer's socket in proxy mode. Its login opens a websocket of its own to the upstream (``UpstreamCore``),
    which decides on the token; the upstream's pushes on it come straight here, no bus involved. When the upstream
    goes away, the customer is told to reconnect (``customer_disconnected``, ``service_temporarily_unavailable``;
    close code 1012), and a login while it is away fails with ``service_unavailable``."""

    async def login(self, frame: Any, req: c.LoginRequest) -> None:
        q = self.socket.query_params
        org = q.get("organization_id") or q.get("license_id") or ""
        client = client_of(self.socket, self.services.settings.trusted_proxy_headers)
        caller = Caller(org=org, customer_id="", version=self.version,  # type: ignore[arg-type]
                        transport="rtm", base_url=base_url(self.socket, self.services.settings.public_url),
                        conn_id=self.conn_id, request_id=frame.request_id, group_id=req.group_id or 0, client=client,
                        credential=req.token, origin=self.socket.headers.get("origin"))
        core = self.core
        core.attach(self.conn_id, self)
        response = await core.login(caller, req)
        try:
            customer_id = _login_decoder.decode(response).customer.id
        except msgspec.DecodeError:
            await core.detach(self.conn_id)
            raise ApiError("internal", "The chat service's login answer names no customer") from None
        self.subscribe(req)
        caller.customer_id = customer_id
        self.caller, self.user_id = caller, customer_id
        self.respond(frame, response)
        core.release(self.conn_id)
        if org:
            try:
                await self.services.token_directory.remember(req.token, org, customer_id)  # type: ignore[union-attr]
            except Exception:  # tracking only: the chat goes on without it
                log.warning("could not remember the customer of a token", exc_info=True)

    def deliver(self, action: str, payload: msgspec.Raw, request_id: RequestId) -> None:
        if action == self.disconnect_action:  # the upstream's goodbye, even one sent instead of a login answer
            with contextlib.suppress(msgspec.DecodeError):
                if _goodbye_decoder.decode(payload).reason == "service_temporarily_unavailable":
                    self.restarting = True  # the upstream restarts: so does this socket (close code 1012)
            self._goodbye(payload)
            return
        super().deliver(action, payload, request_id)

    def upstream_lost(self) -> None:
        self.restarting = True  # close code 1012: reconnect
        self.disconnect("service_temporarily_unavailable")

    async def closed(self) -> None:
        await self.core.detach(self.conn_id)
