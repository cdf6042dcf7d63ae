"""Reports API: ``POST /v3.6/reports/<resource>/<action>`` (LiveChat's Reports API v3.6 subset, ``core/reports.py``)
with an agent's token; ``auth/`` decides whose counters the caller may read."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.params import FromPath

from ..auth.access import Access
from ..core.reports import Reports
from ..protocol.reports import ReportRequest
from ..services import Injected
from ..settings import Settings
from ..web.request import read_body
from ..web.responses import json_response
from .dispatch import decode_json

_request = msgspec.json.Decoder(ReportRequest)


@post("/v3.6/reports/{resource:str}/{action:str}", status_code=200, summary="Reports API report")
async def reports_action(request: Request[Any, Any, Any], resource: FromPath[str], action: FromPath[str],
                         settings: Injected[Settings], access: Injected[Access],
                         reports: Injected[Reports]) -> Response[bytes]:
    body = await read_body(request, settings.web_max_body_bytes)
    req: ReportRequest = decode_json(_request, body or b"{}")
    filters = req.filters
    groups = filters.groups.values if filters and filters.groups is not None else None
    agents = filters.agents.values if filters and filters.agents is not None else None
    org, groups, agents = await access.reports(request.headers.get("authorization"), groups, agents)
    return json_response(await reports.report(org, f"{resource}/{action}", req, groups, agents))
