"""LiveChat's accounts token endpoint: ``POST /v2/customer/token`` with the cookie grant (the browser's identity
cookies) or the agent-token grant (an agent's token names the customer). The tokens and rules are ``auth/``'s. In
proxy mode ``forward_customer_token`` is routed instead: the upstream's accounts API answers (``upstream/``)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import msgspec
from litestar import Request, Response, post
from litestar.params import FromPath

from ..auth.access import Access
from ..auth.rules import origin_of
from ..auth.tokens import Keyring, customer_id_for, issue_token, known_browser, new_browser_id, sign_browser
from ..core.licenses import is_license_number
from ..core.store import Store
from ..protocol.accounts import TokenError, TokenRequest, TokenResponse
from ..protocol.common import now_rfc3339
from ..protocol.errors import ApiError
from ..services import Injected, Services
from ..settings import Settings
from ..upstream.accounts import client_headers, cookie_header, identity_cookies_in, relayed_cookies
from ..web.client import client_of
from ..web.request import all_cookies, is_secure, read_body
from ..web.responses import identity_cookies


class OAuthError(Exception):
    """An accounts-endpoint error; the JS customer SDK reads the code from ``oauth_exception``."""

    def __init__(self, code: str, details: str, status: int = 400) -> None:
        super().__init__(details)
        self.code, self.details, self.status = code, details, status

    def response(self) -> Response[bytes]:
        body = TokenError(oauth_exception=self.code, exception_details=self.details)
        return Response(msgspec.json.encode(body), status_code=self.status, media_type="application/json")


_token_request = msgspec.json.Decoder(TokenRequest)


def parse_token_body(raw: bytes, content_type: str) -> TokenRequest:
    """JSON whatever the Content-Type (the JS SDK posts JSON as text/plain), or a urlencoded form."""
    raw = raw.strip()
    try:
        if raw.startswith(b"{") or "json" in content_type:
            raw.decode("utf-8")
            return _token_request.decode(raw)
        return msgspec.convert(dict(parse_qsl(raw.decode("utf-8", "strict"))), TokenRequest, strict=False)
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError, RecursionError) as exc:
        raise OAuthError("invalid_request", str(exc) or "malformed body") from None


@post(["/v2/customer/token", "/v2/customer/{scope_org:str}/{scope_group:int}/token"], status_code=200,
      include_in_schema=True, summary="Customer access token (LiveChat accounts API)")
async def customer_token(request: Request[Any, Any, Any], access: Injected[Access], keyring: Injected[Keyring],
                         store: Injected[Store], settings: Injected[Settings], scope_org: FromPath[str | None] = None,
                         scope_group: FromPath[int | None] = None) -> Response[bytes]:
    try:
        req = parse_token_body(await read_body(request, settings.web_max_body_bytes),
                               request.headers.get("content-type", ""))
        org = scope_org or req.organization_id or (str(req.license_id) if req.license_id is not None else None)
        if not org:
            raise OAuthError("invalid_request", "organization_id is required")
        if is_license_number(org):  # LiveChat's numeric license id
            org = await access.licenses.by_number(org) or org
        if not await access.licenses.exists(org):
            raise OAuthError("invalid_request", "license not found", 404)
        origin = request.headers.get("origin") or origin_of(req.redirect_uri)
        try:
            await access.origin(org, origin)
        except ApiError as exc:
            raise OAuthError("access_denied", exc.message, 403) from None
        group = scope_group or 0
        scope = f"g{scope_group}" if scope_group is not None else "*"
        ttl = settings.token_ttl
        signer = keyring.signer
        if req.grant_type == "cookie":
            browser_id = known_browser(signer, all_cookies(request))
            if browser_id is None:
                # a new identity makes a customer record: a budget per address, refused as the app's rate limiter
                # refuses this route (``too_many_requests``)
                access.new_visitors.take(client_of(request, settings.trusted_proxy_headers).ip)
                browser_id = new_browser_id()
            # the visitor's identity on the site that asks (auth.rules.identity_site): another site gets another one
            site = await access.identity_site(org, request.headers.get("origin"), own_hosts(request, settings),
                                              req.redirect_uri)
            cid = customer_id_for(keyring.secret, org, browser_id, f"{scope}\0{site}" if site else scope)
            await store.ensure_customer(cid, org, now_rfc3339())
            try:
                await access.not_banned(cid)
            except ApiError:
                return Response(msgspec.json.encode(TokenError(identity_exception="customer_banned")),
                                status_code=403, media_type="application/json")
            body = TokenResponse(access_token=issue_token(signer, org, cid, ttl, group), entity_id=cid,
                                 expires_in=ttl, token_type="Bearer", organization_id=org)
            return Response(msgspec.json.encode(body), media_type="application/json",
                            cookies=identity_cookies(is_secure(request), browser_id, sign_browser(signer, browser_id)))
        if req.grant_type == "agent_token":
            try:
                agent_org, agent = await access.agent(request.headers.get("authorization"))
            except ApiError:
                agent_org, agent = "", {}
            if agent_org != org:
                raise OAuthError("unauthorized_client", "a valid agent token for this license is required", 401)
            if req.entity_id:
                customer = await store.customer(req.entity_id)
                if customer is None or customer.get("org") != org:
                    raise OAuthError("invalid_request", "entity_id: no such customer in this license")
                try:  # the token would read every chat of the customer: only for an agent who may read them all
                    await access.agent_acts_as_customer(org, agent, req.entity_id)
                except ApiError as exc:
                    raise OAuthError("access_denied", exc.message, 403) from None
                cid = req.entity_id
            else:
                cid = str(uuid.uuid4())
                await store.ensure_customer(cid, org, now_rfc3339())
            body = TokenResponse(access_token=issue_token(signer, org, cid, ttl, group), entity_id=cid,
                                 expires_in=ttl, token_type="Bearer", organization_id=org, client_id=req.client_id)
            return Response(msgspec.json.encode(body), media_type="application/json")
        raise OAuthError("unsupported_grant_type", f"grant_type {req.grant_type!r} is not supported")
    except OAuthError as exc:
        return exc.response()


def own_hosts(request: Request[Any, Any, Any], settings: Settings) -> set[str]:
    """The host names this server answers as (the request's ``Host``, the public URL's): an ``Origin`` of one of
    them is this server's own page (the chat frame)."""
    hosts = {request.headers.get("host", "")}
    if settings.public_url:
        hosts.add(urlsplit(settings.public_url).netloc)
    return hosts - {""}


_json = msgspec.json.Decoder(msgspec.Raw)


@post(["/v2/customer/token", "/v2/customer/{scope_org:str}/{scope_group:int}/token"], status_code=200,
      summary="Customer access token (forwarded to the upstream's accounts API)")
async def forward_customer_token(request: Request[Any, Any, Any], services: Injected[Services],
                                 scope_org: FromPath[str | None] = None,
                                 scope_group: FromPath[int | None] = None) -> Response[bytes]:
    """Proxy mode: the grant is validated here, re-encoded and sent on with the browser's identity cookies (and an
    agent's ``Authorization`` for the agent-token grant); the answer comes back as it is, cookies included."""
    accounts = services.accounts
    assert accounts is not None  # (routed only in proxy mode)
    try:
        grant = parse_token_body(await request.body(), request.headers.get("content-type", ""))
    except OAuthError as exc:
        return exc.response()
    path = "/v2/customer/token"
    if scope_org is not None:
        path = f"/v2/customer/{quote(scope_org, safe='')}/{scope_group}/token"
    origin = request.headers.get("origin")
    if origin and urlsplit(origin).netloc in own_hosts(request, services.settings):
        # the chat frame, on this edge's origin, asks for the page it is on: the upstream keys identities by the
        # requesting site (auth.rules.identity_site), and that site is the page's
        origin = origin_of(grant.redirect_uri) or origin
    headers = client_headers(client_of(request, services.settings.trusted_proxy_headers), origin)
    if cookies := identity_cookies_in(all_cookies(request)):
        headers["cookie"] = cookie_header(cookies)
    if authorization := request.headers.get("authorization"):
        headers["authorization"] = authorization
    try:
        r = await accounts.request(path, grant, headers)
        _json.decode(r.content)  # a gateway's error page is not an answer to relay
    except (ApiError, msgspec.DecodeError):
        # the JS customer SDK retries on this code
        return OAuthError("temporarily_unavailable", "The accounts service is unavailable; try again", 503).response()
    org = scope_org or grant.organization_id or (str(grant.license_id) if grant.license_id is not None else None)
    await accounts.remember(r, org)
    return Response(r.content, status_code=r.status_code, media_type="application/json",
                    cookies=relayed_cookies(r), headers={"Cache-Control": "no-store"})
