"""Which customer an upstream access token belongs to.

The edge cannot verify the upstream's tokens (they are signed with the upstream's key, or opaque), and for the Chat
API it need not: it passes them on and the upstream decides. Visitor tracking stays on the edge, though, and it is
keyed by customer id. So the edge remembers what the upstream said when it handed a token out (the token endpoint's
``entity_id``) or accepted one (the RTM login's ``customer.id``): token -> organization, customer and expiry, in
Valkey under the token's SHA-256 with the token's lifetime as TTL. A token the edge never saw costs one question to
the upstream (``get_customer`` with that token), and is remembered from then on.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import msgspec

from .. import keys
from ..auth.signing import AccessToken
from ..core.interface import Caller
from ..protocol.customer import Empty
from ..protocol.errors import ApiError
from .client import Upstream

_encode = msgspec.json.encode
_claims_decoder = msgspec.json.Decoder(AccessToken)


class _CustomerId(msgspec.Struct):
    id: str


_customer_decoder = msgspec.json.Decoder(_CustomerId)


def bare(value: str | None) -> str:
    """The token of a credential (``Bearer dal:…`` or just the token)."""
    token = (value or "").removeprefix("Bearer ").strip()
    if not token:
        raise ApiError("authentication", "Missing access token")
    return token


def _key(token: str) -> str:
    return keys.upstream_token(hashlib.sha256(token.encode()).hexdigest())


class TokenDirectory:
    def __init__(self, valkey: Any, upstream: Upstream, default_ttl: int) -> None:
        self._r = valkey
        self._upstream = upstream
        self._default_ttl = default_ttl
        """How long a token learned without its lifetime (from a login) is remembered: the longest a token lives."""

    async def remember(self, credential: str, org: str, customer_id: str, ttl: int | None = None) -> AccessToken:
        ttl = max(1, min(ttl or self._default_ttl, self._default_ttl))
        claims = AccessToken(org=org, cid=customer_id, exp=int(time.time()) + ttl)
        await self._r.set(_key(bare(credential)), _encode(claims), ex=ttl)
        return claims

    async def claims(self, credential: str | None, org: str | None) -> AccessToken:
        """The token's organization and customer; ``authentication`` for a token neither known nor accepted by the
        upstream."""
        token = bare(credential)
        raw = await self._r.get(_key(token))
        if raw is not None:
            try:
                claims = _claims_decoder.decode(raw)
            except msgspec.DecodeError:
                claims = None
            if claims is not None and not claims.expired():
                return claims
        if not org or len(token) > 4096:
            raise ApiError("authentication", "Invalid access token")
        caller = Caller(org=org, customer_id="", version="3.6", transport="web", base_url="",
                        credential=f"Bearer {token}")
        try:
            customer = _customer_decoder.decode(await self._upstream.action("get_customer", caller, Empty()))
        except ApiError as exc:
            if exc.type in ("authentication", "authorization", "license_not_found", "validation"):
                raise ApiError("authentication", "Invalid access token") from None
            raise
        except msgspec.ValidationError:
            raise ApiError("internal", "The chat service's customer has no id") from None
        return await self.remember(token, org, customer.id)
