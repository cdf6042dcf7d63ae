"""The built widget files held in memory (plain, gzip, brotli), picked by ``Accept-Encoding``, with ETag/304.

Hashed files never change, so they are served ``immutable`` for a year; the loader keeps its fixed URL (the one in
every site's snippet) with a short max-age, so a new build reaches pages within minutes. A static files router would
read the disk and compress nothing (``STACK-NOTES.md`` §7); these files are few and small.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .build import DIST_DIR, Manifest, read_manifest

_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".svg": "image/svg+xml",
          ".json": "application/json"}
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class Asset:
    """One file in its encodings; a variant is kept only when it is smaller than the plain body."""

    body: bytes
    media_type: str
    digest: str
    gzip: bytes | None = None
    br: bytes | None = None

    def variant(self, accept_encoding: str | None) -> tuple[bytes, str | None, str]:
        """(body, Content-Encoding, ETag) for a request's ``Accept-Encoding``: brotli, then gzip, then plain."""
        encoding = negotiate_encoding(accept_encoding, br=self.br is not None, gzip=self.gzip is not None)
        if encoding == "br":
            return self.br, "br", f'"{self.digest}-br"'  # type: ignore[return-value]
        if encoding == "gzip":
            return self.gzip, "gzip", f'"{self.digest}-gz"'  # type: ignore[return-value]
        return self.body, None, f'"{self.digest}"'


def quality_items(header: str | None, limit: int = 32) -> list[tuple[str, float]]:
    """The items of an ``Accept-*`` header with their q-values (RFC 9110 §12.4.2), in the header's order; a
    malformed q counts as 0 (refused)."""
    items: list[tuple[str, float]] = []
    for item in (header or "").split(",")[:limit]:
        name, _, params = item.strip().partition(";")
        name = name.strip().lower()
        if not name:
            continue
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        items.append((name, q))
    return items


def negotiate_encoding(header: str | None, *, br: bool = True, gzip: bool = True) -> str | None:
    """The best of the encodings we have that the client accepts (``q=0`` refuses; ``*`` accepts any)."""
    accepted = dict(quality_items(header))
    star = accepted.get("*", 0.0)
    for name, available in (("br", br), ("gzip", gzip)):
        if available and accepted.get(name, star) > 0:
            return name
    return None


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    return any(tag.strip().removeprefix("W/") in (etag, "*") for tag in if_none_match.split(","))


def make_asset(body: bytes, media_type: str, gz: bytes | None = None, br: bytes | None = None) -> Asset:
    digest = hashlib.sha256(body).hexdigest()[:20]
    return Asset(body, media_type, digest, gz if gz is not None and len(gz) < len(body) else None,
                 br if br is not None and len(br) < len(body) else None)


def compress(body: bytes, media_type: str) -> Asset:
    """An asset made at runtime (a rendered page): gzip and brotli of it, once."""
    import gzip

    import brotli

    return make_asset(body, media_type, gzip.compress(body, compresslevel=9, mtime=0),
                      brotli.compress(body, quality=11, mode=brotli.MODE_TEXT))


class WidgetAssets:
    """The current build: logical name (``widget.js``) → hashed file name, and every served file in memory."""

    def __init__(self, manifest: Manifest, files: dict[str, Asset]) -> None:
        self.manifest = manifest
        self.files = files
        self.names = {logical: built.file for logical, built in manifest.files.items()}

    @classmethod
    def load(cls, dist: Path = DIST_DIR) -> WidgetAssets | None:
        manifest = read_manifest(dist)
        if manifest is None:
            return None
        files: dict[str, Asset] = {}
        for name in [f.file for f in manifest.files.values()] + manifest.previous:
            path = dist / name
            if not path.exists():
                continue
            media_type = _TYPES.get(path.suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
            gz, br = dist / f"{name}.gz", dist / f"{name}.br"
            files[name] = make_asset(path.read_bytes(), media_type, gz.read_bytes() if gz.exists() else None,
                                     br.read_bytes() if br.exists() else None)
        return cls(manifest, files)

    def url(self, logical: str) -> str:
        return f"/widget/assets/{self.names[logical]}"

    def by_logical(self, logical: str) -> Asset:
        return self.files[self.names[logical]]

    def get(self, hashed: str) -> Asset | None:
        return self.files.get(hashed)


def serve_headers(asset: Asset, request_headers: Any, cache_control: str,
                  extra: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    """(status, body, headers) for serving ``asset``: a variant by ``Accept-Encoding``, 304 on a matching ETag."""
    body, encoding, etag = asset.variant(request_headers.get("accept-encoding"))
    headers = {"ETag": etag, "Cache-Control": cache_control, "Vary": "Accept-Encoding",
               "X-Content-Type-Options": "nosniff", **(extra or {})}
    if etag_matches(request_headers.get("if-none-match"), etag):
        return 304, b"", headers
    if encoding:
        headers["Content-Encoding"] = encoding
    return 200, body, headers
