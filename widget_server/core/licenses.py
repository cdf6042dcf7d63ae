"""Licenses: whether one exists, its secret for identity verification, and the agent a personal access token names.

What the auth rules (``auth/``) and the widget ask of a license, in one place; nothing else reads these keys."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from .. import keys

MAX_ORG_LENGTH = 64


class Licenses:
    def __init__(self, valkey: Any) -> None:
        self._r = valkey
        self._known: set[str] = set()

    async def exists(self, org: str) -> bool:
        """Licenses are never deleted while a worker runs, so a positive answer is kept for the worker's life."""
        if org in self._known:
            return True
        if len(org) > MAX_ORG_LENGTH or not await self._r.exists(keys.license(org)):
            return False
        self._known.add(org)
        return True

    async def identity_secret(self, org: str) -> str:
        """The license's secret for identity verification (``user_hash`` = HMAC-SHA256 of ``user_id`` with it), made
        on first use."""
        key = keys.license(org)
        secret = await self._r.hget(key, "identity_secret")
        if secret is None:
            await self._r.hsetnx(key, "identity_secret", secrets.token_hex(32))
            secret = await self._r.hget(key, "identity_secret")
        return secret.decode()

    async def agent_for_token(self, token: str | None) -> dict[str, str] | None:
        """``{"org", "agent_id"}`` of a personal access token (kept under its SHA-256), or None."""
        if not token:
            return None
        raw = await self._r.hgetall(keys.agent_token(hashlib.sha256(token.encode()).hexdigest()))
        return {k.decode(): v.decode() for k, v in raw.items()} or None

    async def load_secret(self, configured: str) -> bytes:
        """The server's signing key: derived from ``WIDGET_SECRET``, else from the one generated on the first start of
        any worker and kept in Valkey (the first writer wins, so every worker and host derives the same key)."""
        if configured:
            secret = configured.encode()
        else:
            await self._r.set(keys.SECRET, secrets.token_hex(32), nx=True)
            secret = await self._r.get(keys.SECRET)
        return hashlib.sha256(b"widget_server\0" + secret).digest()
