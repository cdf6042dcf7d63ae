"""Configuration API: ``POST /v3.6/configuration/action/<action>`` with an owner's or administrator's token (who
may call what: ``Access.configuration_caller``)."""

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
from .dispatch import CONFIGURATION, decode, dispatch


@post(["/v3.6/configuration/action/{action:str}", "/v3.5/configuration/action/{action:str}"], status_code=200,
      summary="Configuration API action")
async def configuration_action(request: Request[Any, Any, Any], action: FromPath[str], settings: Injected[Settings],
                               access: Injected[Access], configuration: Injected[ConfigurationCore]) -> Response[bytes]:
    spec, body = await read_action(request, settings, CONFIGURATION, action)
    who = await access.configuration_caller(request.headers.get("authorization"), action)
    # (the calls answered without authorization concern no license: their caller names none)
    caller = AdminCaller(org="", agent_id="", role="") if who is None else \
        AdminCaller(org=who[0], agent_id=who[1]["id"], role=who[1].get("role", "normal"))
    result = await dispatch(configuration, caller, spec, decode(spec, body, settings))
    return json_response(result)
