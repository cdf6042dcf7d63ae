"""Agent avatars uploaded in the wizard: checked to be a PNG, JPEG, WebP or GIF image by their bytes (never by the
name or the type the browser claims), kept in Valkey under the license, named by their content's digest, and served
from ``/widget/avatars/<org>/<name>`` on the server's own origin (the chat frame's ``img-src 'self'`` allows it).

An upload is kept for a day (the preview shows it before it is saved); saving settings that use it keeps it for good.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from .. import keys

MAX_BYTES = 512 * 1024
UNSAVED_TTL = 24 * 3600
URL_PREFIX = "/widget/avatars/"
NAME_RE = re.compile(r"^[0-9a-f]{32}\.(png|jpg|webp|gif)$")
MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}


class AvatarError(ValueError):
    pass


def image_kind(data: bytes) -> str | None:
    """The image format by its signature and first structure (not just a magic number), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        return "png"
    if data.startswith(b"\xff\xd8\xff") and len(data) > 4:
        return "jpg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:16] in (b"VP8 ", b"VP8L", b"VP8X"):
        return "webp"
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) > 13:
        return "gif"
    return None


def check(data: bytes) -> str:
    """The avatar's format; AvatarError with a message for the owner when it cannot be one."""
    if len(data) > MAX_BYTES:
        raise AvatarError(f"The image is {len(data) // 1024} KB; an avatar may be at most {MAX_BYTES // 1024} KB.")
    kind = image_kind(data)
    if kind is None:
        raise AvatarError("The file is not a PNG, JPEG, WebP or GIF image.")
    return kind


def name_in(org: str, url: str) -> str | None:
    """The stored avatar's name when ``url`` is one of this license's avatars."""
    prefix = f"{URL_PREFIX}{org}/"
    name = url[len(prefix):] if url.startswith(prefix) else ""
    return name if NAME_RE.match(name) else None


class Avatars:
    def __init__(self, valkey: Any) -> None:
        self._r = valkey

    async def store(self, org: str, data: bytes) -> str:
        """Keep an uploaded avatar (for a day unless ``keep`` is called); its URL path."""
        kind = check(data)
        name = f"{hashlib.sha256(data).hexdigest()[:32]}.{kind}"
        key = keys.avatar(org, name)
        if not await self._r.exists(key):  # the same image is already there (and may be kept for good)
            async with self._r.pipeline(transaction=False) as p:
                p.hset(key, mapping={"type": MEDIA_TYPES[kind], "body": data})
                p.expire(key, UNSAVED_TTL)
                await p.execute()
        return f"{URL_PREFIX}{org}/{name}"

    async def keep(self, org: str, url: str) -> bool:
        """Keep the avatar at ``url`` for good (its settings are being saved); False when it is gone (expired)."""
        name = name_in(org, url)
        if name is None:
            return True  # not ours to keep
        key = keys.avatar(org, name)
        async with self._r.pipeline(transaction=False) as p:
            p.exists(key)
            p.persist(key)
            exists, _ = await p.execute()
        return bool(exists)

    async def read(self, org: str, name: str) -> tuple[str, bytes] | None:
        """(media type, bytes) of a stored avatar, or None."""
        if len(org) > 64 or not NAME_RE.match(name):
            return None
        media_type, body = await self._r.hmget(keys.avatar(org, name), ["type", "body"])
        if media_type is None or body is None:
            return None
        return media_type.decode(), body
