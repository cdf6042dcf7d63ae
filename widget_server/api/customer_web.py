"""Customer Web API: ``POST /v3.x/customer/action/<action>`` (GET for the configuration actions), plus
``upload_file`` (multipart). Decode, dispatch, encode: the actions themselves live in the core."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath

from ..core.interface import Caller, UploadedFile
from ..protocol.errors import ApiError
from .auth import check_banned, check_origin, customer_claims, require_license
from .client import client_info
from .dispatch import CUSTOMER, WEB_GET_ACTIONS, Action, Table, convert, decode, dispatch, lookup
from .state import AppState

PATHS = ["/v3.6/customer/action/{action:str}", "/v3.5/customer/action/{action:str}"]
_encode = msgspec.json.encode


def base_url(request: Request[Any, Any, Any], state: AppState) -> str:
    return state.settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")


def api_version(path: str) -> str:
    return "3.5" if path.startswith("/v3.5/") else "3.6"


async def read_action(request: Request[Any, Any, Any], state: AppState, table: Table, action: str) -> tuple[Action, bytes]:
    """The Web action's dispatch entry and its body. The body is read first: answering before it is read drops
    keep-alive connections, so even a refused action is refused only after reading (within the size limit)."""
    body = await request.body()
    spec = table.lookup(action, "web")
    if len(body) > state.settings.web_max_body_bytes:
        raise ApiError("entity_too_large", f"Request body is larger than {state.settings.web_max_body_bytes} bytes")
    return spec, body


def json_response(body: Any) -> Response[bytes]:
    return Response(_encode(body), media_type="application/json")


async def web_caller(request: Request[Any, Any, Any], state: AppState, needs_auth: bool,
                     body_token: str | None = None, identify: bool = False, check_ban: bool = True) -> Caller:
    """The caller of a customer Web request: token (``Authorization``, else ``body_token`` for ``sendBeacon``),
    license, allowed origin and ban checks (``check_ban=False``: the caller's own Valkey call checks it, as the
    tracking script does). In proxy mode the upstream owns tokens, licenses and bans: the caller just carries the
    customer's credential and origin on to it, unless the edge itself needs to know the customer (``identify``:
    tracking)."""
    q = request.query_params
    org = q.get("organization_id") or q.get("license_id")
    version = api_version(request.url.path)
    credential = request.headers.get("authorization") or (f"Bearer {body_token}" if body_token else None)
    if state.upstream is not None and not identify:
        client = client_info(request.headers, request.client.host if request.client else None,
                             state.settings.trusted_proxy_headers)
        return Caller(org=org or "", customer_id="", version=version, transport="web",  # type: ignore[arg-type]
                      base_url=base_url(request, state), client=client, credential=credential,
                      origin=request.headers.get("origin"))
    if needs_auth:
        claims = await customer_claims(state, credential, org)
        org = org or claims.org
        if claims.org != org:
            raise ApiError("authentication", "The access token belongs to another organization")
        await require_license(state, org)
        await check_origin(state, org, request.headers.get("origin"))
        if check_ban:
            await check_banned(state, claims.cid)
        return Caller(org=org, customer_id=claims.cid, version=version, transport="web",  # type: ignore[arg-type]
                      base_url=base_url(request, state), group_id=claims.group)
    org = await require_license(state, org)
    return Caller(org=org, customer_id="", version=version, transport="web",  # type: ignore[arg-type]
                  base_url=base_url(request, state))


@post(PATHS, status_code=200, summary="Customer Chat API action (Web)")
async def customer_action(request: Request[Any, Any, Any], action: FromPath[str]) -> Response[bytes]:
    state: AppState = request.app.state.ws
    if action == "upload_file":
        return await _upload(request, state)
    spec, body = await read_action(request, state, CUSTOMER, action)
    caller = await web_caller(request, state, spec.auth)
    req = decode(spec, body)
    return json_response(await dispatch(state.core, caller, spec, req))


@get(PATHS, summary="Customer Chat API configuration action (Web GET, no token)")
async def customer_get_action(request: Request[Any, Any, Any], action: FromPath[str]) -> Response[bytes]:
    state: AppState = request.app.state.ws
    if action not in WEB_GET_ACTIONS:
        raise ApiError("validation", f"Action {action[:64]} must be called with POST")
    spec = lookup(action, "web")
    caller = await web_caller(request, state, needs_auth=False)
    params = {k: v for k, v in request.query_params.items() if k not in ("organization_id", "license_id")}
    if action == "get_dynamic_configuration":
        params["organization_id"] = caller.org
    return json_response(await dispatch(state.core, caller, spec, convert(spec, params)))


async def _upload(request: Request[Any, Any, Any], state: AppState) -> Response[bytes]:
    try:
        caller = await web_caller(request, state, needs_auth=True)
    except ApiError:
        # Drain the (size-limited) body first: answering before it is read makes granian drop the keep-alive
        # connection under the client, which then sees a reset instead of the error.
        await request.body()
        raise
    if "multipart/form-data" not in request.headers.get("content-type", ""):
        raise ApiError("validation", "upload_file expects multipart/form-data with a `file` field")
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
    return json_response(await state.core.upload_file(caller, uploaded))
