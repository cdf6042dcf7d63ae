"""Configuration API: ``POST /v3.6/configuration/action/<action>`` with an owner's or administrator's token."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, post
from litestar.params import FromPath

from ..auth.access import Access
from ..core.configuration import AdminCaller, ConfigurationCore
from ..services import Injected
from ..settings import Settings
from ..web.responses import json_response
from .customer_web import read_action
from .dispatch import CONFIGURATION, CONFIGURATION_AGENT_READS, decode, dispatch


@post(["/v3.6/configuration/action/{action:str}", "/v3.5/configuration/action/{action:str}"], status_code=200,
      summary="Configuration API action")
async def configuration_action(request: Request[Any, Any, Any], action: FromPath[str], settings: Injected[Settings],
                               access: Injected[Access], configuration: Injected[ConfigurationCore]) -> Response[bytes]:
    spec, body = await read_action(request, settings, CONFIGURATION, action)
    org, agent = await access.configuration_caller(request.headers.get("authorization"),
                                                   action in CONFIGURATION_AGENT_READS)
    caller = AdminCaller(org=org, agent_id=agent["id"], role=agent["role"])
    result = await dispatch(configuration, caller, spec, decode(spec, body, settings))
    return json_response(result)
