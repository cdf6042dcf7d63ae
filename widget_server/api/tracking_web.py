"""The loader's tracking endpoint: ``POST /v1/track?organization_id=…`` with a page view or a heartbeat.

Plain HTTP on purpose: a visitor who is not chatting holds no socket (a socket costs ~150 KB on granian), so page
views and presence come as small requests (``fetch`` with ``keepalive``, or ``sendBeacon``, which cannot set
headers and so may carry the access token in the body instead of ``Authorization``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, Response, post

from ..auth.access import Access
from ..protocol.errors import ApiError
from ..services import Injected
from ..settings import Settings
from ..tracking import Tracker
from ..web.client import client_of
from ..web.responses import json_response
from .customer_web import web_caller
from .dispatch import decode_json

MAX_BODY = 16 * 1024


class TrackRequest(msgspec.Struct):
    type: Literal["page_view", "heartbeat"]
    url: Annotated[str, msgspec.Meta(max_length=4096)] = ""
    title: Annotated[str, msgspec.Meta(max_length=1024)] | None = None
    referrer: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    token: Annotated[str, msgspec.Meta(max_length=4096)] | None = None
    """The customer access token, for ``sendBeacon`` callers; ``Authorization`` wins when both are sent."""


class TrackResponse(msgspec.Struct):
    tracked: bool
    """False for a heartbeat from a visitor the tracker does not know (any more): send a page view."""
    new_visit: bool = False


_decoder = msgspec.json.Decoder(TrackRequest)


@post("/v1/track", status_code=200, summary="Visitor tracking: a page view or a heartbeat from the loader")
async def track(request: Request[Any, Any, Any], settings: Injected[Settings], access: Injected[Access],
                tracker: Injected[Tracker]) -> Response[bytes]:
    body = await request.body()  # read before any refusal, so keep-alive connections survive errors
    if len(body) > MAX_BODY:
        raise ApiError("entity_too_large", f"Request body is larger than {MAX_BODY} bytes")
    req = decode_json(_decoder, body)
    client = client_of(request, settings.trusted_proxy_headers)
    access.tracking.take(client.ip)  # (outside the app's rate limiter: a budget of its own)
    if req.type == "page_view" and not req.url:
        raise ApiError("validation", "url is required for a page_view")
    # one Valkey round trip: the tracking script itself refuses a banned visitor
    caller = await web_caller(request, settings, access, needs_auth=True, body_token=req.token, check_ban=False)
    org, cid = caller.org, caller.customer_id
    if req.type == "heartbeat":
        activity = await tracker.heartbeat(org, cid)
    else:
        activity = await tracker.page_view(org, cid, req.url, req.title, req.referrer, client.user_agent,
                                                 client.ip, client.geo)
    if activity is None:
        return json_response(TrackResponse(tracked=False))
    return json_response(TrackResponse(tracked=True, new_visit=activity.new_visit))
