"""The embeddable widget over HTTP: the loader, hashed assets, the chat frame page, the install snippet, the loader's
visit call and the frame's per-visitor configuration.

A page with the snippet costs: the loader (cached), one ``POST /v1/widget/visit`` (identity, access token, page view,
launcher look, greeting: a CORS-simple request, so no preflight) and a heartbeat every ``heartbeat`` seconds. Only
opening the chat (or an active chat) loads the frame, its assets, ``GET /v1/widget/config`` and the RTM socket.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import quote

import brotli
import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

from ..auth.tokens import browser_identity, customer_id_for, issue_token, sign_browser
from ..protocol.common import now_rfc3339, rfc3339_to_ms
from ..protocol.config import LicenseConfig
from ..protocol.errors import ApiError
from ..services import Injected, Services
from ..web.client import client_of
from ..web.request import all_cookies, base_url, is_secure
from ..web.responses import CORS_ANY, identity_cookies
from ..web.templates import templates
from ..widget.appearance import color_overrides, theme_for
from ..widget.assets import (
    IMMUTABLE,
    Asset,
    WidgetAssets,
    compress,
    negotiate_encoding,
    serve_headers,
)
from ..widget.drafts import Draft
from ..widget.locales import TEXTS, negotiate
from ..widget.models import (
    ChatSummary,
    Greeting,
    Launcher,
    StaticConfig,
    ThemeConfig,
    VisitorConfig,
    VisitRequest,
    VisitResponse,
)
from ..widget.snippet import snippet_html
from .dispatch import decode_json
from .edge import (
    credential_caller,
    group_online,
    upstream_chats,
    upstream_customer,
    upstream_visitor,
)

LOADER_CACHE = "public, max-age=300, stale-while-revalidate=86400"
ONLINE_CACHE_SECONDS = 1.0
MAX_BODY = 16 * 1024

_encode = msgspec.json.encode
_visit_decoder = msgspec.json.Decoder(VisitRequest)


# --- helpers -------------------------------------------------------------------------------------------------------


def assets_of(state: Services) -> WidgetAssets:
    if state.widget.assets is None:
        state.widget.assets = WidgetAssets.load()
        if state.widget.assets is None:
            raise ApiError("service_unavailable", "The widget is not built: run `python -m widget_server build`")
    return state.widget.assets


def language_for(request: Request[Any, Any, Any], config: LicenseConfig, explicit: str | None = None) -> str:
    if explicit in TEXTS:
        return explicit  # type: ignore[return-value]
    if config.appearance.language != "auto":
        return config.appearance.language if config.appearance.language in TEXTS else "en"
    return negotiate(request.headers.get("accept-language"), config.language)


def group_of(config: LicenseConfig, group_id: int) -> Any:
    group = next((g for g in config.groups if g.id == group_id), None)
    if group is None:
        raise ApiError("group_not_found", f"Group {group_id} not found")
    return group


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


async def license_of(request: Request[Any, Any, Any], state: Services) -> str:
    org = request.query_params.get("organization_id") or request.query_params.get("license_id")
    return await state.access.license(org)


def identity_hash(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


async def preview_of(state: Services, org: str, token: str | None) -> Draft | None:
    """The wizard's unsaved draft a preview token names. The preview page is on the server's own origin and is no
    visitor: origins are not checked and nothing is tracked. A wrong or expired token is refused rather than showing
    the saved widget, which the owner could take for their draft."""
    if not token:
        return None
    draft = await state.drafts.load(org, token)
    if draft is None:
        raise ApiError("authorization", "The preview expired: reload the wizard")
    return draft


async def is_online(state: Services, org: str, group: int, preview: Draft | None) -> bool:
    if preview is not None and preview.online is not None:
        return preview.online
    if state.upstream is not None:  # proxy mode: the agents are the upstream's
        return await group_online(state, org, group)
    # every page view asks; a worker keeps the answer for a second (an agent's status change shows within it)
    now = time.monotonic()
    cached = state.widget.online_groups.get((org, group))
    if cached is not None and cached[0] > now:
        return cached[1]
    online = bool(await state.router.online_groups(org, [group]))
    if len(state.widget.online_groups) > 100_000:
        state.widget.online_groups.clear()
    state.widget.online_groups[(org, group)] = (now + ONLINE_CACHE_SECONDS, online)
    return online


# --- assets --------------------------------------------------------------------------------------------------------


def _asset_response(request: Request[Any, Any, Any], asset: Asset, cache_control: str,
                    extra: dict[str, str] | None = None) -> Response[bytes]:
    status, body, headers = serve_headers(asset, request.headers, cache_control, extra)
    return Response(body, status_code=status, headers=headers, media_type=asset.media_type)


@get("/widget/loader.js", summary="The widget loader (the snippet's script)", include_in_schema=False)
async def widget_loader(request: Request[Any, Any, Any], services: Injected[Services]) -> Response[bytes]:
    state = services
    return _asset_response(request, assets_of(state).by_logical("loader.js"), LOADER_CACHE, CORS_ANY)


@get("/widget/assets/{name:str}", summary="A content-hashed widget file", include_in_schema=False)
async def widget_asset(request: Request[Any, Any, Any], name: FromPath[str], services: Injected[Services]) -> Response[bytes]:
    state = services
    asset = assets_of(state).get(name)
    if asset is None:
        raise ApiError("not_found", "No such widget file")
    return _asset_response(request, asset, IMMUTABLE, CORS_ANY)


# --- the frame page --------------------------------------------------------------------------------------------------


def frame_csp(config: LicenseConfig, host: str, preview: bool = False) -> str:
    ancestors = "'self'" if preview else " ".join(config.allowed_origins) if config.allowed_origins else "*"
    return (f"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; "
            f"connect-src 'self' ws://{host} wss://{host}; font-src 'self'; media-src 'self' blob:; "
            f"frame-ancestors {ancestors}; base-uri 'none'; form-action 'none'")


@get("/widget/frame", summary="The chat frame page (loaded by the loader in an iframe)", include_in_schema=False)
async def widget_frame(request: Request[Any, Any, Any], services: Injected[Services]) -> Response[bytes]:
    state = services
    org = await license_of(request, state)
    preview = await preview_of(state, org, request.query_params.get("preview"))
    config = preview.config if preview else await state.store.license_config(org)
    group_of(config, query_int(request, "group_id"))
    assets = assets_of(state)
    theme = theme_for(state.widget, config.appearance)
    lang = language_for(request, config)
    key = (assets.manifest.source_digest, theme.name, lang)
    page = state.widget.frame_pages.get(key)
    if page is None:
        body = templates.get_template("widget_frame.html").render(
            lang=lang, title=TEXTS[lang]["title"], widget_js=assets.url("widget.js"),
            widget_css=assets.url("widget.css"), theme_css=assets.url(f"theme-{theme.name}.css"),
        ).encode()
        page = state.widget.frame_pages[key] = compress(body, "text/html")
    host = request.headers.get("host", "")
    return _asset_response(request, page, "no-cache", {
        "Content-Security-Policy": frame_csp(config, host, preview is not None),
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    })


# --- the install snippet -----------------------------------------------------------------------------------------------


@get("/widget/snippet", summary="The install snippet of a license (text/html)")
async def widget_snippet(request: Request[Any, Any, Any], services: Injected[Services]) -> Response[str]:
    state = services
    org = await license_of(request, state)
    config = await state.store.license_config(org)
    group = query_int(request, "group_id")
    group_of(config, group)
    nonce = request.query_params.get("nonce")
    if nonce is not None and (len(nonce) > 128 or not nonce.replace("-", "").replace("_", "").replace(
            "+", "").replace("/", "").replace("=", "").isalnum()):
        raise ApiError("validation", "nonce must be base64 characters, at most 128")
    return Response(snippet_html(base_url(request, state.settings.public_url), org, group, nonce), media_type="text/html",
                    headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"})


# --- the loader's visit ------------------------------------------------------------------------------------------------


ICONS = {
    "chat": "M4 4h16v12H8l-4 4z",
    "bubble": "M12 3C6.5 3 2 6.6 2 11c0 2.4 1.3 4.5 3.4 6L4 21l4.6-2.4c1.1.3 2.2.4 3.4.4 5.5 0 10-3.6 10-8s-4.5-8-10-8z",
    "help": "M12 2a10 10 0 100 20 10 10 0 000-20zm1 16h-2v-2h2zm2.1-7.7l-.9.9c-.7.7-1.2 1.3-1.2 2.8h-2v-.5c0-1.1.5"
            "-2.1 1.2-2.8l1.2-1.3A2 2 0 1010 8H8a4 4 0 118 0c0 .9-.4 1.7-.9 2.3z",
}
SHAPES = {"circle": "50%", "rounded": "30%", "square": "6px"}


def launcher_for(state: Services, base: str, org: str, group: int, origin: str, config: LicenseConfig,
                 lang: str, preview: str | None = None) -> Launcher:
    appearance = config.appearance
    theme = theme_for(state.widget, appearance)
    assets = assets_of(state)
    colors = msgspec.structs.asdict(theme.tokens.colors) | color_overrides(appearance)
    texts = TEXTS[lang]
    css = state.widget.launcher_css
    if css is None:
        css = state.widget.launcher_css = assets.by_logical("launcher.css").body.decode()
    cls = f"w {appearance.launcher}" + (" l" if appearance.position == "bottom-left" else "")
    return Launcher(
        css=css,
        vars={"--c": colors["primary"], "--o": colors["on_primary"], "--x": f"{appearance.offset_x}px",
              "--y": f"{appearance.offset_y}px", "--s": theme.tokens.launcher.size,
              "--r": SHAPES[theme.tokens.launcher.shape], "--w": f"{appearance.width}px",
              "--h": f"{appearance.height}px"},
        cls=cls,
        icon=ICONS[theme.tokens.launcher.icon],
        text=(appearance.launcher_text or texts["title"]) if appearance.launcher == "text" else "",
        label=texts["open_chat"],
        frame=f"{base}/widget/frame?organization_id={quote(org)}&group_id={group}&origin={quote(origin, safe='')}"
              + (f"&preview={quote(preview)}" if preview else ""),
        host=base + assets.url("host.js"),
    )


@post("/v1/widget/visit", status_code=200, summary="The loader's calls: a visit, a page view, a heartbeat")
async def widget_visit(request: Request[Any, Any, Any], services: Injected[Services]) -> Response[bytes]:
    """``visit`` (the page loaded): the browser's identity (cookie, else the stored ``cst``, else new; or the site's
    verified ``user_id``), an access token, the page view, and the launcher. ``page_view`` (a single-page app
    navigated) and ``heartbeat`` (the page is still open) carry the token and get it back, renewed when it is past
    half its life; an expired or foreign token is an ``authentication`` error, on which the loader starts over."""
    state = services
    body = await request.body()  # read before any refusal, so keep-alive connections survive errors
    if len(body) > MAX_BODY:
        raise ApiError("entity_too_large", f"Request body is larger than {MAX_BODY} bytes")
    req = decode_json(_visit_decoder, body)
    org = await state.access.license(req.cfg.organization_id)
    origin = request.headers.get("origin")
    preview = await preview_of(state, org, req.cfg.preview)
    if preview is None:
        await state.access.origin(org, origin)
    config = preview.config if preview else await state.store.license_config(org)
    group = req.cfg.group
    group_of(config, group)
    ttl = state.settings.token_ttl
    client = client_of(request, state.settings.trusted_proxy_headers)

    if req.type != "visit":
        claims = await state.access.customer(req.token, org)
        if claims.org != org:
            raise ApiError("authentication", "The access token belongs to another organization")
        # one Valkey round trip: the tracking script refuses a banned visitor, and a heartbeat takes an agent's
        # invitation to chat (then the loader opens the widget, which connects and shows the chat)
        beat = req.type == "heartbeat"
        activity = None
        if preview is not None:
            await state.access.not_banned(claims.cid)
        elif beat:
            activity = await state.tracker.heartbeat(org, claims.cid, take_invitation=True)
        if activity is None and preview is None:  # a page view, or a heartbeat of a visitor the tracker forgot
            activity = await state.tracker.page_view(org, claims.cid, req.url, req.title, req.referrer,
                                                     client.user_agent, client.ip, client.geo, take_invitation=beat)
        invited = activity is not None and activity.invitation is not None
        token = req.token or ""
        if claims.exp - time.time() < ttl / 2 and state.upstream is None:  # (the edge cannot renew upstream tokens)
            token = issue_token(state.signer, org, claims.cid, ttl, group)
        online = await is_online(state, org, group, preview)
        return Response(_encode(VisitResponse(
            token=token, customer_id=claims.cid, cst=req.cst or "", availability="online" if online else "offline",
            active_chat=True if invited else None,
        )), media_type="application/json", headers={"Cache-Control": "no-store"})

    upstream = None
    chat_ids: list[str] = []
    if state.upstream is not None:  # proxy mode: the upstream's identity, token and chats (api/edge.py)
        upstream = await upstream_visitor(request, state, org, req.cfg, req.cst)
        cid, browser_id, identity_error = upstream.customer_id, "", upstream.identity_error
    else:
        cid, browser_id, identity_error, chat_ids = await local_visitor(state, request, org, req)

    activity = None if preview else await state.tracker.page_view(
        org, cid, req.url, req.title, req.referrer, client.user_agent, client.ip, client.geo)
    online = await is_online(state, org, group, preview)
    active = upstream.active_chat if upstream else await has_active_chat(state, chat_ids)
    appearance = config.appearance
    lang = language_for(request, config)
    greeting = None
    # the preview shows the greeting whenever there is one, so the owner sees how it looks
    if appearance.greeting and (preview is not None or online and activity and activity.new_visit and not active):
        greeting = Greeting(text=appearance.greeting, delay=appearance.greeting_delay,
                            close=TEXTS[lang]["greeting_close"])
    response = json_answer(request, _encode(VisitResponse(
        token=upstream.token if upstream else issue_token(state.signer, org, cid, ttl, group), customer_id=cid,
        cst=upstream.cst if upstream else sign_browser(state.signer, browser_id),
        availability="online" if online else "offline",
        launcher=launcher_for(state, base_url(request, state.settings.public_url), org, group, origin or "", config, lang,
                              req.cfg.preview if preview else None),
        active_chat=active, heartbeat=max(2, state.settings.tracking_online_seconds // 2),
        greeting=greeting, identity_error=identity_error,
    )), {"Cache-Control": "no-store"})
    if upstream:
        response.cookies.extend(upstream.cookies)
    else:
        response.cookies.extend(identity_cookies(is_secure(request), browser_id, sign_browser(state.signer, browser_id)))
    return response


async def local_visitor(state: Services, request: Request[Any, Any, Any], org: str,
                        req: VisitRequest) -> tuple[str, str, str | None, list[str]]:
    """The visitor's customer id, browser identity, identity error and latest chat ids: from the identity cookie (or
    the stored ``cst``, else new), or the site's verified ``user_id``; the site's customer data is stored with them.
    A banned visitor is refused (``customer_banned``)."""
    identity_error = None
    browser_id = browser_identity(state.signer, all_cookies(request), req.cst)
    cid = customer_id_for(state.keyring.secret, org, browser_id, "*")
    site = req.cfg
    if site.user_id:
        expected = identity_hash(await state.licenses.identity_secret(org), site.user_id)
        if site.user_hash and hmac.compare_digest(expected, site.user_hash.lower()):
            cid = customer_id_for(state.keyring.secret, org, "user\0" + site.user_id, "*")
        else:
            identity_error = "user_hash does not match user_id: the visitor stays anonymous"
    fields: dict[str, str] = {}
    if site.customer and site.customer.name is not None:
        fields["name"] = site.customer.name
    if site.customer and site.customer.email is not None:
        fields["email"] = site.customer.email
    if site.session_variables is not None:
        fields["session_fields"] = _encode([{k: v} for k, v in site.session_variables.items()]).decode()
    if site.user_id and identity_error is None:
        fields["user_id"] = site.user_id
    # the record (made if new, the site's fields set), the ban and the latest chats: one call on the customer's slot
    until, chat_ids = await state.store.customer_visit(cid, org, now_rfc3339(), fields, 20)
    if until:
        raise ApiError("customer_banned", "Customer is banned", {"until": until})
    return cid, browser_id, identity_error, chat_ids


async def has_active_chat(state: Services, chat_ids: list[str]) -> bool:
    """Whether one of these chats (a customer's latest, from ``local_visitor``) is active."""
    if not chat_ids:
        return False
    chats = await state.store.chats(chat_ids)
    return any(chat.get("active_thread") for chat in chats if chat)


# --- the frame's configuration -----------------------------------------------------------------------------------------


def static_config(state: Services, org: str, config: LicenseConfig, group_id: int, lang: str,
                  cache: bool = True) -> bytes:
    """Encoded once per license configuration, group and language, then reused by every visitor's request (not
    kept with ``cache=False``: a preview's draft)."""
    from ..core.local import DEFAULT_POSTCHAT, DEFAULT_PRECHAT, DEFAULT_TICKET

    appearance = config.appearance
    theme = theme_for(state.widget, appearance)
    assets = assets_of(state)
    version = state.store.config_version(org)
    key = (org, version, group_id, lang, assets.manifest.source_digest)
    cached = state.widget.static_configs.get(key) if cache else None
    if cached is not None:
        return cached
    texts = TEXTS[lang]
    group = group_of(config, group_id)
    encoded = _encode(StaticConfig(
        organization_id=org,
        group={"id": group.id, "name": group.name},
        language=lang,
        texts=texts,
        theme=ThemeConfig(theme.name, theme.variables(color_overrides(appearance)),
                          assets.url(f"theme-{theme.name}.css")),
        title=appearance.title or texts["title"],
        agent_name=appearance.agent_name,
        agent_avatar=appearance.agent_avatar,
        position=appearance.position,
        width=appearance.width,
        height=appearance.height,
        rating=appearance.rating,
        offline_title=appearance.offline_title or texts["offline_title"],
        offline_text=appearance.offline_text or texts["offline_text"],
        upload_max_bytes=state.settings.upload_max_bytes,
        ticket_form=config.ticket.form if config.ticket and config.ticket.form else DEFAULT_TICKET,
        prechat_form=(config.prechat.form or DEFAULT_PRECHAT) if config.prechat and config.prechat.enabled else None,
        postchat_form=((config.postchat.form or DEFAULT_POSTCHAT)
                       if config.postchat and config.postchat.enabled else None),
    ))
    if not cache:
        return encoded
    if len(state.widget.static_configs) > 10_000:
        state.widget.static_configs.clear()
    state.widget.static_configs[key] = encoded
    return encoded


@get("/v1/widget/config", summary="Everything the chat frame needs to render, for one visitor")
async def widget_config(request: Request[Any, Any, Any], services: Injected[Services]) -> Response[bytes]:
    state = services
    org = await license_of(request, state)
    group_id = query_int(request, "group_id")
    preview = await preview_of(state, org, request.query_params.get("preview"))
    config = preview.config if preview else await state.store.license_config(org)
    lang = language_for(request, config, request.query_params.get("lang"))
    static = static_config(state, org, config, group_id, lang, cache=preview is None)
    online = await is_online(state, org, group_id, preview)
    visitor = VisitorConfig(online=online, chats=[])
    authorization = request.headers.get("authorization")
    if authorization:
        claims = await state.access.customer(authorization, org)
        if claims.org != org:
            raise ApiError("authentication", "The access token belongs to another organization")
        if preview is None:
            await state.access.origin(org, request.headers.get("origin"))
        if state.upstream is not None:  # proxy mode: the customer and their chats are the upstream's (api/edge.py)
            await state.access.not_banned(claims.cid)
            caller = credential_caller(request, state, org, authorization.removeprefix("Bearer ").strip(), claims.cid)
            visitor.customer, chats = await asyncio.gather(upstream_customer(state, caller),
                                                           upstream_chats(state, caller))
            visitor.chats = [ChatSummary(chat.id, chat.active, chat.unread) for chat in chats]
        else:
            rec, chat_ids = await state.store.customer_with_chat_ids(claims.cid, 20)
            rec = rec or {}
            until = rec.get("banned_until")
            if until and int(until) > time.time():
                raise ApiError("customer_banned", "Customer is banned", {"until": int(until)})
            visitor.customer = {"id": claims.cid, **{k: rec[k] for k in ("name", "email") if rec.get(k)}}
            for chat in await state.store.chats(chat_ids) if chat_ids else []:
                if not chat:
                    continue
                seen = chat.get(f"seen:{claims.cid}")
                last_event = int(chat.get("last_event_ms") or 0)
                unread = last_event > 0 and (not seen or rfc3339_to_ms(seen) < last_event)
                visitor.chats.append(ChatSummary(chat["id"], bool(chat.get("active_thread")), unread))
    body = b'{"static":' + static + b',"visitor":' + _encode(visitor) + b"}"
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



# --- the demo page -------------------------------------------------------------------------------------------------

_DEMO_JS = (b'document.getElementById("spa").addEventListener("click", (e) => {\n'
            b'  e.preventDefault();\n  history.pushState(null, "", "/demo/pricing" + location.search);\n'
            b'  document.title = "Pricing - widget_server demo shop";\n});\n')


@get("/demo", summary="A demo page with the default license's widget", include_in_schema=False)
async def widget_demo(request: Request[Any, Any, Any], services: Injected[Services]) -> Response[str]:
    state = services
    org = await license_of(request, state)
    snippet = snippet_html(base_url(request, state.settings.public_url), org)
    body = templates.get_template("demo.html").render(org=org, snippet=snippet)
    return Response(body, media_type="text/html", headers={"Cache-Control": "no-store"})


_DEMO_CSS = b"""body { max-width: 760px; margin: 40px auto; padding: 0 20px; font: 16px/1.6 system-ui, sans-serif;
  color: #1f2937; background: #fafafa; }
h1 { font-size: 2rem; margin-bottom: .25rem; } a { color: #1d4ed8; }
pre { overflow-x: auto; padding: 16px; border-radius: 8px; background: #111827; color: #e5e7eb; font-size: 13px; }
code { font-size: .9em; }
"""


@get("/widget/demo.js", summary="The demo page's script", include_in_schema=False)
async def widget_demo_js() -> Response[bytes]:
    return Response(_DEMO_JS, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@get("/widget/demo.css", summary="The demo page's stylesheet", include_in_schema=False)
async def widget_demo_css() -> Response[bytes]:
    return Response(_DEMO_CSS, media_type="text/css", headers={"Cache-Control": "no-cache"})
