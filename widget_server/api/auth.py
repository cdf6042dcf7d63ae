"""Customer authorization: LiveChat's accounts token endpoint (cookie and agent-token grants), access-token checks,
and the per-license origin rule shared by every transport."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
import weakref
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

import msgspec
from litestar import Request, Response, post
from litestar.params import FromPath

from .. import keys
from ..core.configuration import BotToken
from ..core.signing import AccessToken, Signer
from ..protocol.common import now_rfc3339
from ..protocol.errors import ApiError
from .state import AppState

TOKEN_PREFIX = "dal:"
COOKIE_ID = "__lc_cid"
COOKIE_SIG = "__lc_cst"
COOKIE_MAX_AGE = 2 * 365 * 24 * 3600


class TokenRequest(msgspec.Struct, omit_defaults=True):
    grant_type: Annotated[str, msgspec.Meta(max_length=64)]
    response_type: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    client_id: Annotated[str, msgspec.Meta(max_length=256)] | None = None
    organization_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    license_id: str | int | None = None
    redirect_uri: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    entity_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class TokenResponse(msgspec.Struct, omit_defaults=True):
    access_token: str
    entity_id: str
    expires_in: int
    token_type: str
    organization_id: str | None = None
    client_id: str | None = None


class OAuthError(Exception):
    """An accounts-endpoint error; the JS customer SDK reads the code from ``oauth_exception``."""

    def __init__(self, code: str, details: str, status: int = 400) -> None:
        super().__init__(details)
        self.code, self.details, self.status = code, details, status

    def response(self) -> Response[bytes]:
        body = {"oauth_exception": self.code, "exception_details": self.details}
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


def issue_token(signer: Signer, org: str, cid: str, ttl: int, group: int = 0) -> str:
    claims = AccessToken(org=org, cid=cid, exp=int(time.time()) + ttl, group=group)
    return TOKEN_PREFIX + signer.sign("token", claims)


VERIFIED_TOKENS = 50_000
"""Tokens whose signature a worker has checked, kept with their claims (a visitor's page views and heartbeats carry
the same token for its whole life; a signature check is ~15 µs). Expiry is still checked on every use."""
_verified: weakref.WeakKeyDictionary[Signer, dict[str, AccessToken]] = weakref.WeakKeyDictionary()


def verify_token(signer: Signer, value: str | None) -> AccessToken:
    """Claims of a ``Bearer dal:…`` credential; raises ApiError('authentication') when missing, forged or expired."""
    if not value:
        raise ApiError("authentication", "Missing access token")
    token = value.removeprefix("Bearer ").strip()
    region, sep, rest = token.partition(":")
    if sep and len(region) == 3:
        token = rest
    verified = _verified.get(signer)
    if verified is None:
        verified = _verified[signer] = {}
    claims = verified.get(token)
    if claims is None:
        claims = signer.unsign("token", token, AccessToken)
        if claims is None:
            raise ApiError("authentication", "Invalid access token")
        if len(verified) >= VERIFIED_TOKENS:
            verified.clear()
        verified[token] = claims
    if claims.expired():
        raise ApiError("authentication", "Access token expired")
    return claims


async def customer_claims(state: AppState, credential: str | None, org: str | None = None) -> AccessToken:
    """The customer behind a credential: ``verify_token``, or in proxy mode what the edge learned of the upstream's
    token (``upstream/tokens.py``; ``org`` lets it ask the upstream about a token it never saw)."""
    if state.tokens is None:
        return verify_token(state.signer, credential)
    return await state.tokens.claims(credential, org)


def customer_id_for(secret: bytes, org: str, browser_id: str, scope: str) -> str:
    """The customer of a browser identity in a license (and group scope): stable, unguessable, no storage."""
    digest = hmac.new(secret, f"cid\0{org}\0{scope}\0{browser_id}".encode(), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def origin_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


async def check_origin(state: AppState, org: str, origin: str | None) -> None:
    """A browser request from a site the license does not allow is refused. No Origin means not a browser and is
    allowed; ``Origin: null`` (sandboxed frames, data: and file: pages) is refused when the license lists origins."""
    if origin is None:
        return
    config = await state.store.license_config(org)
    if config.allowed_origins and origin not in config.allowed_origins:
        raise ApiError("authorization", f"Origin {origin} is not allowed for this license")


async def check_banned(state: AppState, customer_id: str) -> None:
    until = await state.valkey.hget(keys.customer(customer_id), "banned_until")
    if until is not None and int(until) > time.time():
        raise ApiError("customer_banned", "Customer is banned", {"until": int(until)})


async def authenticate_agent(state: AppState, authorization: str | None) -> tuple[str, dict[str, Any]]:
    """(organization id, agent record) of a personal access token sent as ``Bearer`` or ``Basic``, or of a bot
    token from ``issue_bot_token``."""
    token = _agent_credential(authorization) if authorization and " " in authorization else authorization
    if token and "." in token:
        claims = state.signer.unsign("bot", token, BotToken)
        if claims is None or claims.exp < time.time():
            raise ApiError("authentication", "Invalid or expired bot token")
        org, agent_id = claims.org, claims.bot
    else:
        link = await state.agent_for_token(token)
        if link is None:
            raise ApiError("authentication", "Invalid access token")
        org, agent_id = link["org"], link["agent_id"]
    agents = await state.store.agents(org, [agent_id])
    if agent_id not in agents:
        raise ApiError("authentication", "Invalid access token")
    return org, agents[agent_id]


async def require_license(state: AppState, org: str | None) -> str:
    if not org:
        raise ApiError("validation", "organization_id is required")
    if not await state.license_exists(org):
        raise ApiError("license_not_found", "License not found")
    return org


def all_cookies(request: Request[Any, Any, Any]) -> dict[str, str]:
    """Cookies from every ``cookie`` header field: HTTP/2 browsers send each cookie in a field of its own
    (RFC 9113 §8.2.3), while ``request.cookies`` reads only the first field."""
    cookies: dict[str, str] = {}
    for field in request.headers.getall("cookie", []):
        for pair in field.split(";"):
            name, sep, value = pair.strip().partition("=")
            if sep and name and name not in cookies:
                cookies[name] = value.strip().strip('"')
    return cookies


def _agent_credential(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value).decode().partition(":")[2] or None
        except (ValueError, UnicodeDecodeError):
            return None
    if scheme.lower() == "bearer":
        return value.strip() or None
    return None


def browser_identity(state: AppState, request: Request[Any, Any, Any], stored: str | None = None) -> str:
    """The browser's identity: from the signed cookie pair, else from ``stored`` (the signed value the loader keeps
    in the host page's storage, for browsers that block cookies in third-party context), else a new one."""
    cookies = all_cookies(request)
    browser_id = state.signer.unsign("cst", cookies.get(COOKIE_SIG, ""), str)
    if browser_id is not None and browser_id == cookies.get(COOKIE_ID):
        return browser_id
    if stored:
        browser_id = state.signer.unsign("cst", stored, str)
        if browser_id is not None:
            return browser_id
    return str(uuid.uuid4())


def set_identity_cookies(state: AppState, request: Request[Any, Any, Any], response: Response[Any],
                         browser_id: str) -> None:
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    same_site = "none" if secure else "lax"
    response.set_cookie(COOKIE_ID, browser_id, max_age=COOKIE_MAX_AGE, httponly=True, secure=secure,
                        samesite=same_site, path="/")
    response.set_cookie(COOKIE_SIG, state.signer.sign("cst", browser_id), max_age=COOKIE_MAX_AGE,
                        httponly=True, secure=secure, samesite=same_site, path="/")


@post(["/v2/customer/token", "/v2/customer/{scope_org:str}/{scope_group:int}/token"], status_code=200,
      include_in_schema=True, summary="Customer access token (LiveChat accounts API)")
async def customer_token(request: Request[Any, Any, Any], scope_org: FromPath[str | None] = None,
                         scope_group: FromPath[int | None] = None) -> Response[bytes]:
    state: AppState = request.app.state.ws
    try:
        req = parse_token_body(await request.body(), request.headers.get("content-type", ""))
        org = scope_org or req.organization_id or (str(req.license_id) if req.license_id is not None else None)
        if not org:
            raise OAuthError("invalid_request", "organization_id is required")
        if not await state.license_exists(org):
            raise OAuthError("invalid_request", "license not found", 404)
        origin = request.headers.get("origin") or origin_of(req.redirect_uri)
        try:
            await check_origin(state, org, origin)
        except ApiError as exc:
            raise OAuthError("access_denied", exc.message, 403) from None
        group = scope_group or 0
        scope = f"g{scope_group}" if scope_group is not None else "*"
        ttl = state.settings.token_ttl
        if req.grant_type == "cookie":
            browser_id = browser_identity(state, request)
            cid = customer_id_for(state.secret, org, browser_id, scope)
            await state.store.ensure_customer(cid, org, now_rfc3339())
            try:
                await check_banned(state, cid)
            except ApiError:
                return Response(msgspec.json.encode({"identity_exception": "customer_banned"}), status_code=403,
                                media_type="application/json")
            body = TokenResponse(access_token=issue_token(state.signer, org, cid, ttl, group), entity_id=cid,
                                 expires_in=ttl, token_type="Bearer", organization_id=org)
            response = Response(msgspec.json.encode(body), media_type="application/json")
            set_identity_cookies(state, request, response, browser_id)
            return response
        if req.grant_type == "agent_token":
            agent = await state.agent_for_token(_agent_credential(request.headers.get("authorization")))
            if agent is None or agent.get("org") != org:
                raise OAuthError("unauthorized_client", "a valid agent token for this license is required", 401)
            if req.entity_id:
                customer = await state.store.customer(req.entity_id)
                if customer is None or customer.get("org") != org:
                    raise OAuthError("invalid_request", "entity_id: no such customer in this license")
                cid = req.entity_id
            else:
                cid = str(uuid.uuid4())
                await state.store.ensure_customer(cid, org, now_rfc3339())
            body = TokenResponse(access_token=issue_token(state.signer, org, cid, ttl, group), entity_id=cid,
                                 expires_in=ttl, token_type="Bearer", organization_id=org, client_id=req.client_id)
            return Response(msgspec.json.encode(body), media_type="application/json")
        raise OAuthError("unsupported_grant_type", f"grant_type {req.grant_type!r} is not supported")
    except OAuthError as exc:
        return exc.response()
