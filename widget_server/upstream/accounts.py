"""The upstream's accounts API as the edge uses it: grants forwarded with the browser's identity cookies, the
upstream's answers (and cookies) relayed, and which customer each token it hands out is (``tokens.py``).

Customer identity is the upstream's: its tokens, its ``__lc_*`` identity cookies (relayed to the browser as they come,
and sent back with the next grant), its customer ids."""

from __future__ import annotations

import contextlib
import time
from email.utils import parsedate_to_datetime
from http.cookies import CookieError, SimpleCookie
from typing import Any

import httpx
import msgspec
from litestar.datastructures import Cookie

from ..protocol.accounts import TokenError, TokenResponse
from ..protocol.errors import ApiError
from ..tracking.models import ClientInfo
from .client import Upstream
from .tokens import TokenDirectory

IDENTITY_COOKIE_PREFIX = "__lc"
"""The upstream's identity cookies (LiveChat's ``__lc_cid`` / ``__lc_cst``, and ours): the only cookies of this host
sent on to the upstream, so the edge's own (wizard sessions) never leave it."""

_encode = msgspec.json.encode
_token_response = msgspec.json.Decoder(TokenResponse)
_token_error = msgspec.json.Decoder(TokenError)


def identity_cookies_in(cookies: dict[str, str]) -> dict[str, str]:
    """Of a request's cookies, the identity cookies the upstream set."""
    return {k: v for k, v in cookies.items() if k.startswith(IDENTITY_COOKIE_PREFIX)}


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


def client_headers(client: ClientInfo, origin: str | None) -> dict[str, str]:
    """The browser's origin, user agent and address, for the upstream's own checks."""
    headers = {"x-forwarded-for": client.ip} if client.ip else {}
    if client.user_agent:
        headers["user-agent"] = client.user_agent
    if origin:
        headers["origin"] = origin
    return headers


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


class UpstreamAccounts:
    def __init__(self, upstream: Upstream, tokens: TokenDirectory) -> None:
        self._upstream = upstream
        self.tokens = tokens

    async def request(self, path: str, grant: Any, headers: dict[str, str]) -> httpx.Response:
        """POST a grant to the upstream's token endpoint; ``ApiError('service_unavailable')`` when it cannot be
        reached."""
        headers = {**headers, "content-type": "application/json"}
        return await self._upstream.send("POST", self._upstream.accounts_url + path, content=_encode(grant),
                                         headers=headers)

    async def remember(self, response: httpx.Response, org: str | None) -> TokenResponse | None:
        """The token answer's token and customer, remembered for tracking; None when it is not one."""
        if not response.is_success:
            return None
        try:
            body = _token_response.decode(response.content)
        except msgspec.DecodeError:
            return None
        org = body.organization_id or org
        if org:
            await self.tokens.remember(body.access_token, org, body.entity_id, body.expires_in)
        return body
