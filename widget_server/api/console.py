"""The agent console: ``GET /agent``, a Jinja2 page, and its bundled script and stylesheet under
``/agent/assets/<hashed name>``.

The page speaks the Agent RTM API from the browser; nothing here knows about chats. Its sources are ES modules in
``static/src/console/``, bundled by the widget's esbuild step (``widget/build.py``) into content-hashed files with gzip
and brotli siblings, held in memory with the widget's (``widget/assets.py``) and served ``immutable``. The page names
the current hashed files, so it is revalidated (``no-cache`` + ETag) and rendered once per build in each worker. It
runs under a strict Content-Security-Policy: all it runs and styles comes from those two files.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath

from ..protocol.errors import ApiError
from ..services import Injected
from ..web.templates import templates
from ..widget.assets import IMMUTABLE, Asset, WidgetAssets, compress, serve_headers
from ..widget.service import Widget

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self' ws: wss:; "
       "img-src 'self' data:; frame-ancestors 'none'")

ASSETS_PREFIX = "/agent/assets/"
BUNDLES = ("console.js", "console.css")
"""The build's logical names the console serves (nothing else of the build is reachable under its prefix)."""

_PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}

_pages: dict[tuple[str, ...], Asset] = {}


def _page(assets: WidgetAssets) -> Asset:
    """The page naming this build's bundles, rendered once per build."""
    names = tuple(assets.names[name] for name in BUNDLES)
    page = _pages.get(names)
    if page is None:
        _pages.clear()
        page = _pages[names] = compress(templates.get_template("agent.html").render(
            script=ASSETS_PREFIX + names[0], stylesheet=ASSETS_PREFIX + names[1]).encode(), "text/html")
    return page


def _serve(request: Request[Any, Any, Any], asset: Asset, cache_control: str,
           extra: dict[str, str] | None = None) -> Response[bytes]:
    """The asset compressed when the client takes it, 304 on a matching ETag."""
    status, body, headers = serve_headers(asset, request.headers, cache_control, extra)
    return Response(body, status_code=status, headers=headers, media_type=asset.media_type)


@get("/agent", summary="The agent console", include_in_schema=False)
async def agent_console(request: Request[Any, Any, Any], widget: Injected[Widget]) -> Response[bytes]:
    return _serve(request, _page(widget.assets()), "no-cache", _PAGE_HEADERS)


@get("/agent/assets/{name:str}", summary="The agent console's script and stylesheet", include_in_schema=False)
async def agent_console_asset(request: Request[Any, Any, Any], name: FromPath[str],
                              widget: Injected[Widget]) -> Response[bytes]:
    assets = widget.assets()
    # this build's bundles, or the previous build's (a page rendered just before a deploy still finds its files)
    asset = assets.get(name) if name.startswith("console.") else None
    if asset is None:
        raise ApiError("not_found", "No such asset")
    return _serve(request, asset, IMMUTABLE)
