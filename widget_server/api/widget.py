"""The embeddable widget over HTTP: the loader, hashed assets, the chat frame page, the install snippet, the loader's
calls (``POST /v1/widget/visit``) and the frame's per-visitor configuration (``GET /v1/widget/config``). Routes only:
they read the request and write the answer; what they answer is the widget's domain (``widget/service.py``). The
hottest of them are called by ``fast_assets.py`` without Litestar's request path, with the same dependencies."""

from __future__ import annotations

import gzip
import hashlib
from typing import Any

import brotli
import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

from ..auth.operator import is_local_owner, local_owner_token
from ..protocol.errors import ApiError
from ..services import Injected, Services
from ..settings import Settings
from ..web.request import base_url
from ..web.responses import CORS_ANY
from ..web.templates import templates
from ..widget.assets import IMMUTABLE, Asset, negotiate_encoding, serve_headers
from ..widget.avatars import Avatars
from ..widget.models import VisitRequest
from ..widget.service import Widget, frame_csp, group_of, language_for
from ..widget.snippet import snippet_html
from ..widget.visitors import Browser
from .console_session import set_session_cookies
from .dispatch import decode_json

LOADER_CACHE = "public, max-age=300, stale-while-revalidate=86400"
MAX_BODY = 16 * 1024

_visit_decoder = msgspec.json.Decoder(VisitRequest)


def query_int(request: Request[Any, Any, Any], name: str, default: int = 0) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError("validation", f"{name} must be an integer") from None
    if value < 0:
        raise ApiError("validation", f"{name} must not be negative")
    return value


def browser_of(request: Request[Any, Any, Any], settings: Settings) -> Browser:
    return Browser(request, settings.trusted_proxy_headers, settings.public_url)


async def license_of(request: Request[Any, Any, Any], widget: Widget) -> str:
    return await widget.access.license(request.query_params.get("organization_id")
                                       or request.query_params.get("license_id"))


def _asset_response(request: Request[Any, Any, Any], asset: Asset, cache_control: str,
                    extra: dict[str, str] | None = None) -> Response[bytes]:
    status, body, headers = serve_headers(asset, request.headers, cache_control, extra)
    return Response(body, status_code=status, headers=headers, media_type=asset.media_type)


@get("/widget/loader.js", summary="The widget loader (the snippet's script)", include_in_schema=False)
async def widget_loader(request: Request[Any, Any, Any], widget: Injected[Widget]) -> Response[bytes]:
    return _asset_response(request, widget.assets().by_logical("loader.js"), LOADER_CACHE, CORS_ANY)


@get("/tracking.js", summary="The widget loader under LiveChat's name (its snippet and adapters load it)",
     include_in_schema=False)
async def widget_tracking(request: Request[Any, Any, Any], widget: Injected[Widget]) -> Response[bytes]:
    """The same loader, with a prologue that reads ``window.__lc`` and drives ``window.LiveChatWidget``
    (``static/src/tracking.js``); cached like the loader."""
    return _asset_response(request, widget.assets().by_logical("tracking.js"), LOADER_CACHE, CORS_ANY)


@get("/widget/assets/{name:str}", summary="A content-hashed widget file", include_in_schema=False)
async def widget_asset(request: Request[Any, Any, Any], name: FromPath[str],
                       widget: Injected[Widget]) -> Response[bytes]:
    asset = widget.assets().get(name)
    if asset is None:
        raise ApiError("not_found", "No such widget file")
    return _asset_response(request, asset, IMMUTABLE, CORS_ANY)


@get("/widget/frame", summary="The chat frame page (loaded by the loader in an iframe)", include_in_schema=False)
async def widget_frame(request: Request[Any, Any, Any], widget: Injected[Widget]) -> Response[bytes]:
    org = await license_of(request, widget)
    preview = await widget.preview(org, request.query_params.get("preview"))
    config = (preview.config if preview else await widget.store.license_config(org))
    group_of(config, query_int(request, "group_id"))
    page = widget.frame_page(config, language_for(config, request.headers.get("accept-language")))
    return _asset_response(request, page, "no-cache", {
        "Content-Security-Policy": frame_csp(config, request.headers.get("host", ""), preview is not None,
                                             request.query_params.get("origin")),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    })


@get("/widget/snippet", summary="The install snippet of a license (text/html)")
async def widget_snippet(request: Request[Any, Any, Any], widget: Injected[Widget],
                         settings: Injected[Settings]) -> Response[str]:
    org = await license_of(request, widget)
    group = query_int(request, "group_id")
    group_of(await widget.store.license_config(org), group)
    nonce = request.query_params.get("nonce")
    if nonce is not None and (len(nonce) > 128 or not nonce.replace("-", "").replace("_", "").replace(
            "+", "").replace("/", "").replace("=", "").isalnum()):
        raise ApiError("validation", "nonce must be base64 characters, at most 128")
    return Response(snippet_html(base_url(request, settings.public_url), org, group, nonce), media_type="text/html",
                    headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"})


@post("/v1/widget/visit", status_code=200, summary="The loader's calls: a visit, a page view, a heartbeat")
async def widget_visit(request: Request[Any, Any, Any], widget: Injected[Widget],
                       settings: Injected[Settings]) -> Response[bytes]:
    """``visit`` (the page loaded), ``page_view`` (a single-page app navigated) or ``heartbeat`` (the page is still
    open): ``Widget.visit``."""
    body = await request.body()  # read before any refusal, so keep-alive connections survive errors
    if len(body) > MAX_BODY:
        raise ApiError("entity_too_large", f"Request body is larger than {MAX_BODY} bytes")
    req = decode_json(_visit_decoder, body)
    browser = browser_of(request, settings)
    widget.access.tracking.take(browser.client.ip)  # (outside the app's rate limiter: a budget of its own)
    answer, cookies = await widget.visit(browser, req, request.headers.get("accept-language"))
    headers = {"Cache-Control": "no-store"}
    if req.type != "visit":
        return Response(msgspec.json.encode(answer), media_type="application/json", headers=headers)
    response = json_answer(request, msgspec.json.encode(answer), headers)
    response.cookies.extend(cookies)
    return response


@get("/v1/widget/config", summary="Everything the chat frame needs to render, for one visitor")
async def widget_config(request: Request[Any, Any, Any], widget: Injected[Widget],
                        settings: Injected[Settings]) -> Response[bytes]:
    org = await license_of(request, widget)
    group_id = query_int(request, "group_id")
    preview = await widget.preview(org, request.query_params.get("preview"))
    config = (preview.config if preview else await widget.store.license_config(org))
    lang = language_for(config, request.headers.get("accept-language"), request.query_params.get("lang"))
    body = await widget.frame_config(browser_of(request, settings), org, group_id, preview, config, lang,
                                     request.headers.get("authorization"))
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Authorization, Accept-Language"}
    inm = request.headers.get("if-none-match")
    if inm and etag in [t.strip().removeprefix("W/") for t in inm.split(",")]:
        return Response(b"", status_code=304, headers=headers, media_type="application/json")
    return json_answer(request, body, headers)


def json_answer(request: Request[Any, Any, Any], body: bytes, headers: dict[str, str]) -> Response[bytes]:
    """A JSON answer, compressed when it is worth it and the client takes it (fast settings: it is made per
    request; the launcher's styles make the visit answer ~3 KB, ~1.3 KB compressed)."""
    if len(body) >= 1024:
        encoding = negotiate_encoding(request.headers.get("accept-encoding"))
        if encoding == "br":
            body = brotli.compress(body, quality=4, mode=brotli.MODE_TEXT)
        elif encoding == "gzip":
            body = gzip.compress(body, compresslevel=5, mtime=0)
        if encoding:
            headers = {**headers, "Content-Encoding": encoding, "Vary": headers.get("Vary", "") + (
                ", Accept-Encoding" if headers.get("Vary") else "Accept-Encoding")}
    return Response(body, media_type="application/json", headers=headers)


@get("/widget/avatars/{org:str}/{name:str}", summary="An agent avatar uploaded in the wizard", include_in_schema=False)
async def avatar_image(request: Request[Any, Any, Any], org: FromPath[str], name: FromPath[str],
                       avatars: Injected[Avatars]) -> Response[bytes]:
    found = await avatars.read(org, name)
    if found is None:
        raise ApiError("not_found", "No such avatar")
    media_type, body = found
    etag = f'"{name}"'
    headers = {
        "Cache-Control": "public, max-age=31536000, immutable",  # named by its content
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cross-Origin-Resource-Policy": "cross-origin",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(b"", status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


# --- the demo page -------------------------------------------------------------------------------------------------

_DEMO_JS = (b'document.getElementById("spa").addEventListener("click", (e) => {\n'
            b'  e.preventDefault();\n  history.pushState(null, "", "/demo/pricing" + location.search);\n'
            b'  document.title = "Pricing - widget_server demo shop";\n});\n')


@get("/demo", summary="A demo page with the default license's widget", include_in_schema=False)
async def widget_demo(request: Request[Any, Any, Any], widget: Injected[Widget],
                      settings: Injected[Settings]) -> Response[str]:
    org = await license_of(request, widget)
    snippet = snippet_html(base_url(request, settings.public_url), org)
    # first run: say whether a visitor who opens the chat now reaches an agent, and when none is online, give the
    # owner sitting at the host a one-click way into the console (the token stays on the host: POST /demo/console)
    online = await widget.online(org, 0, None)
    shortcut = (not online and _local_owner(request)
                and local_owner_token(settings.data_dir, org) is not None)
    body = templates.get_template("demo.html").render(org=org, snippet=snippet, online=online, shortcut=shortcut)
    return Response(body, media_type="text/html", headers={"Cache-Control": "no-store"})


def _local_owner(request: Request[Any, Any, Any]) -> bool:
    return is_local_owner(request.client.host if request.client else None, list(request.headers.keys()))


@post("/demo/console", summary="The demo page's way into the agent console, for the host's owner",
      include_in_schema=False, status_code=303)
async def widget_demo_console(request: Request[Any, Any, Any], widget: Injected[Widget],
                              settings: Injected[Settings], services: Injected[Services]) -> Response[bytes]:
    """Opens the agent console signed in as the default license's owner, and online. Only for a request from the
    host itself, not relayed by a proxy, sent by the demo page (same origin: another site cannot make the owner's
    browser do it), while the data dir holds the credentials. The owner gets a console session (its cookies, as a
    password sign-in sets them: ``console_session.py``), so no token reaches the browser's address or storage."""
    org = await license_of(request, widget)
    token = local_owner_token(settings.data_dir, org) if _local_owner(request) else None
    if token is None or request.headers.get("sec-fetch-site", "same-origin") != "same-origin":
        raise ApiError("not_found", "Not found")
    owner_org, owner = await services.access.agent(token)
    session, cookie = await services.agent_sessions.create(owner_org, owner)
    response = Response(b"", status_code=303, headers={"Location": "/agent#online=1", "Cache-Control": "no-store",
                                                       "Referrer-Policy": "no-referrer"})
    set_session_cookies(response, request, session, cookie, services.agent_sessions.idle_seconds * 3)
    return response


_DEMO_CSS = b"""body { max-width: 760px; margin: 40px auto; padding: 0 20px; font: 16px/1.6 system-ui, sans-serif;
  color: #1f2937; background: #fafafa; }
h1 { font-size: 2rem; margin-bottom: .25rem; } a { color: #1d4ed8; }
pre { overflow-x: auto; padding: 16px; border-radius: 8px; background: #111827; color: #e5e7eb; font-size: 13px; }
code { font-size: .9em; }
.status { padding: 10px 14px; border-radius: 8px; } .online { background: #dcfce7; } .offline { background: #fef3c7; }
#go-online { font: inherit; padding: 8px 14px; border-radius: 8px; border: 0; background: #1d4ed8; color: #fff;
  cursor: pointer; }
"""


@get("/widget/demo.js", summary="The demo page's script", include_in_schema=False)
async def widget_demo_js() -> Response[bytes]:
    return Response(_DEMO_JS, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@get("/widget/demo.css", summary="The demo page's stylesheet", include_in_schema=False)
async def widget_demo_css() -> Response[bytes]:
    return Response(_DEMO_CSS, media_type="text/css", headers={"Cache-Control": "no-cache"})
