"""Licenses: whether one exists, its secret for identity verification, and the agent a personal access token names.

What the auth rules (``auth/``) and the widget ask of a license, in one place; nothing else reads these keys."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from .. import keys

MAX_ORG_LENGTH = 64
LICENSE_NUMBER_BASE = 10_000_000
"""Numeric license ids are drawn at random from [BASE, 10 * BASE): LiveChat's eight digits, and not sequential, so the
tenants of a server cannot be listed by counting up from one snippet's number."""
MAX_LICENSE_NUMBER_DIGITS = 12


def is_license_number(name: str) -> bool:
    """Whether a license named in a request is a numeric license id (organization ids are UUIDs)."""
    return name.isascii() and name.isdigit() and len(name) <= MAX_LICENSE_NUMBER_DIGITS


async def assign_license_number(r: Any, org: str) -> int:
    """The license's numeric id (LiveChat's ``license``), assigned on first call and the same ever after; idempotent,
    so creation, the migration, a restore and the wizard may all call it. A number is first reserved in the lookup
    (``HSETNX``: never another license's), then written into the license's own hash (``HSETNX``: of two racing
    callers the first number stays; the other's reservation also names this license, which is harmless). A number
    a restored license brought from another store that names another license here is replaced."""
    key = keys.license(org)
    raw = await r.hget(key, "license_id")
    if raw is not None:
        await r.hsetnx(keys.LICENSE_NUMBERS, raw, org)  # (a crash between the two writes left it out)
        if await r.hget(keys.LICENSE_NUMBERS, raw) == org.encode():
            return int(raw)
        await r.hdel(key, "license_id")
    while True:
        number = LICENSE_NUMBER_BASE + secrets.randbelow(9 * LICENSE_NUMBER_BASE)
        if await r.hsetnx(keys.LICENSE_NUMBERS, str(number), org):
            break
    await r.hsetnx(key, "license_id", number)
    return int(await r.hget(key, "license_id"))


class Licenses:
    def __init__(self, valkey: Any) -> None:
        self._r = valkey
        self._known: set[str] = set()
        self._numbers: dict[str, str] = {}

    async def exists(self, org: str) -> bool:
        """Licenses are never deleted while a worker runs, so a positive answer is kept for the worker's life."""
        if org in self._known:
            return True
        if len(org) > MAX_ORG_LENGTH or not await self._r.exists(keys.license(org)):
            return False
        self._known.add(org)
        return True

    async def by_number(self, number: str) -> str | None:
        """The organization id of a numeric license id, or None; kept for the worker's life (licenses and their
        numbers are never deleted while a worker runs)."""
        org = self._numbers.get(number)
        if org is None and is_license_number(number):
            raw = await self._r.hget(keys.LICENSE_NUMBERS, number)
            if raw is not None:
                org = self._numbers[number] = raw.decode()
        return org

    async def number(self, org: str) -> int:
        """The license's numeric id (``assign_license_number``)."""
        return await assign_license_number(self._r, org)

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
