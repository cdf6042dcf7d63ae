"""The agent console: ``GET /agent``, a Jinja2 page, and its script and stylesheet under ``/agent/assets/<name>``.

The page speaks the Agent RTM API from the browser; nothing here knows about chats. It runs under a strict
Content-Security-Policy, so all it runs and styles comes from the files in ``widget_server/console/``. Page and assets
are rendered and read once, when this module is imported, and served from memory with an ETag: hand testing and e2e
tests load them often, and a static files router would read the disk on every request (``STACK-NOTES.md`` §7).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath

from ..protocol.errors import ApiError
from ..web.templates import templates
from ..widget.assets import Asset, compress, serve_headers

_PACKAGE = Path(__file__).resolve().parent.parent
ASSETS_DIR = _PACKAGE / "console"

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; "
       "img-src 'self' data:; frame-ancestors 'none'")

# Litestar adds "; charset=utf-8" to text/* types
_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css"}


def _load_assets(directory: Path) -> dict[str, Asset]:
    return {path.name: compress(path.read_bytes(), _MEDIA_TYPES[path.suffix])
            for path in sorted(directory.iterdir()) if path.suffix in _MEDIA_TYPES}


ASSETS = _load_assets(ASSETS_DIR)

# ?v= makes a browser that kept an old page fetch the matching script, not one that merely revalidated in between
PAGE = compress(templates.get_template("agent.html").render(
    script=f"/agent/assets/agent.js?v={ASSETS['agent.js'].digest}",
    stylesheet=f"/agent/assets/agent.css?v={ASSETS['agent.css'].digest}",
).encode(), "text/html")

_PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _serve(request: Request[Any, Any, Any], asset: Asset, extra: dict[str, str] | None = None) -> Response[bytes]:
    """The asset with revalidation (``no-cache`` + ETag → 304), compressed when the client takes it."""
    status, body, headers = serve_headers(asset, request.headers, "no-cache", extra)
    return Response(body, status_code=status, headers=headers, media_type=asset.media_type)


@get("/agent", summary="The agent console", include_in_schema=False)
async def agent_console(request: Request[Any, Any, Any]) -> Response[bytes]:
    return _serve(request, PAGE, _PAGE_HEADERS)


@get("/agent/assets/{name:str}", summary="The agent console's script and stylesheet", include_in_schema=False)
async def agent_console_asset(request: Request[Any, Any, Any], name: FromPath[str]) -> Response[bytes]:
    asset = ASSETS.get(name)
    if asset is None:
        raise ApiError("not_found", "No such asset")
    return _serve(request, asset)
