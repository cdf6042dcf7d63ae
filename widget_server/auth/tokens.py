"""The token kinds and identities the server hands out and checks: customer access tokens (``dal:…``, signed claims),
the browser identity behind the ``__lc_*`` cookies, customer ids derived from it, and agents' credentials (a personal
access token, ``Bearer`` or ``Basic``, or a bot token). Owner sessions are ``sessions.py``'s, signed by the same
``Signer``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
import weakref
from typing import Protocol

from ..protocol.errors import ApiError
from .signing import AccessToken, Signer

TOKEN_PREFIX = "dal:"
COOKIE_ID = "__lc_cid"
COOKIE_SIG = "__lc_cst"
COOKIE_MAX_AGE = 2 * 365 * 24 * 3600


class Keyring:
    """The worker's signing key: one ``Signer`` everyone holds from the start, keyed when the worker starts (the
    secret may have to be read from Valkey), and the secret customer ids are derived with."""

    def __init__(self) -> None:
        self.signer = Signer()
        self.secret = b""

    def load(self, secret: bytes) -> None:
        self.secret = secret
        self.signer.rekey(secret)


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


class CustomerTokens(Protocol):
    """Which customer a credential is: this server's signed tokens (``SignedTokens``), or in proxy mode what the edge
    learned of the upstream's tokens (``upstream.tokens.TokenDirectory``)."""

    async def claims(self, credential: str | None, org: str | None) -> AccessToken: ...


class SignedTokens:
    """This server's own customer tokens: the claims are in the signed token."""

    def __init__(self, signer: Signer) -> None:
        self._signer = signer

    async def claims(self, credential: str | None, org: str | None) -> AccessToken:
        return verify_token(self._signer, credential)


def customer_id_for(secret: bytes, org: str, browser_id: str, scope: str) -> str:
    """The customer of a browser identity in a license (and group scope): stable, unguessable, no storage."""
    digest = hmac.new(secret, f"cid\0{org}\0{scope}\0{browser_id}".encode(), hashlib.sha256).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def sign_browser(signer: Signer, browser_id: str) -> str:
    """The signed browser identity: the ``__lc_cst`` cookie, and what the loader keeps in the host page's storage."""
    return signer.sign("cst", browser_id)


def known_browser(signer: Signer, cookies: dict[str, str], stored: str | None = None) -> str | None:
    """The browser's identity from the signed cookie pair, else from ``stored`` (the signed value the loader keeps
    in the host page's storage, for browsers that block cookies in third-party context); None for a new browser."""
    browser_id = signer.unsign("cst", cookies.get(COOKIE_SIG, ""), str)
    if browser_id is not None and browser_id == cookies.get(COOKIE_ID):
        return browser_id
    if stored:
        browser_id = signer.unsign("cst", stored, str)
        if browser_id is not None:
            return browser_id
    return None


def new_browser_id() -> str:
    return str(uuid.uuid4())


def browser_identity(signer: Signer, cookies: dict[str, str], stored: str | None = None) -> str:
    """The browser's identity (``known_browser``), or a new one."""
    return known_browser(signer, cookies, stored) or new_browser_id()


def agent_credential(authorization: str | None) -> str | None:
    """The token of an ``Authorization`` value: ``Bearer <token>``, or the password of ``Basic`` (LiveChat's
    ``account_id:PAT``)."""
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
