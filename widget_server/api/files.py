"""Serving uploaded files back: ``GET /files/<org>/<file_id>/<name>``; in proxy mode, relayed from the upstream."""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import quote

from litestar import Request, Response, get
from litestar.params import FromPath
from litestar.response import Stream

from ..core.files import INLINE_TYPES
from ..core.store import Store
from ..protocol.errors import ApiError
from ..services import Injected, Services
from ..upstream.files import open_download
from ..web.client import client_of

_NOT_TOKEN_SAFE = re.compile(r'[^\x20-\x7e]|["\\%]')
"""What may not stand in the quoted ``filename="…"`` fallback: non-ASCII, control characters (CR/LF would end the
header), the quote and backslash of the quoted-string, and ``%`` (some browsers percent-decode the fallback)."""


FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
"""An uploaded file runs nothing on our origin, whatever it holds."""


def _ascii(text: str) -> str:
    """``é`` -> ``e``; what has no ASCII form is dropped, what would break the quoted-string becomes ``_``."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _NOT_TOKEN_SAFE.sub("_", plain).strip(" _")


def content_disposition(disposition: str, name: str) -> str:
    """RFC 6266: an ASCII ``filename`` for old clients and ``filename*=UTF-8''…`` (RFC 8187) with the real name.

    Header values must be Latin-1 on the wire, so a name like ``файл.pdf`` written raw made the response a 500."""
    stem, dot, ext = name.rpartition(".") if "." in name else (name, "", "")
    fallback = (_ascii(stem) or "file") + (dot + _ascii(ext) if _ascii(ext) else "")
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@get("/files/{org:str}/{file_id:str}/{name:str}", summary="An uploaded file")
async def get_file(request: Request[Any, Any, Any], org: FromPath[str], file_id: FromPath[str],
                   name: FromPath[str], store: Injected[Store]) -> Response[bytes]:
    found = await store.file_data(org, file_id)
    if found is None:
        raise ApiError("not_found", "File not found or expired")
    meta, data = found
    content_type = meta.get("content_type", "application/octet-stream")
    disposition = "inline" if content_type in INLINE_TYPES else "attachment"
    return Response(
        data,
        media_type=content_type,
        headers={
            "Content-Disposition": content_disposition(disposition, meta.get("name") or "file"),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": FILE_CSP,
            "Cache-Control": "private, max-age=86400",
        },
    )


@get("/files/{org:str}/{file_id:str}/{name:str}", summary="An uploaded file (relayed from the upstream)")
async def relay_file(request: Request[Any, Any, Any], org: FromPath[str], file_id: FromPath[str],
                     name: FromPath[str], services: Injected[Services]) -> Stream:
    """Proxy mode: the upstream keeps the files; the download streams through (``upstream/files.py``)."""
    upstream = services.upstream
    assert upstream is not None  # (routed only in proxy mode)
    settings = services.settings
    download = await open_download(upstream, org, file_id, name, dict(request.headers),
                                   client_of(request, settings.trusted_proxy_headers), settings.upstream_file_max_bytes)
    headers = dict(download.headers)
    # The file is served on this edge's origin: whatever the upstream said, it runs nothing here (the same rules as
    # get_file's: no sniffing, a sandboxing CSP, and only the safe types inline)
    media_type = headers.setdefault("content-type", "application/octet-stream")  # (as it came: no charset added)
    headers["x-content-type-options"] = "nosniff"
    headers["content-security-policy"] = FILE_CSP
    if media_type.split(";")[0].strip().lower() not in INLINE_TYPES:
        headers["content-disposition"] = content_disposition("attachment", name)
    return Stream(download.chunks, status_code=download.status, headers=headers)
