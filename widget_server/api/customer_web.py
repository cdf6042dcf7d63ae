"""Customer Web API: ``POST /v3.x/customer/action/<action>`` (GET for the configuration actions), plus
``upload_file`` (multipart). Decode, dispatch, encode: the actions themselves live in the core."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath

from ..auth.access import Access
from ..core.interface import Caller, ChatCore, UploadedFile
from ..protocol.errors import ApiError
from ..services import Injected
from ..settings import Settings
from ..upstream import UpstreamCore
from ..web.client import address_of, client_of
from ..web.request import api_version, base_url, read_body
from ..web.responses import json_response
from .dispatch import CUSTOMER, WEB_GET_ACTIONS, Action, Table, convert, decode, dispatch, lookup

PATHS = ["/v3.6/customer/action/{action:str}", "/v3.5/customer/action/{action:str}"]


async def read_action(request: Request[Any, Any, Any], settings: Settings, table: Table,
                      action: str) -> tuple[Action, bytes]:
    """The Web action's dispatch entry and its body. The body is read first: answering before it is read drops
    keep-alive connections, so even a refused action is refused only after reading (within the size limit)."""
    body = await read_body(request, settings.web_max_body_bytes)
    return table.lookup(action, "web"), body


async def web_caller(request: Request[Any, Any, Any], settings: Settings, access: Access, needs_auth: bool,
                     body_token: str | None = None, forwarded: bool = False, check_ban: bool = True) -> Caller:
    """The caller of a customer Web request: token (``Authorization``, else ``body_token`` for ``sendBeacon``),
    license, allowed origin and ban checks (``check_ban=False``: the caller's own Valkey call checks it, as the
    tracking script does). For a core that forwards its callers (``ChatCore.forwards_callers``: the upstream owns
    tokens, licenses and bans) the caller just carries the customer's credential and origin on to it
    (``forwarded``)."""
    q = request.query_params
    org = q.get("organization_id") or q.get("license_id")
    version = api_version(request.url.path)
    credential = request.headers.get("authorization") or (f"Bearer {body_token}" if body_token else None)
    base = base_url(request, settings.public_url)
    if forwarded:
        return Caller(org=org or "", customer_id="", version=version, transport="web",  # type: ignore[arg-type]
                      base_url=base, client=client_of(request, settings.trusted_proxy_headers),
                      credential=credential, origin=request.headers.get("origin"))
    if needs_auth:
        claims = await access.customer(credential, org)
        org = await access.license(org or claims.org)  # (a numeric license id names its organization)
        await access.origin(org, request.headers.get("origin"))
        if check_ban:
            await access.not_banned(claims.cid)
        return Caller(org=org, customer_id=claims.cid, version=version, transport="web",  # type: ignore[arg-type]
                      base_url=base, group_id=claims.group)
    org = await access.license(org)
    return Caller(org=org, customer_id="", version=version, transport="web",  # type: ignore[arg-type]
                  base_url=base)


@post(PATHS, status_code=200, summary="Customer Chat API action (Web)")
async def customer_action(request: Request[Any, Any, Any], action: FromPath[str], settings: Injected[Settings],
                          access: Injected[Access], chats: Injected[ChatCore]) -> Response[bytes]:
    if action == "upload_file":
        return await _upload(request, settings, access, chats)
    spec, body = await read_action(request, settings, CUSTOMER, action)
    caller = await web_caller(request, settings, access, spec.auth, forwarded=chats.forwards_callers)
    req = decode(spec, body, settings)
    if spec.writes and not chats.forwards_callers:  # (an upstream keeps its own limits)
        await access.may_write(caller.customer_id, address_of(request, settings.trusted_proxy_headers))
    return json_response(await dispatch(chats, caller, spec, req))


@get(PATHS, summary="Customer Chat API configuration action (Web GET, no token)")
async def customer_get_action(request: Request[Any, Any, Any], action: FromPath[str], settings: Injected[Settings],
                              access: Injected[Access], chats: Injected[ChatCore]) -> Response[bytes]:
    if action not in WEB_GET_ACTIONS:
        raise ApiError("validation", f"Action {action[:64]} must be called with POST")
    spec = lookup(action, "web")
    caller = await web_caller(request, settings, access, needs_auth=False, forwarded=chats.forwards_callers)
    params = {k: v for k, v in request.query_params.items() if k not in ("organization_id", "license_id")}
    if action == "get_dynamic_configuration":
        params["organization_id"] = caller.org
    return json_response(await dispatch(chats, caller, spec, convert(spec, params, settings)))


async def _upload(request: Request[Any, Any, Any], settings: Settings, access: Access,
                  chats: ChatCore) -> Response[bytes]:
    try:
        caller = await web_caller(request, settings, access, needs_auth=True, forwarded=chats.forwards_callers)
    except ApiError:
        # Drain the (size-limited) body first: answering before it is read makes granian drop the keep-alive
        # connection under the client, which then sees a reset instead of the error.
        await request.body()
        raise
    if caller.client is None:  # (the upload quotas count per client address too)
        caller.client = client_of(request, settings.trusted_proxy_headers)
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise ApiError("validation", "upload_file expects multipart/form-data with a `file` field")
    if isinstance(chats, UpstreamCore):  # proxy mode: the body streams on to the upstream, which parses it
        return json_response(await chats.relay_upload(caller, request.headers["content-type"],
                                                      request.headers.get("content-length"),
                                                      _body_at_most(request, settings.upload_max_bytes + FORM_SLACK)))
    try:
        form = await request.form()
    except UnicodeDecodeError:
        raise ApiError("validation", "multipart form fields must be UTF-8") from None
    item = form.get("file")
    if not isinstance(item, UploadFile):
        raise ApiError("validation", "file: a file field is required")
    data = await item.read()
    await item.close()
    uploaded = UploadedFile(name=item.filename or "file", content_type=item.content_type or "", data=data)
    return json_response(await chats.upload_file(caller, uploaded))


FORM_SLACK = 256 * 1024
"""What a multipart body may hold besides its file (boundaries, part headers, other fields): the app's body limit
for uploads is ``WIDGET_UPLOAD_MAX_BYTES`` plus this (``app.py``)."""


async def _body_at_most(request: Request[Any, Any, Any], limit: int) -> AsyncIterator[bytes]:
    """The request body as it arrives, refused with ``entity_too_large`` once it is more than ``limit`` bytes."""
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError("entity_too_large", f"Request body is larger than {limit} bytes")
        yield chunk
