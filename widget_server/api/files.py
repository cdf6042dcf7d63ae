"""Serving uploaded files back: ``GET /files/<org>/<file_id>/<name>``."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath

from ..core.files import INLINE_TYPES
from ..core.store import Store
from ..protocol.errors import ApiError
from ..services import Injected


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
            "Content-Disposition": f'{disposition}; filename="{meta.get("name", "file")}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox",
            "Cache-Control": "private, max-age=86400",
        },
    )
